"""``relenc extract IN OUT``: documents in, one JSON line of triples per document out.

Line k of OUT is the k-th document of IN (blank lines are not documents), whatever its id: two documents with the
same id each keep their own line, and a warning names such ids. A document that fails in the model gets an
``error`` field in its line instead of stopping the job.

Files. OUT only ever holds a finished job's whole output; a failed job never leaves an OUT, nor an empty file. While
the job runs, its lines are appended to ``.OUT.partial`` beside OUT, flushed and fsynced chunk by chunk, and when IN
is exhausted that file is renamed over OUT in one atomic step. The state file ``.OUT.relenc.json`` (beside them,
written atomically before the partial file is started) records the job: IN's resolved path, the model and the
settings (:func:`job_settings`), and the size and SHA-256 of the OUT it finished. That is how a later run tells its
own output from a file it did not write.

Resuming. Rerunning the same job (same IN, model and settings) goes on from ``.OUT.partial`` if there is one (a last
line cut off by a kill is dropped, so that document is done again), else from a finished OUT (copied to the partial
file before anything is appended: OUT stays whole until the longer one replaces it). Documents are skipped by
position, and each skipped document's id must be the id on its output line, so an IN changed since is refused
rather than mixed in. A kill -9 at any point thus loses no fsynced line and never leaves OUT cut off or mixed.
This job's own output is never thrown away: to compute it again, delete OUT (and ``.OUT.partial``).

Refused, with a one-line error that says what to do: OUT is IN (by another path or a hard link too); an OUT or a
``.OUT.partial`` that is not this job's (another program's file, a file changed since, or the output of another
input or other settings), unless ``overwrite`` (``--overwrite``) allows replacing it, which happens only once the new
output is complete; an empty or all-blank IN; a line of IN that is not UTF-8 or holds a NUL byte (a binary file);
a ``.json`` IN (JSON lines must be named ``.jsonl``); a JSON line that is not an object with a string ``text``.

Memory stays constant but for the set of ids seen (to name the repeated ones).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from relenc.data.readers._common import json_objects
from relenc.errors import DataError, RelencError
from relenc.io import write_errors_named, write_text_atomic
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import ExtractionConfig, Pipeline
from relenc.progress import progress_bar

Document = tuple[str, str, list[Entity] | None]
Notify = Callable[[str], None]

#: Suffixes read as JSON lines (``{"id", "text", "entities"?}`` per line); any other file is plain text.
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_FORMATS = 'UTF-8 plain text (one document per line) or JSON lines (.jsonl: one {"id", "text"} object per line)'
_STATE_VERSION = 1
_BLOCK = 1 << 16
_KEPT = "what was done so far is kept: fix this and rerun to go on"


@dataclass
class BatchStats:
    documents: int = 0
    skipped: int = 0
    failed: int = 0
    relations: int = 0


def to_stderr(message: str) -> None:
    """The default ``notify``: a library call names repeated ids too, not only the command line."""
    print(message, file=sys.stderr)


def job_settings(model_dir: str, config: ExtractionConfig) -> dict[str, Any]:
    """What decides OUT besides IN: the model and the pipeline settings, as JSON values.

    A rerun goes on from an earlier output only if these are the same, so one OUT never mixes two models' or two
    thresholds' triples. ``compile`` is left out: it changes the speed, not the job.
    """
    model = Path(model_dir).expanduser()
    settings = {key: value for key, value in asdict(config).items() if key != "compile"}
    as_json = json.dumps(settings, sort_keys=True, default=_json_value)
    return {"model": str(model.resolve()) if model.exists() else model_dir, "config": json.loads(as_json)}


def _json_value(value: Any) -> Any:
    """A set as a list in a fixed order (so equal settings compare equal); anything else JSON lacks, as text."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    return str(value)


def iter_documents(path: str | Path) -> Iterator[tuple[int, Document]]:
    """``(line number, (id, text, entities))`` from JSONL (``{"id"?, "text", "entities"?}``) or plain text (one
    document per line, its id the line number). Blank lines are skipped. Bad input is a DataError naming the line."""
    p = Path(path)
    check_input(p)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", p) from None
    with fh:
        lines = _decoded_lines(fh, p)
        if p.suffix.lower() not in JSONL_SUFFIXES:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield number, (str(number), line, None)
            return
        for number, record in json_objects(lines, p, "a string field 'text'"):
            yield number, _document(record, p, number)


