"""``relenc extract IN OUT``: documents in, one JSON line of triples per document out.

Streaming with constant memory (documents are read, classified and written a few at a time), resumable (a rerun
skips the documents already in OUT, and drops a last line cut off by a crash), and robust: a document that fails
gets an ``error`` field in its output line instead of stopping the job.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from relenc.data.readers._common import json_objects
from relenc.errors import DataError
from relenc.pipeline.extract import Entity, Pipeline
from relenc.progress import progress_bar


@dataclass
class BatchStats:
    documents: int = 0
    skipped: int = 0
    failed: int = 0
    relations: int = 0


def iter_documents(path: str | Path) -> Iterator[tuple[str, str, list[Entity] | None]]:
    """(id, text, entities) from JSONL (``{"id", "text", "entities"?}``) or plain text (one document per line)."""
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", p)
    with p.open(encoding="utf-8") as fh:
        if p.suffix != ".jsonl":
            for number, line in enumerate(fh, start=1):
                if line.strip():
                    yield str(number), line.rstrip("\n"), None
            return
        for number, record in json_objects(fh, p, "a string field 'text'"):
            if not isinstance(record.get("text"), str):
                raise DataError("each line needs a string field 'text'", p, f"line {number}")
            yield str(record.get("id", number)), record["text"], _entities(record, p, number)


def _entities(record: dict[str, Any], path: Path, number: int) -> list[Entity] | None:
    """The entities a JSONL document gives (None: find them with NER)."""
    if "entities" not in record:
        return None
    try:
        return [Entity(e["text"], int(e["start"]), int(e["end"]), e.get("type")) for e in record["entities"]]
    except (KeyError, TypeError, ValueError):
        raise DataError("entities need text, start and end", path, f"line {number}") from None


def done_ids(output: Path) -> set[str]:
    """Ids already written; a last line cut off by a crash is removed so the rerun rewrites that document."""
    if not output.exists():
        return set()
    data = output.read_bytes()
    keep = data[: data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        with output.open("r+b") as fh:
            fh.truncate(len(keep))
    ids = set()
    for line in keep.decode("utf-8").splitlines():
        if line.strip():
            ids.add(str(json.loads(line)["id"]))
    return ids


def pending_chunks(
    source: str | Path, finished: set[str], chunk: int, stats: BatchStats
) -> Iterator[list[tuple[str, str, list[Entity] | None]]]:
    """The documents of ``source`` not in ``finished``, in chunks of ``chunk`` (the last one may be shorter).

    Both engines process these same chunks, so they group documents, and hence batch candidates, the same way. A
    malformed line raises when it is read: the complete chunks before it have been yielded, the partial one is not.
    """
    buffer: list[tuple[str, str, list[Entity] | None]] = []
    for doc_id, text, entities in iter_documents(source):
        if doc_id in finished:
            stats.skipped += 1
            continue
        buffer.append((doc_id, text, entities))
        if len(buffer) >= chunk:
            yield buffer
            buffer = []
    if buffer:
        yield buffer


def extract_file(
    pipeline: Pipeline, source: str | Path, output: str | Path, chunk: int = 32, progress: bool = True
) -> BatchStats:
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    finished = done_ids(out)
    stats = BatchStats()
    with (
        out.open("a", encoding="utf-8") as fh,
        progress_bar(enabled=progress, total_known=False, transient=True) as bar,
    ):
        task = bar.add_task("extracting", total=None)
        for docs in pending_chunks(source, finished, chunk, stats):
            for line in _process(pipeline, docs, stats):
                fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            bar.update(task, description=f"extracting: {stats.documents} documents, {stats.relations} relations")
    return stats


def _process(pipeline: Pipeline, docs: list[tuple[str, str, list[Entity] | None]], stats: BatchStats) -> Iterator[str]:
    try:
        batch = pipeline.extract_many([d[1] for d in docs], [d[2] for d in docs])
        results: list[Any] = list(batch)
    except DataError:
        results = []
        for doc in docs:  # find the document at fault: one at a time
            try:
                results.append(pipeline.extract(doc[1], doc[2]))
            except DataError as exc:
                results.append(exc)
    for (doc_id, _, _), result in zip(docs, results, strict=True):
        stats.documents += 1
        if isinstance(result, Exception):
            stats.failed += 1
            yield json.dumps({"id": doc_id, "relations": [], "error": str(result)})
            continue
        stats.relations += len(result)
        yield json.dumps({"id": doc_id, "relations": [asdict(t) for t in result]}, ensure_ascii=False)
