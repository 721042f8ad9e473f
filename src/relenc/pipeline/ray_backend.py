"""``relenc extract --engine ray``: the batch job of :mod:`relenc.pipeline.batch`, sharded across Ray workers.

The output is byte for byte what the local engine writes, because everything that decides it is shared:

* the driver reads IN with the same reader (same ids, same validation), refuses and resumes the same outputs, and
  skips the documents already written, through the same :class:`relenc.pipeline.batch.OutputFiles`;
* it cuts the remaining documents into the same chunks of ``chunk`` documents the local engine classifies together
  (the model batches candidates of a chunk by length, so another grouping could change a score in its last digit);
* one chunk is one row of a Ray dataset, and a worker runs it through the local engine's own ``_process``, so the
  lines and error records are the same code's;
* the driver appends the chunks' lines to ``.OUT.partial`` in input order, fsynced chunk by chunk, and renames it
  over OUT at the end, so an interrupted job keeps every line already written, a rerun skips those documents, and
  OUT is only ever a finished output (either engine can resume the other's job).

``map_batches`` runs a pool of actors (:class:`_ChunkExtractor`) that each load the model once per window of
chunks. The driver reads IN one window at a time (``window`` chunks, 1,000 by default), so its memory does not grow
with the input.

On a cluster (``address``), relenc, its ``nlp`` extra and the model directory must be present on every node.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import astuple
from pathlib import Path
from typing import Any

from relenc.errors import DataError, RelencError
from relenc.pipeline.batch import (
    BatchStats,
    Document,
    Notify,
    OutputFiles,
    _process,
    job_settings,
    pending_chunks,
    to_stderr,
)
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import ExtractionConfig, Pipeline, load_pipeline
from relenc.progress import progress_bar
from relenc.ray_cluster import connect, import_ray

# One chunk per Ray block (so results stream back, and are written, chunk by chunk), up to this many blocks.
_MAX_BLOCKS = 10_000


def extract_file_ray(
    model_dir: str,
    source: str | Path,
    output: str | Path,
    config: ExtractionConfig | None = None,
    chunk: int = 32,
    progress: bool = True,
    workers: int | None = None,
    cpus_per_worker: int = 1,
    address: str | None = None,
    window: int = 1000,
    overwrite: bool = False,
    notify: Notify = to_stderr,
) -> BatchStats:
    """:func:`relenc.pipeline.batch.extract_file` on Ray: ``workers`` actors, each loading ``model_dir`` once.

    ``address`` connects to a running cluster this machine is a node of (``auto``, ``host:6379``; Ray Data does not
    run over Ray Client, so ``ray://`` addresses are refused with that advice); without it a local Ray instance is
    started with ``workers * cpus_per_worker`` CPUs (all of the machine's when ``workers`` is None). ``workers=None``
    on a cluster means as many as its CPUs allow. If Ray was already initialised by the caller it is used as is;
    otherwise it is shut down (a local instance stopped, a cluster connection closed) when the job ends.

    The input is read ``window`` chunks at a time, each window run to the end before the next is read: the driver
    holds at most ``window * chunk`` documents, whatever the size of the input, and the workers load the model again
    for each window (seconds, against the minutes a window of 32,000 documents takes).

    ``overwrite`` and ``notify`` are the local engine's; the job recorded for resuming is ``model_dir`` with
    ``config`` (:func:`relenc.pipeline.batch.job_settings`), as ``relenc extract`` records it on either engine.
    """
    if chunk < 1 or cpus_per_worker < 1 or window < 1 or (workers is not None and workers < 1):
        raise RelencError("chunk, window, workers and cpus per worker must be at least 1")
    if address is not None and address.startswith("ray://"):
        raise RelencError(
            f"{address}: Ray Data does not run over Ray Client (ray:// addresses; tried with Ray 2.60, it fails inside "
            "Ray Data). Run relenc on a node of the cluster with --ray-address auto, or submit it as a Ray job."
        )
    ray = import_ray(data=True)
    config = config or ExtractionConfig()
    if Path(model_dir).exists():  # workers on other nodes do not start in our working directory
        model_dir = str(Path(model_dir).resolve())
    stats = BatchStats()
    started = False
    with OutputFiles(source, output, overwrite, job_settings(model_dir, config)) as files:
        try:
            for chunks, read_error in _windows(files, chunk, window, stats, notify):
                if chunks:
                    started = connect(ray, address, workers, cpus_per_worker) or started  # once: then Ray is up
                    pool = workers or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_worker))
                    _run(ray, model_dir, config, chunks, files, stats, pool, cpus_per_worker, progress)
                if read_error is not None:
                    raise files.stopped(read_error, stats)
            files.finish()
        finally:
            if started:
                ray.shutdown()
    return stats


def _windows(
    files: OutputFiles, chunk: int, window: int, stats: BatchStats, notify: Notify
) -> Iterator[tuple[list[list[Document]], DataError | None]]:
    """The local engine's chunks, ``window`` at a time. A malformed line ends the input: the chunks before it come
    with the error, to be raised once they are written, so both engines leave the same partial output behind."""
    chunks: list[list[Document]] = []
    try:
        for docs in pending_chunks(files, chunk, stats, notify):
            chunks.append(docs)
            if len(chunks) == window:
                yield chunks, None
                chunks = []
    except DataError as exc:
        yield chunks, exc
        return
    if chunks:
        yield chunks, None


def _run(
    ray: Any,
    model_dir: str,
    config: ExtractionConfig,
    chunks: list[list[Document]],
    files: OutputFiles,
    stats: BatchStats,
    workers: int,
    cpus_per_worker: int,
    progress: bool,
) -> None:
    """Classify the chunks on the actor pool and append their lines to the output in input order as they arrive."""
    rows = [{"index": i, "docs": _encode(docs)} for i, docs in enumerate(chunks)]
    dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), _MAX_BLOCKS)).map_batches(
        _ChunkExtractor,
        fn_constructor_kwargs={"model_dir": model_dir, "config": config, "threads": cpus_per_worker},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(rows))),  # no idle actors for a short window
        num_cpus=cpus_per_worker,
    )
    dataset.context.enable_progress_bars = False  # ours below; Ray's would interleave with it
    dataset.context.print_on_execution_start = False
    waiting: dict[int, dict[str, Any]] = {}  # results that arrived before an earlier chunk's
    following = 0
    with progress_bar(enabled=progress, total_known=False, transient=True) as bar:
        task = bar.add_task(f"extracting on {workers} Ray workers", total=None)
        for row in dataset.iter_rows():
            if row["error"]:
                raise RelencError(f"on a Ray worker: {row['error']}")
            waiting[int(row["index"])] = row
            while following in waiting:
                done = waiting.pop(following)
                files.append(str(done["lines"]))
                stats.documents += int(done["documents"])
                stats.failed += int(done["failed"])
                stats.relations += int(done["relations"])
                following += 1
                bar.update(task, description=f"extracting: {stats.documents} documents, {stats.relations} relations")


def _encode(docs: list[Document]) -> str:
    """A chunk as one JSON string: one Arrow string cell, instead of nested columns with nulls and dataclasses."""
    return json.dumps([[i, text, None if ents is None else [astuple(e) for e in ents]] for i, text, ents in docs])


def _decode(data: str) -> list[Document]:
    return [
        (doc_id, text, None if ents is None else [Entity(*e) for e in ents]) for doc_id, text, ents in json.loads(data)
    ]


class _ChunkExtractor:
    """One per Ray worker: loads the pipeline once, then classifies whole chunks exactly as the local engine does.

    A user error (no model at ``model_dir``, no spaCy pipeline) is returned in the ``error`` column rather than
    raised: raised, it would make Ray restart the actor again and again and bury the message in a traceback; as a
    value, the driver raises it as the one-line :class:`RelencError` the CLI prints.
    """

    def __init__(self, model_dir: str, config: ExtractionConfig, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)  # the worker's CPU share, not all of the node's cores
        self.pipeline: Pipeline | None = None
        self.problem = ""
        try:
            pipeline = load_pipeline(model_dir, config)
            _ = pipeline.nlp  # spaCy is loaded lazily: load it here, once, and report a missing pipeline now
            self.pipeline = pipeline
        except RelencError as exc:
            self.problem = str(exc)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        result: dict[str, list[Any]] = {key: [] for key in ("index", "lines", "documents", "failed", "relations")}
        result["error"] = []
        for index, data in zip(batch["index"], batch["docs"], strict=True):
            stats = BatchStats()
            lines, problem = "", self.problem
            if self.pipeline is not None:
                try:
                    lines = "".join(line + "\n" for line in _process(self.pipeline, _decode(str(data)), stats))
                except RelencError as exc:  # _process records DataErrors per document; anything else stops the job
                    problem = str(exc)
            result["index"].append(int(index))
            result["lines"].append(lines)
            result["documents"].append(stats.documents)
            result["failed"].append(stats.failed)
            result["relations"].append(stats.relations)
            result["error"].append(problem)
        return result
