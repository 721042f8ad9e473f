"""``relenc mine-pairs``: a corpus-scale mining run, in parallel processes, into a resumable sharded output.

The parent process reads the inputs (:mod:`~relenc.pretraining.corpus`) and cuts the documents into shards of
``shard_size`` documents, and each shard into chunks of :data:`CHUNK` documents. Worker processes (``spawn``: no
state is inherited; each loads spaCy once) mine the chunks with :func:`~relenc.pretraining.pairs.mine_chunk`, a
pure function. The parent takes the results back in input order and writes each shard when its last chunk is in
(:class:`~relenc.pretraining.shards.ShardedOutput`). Shards and chunks are cut by position only, so the output is
the same whatever the number of workers, and a resumed run goes on with the shard after the last complete one.

At most ``2 * workers`` chunks are in flight, so memory is bounded by one shard's documents and pairs, whatever
the size of the corpus.

With ``engine="ray"`` the chunks go to Ray tasks instead of the process pool, for corpora beyond one machine: the
same chunks, the same :func:`~relenc.pretraining.pairs.mine_chunk` (each Ray worker process loads spaCy once and
keeps it for its next tasks), the same window of ``2 * workers`` chunks in flight and the same in-order writing, so
both engines write the same shards and manifest, and either resumes the other's run. Plain tasks rather than Ray
Data (which ``relenc extract --engine ray`` uses): a chunk is already the unit of work, and a deque of task
references in input order is the process pool's own bounded, ordered loop. The documents travel with the tasks,
so the inputs need only be on this machine; relenc with its ``nlp`` extra must be installed on every node.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.progress import Progress, TaskID

from relenc.errors import RelencError
from relenc.pretraining.corpus import Corpus, Document, InputFormat, open_corpus
from relenc.pretraining.pairs import ChunkResult, MiningSettings, MiningStats, mine_chunk
from relenc.pretraining.shards import ShardedOutput
from relenc.progress import progress_bar
from relenc.ray_cluster import connect, import_ray

#: Documents per chunk, the unit of work of a worker: small enough to share a shard among workers, large enough
#: that sending it costs little next to mining it. Fixed, so that chunks (and spaCy's batches) never vary.
CHUNK = 32
DEFAULT_SHARD_SIZE = 1000
_WATCH_SECONDS = 1.0  # how often a worker checks that its parent is alive
_FIELDS = ("{task.fields[pairs]:,} pairs", "{task.fields[rate]:.1f} docs/s")
Engine = Literal["process", "ray"]
ENGINES: tuple[Engine, ...] = ("process", "ray")


@dataclass(frozen=True)
class MiningJob:
    """What decides a run's output: the inputs, how to read them, the mining settings and the sharding."""

    inputs: tuple[str, ...]
    input_format: InputFormat = "auto"
    settings: MiningSettings = field(default_factory=MiningSettings)
    shard_size: int = DEFAULT_SHARD_SIZE
    max_documents: int | None = None

    def record(self, corpus: Corpus) -> dict[str, Any]:
        """The job as the manifest keeps it: a resumed run must match it."""
        return {
            "inputs": corpus.describe(),
            "skipped_files": list(corpus.skipped),
            "input_format": self.input_format,
            "settings": self.settings.to_json(),
            "shard_size": self.shard_size,
            "max_documents": self.max_documents,
        }


@dataclass
class Chunk:
    """Consecutive documents of one shard; ``last`` marks the shard's last chunk."""

    documents: list[Document]
    last: bool


