"""``relenc serve DIR``: a FastAPI app over a trained model.

Endpoints: ``GET /`` (a page: paste text, see its entities and triples), ``GET /health`` (counts of forward passes
and examples classified, queue depths and capacities), ``GET /ready`` (503 while a queue is full), ``GET /labels``,
``POST /classify`` (sentences with given head and tail character spans), ``POST /embed`` (their relation embeddings:
h, t, m) and ``POST /extract`` (raw text to triples).

Hostile input fails alone and says why. Every request is bounded before its work starts (:class:`Limits`: body
bytes, items, documents, characters, entities, candidate pairs; 413 naming the limit), every client error is a 4xx
that names the field or item (422), a full queue answers 503 with ``Retry-After``, a request over its time budget
504, and only a bug in the service is a 500 (logged with its traceback, :class:`~relenc.serve.middleware.CatchAll`).
Each request's examples are built and encoded in its own handler, off the event loop, before they are queued, so a
sentence that cannot be encoded fails its own request only. Off loopback an API key is required
(:mod:`relenc.serve.security`).

One lock keeps the model to one forward pass at a time: two passes on two cores only slow each other down.
Concurrent ``/classify`` requests are batched together (dynamic batching, :class:`~relenc.serve.batcher.Batcher`).
``/extract`` sends its candidate pairs through the same batcher in small batches that wait for every ``/classify``
request, so a long extraction never holds the model for longer than one small batch. On shutdown the worker
finishes the queued work before it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException

from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans
from relenc.errors import DataError, RelencError
from relenc.models.engine import Item, in_order
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.models.strategies import check_parts
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import Candidate, DeadlineExceeded, ExtractionConfig, Found, LimitExceeded, Pipeline
from relenc.serve.batcher import Admission, Batcher, Busy
from relenc.serve.limits import Limits
from relenc.serve.middleware import BearerAuth, BodyLimit, CatchAll
from relenc.serve.page import page_headers, page_html

__all__ = ["Limits", "create_app"]

#: What a bad input may raise while it is turned into an example or encoded: a 422 for that item, never a 500.
CONTENT_ERRORS = (RelencError, ValueError, UnicodeError)


#: An entity type. Bounded, and constrained so pydantic checks it is valid Unicode: a plain ``str | None`` lets a
#: lone surrogate (``"\ud800"``, which Python's JSON parser accepts) through, and nothing downstream can encode it.
TypeName = Annotated[str, StringConstraints(max_length=100)]


class SpanIn(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    type: TypeName | None = None


class ClassifyItem(BaseModel):
    text: str = Field(min_length=1)
    h: SpanIn
    t: SpanIn


class ClassifyRequest(BaseModel):
    items: list[ClassifyItem] = Field(min_length=1)


class EmbedRequest(BaseModel):
    items: list[ClassifyItem] = Field(min_length=1)
    parts: list[Literal["h", "t", "m"]] | None = Field(None, description="Default: every part the model reads.")
    normalize: bool = Field(False, description="Scale every vector to unit length.")


class EntityIn(BaseModel):
    text: str
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    type: TypeName | None = None


class DocumentIn(BaseModel):
    text: str = Field(min_length=1)
    entities: list[EntityIn] | None = None


class ExtractRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)


def create_app(
    model: RelationExtractor, limits: Limits | None = None, nlp: Any = None, api_key: str | None = None
) -> FastAPI:
    """The app for one loaded model; ``nlp`` (a spaCy pipeline) is loaded on the first ``/extract`` if not given.

    With ``api_key``, every path but ``/`` (the page), ``/health`` and ``/ready`` needs
    ``Authorization: Bearer <api_key>``.
    """
    from relenc import __version__

    limits = limits or Limits()
    lock = asyncio.Lock()
    batcher = Batcher(model, limits, lock)
    pools = {
        "classify": Admission("/classify and /embed", limits.max_queue),
        "extract": Admission("/extract", limits.max_extract_queue),
    }

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="relenc", version=__version__, lifespan=lifespan)
    # innermost first: the last one added is the outermost
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout_s=limits.timeout_s)
    if api_key is not None:
        app.add_middleware(BearerAuth, api_key=api_key)
    app.add_middleware(CatchAll)
    _error_handlers(app, limits)
    _page_route(app)
    _info_routes(app, model, batcher, pools, limits)
    _sentence_routes(app, model, batcher, limits, lock, pools["classify"])
    config = ExtractionConfig(batch_size=limits.max_batch, max_entities=limits.max_entities, max_pairs=limits.max_pairs)
    _extract_route(app, Pipeline(model, config, nlp=nlp), batcher, limits, pools["extract"])
    app.state.batcher = batcher
    app.state.pools = pools
    return app


def _error_handlers(app: FastAPI, limits: Limits) -> None:
    """Client errors as 4xx with a message; what no handler takes is a bug (:class:`CatchAll`, 500)."""

    def answer(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:  # FastAPI's "There was an error parsing the body"
            return answer(400, f"{request.url.path}: the body cannot be parsed as JSON: {_parse_problem(cause)}")
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's own answer echoes the input, which cannot be serialised when it holds NaN or a lone surrogate
        (that was a 500); this one gives each field's path and problem, never its value."""
        errors = [_field_error(e) for e in exc.errors()]
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        message = "; ".join(f"{e['field']}: {e['msg']}" for e in errors[:5]) + more
        return JSONResponse({"detail": message, "errors": errors}, status_code=422)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        return answer(503, str(exc), {"Retry-After": str(limits.retry_after_s)})

    @app.exception_handler(LimitExceeded)
    async def too_much(request: Request, exc: LimitExceeded) -> JSONResponse:
        return answer(413, f"{request.url.path}: {exc}")

    @app.exception_handler(DeadlineExceeded)
    async def too_slow(request: Request, exc: DeadlineExceeded) -> JSONResponse:
        budget = f"{limits.timeout_s:g} s"
        return answer(504, f"{request.url.path}: over its time budget of {budget} ({exc}); send less work or retry")

    @app.exception_handler(RelencError)
    async def unusable(request: Request, exc: RelencError) -> JSONResponse:
        return answer(422, f"{request.url.path}: {exc}")

    @app.exception_handler(UnicodeError)
    async def not_unicode(request: Request, exc: UnicodeError) -> JSONResponse:
        return answer(422, f"{request.url.path}: text that is not valid Unicode ({exc})")


