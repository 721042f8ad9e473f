"""The output directory of ``relenc mine-pairs``: shards of pairs and the manifest that lists the complete ones.

Layout: ``shard-00000.jsonl``, ``shard-00001.jsonl``, ... (the pairs of ``shard_size`` consecutive documents each,
in input order; a shard whose documents give no pair is an empty file) and ``manifest.json``: the job (inputs,
settings), per shard its documents (first index, count, first and last id), bytes and counts, the totals, the
elapsed seconds and documents/s, and whether the run is complete.

A shard is written atomically (:func:`relenc.io.write_lines_atomic`), and only then added to the manifest, itself
rewritten atomically. So a shard is either complete and in the manifest, or not to be trusted: a run killed at any
point leaves complete shards in the manifest, and perhaps a temp file or a shard the manifest does not list yet,
which the next run deletes before it goes on after the last listed shard. Nothing is lost or written twice.

A rerun must be the same job (same input files and sizes, same settings): another is refused, with the differences
named, unless ``overwrite``, which deletes the shards and the manifest first. Files that are not this layout's are
never deleted: a directory holding any is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from relenc.errors import RelencError
from relenc.io import write_lines_atomic, write_text_atomic
from relenc.pretraining.pairs import MiningStats

MANIFEST = "manifest.json"
_VERSION = 1
_SHARD = re.compile(r"shard-\d{5,}\.jsonl")
# temp files of write_lines_atomic (".<name>.<random>.tmp") for a shard or the manifest, left by a killed run
_TEMP = re.compile(r"\.(shard-\d{5,}\.jsonl|manifest\.json)\..*\.tmp")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.jsonl"


class ShardedOutput:
    """A mining run's output directory: the manifest, resumed or new, and :meth:`add_shard` to grow it.

    Opening refuses what must not be written into (see the module docstring) and cleans up what a killed run left.
    The directory is created only when the first shard is written, so a run that fails before (a missing spaCy
    pipeline, bad input) leaves nothing behind.
    """

    def __init__(self, directory: str | Path, job: dict[str, Any], overwrite: bool = False) -> None:
        self.directory = Path(directory)
        self.manifest = self._open(job, overwrite)
        self._elapsed_before = float(self.manifest["elapsed_seconds"])

    @property
    def documents_done(self) -> int:
        return sum(shard["documents"]["count"] for shard in self.manifest["shards"])

    @property
    def last_id(self) -> str | None:
        """The id of the last document in a complete shard: where a resumed run must find the input as it was."""
        shards = self.manifest["shards"]
        return shards[-1]["documents"]["last_id"] if shards else None

    @property
    def complete(self) -> bool:
        return bool(self.manifest["complete"])

    def totals(self) -> MiningStats:
        """The counts of all complete shards."""
        stats = MiningStats()
        for shard in self.manifest["shards"]:
            stats.merge(MiningStats.from_record(shard["counts"]))
        return stats

    def add_shard(
        self, lines: list[str], stats: MiningStats, first_document: int, ids: tuple[str, str], elapsed: float
    ) -> None:
        """Write the next shard (the pairs of ``stats.documents`` documents from ``first_document``, whose first and
        last ids are ``ids``), then record it in the manifest. ``elapsed``: this run's seconds so far."""
        path = self.directory / shard_name(len(self.manifest["shards"]))
        write_lines_atomic(path, lines)
        self.manifest["shards"].append(
            {
                "file": path.name,
                "documents": {"first": first_document, "count": stats.documents, "first_id": ids[0], "last_id": ids[1]},
                "bytes": path.stat().st_size,
                "counts": stats.to_record(),
            }
        )
        self._save(elapsed, complete=False)

    def finish(self, elapsed: float) -> None:
        """Mark the run complete: the input is exhausted (or ``max_documents`` reached)."""
        self._save(elapsed, complete=True)

    def _save(self, elapsed: float, complete: bool) -> None:
        """Rewrite the manifest with the totals and the time (this run's seconds added to earlier runs')."""
        manifest = self.manifest
        totals = self.totals().to_dict()
        seconds = self._elapsed_before + elapsed
        totals.update(shards=len(manifest["shards"]), bytes=sum(shard["bytes"] for shard in manifest["shards"]))
        manifest.update(
            complete=complete,
            totals=totals,
            elapsed_seconds=round(seconds, 3),
            documents_per_second=round(totals["documents"] / seconds, 3) if seconds > 0 else None,
        )
        write_text_atomic(self.directory / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))

    def _open(self, job: dict[str, Any], overwrite: bool) -> dict[str, Any]:
        """The manifest to go on from (a previous run of this job), or a new one; see the module docstring."""
        fresh: dict[str, Any] = {"version": _VERSION, "job": job, "complete": False, "shards": [], "elapsed_seconds": 0}
        if not self.directory.exists():
            return fresh
        if not self.directory.is_dir():
            raise RelencError(f"{self.directory} is a file: --output takes a directory (mined pairs are sharded)")
        self._refuse_foreign_files()
        if overwrite or not (self.directory / MANIFEST).exists():
            self._discard_all_but(set())
            return fresh
        manifest = _read_manifest(self.directory)
        _check_same_job(self.directory, manifest["job"], job)
        self._discard_all_but({MANIFEST} | {shard["file"] for shard in manifest["shards"]})
        for shard in manifest["shards"]:
            _check_shard(self.directory, shard)
        return manifest

    def _refuse_foreign_files(self) -> None:
        foreign = sorted(p.name for p in self.directory.iterdir() if not _ours(p.name))
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise RelencError(
                f"{self.directory} holds files that relenc mine-pairs did not write ({shown}): give a new or empty "
                "directory as --output"
            )

    def _discard_all_but(self, keep: set[str]) -> None:
        """Delete what is not in ``keep``: shards not complete (or not wanted any more) and temp files. Only this
        layout's files are left by now (see :meth:`_refuse_foreign_files`)."""
        for path in self.directory.iterdir():
            if path.name not in keep:
                path.unlink()


