"""Grid records: one JSON file per trained model (strategy, dataset, encoder, seed, test scores).

``relenc experiment`` writes them; the analysis only needs ``dataset``, ``encoder``, ``strategy``, ``seed`` and
``test.f1`` of each, and reads ``tag`` (a grid cell's label, grouped on like the strategy) and ``status`` if present.
The reader is lenient on purpose: a grid directory also holds failed runs (``"status": "failed"``), other JSON and
older records, so such a file is skipped and reported (never an error, never silently).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED_KEYS = ("dataset", "encoder", "strategy", "seed", "test")


@dataclass(frozen=True)
class GridRecord:
    """The part of a grid record the analysis uses; ``f1`` is the test F1 in percent."""

    dataset: str
    encoder: str
    strategy: str
    seed: int | str
    f1: float
    source: str
    tag: str | None = None


def record_from_dict(data: Any, source: str) -> GridRecord | str:
    """A :class:`GridRecord`, or the reason ``data`` is not one."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    if data.get("status", "ok") != "ok":
        return f"status {data['status']!r}: {data.get('error') or 'no error recorded'}"
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        return f"missing keys: {', '.join(missing)}"
    test = data["test"]
    f1 = test.get("f1") if isinstance(test, dict) else None
    if isinstance(f1, bool) or not isinstance(f1, int | float) or not math.isfinite(f1):
        return f"'test.f1' is not a number: {f1!r}"
    seed = data["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int | str):
        return f"'seed' is not an integer or a string: {seed!r}"
    tag = data.get("tag")
    return GridRecord(
        str(data["dataset"]),
        str(data["encoder"]),
        str(data["strategy"]),
        seed,
        float(f1),
        source,
        str(tag) if tag is not None else None,
    )


def load_records(directory: str | Path) -> tuple[list[GridRecord], list[tuple[str, str]]]:
    """All grid records of ``directory/*.json`` (sorted by file name), and ``(file, reason)`` for each file skipped."""
    records: list[GridRecord] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            skipped.append((str(path), f"cannot read it as JSON: {exc}"))
            continue
        result = record_from_dict(data, str(path))
        if isinstance(result, str):
            skipped.append((str(path), result))
        else:
            records.append(result)
    return records, skipped


def summarize_records(records: Sequence[GridRecord]) -> list[dict[str, Any]]:
    """Mean and sample standard deviation of test F1 over seeds, per (dataset, encoder, strategy, tag), sorted.

    The standard deviation of a single seed is 0.0 (there is no spread to show, and ``n`` says why).
    """
    groups: dict[tuple[str, str, str, str], list[GridRecord]] = {}
    for record in records:
        groups.setdefault((record.dataset, record.encoder, record.strategy, record.tag or ""), []).append(record)
    out = []
    for (dataset, encoder, strategy, tag), members in sorted(groups.items()):
        scores = [m.f1 for m in members]
        mean = sum(scores) / len(scores)
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1)) if len(scores) > 1 else 0.0
        out.append(
            {
                "dataset": dataset,
                "encoder": encoder,
                "strategy": strategy,
                "tag": tag or None,
                "n": len(scores),
                "seeds": sorted(str(m.seed) for m in members),
                "f1_mean": mean,
                "f1_std": std,
            }
        )
    return out
