"""The official scorers, as pure functions over gold and predicted label strings. Numbers are percentages (0-100).

- :func:`micro_prf`: the TACRED standard: micro precision, recall and F1 over the positive relations.
- :func:`semeval_official`: SemEval-2010 Task 8's official score, computed exactly as the official Perl scorer
  ``semeval2010_task8_scorer-v1.2.pl`` computes it: the macro-averaged F1 of its "(9+1)-way evaluation with
  directionality taken into account", ``Other`` excluded. ``tests/evaluation`` pins it to the numbers the Perl
  scorer printed for its own example files; ``docs/metrics.md`` explains the definition.
- :func:`per_relation_report`, :func:`confusion_matrix`: where the errors are.
- :func:`score`: pick one of the two metrics by name; :func:`default_metric`: the metric a data format is scored
  with when no one names one.

A zero denominator gives 0.0 everywhere (a precision with no predictions, a recall with no gold examples, an F1
with P + R = 0, a macro average over no relations), as the official scorer prints it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from relenc.errors import DataError, RelencError

Metric = Literal["semeval", "micro"]
METRICS: tuple[str, ...] = get_args(Metric)

SEMEVAL_OTHER = "Other"
SEMEVAL_RELATIONS: tuple[str, ...] = (
    "Cause-Effect",
    "Component-Whole",
    "Content-Container",
    "Entity-Destination",
    "Entity-Origin",
    "Instrument-Agency",
    "Member-Collection",
    "Message-Topic",
    "Product-Producer",
)
#: The 19 labels the official scorer accepts: 9 relations in 2 directions, and ``Other``.
SEMEVAL_LABELS: frozenset[str] = frozenset(
    [SEMEVAL_OTHER] + [f"{rel}({a},{b})" for rel in SEMEVAL_RELATIONS for a, b in (("e1", "e2"), ("e2", "e1"))]
)
_DIRECTION = re.compile(r"\(e[12],e[12]\)$")


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1, in percent."""

    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class RelationRow:
    """One class of a per-relation report: ``support`` gold examples, ``predicted`` predictions."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class SemEvalEvaluation:
    """Everything the official scorer prints for one of its three evaluations.

    ``per_relation`` holds every class of the gold labels in the scorer's order (sorted, ``Other`` last, as its
    ``_Other``); ``micro`` and ``macro`` exclude ``Other``. ``accuracy`` is over the examples that have a
    prediction; ``accuracy_skipped_wrong`` and ``accuracy_skipped_other`` are over all examples, counting a
    skipped example as wrong, or as ``Other``.
    """

    name: str
    macro: Scores
    micro: Scores
    per_relation: tuple[RelationRow, ...]
    coverage: float
    accuracy: float
    accuracy_skipped_wrong: float
    accuracy_skipped_other: float


@dataclass(frozen=True)
class SemEvalScores(Scores):
    """The official score (``precision``, ``recall``, ``f1``: the macro scores of the directed 9+1-way evaluation)
    and, for information, the scorer's two other evaluations."""

    official: SemEvalEvaluation
    way_18_plus_1: SemEvalEvaluation
    undirected: SemEvalEvaluation

    @property
    def micro(self) -> Scores:
        """Micro scores of the official evaluation (``Other`` excluded)."""
        return self.official.micro

    @property
    def per_relation(self) -> tuple[RelationRow, ...]:
        """Per-class rows of the official evaluation; the official ``f1`` is the mean of the non-Other F1s."""
        return self.official.per_relation

    @property
    def macro_18_way(self) -> Scores:
        """Macro scores of the (2*9+1)-way evaluation: each direction is its own class."""
        return self.way_18_plus_1.macro

    @property
    def macro_undirected(self) -> Scores:
        """Macro scores of the 9+1-way evaluation that ignores directionality."""
        return self.undirected.macro


def _pct(num: float, den: float) -> float:
    return 100.0 * num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    """Harmonic mean of two percentages, computed as the official scorer does (same rounding)."""
    total = precision + recall
    return 2.0 * precision * recall / total if total else 0.0


