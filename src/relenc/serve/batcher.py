"""Dynamic batching and bounded waiting: how concurrent requests share the one model.

:class:`Batcher` gathers already-encoded examples from concurrent ``/classify`` requests and classifies them in one
``predict``. Encoding happens in each request's handler, so a request that cannot be encoded fails alone, before it
is queued; and if a gathered batch still fails, its jobs are retried one by one, so one request's error never
becomes its neighbours' answer. ``/extract`` hands its candidate pairs over one small batch at a time, as
*background* jobs: each runs alone, only when no ``/classify`` request is waiting, and within a share of the
model's time while ``/classify`` requests keep coming (:data:`BACKGROUND_SHARE`), so a long extraction delays a
classification by one small batch at most.

:class:`Admission` bounds the waiting work: a request takes a slot before it waits for the model, and a full pool
answers 503 at once (:class:`Busy`) instead of letting the queue and everyone's latency grow without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from relenc.data.example import Example
from relenc.models.engine import Item
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.pipeline.extract import DeadlineExceeded
from relenc.serve.limits import Limits

logger = logging.getLogger("relenc.serve")

FOREGROUND, BACKGROUND = 0, 1  # queue priorities: lower first
#: While /classify requests keep coming (one was classified within ACTIVE_S), /extract's batches get at most
#: BACKGROUND_SHARE of the model's recent time (decayed by DECAY per pass): over it, a background batch waits up to
#: GRACE_S (about a client's round trip) for a /classify request to go first. Measured with benchmarks/abuse.py
#: (hybrid, 2 cores, 16 clients): beside the abuse, the p99 of /classify grew 16x with turns taken first come, first
#: served; 5.8x with priority alone (each gap between a client's answer and its next request let a background batch
#: in); 2.7x with this share.
BACKGROUND_SHARE, ACTIVE_S, GRACE_S, DECAY = 0.25, 0.25, 0.05, 0.9


class Busy(Exception):
    """A pool of waiting work is full: the request is refused (503 with Retry-After) before it waits at all."""


class Admission:
    """A bounded pool of requests that wait for, or hold, the model; ``name`` is what a 503 calls it."""

    def __init__(self, name: str, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self.depth = 0

    @property
    def full(self) -> bool:
        return self.depth >= self.capacity

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for the whole request; :class:`Busy` if there is none. Only the event loop touches
        ``depth``, so it needs no lock."""
        if self.full:
            raise Busy(f"the {self.name} queue is full ({self.depth} requests waiting or running); retry later")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1


@dataclass
class Job:
    """One request's share of a batch: its examples, their encodings, and where its answer goes."""

    examples: Sequence[Example]
    items: Sequence[Item]
    future: asyncio.Future[list[Prediction]]


