"""Scoring: the official metrics (:mod:`.scorers`), prediction files (:mod:`.predictions`) and the evaluation of
trained models (:mod:`.evaluate`, not imported here because it needs torch)."""

from relenc.evaluation.predictions import Predictions, align_predictions, read_predictions, write_predictions
from relenc.evaluation.scorers import (
    METRICS,
    SEMEVAL_LABELS,
    Metric,
    RelationRow,
    Scores,
    SemEvalEvaluation,
    SemEvalScores,
    check_metric,
    confusion_matrix,
    micro_prf,
    per_relation_report,
    score,
    semeval_official,
)

__all__ = [
    "METRICS",
    "SEMEVAL_LABELS",
    "Metric",
    "Predictions",
    "RelationRow",
    "Scores",
    "SemEvalEvaluation",
    "SemEvalScores",
    "align_predictions",
    "check_metric",
    "confusion_matrix",
    "micro_prf",
    "per_relation_report",
    "read_predictions",
    "score",
    "semeval_official",
    "write_predictions",
]