def default_workers() -> int:
    """The CPUs this process may run on (a container's or ``taskset``'s share, not the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def mine_corpus(
    job: MiningJob,
    output: str | Path,
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
    count: bool = True,
    engine: Engine = "process",
    ray_address: str | None = None,
) -> dict[str, Any]:
    """Run ``job`` into the directory ``output`` (resuming a run of the same job there); return the manifest.

    ``count`` reads the inputs once first to count their documents, for a progress bar with a total and an ETA
    (cheap next to mining: seconds for 60 MB of text); without it the bar shows documents/s only.

    ``engine``: ``process`` (a pool of ``workers`` spawned processes; one worker mines in this process) or ``ray``
    (``workers`` Ray tasks at a time; default: one per CPU of the Ray cluster). The engine is not part of the job:
    it changes nothing in the output. On Ray, ``ray_address`` joins a running cluster (``auto``, ``host:6379``);
    without it a local instance is started with ``workers`` CPUs. A Ray session the caller started is used as it
    is; one started here is shut down at the end.
    """
    if engine not in ENGINES:
        raise RelencError(f"unknown mining engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine == "process" and ray_address is not None:
        raise RelencError("a Ray address needs the ray engine")
    if (workers is not None and workers < 1) or job.shard_size < 1 or (job.max_documents or 0) < 0:
        raise RelencError("workers and the shard size must be at least 1, and max documents at least 0")
    corpus = open_corpus(job.inputs, job.input_format)
    out = ShardedOutput(output, job.record(corpus), overwrite)
    if out.complete:
        return out.manifest
    start = time.monotonic()
    total = _count(corpus, job.max_documents) if progress and count else None
    documents = _pending(corpus, job.max_documents, out)
    with progress_bar(enabled=progress, total_known=total is not None, fields=_FIELDS) as bar:
        task = bar.add_task("mining pairs", total=total, completed=out.documents_done, pairs=0, rate=0.0)
        chunks = _chunks(documents, job.shard_size)
        if engine == "ray":
            results = _ray_results(chunks, job.settings, workers, ray_address)
        else:
            results = _ordered_results(chunks, job.settings, workers or default_workers())
        _write_shards(results, out, start, _Progress(bar, task, out.documents_done, start, total is not None))
    out.finish(time.monotonic() - start)
    return out.manifest


def _count(corpus: Corpus, max_documents: int | None) -> int:
    return sum(1 for _ in itertools.islice(corpus.documents(), max_documents))


def _pending(corpus: Corpus, max_documents: int | None, out: ShardedOutput) -> Iterator[Document]:
    """The documents after those of the complete shards; the last of those must be where it was (same input)."""
    documents = itertools.islice(corpus.documents(), max_documents)
    done = out.documents_done
    if done:
        last = next(itertools.islice(documents, done - 1, None), None)
        if last is None or last.id != out.last_id:
            raise RelencError(
                f"the inputs have changed since the last run: document {done} is {last.id if last else 'missing'!r}, "
                f"the manifest says {out.last_id!r}; pass --overwrite to mine afresh"
            )
    return documents


def _chunks(documents: Iterator[Document], shard_size: int) -> Iterator[Chunk]:
    """Shards of ``shard_size`` documents, each cut into chunks of :data:`CHUNK`."""
    while shard := list(itertools.islice(documents, shard_size)):
        for first in range(0, len(shard), CHUNK):
            yield Chunk(shard[first : first + CHUNK], last=first + CHUNK >= len(shard))


def _ordered_results(
    chunks: Iterable[Chunk], settings: MiningSettings, workers: int
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Each chunk with its result, in input order: in this process for one worker, else in a pool of processes
    with at most ``2 * workers`` chunks in flight."""
    if workers == 1:
        for chunk in chunks:
            yield chunk, mine_chunk(chunk.documents, settings)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),))
    pending: deque[tuple[Chunk, Future[ChunkResult]]] = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(mine_chunk, chunk.documents, settings)))
            if len(pending) >= 2 * workers:
                yield _next_result(pending)
        while pending:
            yield _next_result(pending)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _watch_parent(parent: int) -> None:
    """Start a thread that ends this worker when its parent is gone (``kill -9``, out of memory): the pool's queue
    would otherwise keep it waiting for work forever, holding a spaCy pipeline's memory."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _next_result(pending: deque[tuple[Chunk, Future[ChunkResult]]]) -> tuple[Chunk, ChunkResult]:
    chunk, future = pending.popleft()
    try:
        return chunk, future.result()
    except BrokenProcessPool as exc:
        raise RelencError(
            "a worker process died (killed, or out of memory): the complete shards are kept; rerun to go on, "
            "with fewer --workers if memory is short"
        ) from exc


def _ray_results(
    chunks: Iterable[Chunk], settings: MiningSettings, workers: int | None, address: str | None
) -> Iterator[tuple[Chunk, ChunkResult]]:
    """Each chunk with its result, in input order, mined by Ray tasks with at most ``2 * workers`` in flight (as
    :func:`_ordered_results` does with processes). Ray is imported and connected only when there is a chunk to
    mine, so a resumed run with nothing left to do never starts it."""
    remaining = iter(chunks)
    first = next(remaining, None)
    if first is None:
        return
    ray = import_ray()
    started = connect(ray, address, workers)
    pending: deque[tuple[Chunk, Any]] = deque()
    try:
        in_flight = 2 * (workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        task = ray.remote(num_cpus=1)(mine_chunk)
        for chunk in itertools.chain([first], remaining):
            pending.append((chunk, task.remote(chunk.documents, settings)))
            if len(pending) >= in_flight:
                yield _next_ray_result(ray, pending)
        while pending:
            yield _next_ray_result(ray, pending)
    finally:
        for _, ref in pending:  # stopped early (an error, Ctrl-C): the chunks in flight are not wanted any more
            ray.cancel(ref)
        if started:
            ray.shutdown()


def _next_ray_result(ray: Any, pending: deque[tuple[Chunk, Any]]) -> tuple[Chunk, ChunkResult]:
    """The oldest chunk's result. A RelencError raised in a task (no spaCy pipeline of that name) is raised here
    as itself, for the one-line message; a worker or node that died is a RelencError saying how to go on."""
    chunk, ref = pending.popleft()
    try:
        return chunk, ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, RelencError):
            raise exc.cause from None
        raise
    except ray.exceptions.RayError as exc:
        raise RelencError(
            f"a Ray worker died ({type(exc).__name__}): the complete shards are kept; rerun to go on"
        ) from exc


@dataclass
class _Progress:
    """The bar of a run: documents done (this run's and the resumed ones), pairs, and this run's documents/s."""

    bar: Progress
    task: TaskID
    resumed: int
    start: float
    total_known: bool
    documents: int = 0
    pairs: int = 0

    def advance(self, stats: MiningStats) -> None:
        self.documents += stats.documents
        self.pairs += stats.pairs
        rate = self.documents / max(time.monotonic() - self.start, 1e-9)
        done = self.resumed + self.documents
        self.bar.update(self.task, completed=done, pairs=self.pairs, rate=rate)
        if not self.total_known:  # no done/total column then: say it in the description
            self.bar.update(self.task, description=f"mining pairs: {done:,} documents")


def _write_shards(
    results: Iterable[tuple[Chunk, ChunkResult]], out: ShardedOutput, start: float, progress: _Progress
) -> None:
    """Gather the chunks' lines shard by shard, and write each shard when its last chunk is in."""
    lines: list[str] = []
    stats = MiningStats()
    first_id: str | None = None
    for chunk, result in results:
        lines += result.lines
        stats.merge(result.stats)
        first_id = first_id or chunk.documents[0].id
        progress.advance(result.stats)
        if chunk.last:
            ids = (first_id, chunk.documents[-1].id)
            out.add_shard(lines, stats, out.documents_done, ids, time.monotonic() - start)
            lines, stats, first_id = [], MiningStats(), None