class Batcher:
    """Collects encoded examples from concurrent requests and classifies them together."""

    def __init__(self, model: RelationExtractor, limits: Limits, lock: asyncio.Lock) -> None:
        self.model = model
        self.limits = limits
        self.lock = lock
        # (priority, arrival, job): /classify (FOREGROUND) before /extract's batches, each first come, first served
        self.queue: asyncio.PriorityQueue[tuple[int, int, Job]] = asyncio.PriorityQueue()
        self._arrivals = itertools.count()
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # predict calls so far: with ``examples``, how well requests are being batched
        self.examples = 0
        self._busy = [0.0, 0.0]  # recent model seconds, per priority (decayed)
        self._last_foreground = -ACTIVE_S

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        await self.queue.join()
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def classify(
        self, examples: Sequence[Example], items: Sequence[Item], deadline: float, background: bool = False
    ) -> list[Prediction]:
        """Predictions for encoded examples; :class:`DeadlineExceeded` past ``deadline`` (``time.monotonic()``),
        after which the job is dropped from the queue if it has not started. A ``background`` job runs alone, once
        no foreground job waits."""
        if time.monotonic() >= deadline:
            raise DeadlineExceeded("ran out of time before the model could take this batch")
        job = Job(examples, items, asyncio.get_running_loop().create_future())
        self.queue.put_nowait((BACKGROUND if background else FOREGROUND, next(self._arrivals), job))
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), max(deadline - time.monotonic(), 0))
        except TimeoutError:
            raise DeadlineExceeded("ran out of time waiting for the model") from None
        finally:
            job.future.cancel()  # a no-op once answered; otherwise the worker skips the job

    async def _run(self) -> None:
        """The worker: gather, classify, answer, for ever (until :meth:`stop` cancels it)."""
        while True:
            priority, jobs = await self._gather()
            try:
                await self._serve(priority, [job for job in jobs if not job.future.done()])
            finally:
                for _ in jobs:
                    self.queue.task_done()

    async def _gather(self) -> tuple[int, list[Job]]:
        """The most urgent job (:meth:`_next`). A foreground job comes with up to ``max_batch`` examples more: all
        the foreground jobs queued, and those that arrive within ``max_wait_ms``. A background job comes alone."""
        priority, first = await self._next()
        jobs = [first]
        size = len(first.items)
        deadline = time.monotonic() + self.limits.max_wait_ms / 1000
        while priority == FOREGROUND and size < self.limits.max_batch:
            try:
                entry = self.queue.get_nowait()  # what queued up while the model was busy goes in without waiting
            except asyncio.QueueEmpty:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    entry = await asyncio.wait_for(self.queue.get(), timeout)
                except TimeoutError:
                    break
            if entry[0] == BACKGROUND:  # no foreground job left: put it back for its own turn
                self.queue.put_nowait(entry)
                self.queue.task_done()
                break
            jobs.append(entry[2])
            size += len(entry[2].items)
        return priority, jobs

    async def _next(self) -> tuple[int, Job]:
        """The first job of the queue; but a background job over its share waits up to ``GRACE_S`` for a
        foreground job to go first (the other is put back)."""
        entry = await self.queue.get()
        if entry[0] == FOREGROUND or not self._background_over_share():
            return entry[0], entry[2]
        try:
            other = await asyncio.wait_for(self.queue.get(), GRACE_S)
        except TimeoutError:
            return entry[0], entry[2]
        keep, back = (other, entry) if other[0] == FOREGROUND else (entry, other)
        self.queue.put_nowait(back)
        self.queue.task_done()
        return keep[0], keep[2]

    def _background_over_share(self) -> bool:
        foreground, background = self._busy
        active = time.monotonic() - self._last_foreground < ACTIVE_S
        return active and background > BACKGROUND_SHARE * (foreground + background)

    async def _serve(self, priority: int, jobs: list[Job]) -> None:
        """Classify the jobs together; if that fails, each job alone, so that each gets its own result or error."""
        if not jobs:
            return
        examples = [ex for job in jobs for ex in job.examples]
        try:
            preds = await self._predict(priority, examples, [item for job in jobs for item in job.items])
        except Exception as exc:
            if len(jobs) == 1:
                if not jobs[0].future.done():
                    jobs[0].future.set_exception(exc)
                return
            logger.warning("a batch of %d requests failed (%r); classifying them one by one", len(jobs), exc)
            for job in jobs:
                await self._serve(priority, [job])
            return
        offset = 0
        for job in jobs:
            if not job.future.done():
                job.future.set_result(preds[offset : offset + len(job.items)])
            offset += len(job.items)

    async def _predict(self, priority: int, examples: list[Example], items: list[Item]) -> list[Prediction]:
        """One ``predict`` on encoded examples, holding the model lock, off the event loop; its time is counted
        against its priority's share."""
        async with self.lock:
            start = time.monotonic()
            try:
                preds = await asyncio.to_thread(self.model.predict, examples, self.limits.max_batch, encoded=items)
            finally:
                self._busy = [seconds * DECAY for seconds in self._busy]
                self._busy[priority] += time.monotonic() - start
                if priority == FOREGROUND:
                    self._last_foreground = time.monotonic()
        self.batches += 1
        self.examples += len(items)
        return preds