def check_input(path: Path) -> None:
    """Refuse, before anything else happens, an IN that cannot be one: missing, a directory, or a ``.json`` file
    (whose lines would otherwise be taken for plain-text documents)."""
    if not path.exists():
        raise DataError("file not found", path)
    if not path.is_file():
        raise DataError("is a directory, expected a file", path)
    if path.suffix.lower() == ".json":
        raise DataError(f"a .json file: relenc extract reads {_FORMATS}; name a JSON-lines file .jsonl", path)


def _decoded_lines(fh: BinaryIO, path: Path) -> Iterator[str]:
    """The file's lines without their ends. Decoding line by line is what lets an error name the line."""
    for number, raw in enumerate(fh, start=1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # a byte-order mark is not text
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line); relenc extract reads {_FORMATS}"
            raise DataError(problem, path, f"line {number}") from None
        if "\x00" in line:
            raise DataError(
                f"holds a NUL byte (a binary file?); relenc extract reads {_FORMATS}", path, f"line {number}"
            )
        yield line.removesuffix("\n").removesuffix("\r")


def _document(record: dict[str, Any], path: Path, number: int) -> Document:
    if not isinstance(record.get("text"), str):
        raise DataError("each line needs a string field 'text'", path, f"line {number}")
    doc_id = record.get("id", number)
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise DataError(f"'id' must be a string or an integer, got {doc_id!r}", path, f"line {number}")
    return str(doc_id), record["text"], _entities(record, path, number)


def _entities(record: dict[str, Any], path: Path, number: int) -> list[Entity] | None:
    """The entities a JSONL document gives (None: find them with NER)."""
    if "entities" not in record:
        return None
    try:
        return [Entity(e["text"], int(e["start"]), int(e["end"]), e.get("type")) for e in record["entities"]]
    except (KeyError, TypeError, ValueError, AttributeError):
        raise DataError("entities need text, start and end", path, f"line {number}") from None