def _check_lengths(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    """Mismatched lists are a programming error (alignment by id is :func:`align_predictions`'s job)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")


def micro_prf(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> Scores:
    """TACRED-style micro P/R/F1: correct = same label and not ``negative``.

    P = correct / #predictions that are not ``negative``; R = correct / #gold labels that are not ``negative``.
    With ``negative=None`` every label counts, and P = R = accuracy.
    """
    _check_lengths(gold, pred)
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p and p != negative)
    predicted = sum(1 for p in pred if p != negative)
    actual = sum(1 for g in gold if g != negative)
    precision, recall = _pct(correct, predicted), _pct(correct, actual)
    return Scores(precision, recall, _f1(precision, recall))


def undirected(label: str) -> str:
    """``Cause-Effect(e2,e1)`` -> ``Cause-Effect``; ``Other`` stays ``Other``."""
    return _DIRECTION.sub("", label)


def check_semeval_labels(labels: Sequence[str | None], what: str) -> None:
    """A label outside the 19 SemEval ones is an error, as in the official scorer (which stops on such a line:
    "Bad file format"); ``None`` (a skipped example) is allowed."""
    for i, label in enumerate(labels):
        if label is not None and label not in SEMEVAL_LABELS:
            raise DataError(
                f"{label!r} is not a SemEval-2010 Task 8 label (one of the 9 relations with (e1,e2) or (e2,e1), "
                f"or {SEMEVAL_OTHER!r})",
                location=f"{what} label {i + 1}",
            )


def _semeval_evaluation(
    name: str, gold: Sequence[str], pred: Sequence[str | None], key: Callable[[str], str], directed: bool
) -> SemEvalEvaluation:
    """One of the official scorer's evaluations; ``key`` maps a label to its class in that evaluation.

    With ``directed`` (the official evaluation), classes are the 9 undirected relations plus ``Other``, but a
    prediction of the right relation in the wrong direction is not correct: it is counted against the gold class
    (the scorer's ``xDIRx`` column) and added to that class's precision denominator, so it lowers both precision
    and recall. Only classes present in the gold labels get a row and enter the averages; a prediction of a class
    absent from the gold labels, like a skipped example, therefore only lowers recall (the scorer's README: "so
    are examples classified as relations that do not exist in the key file").
    """
    actual = Counter(key(g) for g in gold)
    correct: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    wrong_direction: Counter[str] = Counter()
    answered = other_skipped = 0
    for g, p in zip(gold, pred, strict=True):
        if p is None:
            other_skipped += g == SEMEVAL_OTHER
            continue
        answered += 1
        gold_class, pred_class = key(g), key(p)
        if directed and gold_class == pred_class and g != p:
            wrong_direction[gold_class] += 1
            continue
        predicted[pred_class] += 1
        correct[gold_class] += gold_class == pred_class
    # the scorer sorts its class names and calls Other "_Other", which sorts last
    classes = sorted(actual, key=lambda c: (c == SEMEVAL_OTHER, c))
    rows = []
    for cls in classes:
        n_predicted = predicted[cls] + wrong_direction[cls]
        precision, recall = _pct(correct[cls], n_predicted), _pct(correct[cls], actual[cls])
        rows.append(RelationRow(cls, precision, recall, _f1(precision, recall), actual[cls], n_predicted))
    relations = [row for row in rows if row.label != SEMEVAL_OTHER]
    n = len(relations)
    macro = Scores(
        sum(row.precision for row in relations) / n if n else 0.0,
        sum(row.recall for row in relations) / n if n else 0.0,
        # the mean of the per-relation F1s, not the harmonic mean of macro P and macro R
        sum(row.f1 for row in relations) / n if n else 0.0,
    )
    n_correct = sum(correct[row.label] for row in relations)
    micro_p = _pct(n_correct, sum(row.predicted for row in relations))
    micro_r = _pct(n_correct, sum(row.support for row in relations))
    all_correct = sum(correct.values())
    return SemEvalEvaluation(
        name=name,
        macro=macro,
        micro=Scores(micro_p, micro_r, _f1(micro_p, micro_r)),
        per_relation=tuple(rows),
        coverage=_pct(answered, len(gold)),
        accuracy=_pct(all_correct, answered),
        accuracy_skipped_wrong=_pct(all_correct, len(gold)),
        accuracy_skipped_other=_pct(all_correct + other_skipped, len(gold)),
    )


def semeval_official(gold: Sequence[str], pred: Sequence[str | None]) -> SemEvalScores:
    """The official SemEval-2010 Task 8 score (scorer v1.2) and the scorer's other numbers.

    ``pred[i]`` is the prediction for ``gold[i]``; ``None`` marks an example the system skipped (the official
    scorer allows answering a subset). A label outside :data:`SEMEVAL_LABELS` in either list is a
    :class:`DataError`.
    """
    _check_lengths(gold, pred)
    check_semeval_labels(gold, "gold")
    check_semeval_labels(pred, "predicted")
    official = _semeval_evaluation("9+1-way, directed (official)", gold, pred, undirected, directed=True)
    return SemEvalScores(
        official.macro.precision,
        official.macro.recall,
        official.macro.f1,
        official=official,
        way_18_plus_1=_semeval_evaluation("2*9+1-way", gold, pred, str, directed=False),
        undirected=_semeval_evaluation("9+1-way, direction ignored", gold, pred, undirected, directed=False),
    )


def check_metric(name: str) -> Metric:
    """``name`` as a :data:`Metric`, or a RelencError listing the choices (for names that come from users)."""
    if name == "semeval":
        return "semeval"
    if name == "micro":
        return "micro"
    raise RelencError(f"unknown metric {name!r}; choose one of {', '.join(METRICS)}")


def default_metric(fmt: str) -> Metric:
    """The metric a dataset of format ``fmt`` is scored with unless one is named: SemEval-2010 Task 8 has an
    official scorer, so ``semeval`` for it; every other format (TACRED, KBP37, ...) uses TACRED-style ``micro``.

    The one place this rule lives: ``relenc train``, ``score``, ``evaluate``, ``analyze`` and the experiment grid
    all ask it, so a run and the commands that rescore it never disagree on what its F1 means.
    """
    return "semeval" if fmt == "semeval" else "micro"


def score(gold: Sequence[str], pred: Sequence[str], metric: Metric, negative: str | None) -> Scores:
    """``semeval``: the official SemEval macro-F1 (``negative`` is not used: ``Other`` is fixed by the task);
    ``micro``: TACRED-style micro P/R/F1 with ``negative`` excluded."""
    chosen = check_metric(metric)
    if chosen == "semeval":
        return semeval_official(gold, pred)
    return micro_prf(gold, pred, negative)


def per_relation_report(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> list[RelationRow]:
    """P, R, F1, support and prediction count for every label seen in the gold labels or the predictions.

    Plain one-vs-rest counts per label (a label's precision is over the predictions of exactly that label);
    the labels come sorted, with ``negative`` last.
    """
    _check_lengths(gold, pred)
    support = Counter(gold)
    predicted = Counter(pred)
    correct = Counter(g for g, p in zip(gold, pred, strict=True) if g == p)
    labels = sorted(support.keys() | predicted.keys(), key=lambda label: (label == negative, label))
    rows = []
    for label in labels:
        precision, recall = _pct(correct[label], predicted[label]), _pct(correct[label], support[label])
        rows.append(RelationRow(label, precision, recall, _f1(precision, recall), support[label], predicted[label]))
    return rows


def confusion_matrix(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Counts with gold labels as rows and predicted labels as columns, in ``labels`` order (default: sorted).

    A label missing from ``labels`` is a DataError rather than a silently dropped example.
    """
    _check_lengths(gold, pred)
    order = list(labels) if labels is not None else sorted(set(gold) | set(pred))
    index = {label: i for i, label in enumerate(order)}
    matrix = np.zeros((len(order), len(order)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        for label in (g, p):
            if label not in index:
                raise DataError(f"label {label!r} is not one of the confusion matrix's labels")
        matrix[index[g], index[p]] += 1
    return order, matrix
