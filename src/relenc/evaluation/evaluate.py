"""Evaluate a trained model on labelled examples with the official metrics.

A real test set may hold relations the training set never had (TACRED-style splits of Wikidata relations do).
Such examples are scored, not refused: the model cannot predict their label, so each is a miss that counts in
recall, as the official scorers count it; a warning names the labels and how often they occur.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from relenc.data.example import Example
from relenc.errors import DataError, RelencError
from relenc.evaluation.scorers import SEMEVAL_LABELS, Metric, check_metric, per_relation_report, score
from relenc.models.engine import Item
from relenc.models.extractor import Prediction, RelationExtractor


@dataclass
class Evaluation:
    """Scores (percent), the predictions they came from, a per-relation report, and the gold labels the model
    never saw (label: count), which were scored as misses."""

    metric: str
    precision: float
    recall: float
    f1: float
    examples: int
    predictions: list[Prediction]
    per_relation: list[dict[str, Any]]
    unknown_labels: dict[str, int] = field(default_factory=dict)

    def to_dict(self, report: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "metric": self.metric,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "examples": self.examples,
            "unknown_labels": self.unknown_labels,
        }
        if report:
            out["per_relation"] = self.per_relation
        return out


def _where(i: int, ex: Example) -> str:
    return f"record {i + 1} (id {ex.id!r})"


def check_labels(extractor: RelationExtractor, examples: Sequence[Example], source: str | None) -> None:
    """Every gold label must be one the model knows; otherwise name the record and the label.

    For callers whose output means nothing for a label outside the model's (the analyses compare predictions with
    gold labels per class); :func:`evaluate` scores such examples as misses instead.
    """
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError("example has no gold label", source, _where(i, ex))
        if ex.label not in extractor.labels:
            raise DataError(
                f"unknown label {ex.label!r}: the model was trained on {len(extractor.labels)} other labels",
                source,
                _where(i, ex),
            )


def unknown_gold_labels(extractor: RelationExtractor, examples: Sequence[Example], source: str | None) -> Counter[str]:
    """How often each gold label the model was never trained on occurs; an unlabelled example is a DataError
    (there is nothing to score it against)."""
    unknown: Counter[str] = Counter()
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError("example has no gold label; evaluation needs labelled data", source, _where(i, ex))
        if ex.label not in extractor.labels:
            unknown[ex.label] += 1
    return unknown


def _check_semeval(extractor: RelationExtractor, examples: Sequence[Example], source: str | None) -> None:
    """The official SemEval scorer knows only its 19 labels, in the gold data and in the predictions: say so
    before predicting, rather than fail on the first odd label after it."""
    for i, ex in enumerate(examples):
        if ex.label not in SEMEVAL_LABELS:
            raise DataError(
                f"gold label {ex.label!r} is not a SemEval-2010 Task 8 label; score this file with the micro metric",
                source,
                _where(i, ex),
            )
    foreign = sorted(set(extractor.labels.labels) - SEMEVAL_LABELS)
    if foreign:
        raise RelencError(
            f"the model predicts labels that are not SemEval-2010 Task 8 labels ({', '.join(foreign[:5])}"
            f"{' ...' if len(foreign) > 5 else ''}); score it with the micro metric"
        )


def _warn_unknown(unknown: Counter[str], total: int, source: str | None) -> None:
    counts = ", ".join(f"{label!r} ({n})" for label, n in sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0])))
    print(
        f"warning: {source + ': ' if source else ''}{sum(unknown.values())} of {total} examples have gold labels "
        f"the model was never trained on; they are scored as misses: {counts}",
        file=sys.stderr,
    )


def encode_located(extractor: RelationExtractor, examples: Sequence[Example], source: str | None) -> list[Item]:
    """The examples' model inputs; an example that cannot be encoded (its entities too far apart for
    ``max_length``: the builder's ``TooLongError``) is a DataError naming ``source`` and its record, since the
    builder knows only the example's id, not where it came from.

    Inference cannot leave such an example out as training does: a prediction file or a score would silently
    miss it.
    """
    try:
        return extractor.encode(examples)
    except DataError as exc:
        index = next((i for i, ex in enumerate(examples) if exc.location == f"example {ex.id!r}"), None)
        where = _where(index, examples[index]) if index is not None else exc.location
        raise type(exc)(exc.problem, source, where) from None  # keeps TooLongError a TooLongError


def evaluate(
    extractor: RelationExtractor,
    examples: Sequence[Example],
    metric: str,
    batch_size: int = 128,
    precision: str = "auto",
    source: str | None = None,
) -> Evaluation:
    """Predict and score; ``metric`` is ``semeval`` (official macro-F1) or ``micro`` (TACRED-style).

    ``source`` (the data file) only serves the messages. Gold labels the model does not know are scored as misses,
    with a warning on stderr; no examples, an unlabelled example, or (for ``semeval``) a label the official scorer
    does not know is an error.
    """
    chosen: Metric = check_metric(metric)
    if not examples:
        raise DataError("no examples to evaluate", source)
    unknown = unknown_gold_labels(extractor, examples, source)
    if chosen == "semeval":
        _check_semeval(extractor, examples, source)
    if unknown:
        _warn_unknown(unknown, len(examples), source)
    items = encode_located(extractor, examples, source)
    preds = extractor.predict(examples, batch_size=batch_size, precision=precision, encoded=items)
    gold = [ex.label or "" for ex in examples]
    pred_labels = [p.label for p in preds]
    result = score(gold, pred_labels, metric=chosen, negative=extractor.labels.negative)
    report = [asdict(row) for row in per_relation_report(gold, pred_labels, extractor.labels.negative)]
    return Evaluation(chosen, result.precision, result.recall, result.f1, len(examples), preds, report, dict(unknown))