class OutputFiles:
    """OUT, ``.OUT.partial`` and the state file ``.OUT.relenc.json`` of one job (see the module docstring).

    Built before any document is read: it refuses what must not be written over, and picks what to resume from
    (:attr:`resume_from`: the partial file, a finished OUT, or None). :meth:`append` adds a chunk's lines,
    :meth:`finish` makes the output whole. Use it as a context manager so the partial file is closed on errors.
    """

    def __init__(self, source: str | Path, output: str | Path, overwrite: bool, job: dict[str, Any] | None) -> None:
        self.source, self.out = Path(source), Path(output)
        self.partial = self.out.with_name(f".{self.out.name}.partial")
        self.state_file = self.out.with_name(f".{self.out.name}.relenc.json")
        self.job: dict[str, Any] = {"input": str(self.source.resolve()), "settings": job}
        check_input(self.source)
        for target in (self.out, self.partial, self.state_file):
            if _same_file(self.source, target):
                raise RelencError(f"{target} is the input {self.source}: write the output (OUT) to another path")
        if self.out.is_dir():
            raise RelencError(f"OUT {self.out} is a directory: give a file path")
        self._handle: BinaryIO | None = None
        self._finished: dict[str, Any] | None = None  # OUT's fingerprint, when OUT is this job's
        self.resume_from = self._resume_from(overwrite)

    def _resume_from(self, overwrite: bool) -> Path | None:
        state = _read_state(self.state_file)
        same_job = state is not None and state.get("job") == self.job
        if self.partial.exists():
            if same_job:
                with write_errors_named(self.partial, _KEPT):
                    _drop_cut_off_line(self.partial)
                return self.partial
            _refuse(
                overwrite,
                f"{self.partial} holds the unfinished output of {self._whose(state)}: rerun that job "
                "to finish it, or pass --overwrite to start afresh (OUT is replaced once the new output is whole)",
            )
            return None
        if not self.out.exists():
            return None
        if state is None or not _is_fingerprint_of(state.get("output"), self.out):
            _refuse(
                overwrite,
                f"{self.out} exists and was not written by relenc extract (or was changed since): "
                "write to another OUT, or pass --overwrite to replace it once the new output is whole",
            )
            return None
        if same_job:
            self._finished = state["output"]
            return self.out
        _refuse(
            overwrite,
            f"{self.out} is the output of {self._whose(state)}: write to another OUT, or pass "
            "--overwrite to replace it once the new output is whole",
        )
        return None

    def _whose(self, state: dict[str, Any] | None) -> str:
        """Which job an output belongs to, as far as it differs from this one."""
        job = state.get("job") if state is not None else None
        if not isinstance(job, dict):
            return f"an unknown job (no state file {self.state_file})"
        if job.get("input") != self.job["input"]:
            return f"another input ({job.get('input')})"
        old, new = job.get("settings") or {}, self.job["settings"] or {}
        flat_old, flat_new = {**old, **(old.get("config") or {})}, {**new, **(new.get("config") or {})}
        keys = sorted(
            k for k in flat_old.keys() | flat_new.keys() if k != "config" and flat_old.get(k) != flat_new.get(k)
        )
        return f"this input with other settings ({', '.join(keys) or 'unrecorded'})"

    def written_ids(self) -> Iterator[str]:
        """The ids of the lines already written, in order: none unless resuming."""
        if self.resume_from is None:
            return
        with self.resume_from.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                try:
                    record = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    record = None  # refused just below
                if not isinstance(record, dict) or "id" not in record:
                    raise RelencError(
                        f"{self.resume_from}, line {number}: not a line relenc extract writes (edited since?); "
                        f"delete {self.resume_from} to start afresh"
                    )
                yield str(record["id"])

    def append(self, lines: str) -> None:
        """Append a chunk's lines (each ending in a newline) and fsync them: from now on a kill cannot lose them."""
        with write_errors_named(self.partial, _KEPT):
            if self._handle is None:
                self._handle = self._start()
            self._handle.write(lines.encode("utf-8"))
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def _start(self) -> BinaryIO:
        """Record the job, then open the partial file: resumed, copied from a finished OUT, or new."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        if self.resume_from != self.partial:  # a resumed partial file's job is recorded already
            state = {"version": _STATE_VERSION, "job": self.job, "output": self._finished}
            write_text_atomic(self.state_file, json.dumps(state))
        if self.resume_from == self.out:
            shutil.copyfile(self.out, self.partial)  # a kill mid-copy leaves a prefix of OUT: still a valid resume
        return self.partial.open("ab" if self.resume_from is not None else "wb")

    def finish(self) -> None:
        """Rename the partial file over OUT, once the state file records it (a kill in between: the rerun finishes).
        Nothing to do when a finished OUT had no document to add."""
        if self._handle is None and self.resume_from != self.partial:
            return
        self.close()
        with write_errors_named(self.out, _KEPT):
            fingerprint = _fingerprint(self.partial)
            write_text_atomic(
                self.state_file, json.dumps({"version": _STATE_VERSION, "job": self.job, "output": fingerprint})
            )
            os.replace(self.partial, self.out)

    def stopped(self, exc: DataError, stats: BatchStats) -> DataError:
        """``exc`` (a bad line of IN, raised after the chunks before it were written) with how to go on."""
        done = stats.skipped + stats.documents
        if not done or not self.partial.exists():
            return exc
        advice = f"the {done} documents before it are kept in {self.partial}: fix it and rerun to go on from there"
        return DataError(f"{exc.problem}; {advice}", exc.source, exc.location)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _refuse(overwrite: bool, problem: str) -> None:
    """Raise ``problem`` unless the user allowed replacing what is not this job's output."""
    if not overwrite:
        raise RelencError(problem)


def _same_file(a: Path, b: Path) -> bool:
    """The same file, also through a symbolic link, ``..`` or a hard link."""
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def _read_state(path: Path) -> dict[str, Any] | None:
    """The state file's record, or None when there is none or it is not one: then no output is recognised as this
    job's, and the refusal that follows says what to do."""
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):  # not ours, or damaged: nothing in it to trust
        return None
    return state if isinstance(state, dict) and state.get("version") == _STATE_VERSION else None


def _fingerprint(path: Path) -> dict[str, Any]:
    """Size and SHA-256: what tells an OUT this job finished from one written or changed by anything else."""
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"bytes": path.stat().st_size, "sha256": digest}


def _is_fingerprint_of(recorded: Any, path: Path) -> bool:
    """Whether ``recorded`` is ``path``'s fingerprint; the size is compared first, so most strangers cost no read."""
    if not isinstance(recorded, dict) or recorded.get("bytes") != path.stat().st_size:
        return False
    return recorded == _fingerprint(path)


