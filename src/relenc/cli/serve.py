"""``relenc serve DIR``: the HTTP service (FastAPI + uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from relenc.cli import app


@app.command("serve")
def serve_command(
    model: Annotated[str, typer.Argument(help="A trained model (or run) directory.")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    max_batch: Annotated[int, typer.Option(help="Largest batch of examples classified together.")] = 64,
    max_wait_ms: Annotated[float, typer.Option(help="How long a request may wait for others to batch with.")] = 5.0,
    max_items: Annotated[int, typer.Option(help="Most items per /classify request.")] = 256,
    compile_model: Annotated[
        bool,
        typer.Option("--compile", help="torch.compile the model, warmed up before serving: ~30 s more to start."),
    ] = False,
) -> None:
    """Serve /classify, /embed, /extract, /labels and /health; the OpenAPI schema is at /openapi.json."""
    try:
        import uvicorn

        from relenc.serve.app import Limits, create_app
    except ImportError as exc:
        from relenc.errors import RelencError

        raise RelencError("serving needs FastAPI and uvicorn: pip install 'relenc[serve]'") from exc
    from relenc.models.extractor import RelationExtractor

    limits = Limits(max_batch=max_batch, max_wait_ms=max_wait_ms, max_items=max_items)
    extractor = RelationExtractor.from_pretrained(model)
    if compile_model:
        from relenc.data.readers._common import example_from_char_spans

        extractor.compile()
        warm = example_from_char_spans("warm-up", "Alice works for Acme.", (0, 5), (16, 20), None, None, None)
        for size in (1, 2):  # batches of one and of more compile separately: both before the first request
            extractor.predict([warm] * size)
    uvicorn.run(create_app(extractor, limits), host=host, port=port)
