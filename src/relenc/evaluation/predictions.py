"""Prediction files and their alignment with gold data.

A prediction file is JSON lines, one ``{"id": ..., "label": ...}`` object per example; other keys (``score``, ...)
are allowed and ignored. Ids are compared as strings, so ``{"id": 7}`` predicts the gold example ``"7"``.
Predictions are matched to gold examples by id, never by position, so a reordered or filtered file cannot be
scored against the wrong examples silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from relenc.data.example import Example
from relenc.data.readers._common import iter_json_lines, read_text
from relenc.errors import DataError
from relenc.evaluation.scorers import SEMEVAL_LABELS, Metric
from relenc.io import write_lines_atomic


class Predictions(dict[str, str]):
    """Predicted label by example id, remembering the file and the line of each id for error messages."""

    def __init__(self, source: str | Path | None = None) -> None:
        super().__init__()
        self.source = str(source) if source is not None else None
        self.lines: dict[str, int] = {}

    def location(self, key: str) -> str:
        """``"line 3 (id 'x')"`` when the line is known, else ``"id 'x'"``."""
        line = self.lines.get(key)
        return f"line {line} (id {key!r})" if line is not None else f"id {key!r}"


def read_predictions(path: str | Path) -> Predictions:
    """Read a prediction file. Blank lines are skipped; invalid JSON, a line that is not an object with an
    ``id`` (string or integer) and a string ``label``, or an id predicted twice is a DataError at its line."""
    out = Predictions(path)
    for number, row in iter_json_lines(read_text(path), path):
        where = f"line {number}"
        if not isinstance(row, dict):
            raise DataError(f"expected an object {{'id': ..., 'label': ...}}, got {type(row).__name__}", path, where)
        for key in ("id", "label"):
            if key not in row:
                raise DataError(f"missing key {key!r}", path, where)
        key_value = row["id"]
        if not isinstance(key_value, str | int) or isinstance(key_value, bool):
            raise DataError(f"'id' must be a string or an integer, got {key_value!r}", path, where)
        if not isinstance(row["label"], str):
            raise DataError(f"'label' must be a string, got {row['label']!r}", path, where)
        key = str(key_value)
        if key in out:
            raise DataError(f"id {key!r} is predicted twice (first on line {out.lines[key]})", path, where)
        out[key] = row["label"]
        out.lines[key] = number
    return out


def write_predictions(rows: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write prediction rows (each with ``id`` and ``label``) as JSON lines; return how many were written.

    Atomic: the lines go to a temporary file in the target's folder, which then replaces the target, so an
    interrupted run never leaves a truncated file that would later be scored as if complete.
    """

    def lines() -> Iterable[str]:
        for count, row in enumerate(rows, start=1):
            if "id" not in row or "label" not in row:
                raise ValueError(f"prediction row {count} needs 'id' and 'label', got keys {sorted(row)}")
            yield json.dumps(dict(row), ensure_ascii=False)

    return write_lines_atomic(path, lines())


def align_predictions(
    gold_examples: Sequence[Example],
    predictions: Mapping[str, str],
    source: str | Path | None = None,
    *,
    gold_source: str | Path | None = None,
    metric: Metric = "micro",
    negative: str | None = None,
) -> tuple[list[str], list[str]]:
    """Gold and predicted labels, in gold order, matched by id.

    ``source`` is the prediction file (default: the file a :class:`Predictions` was read from), ``gold_source``
    the gold file; both only serve the error messages. Every gold example needs a label and exactly one
    prediction, every prediction a gold example. A predicted label must be one the metric can score: with
    ``micro``, a gold label or ``negative``; with ``semeval``, one of the 19 SemEval labels (the official scorer
    stops on any other). Each violation is a DataError naming the file, the line or record, and the problem.
    """
    pred_source = source if source is not None else getattr(predictions, "source", None)
    gold_labels = _gold_labels(gold_examples, gold_source, metric)

    def where(key: str) -> str:
        return predictions.location(key) if isinstance(predictions, Predictions) else f"id {key!r}"

    unknown = sorted(set(predictions.values()) - _scorable_labels(gold_labels.values(), metric, negative))
    for key, label in predictions.items():
        if key not in gold_labels:
            raise DataError(f"predicted id {key!r} is not in the gold data{_in(gold_source)}", pred_source, where(key))
        if label in unknown:
            what = "that are not SemEval-2010 Task 8 labels" if metric == "semeval" else "not in the gold label set"
            raise DataError(f"predicted labels {what}: {', '.join(unknown[:5])}", pred_source, where(key))
    missing = [key for key in gold_labels if key not in predictions]
    if missing:
        i = next(n for n, ex in enumerate(gold_examples) if ex.id == missing[0])
        raise DataError(
            f"no prediction for gold id {missing[0]!r}{_in(pred_source)}"
            + (f" ({len(missing)} gold ids have none)" if len(missing) > 1 else ""),
            gold_source,
            f"record {i + 1}",
        )
    return list(gold_labels.values()), [predictions[key] for key in gold_labels]


def _gold_labels(examples: Sequence[Example], source: str | Path | None, metric: Metric) -> dict[str, str]:
    """Gold label by id, in order; an unlabelled example, a repeated id or (for ``semeval``) a label outside the
    SemEval set is a DataError at its record."""
    out: dict[str, str] = {}
    for i, ex in enumerate(examples):
        where = f"record {i + 1} (id {ex.id!r})"
        if ex.label is None:
            raise DataError("gold example has no label", source, where)
        if ex.id in out:
            raise DataError(f"gold id {ex.id!r} occurs twice, so predictions cannot be matched to it", source, where)
        if metric == "semeval" and ex.label not in SEMEVAL_LABELS:
            raise DataError(f"gold label {ex.label!r} is not a SemEval-2010 Task 8 label", source, where)
        out[ex.id] = ex.label
    return out


def _scorable_labels(gold_labels: Iterable[str], metric: Metric, negative: str | None) -> set[str]:
    """The labels a prediction may use: the 19 SemEval labels, or the gold labels and the negative label."""
    if metric == "semeval":
        return set(SEMEVAL_LABELS)
    allowed = set(gold_labels)
    if negative is not None:
        allowed.add(negative)
    return allowed


def _in(source: str | Path | None) -> str:
    return f" in {source}" if source is not None else ""
