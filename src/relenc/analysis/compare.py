"""Complementarity of two models on the same examples: do they get different examples right?

The paper's hybrid rests on [H,T] and [MASK] being complementary. If two models are right on different examples,
an oracle that picks the right one whenever either is right beats both by a margin; if they make the same errors,
the oracle is no better than the better model. Percentages are of the examples compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def complementarity(
    gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], negative: str | None = None
) -> dict[str, Any]:
    """Both right, only A right, only B right, both wrong (counts and percent), accuracies and the oracle accuracy.

    With a ``negative`` label the same numbers are also given over the gold-positive examples only
    (``positive_only``): on TACRED four fifths of the examples are negatives that every model gets right, which
    hides how differently the models treat the relations.
    """
    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError(f"lengths differ: {len(gold)} gold, {len(pred_a)} A, {len(pred_b)} B")
    out = _counts(gold, pred_a, pred_b)
    if negative is not None:
        keep = [i for i, g in enumerate(gold) if g != negative]
        out["positive_only"] = _counts([gold[i] for i in keep], [pred_a[i] for i in keep], [pred_b[i] for i in keep])
    return out


def _counts(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str]) -> dict[str, Any]:
    n = len(gold)
    cells = {"both_right": 0, "only_a_right": 0, "only_b_right": 0, "both_wrong": 0}
    for g, a, b in zip(gold, pred_a, pred_b, strict=True):
        key = ("both_right", "only_a_right", "only_b_right", "both_wrong")[(a != g) * 2 + (b != g)]
        cells[key] += 1

    def pct(count: int) -> float | None:
        return 100.0 * count / n if n else None

    return {
        "examples": n,
        **cells,
        **{f"{key}_pct": pct(count) for key, count in cells.items()},
        "accuracy_a_pct": pct(cells["both_right"] + cells["only_a_right"]),
        "accuracy_b_pct": pct(cells["both_right"] + cells["only_b_right"]),
        "oracle_accuracy_pct": pct(n - cells["both_wrong"]),
    }


def oracle_predictions(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str]) -> list[str]:
    """The gold label where A or B is right, else A's prediction: score it to get the oracle's official F1."""
    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError(f"lengths differ: {len(gold)} gold, {len(pred_a)} A, {len(pred_b)} B")
    return [g if g in (a, b) else a for g, a, b in zip(gold, pred_a, pred_b, strict=True)]