def _ours(name: str) -> bool:
    return name == MANIFEST or bool(_SHARD.fullmatch(name) or _TEMP.fullmatch(name))


def _read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of ``directory``; one that is damaged or of another version is refused."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RelencError(f"{path} cannot be read ({exc}): pass --overwrite to mine afresh") from None
    if not isinstance(manifest, dict) or manifest.get("version") != _VERSION:
        raise RelencError(f"{path} is not a manifest this relenc writes: pass --overwrite to mine afresh")
    return manifest


def _check_same_job(directory: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to go on from another job's shards: they would mix two inputs or two settings in one output."""
    if old == new:
        return
    changed = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    raise RelencError(
        f"{directory} holds pairs mined from other inputs or with other settings ({', '.join(changed)} differ): "
        "run again with the same ones to resume, pass --overwrite to mine afresh, or choose another --output"
    )


def _check_shard(directory: Path, shard: dict[str, Any]) -> None:
    """A listed shard must be there, as written: else the output is not what the manifest says."""
    path = directory / shard["file"]
    if not path.is_file() or path.stat().st_size != shard["bytes"]:
        raise RelencError(f"{path} is missing or changed since it was written: pass --overwrite to mine afresh")


def pair_files(path: str | Path) -> list[Path]:
    """The JSONL files of mined pairs at ``path``: a ``relenc mine-pairs`` directory's shards in order (the run must
    be complete), or ``path`` itself when it is a file."""
    root = Path(path)
    if not root.is_dir():
        return [root]
    if not (root / MANIFEST).exists():
        raise RelencError(f"{root} is a directory without {MANIFEST}: give a relenc mine-pairs output or a JSONL file")
    manifest = _read_manifest(root)
    if not manifest["complete"]:
        raise RelencError(
            f"{root} is an unfinished mining run ({len(manifest['shards'])} shards so far): run relenc mine-pairs "
            "again with the same inputs and settings to finish it"
        )
    for shard in manifest["shards"]:
        _check_shard(root, shard)
    return [root / shard["file"] for shard in manifest["shards"]]