def _drop_cut_off_line(path: Path) -> None:
    """Cut the partial file after its last newline: a kill mid-write leaves a line cut off, whose document the
    rerun does again. Read backwards block by block, so a long output is not read whole."""
    with path.open("r+b") as fh:
        size = end = fh.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - _BLOCK)
            fh.seek(start)
            newline = fh.read(end - start).rfind(b"\n")
            if newline >= 0:
                end = start + newline + 1
                break
            end = start
        if end < size:
            fh.truncate(end)


def pending_chunks(
    files: OutputFiles, chunk: int, stats: BatchStats, notify: Notify = to_stderr
) -> Iterator[list[Document]]:
    """The documents of IN after those already written, in chunks of ``chunk`` (the last one may be shorter).

    Both engines process these same chunks, so they group documents, and hence batch candidates, the same way. A
    malformed line raises when it is read: the complete chunks before it have been yielded, the partial one is not.
    """
    written = files.written_ids()
    seen: set[str] = set()
    repeated: dict[str, None] = {}  # an ordered set: named in input order
    buffer: list[Document] = []
    for number, doc in iter_documents(files.source):
        if doc[0] in seen:
            repeated[doc[0]] = None
        seen.add(doc[0])
        if _already_written(files, written, number, doc[0]):
            stats.skipped += 1
            continue
        buffer.append(doc)
        if len(buffer) >= chunk:
            yield buffer
            buffer = []
    if not seen:
        raise DataError(f"no documents: the file is empty or all blank; relenc extract reads {_FORMATS}", files.source)
    if (extra := sum(1 for _ in written)) > 0:
        raise RelencError(
            f"{files.resume_from} has {extra} more lines than {files.source} has documents: "
            f"{files.source} has changed since; write to another OUT, or delete {files.resume_from} to start afresh"
        )
    if repeated:
        notify(_repeated_ids_warning(files.source, list(repeated)))
    if buffer:
        yield buffer


def _already_written(files: OutputFiles, written: Iterator[str], number: int, doc_id: str) -> bool:
    """Whether the document at line ``number`` has its line of output; its id must then be that line's."""
    line_id = next(written, None)
    if line_id is None:
        return False
    if line_id != doc_id:
        raise RelencError(
            f"{files.source}, line {number}: document id {doc_id!r}, but its line of {files.resume_from} is for id "
            f"{line_id!r}: {files.source} has changed since; write to another OUT, or delete {files.resume_from} "
            "to start afresh"
        )
    return True


def _repeated_ids_warning(source: Path, ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
    return (
        f"warning: {source}: document ids used more than once: {shown}; each document still has its own line of "
        "output, in input order: tell them apart by position"
    )


def extract_file(
    pipeline: Pipeline | Callable[[], Pipeline],
    source: str | Path,
    output: str | Path,
    chunk: int = 32,
    progress: bool = True,
    overwrite: bool = False,
    job: dict[str, Any] | None = None,
    notify: Notify = to_stderr,
) -> BatchStats:
    """Run the job of the module docstring in this process. ``job`` (:func:`job_settings`) is recorded in the state
    file: a rerun resumes only with the same one. ``overwrite`` allows replacing an output that is not this job's.

    ``pipeline`` may be a function that loads it: it is then called when the first chunk is ready, so that a refused
    OUT or a bad input is reported at once rather than after seconds of loading a model, and a job with nothing
    left to do loads none.
    """
    if chunk < 1:
        raise RelencError("chunk must be at least 1")
    stats = BatchStats()
    with OutputFiles(source, output, overwrite, job) as files:
        _run_local(pipeline, files, chunk, stats, progress, notify)
    return stats


def _run_local(
    pipeline: Pipeline | Callable[[], Pipeline],
    files: OutputFiles,
    chunk: int,
    stats: BatchStats,
    progress: bool,
    notify: Notify,
) -> None:
    """Classify IN's pending chunks one after another, appending each chunk's lines as soon as they are ready."""
    with progress_bar(enabled=progress, total_known=False, transient=True) as bar:
        task = bar.add_task("extracting", total=None)
        try:
            for docs in pending_chunks(files, chunk, stats, notify):
                if not isinstance(pipeline, Pipeline):
                    pipeline = pipeline()
                files.append("".join(line + "\n" for line in _process(pipeline, docs, stats)))
                bar.update(task, description=f"extracting: {stats.documents} documents, {stats.relations} relations")
        except DataError as exc:
            raise files.stopped(exc, stats) from None
        files.finish()


def _process(pipeline: Pipeline, docs: list[Document], stats: BatchStats) -> Iterator[str]:
    """The output lines of one chunk, classified together; a document at fault gets an ``error`` line."""
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
