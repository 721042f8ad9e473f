"""The official scorers, as pure functions over gold and predicted label strings. Numbers are percentages.

- :func:`micro_prf`: the TACRED standard: micro precision, recall and F1 over positive relations.
- :func:`semeval_official`: SemEval-2010 Task 8's official score (scorer v1.2, evaluation (iii)): macro-averaged
  F1 over the relations, directionality taken into account, ``Other`` excluded. Reproduces the numbers printed by
  the official Perl scorer on its own example files (see ``tests/evaluation``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from relenc.errors import RelencError

_DIRECTED = re.compile(r"^(.+)\((e[12]),(e[12])\)$")
SEMEVAL_RELATIONS = (
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
SEMEVAL_OTHER = "Other"
SEMEVAL_LABELS = frozenset(
    [SEMEVAL_OTHER] + [f"{r}({a},{b})" for r in SEMEVAL_RELATIONS for a, b in (("e1", "e2"), ("e2", "e1"))]
)


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1 in percent."""

    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RelationRow:
    """One line of a per-relation report."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SemEvalScores(Scores):
    """The official score (``f1``: macro-F1 of evaluation (iii)) and the other numbers the scorer prints."""

    micro: Scores = field(default_factory=lambda: Scores(0.0, 0.0, 0.0))
    per_relation: tuple[RelationRow, ...] = ()
    macro_18_way: Scores = field(default_factory=lambda: Scores(0.0, 0.0, 0.0))
    macro_undirected: Scores = field(default_factory=lambda: Scores(0.0, 0.0, 0.0))


def _pct(num: float, den: float) -> float:
    """A percentage; 0.0 when the denominator is 0 (as the official scorer prints it)."""
    return 100.0 * num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def micro_prf(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> Scores:
    """Micro P/R/F1 over positive relations: correct = same label and not ``negative``."""
    _check_lengths(gold, pred)
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p and p != negative)
    predicted = sum(1 for p in pred if p != negative)
    actual = sum(1 for g in gold if g != negative)
    p, r = _pct(correct, predicted), _pct(correct, actual)
    return Scores(p, r, _f1(p, r))


def _undirected(label: str) -> str:
    match = _DIRECTED.match(label)
    return match.group(1) if match else label


def _semeval_eval(
    gold: Sequence[str], pred: Sequence[str | None], mode: str
) -> tuple[Scores, Scores, list[RelationRow]]:
    """One of the scorer's three evaluations: ``18way``, ``undirected`` or ``directed`` (the official one).

    Per relation R (classes of the evaluation, ``Other`` excluded, only those present in the gold labels):
    precision = correct / (predicted as R + wrong-direction predictions on gold R), recall = correct / gold R,
    F1 from those. Macro P, R, F1 = plain means over the relations (macro F1 is the mean of per-relation F1s, not
    the harmonic mean of macro P and R). A skipped example (prediction ``None``) counts in recall only.
    """

    def cls(label: str) -> str:
        return label if mode == "18way" else _undirected(label)

    correct: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    wrong_dir: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for g, p in zip(gold, pred, strict=True):
        gc = cls(g)
        actual[gc] += 1
        if p is None:
            continue
        pc = cls(p)
        if mode == "directed" and gc == pc and g != p:
            wrong_dir[gc] += 1
            continue
        predicted[pc] += 1
        if gc == pc:
            correct[gc] += 1
    relations = sorted(c for c in actual if c != SEMEVAL_OTHER)
    rows = []
    for rel in relations:
        prec = _pct(correct[rel], predicted[rel] + wrong_dir[rel])
        rec = _pct(correct[rel], actual[rel])
        rows.append(RelationRow(rel, prec, rec, _f1(prec, rec), actual[rel], predicted[rel] + wrong_dir[rel]))
    n = len(rows)
    macro = Scores(
        sum(row.precision for row in rows) / n if n else 0.0,
        sum(row.recall for row in rows) / n if n else 0.0,
        sum(row.f1 for row in rows) / n if n else 0.0,
    )
    all_correct = sum(correct[rel] for rel in relations)
    # as the official scorer: predictions of a relation absent from the gold labels count as Other here
    all_pred = sum(predicted[rel] + wrong_dir[rel] for rel in relations)
    all_actual = sum(actual[rel] for rel in relations)
    mp, mr = _pct(all_correct, all_pred), _pct(all_correct, all_actual)
    return macro, Scores(mp, mr, _f1(mp, mr)), rows


def semeval_official(gold: Sequence[str], pred: Sequence[str | None]) -> SemEvalScores:
    """The official SemEval-2010 Task 8 score; ``None`` in ``pred`` marks a skipped example."""
    _check_lengths(gold, pred)
    for where, labels in (("gold", gold), ("predicted", pred)):
        bad = sorted({lab for lab in labels if lab is not None and lab not in SEMEVAL_LABELS})
        if bad:
            raise RelencError(f"{where} labels are not SemEval-2010 Task 8 labels: {', '.join(bad[:5])}")
    macro, micro, rows = _semeval_eval(gold, pred, "directed")
    macro18, _, _ = _semeval_eval(gold, pred, "18way")
    macro_undirected, _, _ = _semeval_eval(gold, pred, "undirected")
    return SemEvalScores(macro.precision, macro.recall, macro.f1, micro, tuple(rows), macro18, macro_undirected)


def score(gold: Sequence[str], pred: Sequence[str], metric: str, negative: str | None) -> Scores:
    """Dispatch: ``semeval`` (official macro-F1) or ``micro`` (TACRED-style, ``negative`` excluded)."""
    if metric == "semeval":
        return semeval_official(gold, pred)
    if metric == "micro":
        return micro_prf(gold, pred, negative)
    raise RelencError(f"unknown metric {metric!r}; use semeval or micro")


def per_relation_report(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> list[RelationRow]:
    """Precision, recall, F1, support and prediction count for every label seen in gold or predictions."""
    _check_lengths(gold, pred)
    labels = sorted(set(gold) | set(pred), key=lambda lab: (lab == negative, lab))
    rows = []
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == lab)
        n_pred = sum(1 for p in pred if p == lab)
        n_gold = sum(1 for g in gold if g == lab)
        p, r = _pct(tp, n_pred), _pct(tp, n_gold)
        rows.append(RelationRow(lab, p, r, _f1(p, r), n_gold, n_pred))
    return rows


def confusion_matrix(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Counts with gold labels as rows and predictions as columns, in ``labels`` order (default: sorted)."""
    _check_lengths(gold, pred)
    order = list(labels) if labels is not None else sorted(set(gold) | set(pred))
    index = {lab: i for i, lab in enumerate(order)}
    matrix = np.zeros((len(order), len(order)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        if g not in index or p not in index:
            raise RelencError(f"label {g if g not in index else p!r} is not among the matrix labels")
        matrix[index[g], index[p]] += 1
    return order, matrix


def _check_lengths(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    if len(gold) != len(pred):
        raise RelencError(f"{len(gold)} gold labels but {len(pred)} predictions")
