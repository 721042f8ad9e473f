"""``relenc serve DIR``: the HTTP service (FastAPI + uvicorn).

Everything that can fail does so before serving, as one ``error:`` line: the API-key rule (anything but loopback
needs a key), the limits, the model directory, the app, and the address (bound here, not by uvicorn, whose own
failure is a log line and an exit). An app whose startup fails stops uvicorn (``lifespan="on"``) and is reported the
same way, never skipped.
"""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from relenc.cli import app
from relenc.errors import RelencError
from relenc.serve.limits import Limits
from relenc.serve.security import API_KEY_ENV, check_api_key

DEFAULT = Limits()


def _limit(name: str) -> Any:
    """The option for a :class:`Limits` field, with the field's own description as its help."""
    return typer.Option(help=Limits.model_fields[name].description)


@app.command("serve")
def serve_command(
    model: Annotated[str, typer.Argument(help="A trained model (or run) directory.")],
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs an API key.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar=API_KEY_ENV,
            show_default=False,
            help="Require 'Authorization: Bearer KEY' (all but the page at /, /health, /ready); needed off loopback. "
            "The environment variable keeps it off the command line, which other users can see.",
        ),
    ] = None,
    max_body_bytes: Annotated[int, _limit("max_body_bytes")] = DEFAULT.max_body_bytes,
    max_items: Annotated[int, _limit("max_items")] = DEFAULT.max_items,
    max_documents: Annotated[int, _limit("max_documents")] = DEFAULT.max_documents,
    max_text_chars: Annotated[int, _limit("max_text_chars")] = DEFAULT.max_text_chars,
    max_total_chars: Annotated[int, _limit("max_total_chars")] = DEFAULT.max_total_chars,
    max_entities: Annotated[int, _limit("max_entities")] = DEFAULT.max_entities,
    max_pairs: Annotated[int, _limit("max_pairs")] = DEFAULT.max_pairs,
    max_queue: Annotated[int, _limit("max_queue")] = DEFAULT.max_queue,
    max_extract_queue: Annotated[int, _limit("max_extract_queue")] = DEFAULT.max_extract_queue,
    timeout_s: Annotated[float, _limit("timeout_s")] = DEFAULT.timeout_s,
    retry_after_s: Annotated[int, _limit("retry_after_s")] = DEFAULT.retry_after_s,
    max_batch: Annotated[int, _limit("max_batch")] = DEFAULT.max_batch,
    extract_batch: Annotated[int, _limit("extract_batch")] = DEFAULT.extract_batch,
    max_wait_ms: Annotated[float, _limit("max_wait_ms")] = DEFAULT.max_wait_ms,
    compile_model: Annotated[
        bool,
        typer.Option("--compile", help="torch.compile the model, warmed up before serving: ~30 s more to start."),
    ] = False,
) -> None:
    """Serve /classify, /embed, /extract, /labels, /health, /ready and a page at /; OpenAPI schema: /openapi.json."""
    values = {name: value for name, value in locals().items() if name in Limits.model_fields}
    key = check_api_key(host, api_key)  # before the model loads: a refusal should not take a minute
    limits = _limits(values)
    try:
        import uvicorn

        from relenc.serve.app import create_app
    except ImportError as exc:
        raise RelencError("serving needs FastAPI and uvicorn: pip install 'relenc[serve]'") from exc
    from relenc.models.extractor import RelationExtractor

    with _listen(host, port) as sock:  # first: a busy port should not wait for the model to load
        extractor = RelationExtractor.from_pretrained(model)
        if compile_model:
            _warm_up(extractor)
        config = uvicorn.Config(create_app(extractor, limits, api_key=key), host=host, port=port, lifespan="on")
        _run(uvicorn.Server(config), sock)


def _run(server: Any, sock: socket.socket) -> None:
    """Serve on the bound socket until stopped; a startup that fails is a RelencError, not uvicorn's bare exit."""
    failed = RelencError("the server stopped before it started serving: its startup failed (see the log above)")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C: uvicorn shut down gracefully, then re-raised the signal; a normal stop
        return
    except SystemExit as exc:  # uvicorn exits (code 3) when the app's startup fails, after logging why
        raise failed from exc
    if not server.started:
        raise failed


def _limits(values: dict[str, Any]) -> Limits:
    """The limits from the options; a bad value is a RelencError that names its option."""
    try:
        return Limits(**values)
    except ValidationError as exc:
        problems = "; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors())
        raise RelencError(f"bad limit: {problems}") from None


def _warm_up(extractor: Any) -> None:
    """Compile, and run batches of one and of two (they compile separately) before the first request."""
    from relenc.data.readers._common import example_from_char_spans

    extractor.compile()
    warm = example_from_char_spans("warm-up", "Alice works for Acme.", (0, 5), (16, 20), None, None, None)
    for size in (1, 2):
        extractor.predict([warm] * size)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port``; a busy port or a bad address is a RelencError, not uvicorn's exit."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise RelencError(f"cannot listen on {host!r}: {exc.strerror or exc}; check --host") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise RelencError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from exc
    return sock
