"""Run records: one JSON file per run of a grid, ``<results dir>/<run id>.json``, written atomically.

A record is what a result table is built from, so it holds everything needed to trust and reproduce a number
without the run directory: the run's config and hash, test and dev scores, timings, the git revision and the
machine. A record is written once its run has finished (``status: ok``) or failed (``status: failed`` with the
error); an interrupted run leaves none, so a record on disk is always whole. A run whose record has status ``ok``
and the run's current config hash is done and is skipped on a rerun.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from relenc.errors import RelencError
from relenc.experiments.grid import Run
from relenc.io import write_text_atomic

RECORD_VERSION = 1
Status = Literal["done", "failed", "stale", "todo"]


def record_path(results_dir: Path, run_id: str) -> Path:
    return results_dir / f"{run_id}.json"


def read_record(results_dir: Path, run_id: str) -> dict[str, Any] | None:
    """The run's record, or None when there is none. Records are written atomically, so an unreadable one was
    edited by hand: that is an error naming the file, not a reason to retrain silently."""
    path = record_path(results_dir, run_id)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RelencError(f"{path}: unreadable run record ({exc}); delete it to run {run_id} again") from exc
    if not isinstance(record, dict):
        raise RelencError(f"{path}: a run record must be a JSON object; delete it to run {run_id} again")
    return record


def write_record(results_dir: Path, record: dict[str, Any]) -> Path:
    path = record_path(results_dir, record["id"])
    write_text_atomic(path, json.dumps(record, indent=2, ensure_ascii=False))
    return path


def run_status(run: Run, record: dict[str, Any] | None) -> Status:
    """``done`` (ok, same config hash), ``failed`` (same hash), ``stale`` (the grid file changed it), ``todo``."""
    if record is None:
        return "todo"
    if record.get("config_hash") != run.config_hash:
        return "stale"
    return "done" if record.get("status") == "ok" else "failed"


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
