"""Pure ASGI middleware of the service: a catch-all for bugs, the API key, and the body's size and time limits.

Pure ASGI rather than ``@app.middleware("http")``: the body limit must count the bytes of every ``http.request``
message as they arrive (a chunked body has no content-length to check), and must answer before the app reads a
byte more than the limit. Each class answers with the service's usual ``{"detail": ...}`` JSON.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("relenc.serve")

#: Paths that answer without the API key: a load balancer's probes carry no credentials, and a browser opening the
#: page at ``/`` sends none (the page is static, with no data; its calls to ``/extract`` carry the key).
OPEN_PATHS = frozenset({"/", "/health", "/ready"})
#: After refusing a body, how long and how much more of it to read and drop before closing (see :func:`send_json`):
#: more bytes than the socket buffers hold, which a client that stops at the answer may already have sent (several
#: MB on loopback; measured: with 1 MB, 7 of 40 chunked 30 MB uploads lost their 413 to a reset).
LINGER_S, LINGER_BYTES = 0.5, 16_000_000


async def send_json(
    send: Send,
    status: int,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    close: bool = False,
    linger: Receive | None = None,
) -> None:
    """A whole ``{"detail": ...}`` JSON response, for middleware that answers before (or instead of) the app.

    ``close`` ends the connection after the answer, for a request whose body was not read: otherwise uvicorn goes on
    reading the rest of it, to drop it, as long as the client sends. With ``linger`` (the request's ``receive``) the
    answer goes out whole first, then what the client is still sending is read and dropped for a moment
    (:func:`_drain`) before the connection closes: closing on unread data resets the connection, and a client that
    is still uploading would lose the answer.
    """
    body = json.dumps({"detail": detail}).encode("utf-8")
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    if close or linger is not None:
        start_headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": [*start_headers, *headers]})
    await send({"type": "http.response.body", "body": body, "more_body": linger is not None})
    if linger is not None:
        await _drain(linger)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _drain(receive: Receive, seconds: float = LINGER_S, most: int = LINGER_BYTES) -> None:
    """Read and drop request body messages until the body ends, the client leaves, or ``seconds`` or ``most`` bytes
    run out (so that a client that never stops costs no more than that)."""
    end = time.monotonic() + seconds
    dropped = 0
    while dropped <= most and (left := end - time.monotonic()) > 0:
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        dropped += len(message.get("body", b""))


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (``name`` in lower case), or None."""
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return None


class CatchAll:
    """The last line: an exception nothing else handled is a bug in the service, not in the request.

    It is logged with its traceback, once, with the method and path, and the client gets a 500 that says so. Every
    client error is answered further in, as a 4xx, so a 500 here always means a bug to fix.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("%s %s failed with an internal error", scope.get("method"), scope.get("path"))
            if started:  # half a response is out: only closing the connection can tell the client
                raise
            await send_json(send, 500, "internal error: a bug in the service, logged on the server; please report it")


class BearerAuth:
    """Every path but :data:`OPEN_PATHS` needs ``Authorization: Bearer <key>``; the key compared in constant time."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.expected = api_key.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        value = header(scope, b"authorization")
        scheme, _, token = (value or b"").strip().partition(b" ")
        if value is None:
            problem = "missing 'Authorization: Bearer <key>' header: this server requires an API key"
        elif scheme.lower() != b"bearer":
            problem = "the Authorization header must be 'Bearer <key>'"
        elif not hmac.compare_digest(token.strip(), self.expected):
            problem = "invalid API key"
        else:
            await self.app(scope, receive, send)
            return
        await send_json(send, 401, problem, [(b"www-authenticate", b"Bearer")], linger=receive)


class BodyLimit:
    """Answers 413 for a body over ``max_bytes``, whether it declares its length or is sent chunked; 408 for a body
    that has not all arrived within ``timeout_s``.

    A declared content-length over the limit is refused before a byte is read (the fast path). Otherwise the body's
    ``http.request`` messages are counted as they arrive, and the 413 goes out as soon as the count passes the
    limit, without reading the rest. A body within the limit is handed to the app whole (FastAPI reads it whole
    anyway), so the app never sees more than ``max_bytes``. The time limit is there because uvicorn has none while
    it reads a body: a client that stops sending halfway would hold its connection for ever.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body over {self.max_bytes} bytes (the limit max_body_bytes): send fewer or shorter items"
        declared = header(scope, b"content-length")
        if declared is not None and not declared.strip().isdigit():
            not_a_number = f"content-length {declared.decode('latin-1')!r} is not a number of bytes"
            await send_json(send, 400, not_a_number, close=True)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await send_json(send, 413, too_large, linger=receive)
            return
        chunks: list[bytes] = []
        size = 0
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                late = f"the request body did not arrive within {self.timeout_s:g} s (the time budget timeout_s)"
                await send_json(send, 408, late, close=True)
                return
            if message["type"] != "http.request":  # http.disconnect: the client left, nobody to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_json(send, 413, too_large, linger=receive)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the whole body once, then whatever the server sends next (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
