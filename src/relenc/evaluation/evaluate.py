"""Evaluate a trained model on labelled examples with the official metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from relenc.data.example import Example
from relenc.errors import DataError
from relenc.evaluation.scorers import check_metric, per_relation_report, score
from relenc.models.extractor import Prediction, RelationExtractor


@dataclass
class Evaluation:
    """Scores (percent), the predictions they came from, and a per-relation report."""

    metric: str
    precision: float
    recall: float
    f1: float
    examples: int
    predictions: list[Prediction]
    per_relation: list[dict[str, Any]]

    def to_dict(self, report: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "examples": self.examples,
        }
        if report:
            out["per_relation"] = self.per_relation
        return out


def check_labels(extractor: RelationExtractor, examples: Sequence[Example], source: str | None) -> None:
    """Every gold label must be one the model knows; otherwise name the record and the label."""
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError("example has no gold label", source, f"record {i + 1} (id {ex.id!r})")
        if ex.label not in extractor.labels:
            raise DataError(
                f"unknown label {ex.label!r}: the model was trained on {len(extractor.labels)} other labels",
                source,
                f"record {i + 1} (id {ex.id!r})",
            )


def evaluate(
    extractor: RelationExtractor,
    examples: Sequence[Example],
    metric: str,
    batch_size: int = 128,
    precision: str = "auto",
    source: str | None = None,
) -> Evaluation:
    """Predict and score; ``metric`` is ``semeval`` (official macro-F1) or ``micro`` (TACRED-style)."""
    check_labels(extractor, examples, source)
    preds = extractor.predict(examples, batch_size=batch_size, precision=precision)
    gold = [ex.label or "" for ex in examples]
    pred_labels = [p.label for p in preds]
    result = score(gold, pred_labels, metric=check_metric(metric), negative=extractor.labels.negative)
    report = [asdict(row) for row in per_relation_report(gold, pred_labels, extractor.labels.negative)]
    return Evaluation(metric, result.precision, result.recall, result.f1, len(examples), preds, report)
