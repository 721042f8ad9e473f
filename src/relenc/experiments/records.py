"""Run records: one JSON file per run of a grid, ``<results dir>/<run id>.json``, written atomically, and
:class:`RunRecord`, the one type every reader of those files uses (the grid's summary, ``relenc analyze``).

A record is what a result table is built from, so it holds everything needed to trust and reproduce a number
without the run directory: the run's config and hash, test and dev scores, timings, the git revision and the
machine. A record is written once its run has finished (``status: ok``) or failed (``status: failed`` with the
error); an interrupted run leaves none, so a record on disk is always whole. A run whose record has status ``ok``
and the run's current config hash is done and is skipped on a rerun.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from relenc.errors import RelencError
from relenc.experiments.grid import Cell, Run
from relenc.io import write_text_atomic

RECORD_VERSION = 1
#: Where a run of the grid stands; a record's own ``status`` is ``ok`` or ``failed``.
Status = Literal["done", "failed", "stale", "todo"]
#: What a record needs beside ``test.f1`` (for a finished run): the summary groups and labels records by these.
REQUIRED_KEYS = ("dataset", "encoder", "strategy", "seed")


class RecordError(ValueError):
    """A JSON file that is not a run record; the message says why (for a warning, or an error naming the file)."""


@dataclass(frozen=True)
class RunRecord:
    """One run record: the fields summaries and analyses read, typed, and ``data``, the JSON object as written.

    ``data`` keeps the object exactly as on disk (key order included): ``results.jsonl`` repeats it, and what no
    summary reads (config, spec, git, machine, traceback) stays in it. ``strategy`` is the grid's variant name,
    ``test_f1`` and the other scores are percentages, ``source`` the file the record was read from.

    Read leniently, because ``relenc analyze --records`` also reads record-like files written by hand or by other
    code: beside :data:`REQUIRED_KEYS` only a finished run's ``test.f1`` is required; the id defaults to the file's
    name, the status to ``ok``, and a score that is absent is None (a score that is present must be a number).
    """

    id: str
    status: str
    dataset: str
    encoder: str
    strategy: str
    seed: int | str
    tag: str | None
    metric: str | None
    config_hash: str | None
    test_f1: float | None
    test_precision: float | None
    test_recall: float | None
    dev_f1: float | None
    train_seconds: float | None
    error: str | None
    data: Mapping[str, Any] = field(repr=False, hash=False)
    source: str | None = field(default=None, compare=False)

    @property
    def ok(self) -> bool:
        """The run finished and has scores (a failed run's record has only its error)."""
        return self.status == "ok"

    @property
    def cell(self) -> Cell:
        """The summary row the record is a seed of."""
        return (self.dataset, self.encoder, self.strategy, self.tag)

    @classmethod
    def from_dict(cls, data: Any, default_id: str | None = None, source: str | None = None) -> RunRecord:
        """The record in ``data`` (a loaded JSON object); a RecordError says why ``data`` is not one."""
        if not isinstance(data, dict):
            raise RecordError(f"expected a JSON object, got {type(data).__name__}")
        status = str(data.get("status", "ok"))
        required = REQUIRED_KEYS + (("test",) if status == "ok" else ())
        missing = [key for key in required if key not in data]
        if "id" not in data and default_id is None:
            missing.insert(0, "id")
        if missing:
            raise RecordError(f"missing keys: {', '.join(missing)}")
        seed = data["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int | str):
            raise RecordError(f"'seed' is not an integer or a string: {seed!r}")
        test_f1 = _score(data, "test", "f1")
        if status == "ok" and test_f1 is None:
            raise RecordError(f"'test.f1' is not a number: {_get(data, 'test', 'f1')!r}")
        return cls(
            id=str(data.get("id", default_id)),
            status=status,
            dataset=str(data["dataset"]),
            encoder=str(data["encoder"]),
            strategy=str(data["strategy"]),
            seed=seed,
            tag=_text(data.get("tag")) or None,  # "" is no tag too
            metric=_text(data.get("metric")),
            config_hash=_text(data.get("config_hash")),
            test_f1=test_f1,
            test_precision=_score(data, "test", "precision"),
            test_recall=_score(data, "test", "recall"),
            dev_f1=_score(data, "dev", "f1"),
            train_seconds=_score(data, "timings", "train_seconds"),
            error=_text(data.get("error")),
            data=data,
            source=source,
        )


def _get(data: Mapping[str, Any], *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or None where a level is missing or not an object."""
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _score(data: Mapping[str, Any], *path: str) -> float | None:
    """A number of the record, None when absent; anything else there (text, NaN, true) is a RecordError, since a
    summary that skipped it would silently average fewer seeds than it reports."""
    value = _get(data, *path)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(f"{'.'.join(path)!r} is not a number: {value!r}")
    return float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def record_path(results_dir: Path, run_id: str) -> Path:
    return results_dir / f"{run_id}.json"


def load_record(path: Path) -> RunRecord:
    """The record in ``path`` (its id defaults to the file's name); a RecordError says why there is none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"cannot read it as JSON: {exc}") from exc
    return RunRecord.from_dict(data, default_id=path.stem, source=str(path))


def read_record(results_dir: Path, run_id: str) -> RunRecord | None:
    """The run's record, or None when there is none. Records are written atomically, so an unreadable one was
    edited by hand: that is an error naming the file, not a reason to retrain silently."""
    path = record_path(results_dir, run_id)
    if not path.is_file():
        return None
    try:
        return load_record(path)
    except RecordError as exc:
        raise RelencError(f"{path}: unreadable run record ({exc}); delete it to run {run_id} again") from exc


def load_records(directory: str | Path) -> tuple[list[RunRecord], list[tuple[str, str]]]:
    """Every record of ``directory/*.json`` (sorted by file name; failed runs included), and ``(file, reason)``
    for each file that is not a record. Lenient: a directory of records may also hold other JSON files, so such a
    file is the caller's warning, never an error and never silently dropped."""
    records: list[RunRecord] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            records.append(load_record(path))
        except RecordError as exc:
            skipped.append((str(path), str(exc)))
    return records, skipped


def write_record(results_dir: Path, record: RunRecord) -> Path:
    """Write ``record.data`` as ``<run id>.json``, atomically (a record on disk is always whole)."""
    path = record_path(results_dir, record.id)
    write_text_atomic(path, json.dumps(dict(record.data), indent=2, ensure_ascii=False))
    return path


def run_status(run: Run, record: RunRecord | None) -> Status:
    """``done`` (ok, same config hash), ``failed`` (same hash), ``stale`` (the grid file changed it), ``todo``."""
    if record is None:
        return "todo"
    if record.config_hash != run.config_hash:
        return "stale"
    return "done" if record.ok else "failed"


def git_info(where: Path | None = None) -> dict[str, Any]:
    """The commit the code comes from, and whether tracked files differ from it (untracked files, such as the
    records this module writes, do not count). Outside a git checkout the revision is None, with the reason."""
    cwd = where or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {
            "revision": git("rev-parse", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        }
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) and exc.stderr else str(exc)
        return {"revision": None, "dirty": None, "error": reason}


def machine_info() -> dict[str, Any]:
    """What the timings depend on: cores, CPU, torch threads, and whether bf16 runs natively."""
    import torch

    from relenc.runtime import bf16_native

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "bf16_native": bf16_native(),
    }


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
