"""Prediction files: JSON lines ``{"id": ..., "label": ...}`` (extra keys such as ``score`` allowed)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from relenc.data.example import Example
from relenc.data.readers._common import json_lines, read_text
from relenc.errors import DataError


def read_predictions(path: str | Path) -> dict[str, str]:
    """Map example id (as a string) to predicted label; bad lines and repeated ids are DataErrors."""
    out: dict[str, str] = {}
    for number, line in enumerate(json_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", path, f"line {number}") from None
        if not isinstance(row, dict) or "id" not in row or "label" not in row:
            raise DataError("each line needs 'id' and 'label'", path, f"line {number}")
        if not isinstance(row["label"], str):
            raise DataError(f"label must be a string, got {row['label']!r}", path, f"line {number}")
        key = str(row["id"])
        if key in out:
            raise DataError(f"id {key!r} is predicted twice", path, f"line {number}")
        out[key] = row["label"]
    return out


def align_predictions(
    gold: Sequence[Example], predictions: dict[str, str], gold_source: str | Path, pred_source: str | Path
) -> tuple[list[str], list[str]]:
    """Gold and predicted labels in gold order; every gold example needs a prediction and vice versa."""
    gold_ids = {ex.id for ex in gold}
    extra = [key for key in predictions if key not in gold_ids]
    if extra:
        raise DataError(f"{len(extra)} predicted ids are not in the gold file, e.g. {extra[0]!r}", pred_source)
    gold_labels, pred_labels = [], []
    for i, ex in enumerate(gold):
        if ex.label is None:
            raise DataError("gold example has no label", gold_source, f"record {i + 1} (id {ex.id!r})")
        if ex.id not in predictions:
            raise DataError(f"no prediction for gold id {ex.id!r}", pred_source)
        gold_labels.append(ex.label)
        pred_labels.append(predictions[ex.id])
    return gold_labels, pred_labels


def write_predictions(rows: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write JSON lines atomically (temp file in the same folder, then rename)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