def _parse_problem(cause: BaseException) -> str:
    """What FastAPI's JSON parsing tripped on, in words: it only says that it did."""
    if isinstance(cause, UnicodeDecodeError):
        return f"it is not UTF-8 ({cause.reason} at byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "it is nested too deeply"
    return str(cause)[:200]


def _field_error(error: Any) -> dict[str, Any]:
    """One validation error as ``{"field": "items[0].h.start", "msg", "type", "loc"}``, without the input."""
    loc = list(error["loc"])
    if error["type"] == "json_invalid":  # loc is ("body", character offset)
        problem = error.get("ctx", {}).get("error", "")
        return {"field": "body", "msg": f"not valid JSON at character {loc[-1]}: {problem}", "type": "json_invalid"}
    path = ""
    for part in loc[1:] if loc[:1] == ["body"] else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return {"field": path or "body", "msg": error["msg"], "type": error["type"], "loc": loc}


def _page_route(app: FastAPI) -> None:
    """``GET /``: a page to paste text into and see its entities and triples (``page.html``, via ``/extract``).

    Open without the API key (``/`` is in :data:`~relenc.serve.middleware.OPEN_PATHS`): a browser opening a URL
    cannot send a bearer header, and the page is the same static file for everyone, with no data in it. The data is
    behind ``/extract``, whose requests carry the key the user types into the page.
    """
    html = page_html()
    headers = page_headers(html)

    @app.get("/", include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse(html, headers=headers)


def _info_routes(
    app: FastAPI, model: RelationExtractor, batcher: Batcher, pools: dict[str, Admission], limits: Limits
) -> None:
    """``/health`` (liveness and load), ``/ready`` (503 while a queue is full) and ``/labels``."""

    def queues() -> dict[str, dict[str, int]]:
        return {name: {"depth": pool.depth, "capacity": pool.capacity} for name, pool in pools.items()}

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and load, without an API key: 200 while the process runs; ``status`` is ``saturated`` while a
        queue is full, and ``queues`` gives each queue's depth and capacity."""
        return {
            "status": "saturated" if any(pool.full for pool in pools.values()) else "ok",
            "strategy": model.spec.name,
            "labels": len(model.labels),
            "forward_passes": batcher.batches,
            "examples_classified": batcher.examples,
            "model_busy": batcher.lock.locked(),
            "queues": queues(),
        }

    @app.get("/ready")
    async def ready() -> JSONResponse:
        """Whether to send work here, without an API key: 503 (with Retry-After) while a queue is full."""
        full = [pool.name for pool in pools.values() if pool.full]
        if full:
            detail = f"the {' and '.join(full)} queue is full; retry later"
            body = {"ready": False, "detail": detail, "queues": queues()}
            return JSONResponse(body, status_code=503, headers={"Retry-After": str(limits.retry_after_s)})
        return JSONResponse({"ready": True, "queues": queues()})

    @app.get("/labels")
    async def labels() -> dict[str, Any]:
        """The model's labels and its negative label."""
        return {"labels": list(model.labels.labels), "negative_label": model.labels.negative}


def _check_texts(texts: Sequence[str], what: str, most: int, name: str, limits: Limits) -> None:
    """413 for too many texts, a text too long, or too many characters in all; the message names the limit."""
    if len(texts) > most:
        raise HTTPException(413, f"{len(texts)} {what}s; at most {most} per request ({name})")
    for i, text in enumerate(texts):
        if len(text) > limits.max_text_chars:
            chars = f"{len(text)} characters, over max_text_chars={limits.max_text_chars}"
            raise HTTPException(413, f"{what} {i}: text of {chars}")
    total = sum(len(text) for text in texts)
    if total > limits.max_total_chars:
        raise HTTPException(413, f"{total} characters in all, over max_total_chars={limits.max_total_chars}")


def _examples(items: Sequence[ClassifyItem]) -> list[Example]:
    """Request items as examples; a 422 names the item at fault."""
    examples = []
    for i, item in enumerate(items):
        try:
            examples.append(
                example_from_char_spans(
                    str(i),
                    item.text,
                    (item.h.start, item.h.end),
                    (item.t.start, item.t.end),
                    None,
                    item.h.type,
                    item.t.type,
                )
            )
        except CONTENT_ERRORS as exc:
            raise HTTPException(422, f"item {i}: {exc}") from None
    return examples


def _encode(
    model: RelationExtractor,
    examples: Sequence[Example],
    name: Callable[[int], str],
    roles: Sequence[str] | None = None,
) -> list[Item]:
    """The examples' encodings; a 422 names the example at fault (``name(index)``) and says why.

    All are encoded in one call (the tokenizer's batch call is the fast path); only if that fails are they encoded
    one by one, to find which: the error belongs to that example, not to the request's others.
    """
    try:
        return model.encode(examples, roles)
    except CONTENT_ERRORS:
        for i, example in enumerate(examples):
            try:
                model.encode([example], roles)
            except CONTENT_ERRORS as exc:
                problem = exc.problem if isinstance(exc, DataError) else str(exc)
                raise HTTPException(422, f"{name(i)}: {problem}") from None
        raise


@contextlib.asynccontextmanager
async def _holding(lock: asyncio.Lock, deadline: float) -> AsyncIterator[None]:
    """Hold the model lock, or :class:`DeadlineExceeded` if it does not come free before ``deadline``."""
    try:
        await asyncio.wait_for(lock.acquire(), max(deadline - time.monotonic(), 0))
    except TimeoutError:
        raise DeadlineExceeded("ran out of time waiting for the model") from None
    try:
        yield
    finally:
        lock.release()


def _sentence_routes(
    app: FastAPI, model: RelationExtractor, batcher: Batcher, limits: Limits, lock: asyncio.Lock, pool: Admission
) -> None:
    """``/classify`` (dynamically batched across requests) and ``/embed``."""

    def prepare(items: Sequence[ClassifyItem], roles: Sequence[str] | None = None) -> tuple[list[Example], list[Item]]:
        examples = _examples(items)
        return examples, _encode(model, examples, lambda i: f"item {i}", roles)

    @app.post("/classify")
    async def classify(request: ClassifyRequest) -> dict[str, Any]:
        """A label and its probability per item; 413 over a limit, 422 for an item that cannot be used (named),
        503 when the queue is full, 504 over the time budget."""
        _check_texts([item.text for item in request.items], "item", limits.max_items, "max_items", limits)
        deadline = time.monotonic() + limits.timeout_s
        with pool.slot():
            examples, items = await asyncio.to_thread(prepare, request.items)
            preds = await batcher.classify(examples, items, deadline)
        return {"results": [{"label": p.label, "score": round(p.score, 6)} for p in preds]}

    @app.post("/embed")
    async def embed(request: EmbedRequest) -> dict[str, Any]:
        """The relation embeddings (h, t, m) of each item; errors as for ``/classify``."""
        _check_texts([item.text for item in request.items], "item", limits.max_items, "max_items", limits)
        asked = tuple(request.parts) if request.parts is not None else model.spec.parts
        parts = check_parts(asked, model.spec.parts, model.describe())
        roles = sorted({model.spec.role_of(part) for part in parts})
        deadline = time.monotonic() + limits.timeout_s
        with pool.slot():
            examples, items = await asyncio.to_thread(prepare, request.items, roles)
            async with _holding(lock, deadline):
                vectors = await asyncio.to_thread(
                    model.embed, examples, parts, request.normalize, limits.max_batch, encoded=items
                )
        rows = [{part: matrix[i].tolist() for part, matrix in vectors.items()} for i in range(len(examples))]
        dims = {part: int(matrix.shape[1]) for part, matrix in vectors.items()}
        return {"parts": list(vectors), "dimensions": dims, "normalized": request.normalize, "embeddings": rows}


def _documents(documents: Sequence[DocumentIn], limits: Limits) -> list[list[Entity] | None]:
    """The given entities of each document (None: spaCy finds them); 413 over the limits, 422 for a bad entity."""
    _check_texts([d.text for d in documents], "document", limits.max_documents, "max_documents", limits)
    given = sum(len(d.entities or []) for d in documents)
    if given > limits.max_entities:
        raise HTTPException(413, f"{given} entities; at most {limits.max_entities} per request (max_entities)")
    out: list[list[Entity] | None] = []
    for i, doc in enumerate(documents):
        if doc.entities is None:
            out.append(None)
            continue
        for j, e in enumerate(doc.entities):
            problem = _entity_problem(doc.text, e)
            if problem is not None:
                raise HTTPException(422, f"document {i}, entity {j}: {problem}")
        out.append([Entity(e.text, e.start, e.end, e.type) for e in doc.entities])
    return out


def _entity_problem(text: str, e: EntityIn) -> str | None:
    """Why a given entity cannot be used (None if it can): checked here, where the document and entity are known."""
    where = f"[{e.start}, {e.end})"
    if not e.start < e.end <= len(text):
        return f"span {where} is empty or out of range for a text of {len(text)} characters"
    if text[e.start : e.end] != e.text:
        return f"{e.text!r} {where} does not match the document text, which has {text[e.start : e.end]!r} there"
    if not e.text.strip():
        return f"span {where} covers only whitespace"
    return None


def _extract_route(app: FastAPI, pipeline: Pipeline, batcher: Batcher, limits: Limits, pool: Admission) -> None:
    """``/extract``: raw text (and optionally its entities) to triples."""

    def candidates(texts: list[str], entities: list[list[Entity] | None], deadline: float) -> tuple[Found, list[Item]]:
        found = pipeline.find(pipeline.parse(texts, deadline), entities, deadline)
        pairs = found.candidates

        def name(k: int) -> str:
            return f"document {pairs[k].doc}, pair {pairs[k].head.text!r} - {pairs[k].tail.text!r}"

        return found, _encode(pipeline.model, [c.example for c in pairs], name)

    @app.post("/extract")
    async def extract(request: ExtractRequest) -> dict[str, Any]:
        """Triples per document; 413 over the text, entity or pair limits, 422 for an entity that does not match
        its text, 503 when the queue is full (or spaCy is missing), 504 over the time budget."""
        entities = _documents(request.documents, limits)
        texts = [d.text for d in request.documents]
        deadline = time.monotonic() + limits.timeout_s
        with pool.slot():
            try:
                await asyncio.to_thread(getattr, pipeline, "nlp")  # loads spaCy on the first request
            except RelencError as exc:
                raise HTTPException(503, f"/extract is unavailable on this server: {exc}") from None
            found, items = await asyncio.to_thread(candidates, texts, entities, deadline)
            preds = await _classify_in_batches(batcher, found.candidates, items, deadline)
        results = pipeline.triples(len(texts), found.candidates, preds)
        return {
            "documents": [
                {"entities": [asdict(e) for e in mentions], "relations": [asdict(t) for t in triples]}
                for mentions, triples in zip(found.mentions, results, strict=True)
            ]
        }


async def _classify_in_batches(
    batcher: Batcher, candidates: Sequence[Candidate], items: Sequence[Item], deadline: float
) -> list[Prediction]:
    """The candidates' predictions, one small engine batch (``extract_batch``) at a time through the batcher.

    Why not one job: a job holds the model until it is done. As small background jobs, every waiting ``/classify``
    request goes first, and the deadline is checked before each batch.
    """
    examples = [c.example for c in candidates]
    results = []
    for idx in batcher.model.engine.batches(items, batcher.limits.extract_batch):
        preds = await batcher.classify([examples[i] for i in idx], [items[i] for i in idx], deadline, background=True)
        results.append((idx, preds))
    return in_order(results, len(examples), lambda preds: preds)
