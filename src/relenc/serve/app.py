"""``relenc serve DIR``: a FastAPI app over a trained model.

Endpoints: ``GET /health`` (with counts of forward passes and examples classified), ``GET /labels``,
``POST /classify`` (sentences with given head and tail character spans), ``POST /embed`` (their relation
embeddings: h, t, m) and ``POST /extract`` (raw text to triples). Requests are limited in size and in items, with
clear 4xx errors. One lock keeps the model to one forward pass at a time: two passes on two cores only slow each
other down.
Concurrent ``/classify`` requests are batched together (dynamic batching): a single worker takes whatever has
queued up, up to ``max_batch`` examples or ``max_wait_ms``, and runs one forward pass for all of it. On shutdown
the worker finishes the queued work before it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans
from relenc.errors import RelencError
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.pipeline.extract import Entity, ExtractionConfig, Pipeline


class SpanIn(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    type: str | None = None


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
    type: str | None = None


class DocumentIn(BaseModel):
    text: str = Field(min_length=1)
    entities: list[EntityIn] | None = None


class ExtractRequest(BaseModel):
    documents: list[DocumentIn] = Field(min_length=1)


class Limits(BaseModel):
    """What one request may ask of the service, and how requests are batched: the knobs of ``relenc serve``."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest request body; larger ones get 413.")
    max_items: int = Field(256, gt=0, description="Most sentences per /classify or /embed request.")
    max_documents: int = Field(32, gt=0, description="Most documents per /extract request.")
    max_text_chars: int = Field(20_000, gt=0, description="Longest sentence or document, in characters.")
    max_batch: int = Field(64, gt=0, description="Largest batch of examples classified together.")
    max_wait_ms: float = Field(5.0, ge=0, description="How long a request may wait for others to batch with.")


class Batcher:
    """Collects examples from concurrent requests and classifies them together."""

    def __init__(self, model: RelationExtractor, limits: Limits, lock: asyncio.Lock) -> None:
        self.model = model
        self.limits = limits
        self.lock = lock
        self.queue: asyncio.Queue[tuple[list[Example], asyncio.Future[list[Prediction]]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # forward passes so far: with ``examples``, how well requests are being batched
        self.examples = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        await self.queue.join()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def classify(self, examples: list[Example]) -> list[Prediction]:
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        await self.queue.put((examples, future))
        return await future

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            size = len(jobs[0][0])
            deadline = asyncio.get_running_loop().time() + self.limits.max_wait_ms / 1000
            while size < self.limits.max_batch:
                timeout = deadline - asyncio.get_running_loop().time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
                jobs.append(job)
                size += len(job[0])
            examples = [ex for job in jobs for ex in job[0]]
            try:
                async with self.lock:
                    preds = await asyncio.to_thread(self.model.predict, examples, self.limits.max_batch)
                self.batches += 1
                self.examples += len(examples)
                offset = 0
                for batch, future in jobs:
                    if not future.done():
                        future.set_result(preds[offset : offset + len(batch)])
                    offset += len(batch)
            except Exception as exc:  # hand the failure to every waiting request, keep serving
                for _, future in jobs:
                    if not future.done():
                        future.set_exception(exc)
            finally:
                for _ in jobs:
                    self.queue.task_done()


def create_app(model: RelationExtractor, limits: Limits | None = None, nlp: Any = None) -> FastAPI:
    """The app for one loaded model; ``nlp`` (a spaCy pipeline) is loaded on the first ``/extract`` if not given."""
    from relenc import __version__

    limits = limits or Limits()
    lock = asyncio.Lock()
    batcher = Batcher(model, limits, lock)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="relenc", version=__version__, lifespan=lifespan)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and int(length) > limits.max_body_bytes:
            return JSONResponse({"detail": f"request body over {limits.max_body_bytes} bytes"}, status_code=413)
        return await call_next(request)

    _info_routes(app, model, batcher)
    _sentence_routes(app, model, batcher, limits, lock)
    _extract_route(app, Pipeline(model, ExtractionConfig(), nlp=nlp), limits, lock)
    app.state.batcher = batcher
    return app


def _info_routes(app: FastAPI, model: RelationExtractor, batcher: Batcher) -> None:
    """``/health`` and ``/labels``."""

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "strategy": model.spec.name,
            "labels": len(model.labels),
            "forward_passes": batcher.batches,
            "examples_classified": batcher.examples,
        }

    @app.get("/labels")
    async def labels() -> dict[str, Any]:
        return {"labels": list(model.labels.labels), "negative_label": model.labels.negative}


def _examples(items: list[ClassifyItem], limits: Limits) -> list[Example]:
    """Request items as examples; a 413 or 422 names the item at fault."""
    if len(items) > limits.max_items:
        raise HTTPException(413, f"{len(items)} items; at most {limits.max_items} per request")
    examples = []
    for i, item in enumerate(items):
        if len(item.text) > limits.max_text_chars:
            raise HTTPException(413, f"item {i}: text over {limits.max_text_chars} characters")
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
        except RelencError as exc:
            raise HTTPException(422, f"item {i}: {exc}") from None
    return examples


def _sentence_routes(
    app: FastAPI, model: RelationExtractor, batcher: Batcher, limits: Limits, lock: asyncio.Lock
) -> None:
    """``/classify`` (dynamically batched across requests) and ``/embed``."""

    @app.post("/classify")
    async def classify(request: ClassifyRequest) -> dict[str, Any]:
        examples = _examples(request.items, limits)
        try:
            preds = await batcher.classify(examples)
        except RelencError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"results": [{"label": p.label, "score": round(p.score, 6)} for p in preds]}

    @app.post("/embed")
    async def embed(request: EmbedRequest) -> dict[str, Any]:
        examples = _examples(request.items, limits)
        try:
            async with lock:
                vectors = await asyncio.to_thread(
                    model.embed, examples, request.parts, request.normalize, limits.max_batch
                )
        except RelencError as exc:
            raise HTTPException(422, str(exc)) from None
        rows = [{part: matrix[i].tolist() for part, matrix in vectors.items()} for i in range(len(examples))]
        dims = {part: int(matrix.shape[1]) for part, matrix in vectors.items()}
        return {"parts": list(vectors), "dimensions": dims, "normalized": request.normalize, "embeddings": rows}


def _extract_route(app: FastAPI, pipeline: Pipeline, limits: Limits, lock: asyncio.Lock) -> None:
    """``/extract``: raw text (and optionally its entities) to triples."""

    @app.post("/extract")
    async def extract(request: ExtractRequest) -> dict[str, Any]:
        if len(request.documents) > limits.max_documents:
            raise HTTPException(413, f"{len(request.documents)} documents; at most {limits.max_documents}")
        for i, doc in enumerate(request.documents):
            if len(doc.text) > limits.max_text_chars:
                raise HTTPException(413, f"document {i}: text over {limits.max_text_chars} characters")
        texts = [d.text for d in request.documents]
        entities = [
            [Entity(e.text, e.start, e.end, e.type) for e in d.entities] if d.entities is not None else None
            for d in request.documents
        ]
        try:
            async with lock:
                results = await asyncio.to_thread(pipeline.extract_many, texts, entities)
        except RelencError as exc:
            raise HTTPException(422, str(exc)) from None
        return {"documents": [{"relations": [asdict(t) for t in triples]} for triples in results]}
