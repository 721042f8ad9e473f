"""Where a model's errors are, in the terms of the paper's claims about [H,T].

The claim: an [H,T] model mostly reads entity types, so it (a) predicts a relation for negative examples whose
arguments have the right types (false positives), and (b) confuses relations whose arguments have the same types
(``per:city_of_birth`` vs ``per:city_of_death``). Both are measured here, as pure functions over gold labels,
predicted labels and entity types (:mod:`relenc.analysis.entity_types`). Shares and rates are percentages.

- :func:`false_positive_stats`: gold negative predicted positive, and the reverse, with rates.
- :func:`signature_confusions`: among wrong positive predictions, the share whose predicted and gold relations
  have the same type signature. Only wrong predictions whose gold label is a relation can be compared this way (the
  negative class has no meaningful signature); wrong predictions on gold negatives are measured instead by whether
  the example's own argument types match the predicted relation's signature ("type-plausible" false positives).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import permutations
from typing import Any

from relenc.analysis.entity_types import UNK, TypePair


def _pct(num: int, den: int) -> float | None:
    """A percentage, or ``None`` when there is nothing to take it of (unlike the scorers' 0.0: "no data" must not
    read as "never")."""
    return 100.0 * num / den if den else None


def _check(gold: Sequence[Any], pred: Sequence[Any]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")


def false_positive_stats(gold: Sequence[str], pred: Sequence[str], negative: str | None) -> dict[str, Any]:
    """False positives (gold ``negative``, predicted a relation) and false negatives (the reverse).

    ``false_positive_rate_pct`` is over the gold negatives, ``false_positive_share_of_positive_predictions_pct``
    over all predicted relations (100 - it is the share of positive predictions on positive examples),
    ``false_negative_rate_pct`` over the gold positives. A dataset without a negative class (FewRel) has none of
    these: every value is ``None``.
    """
    _check(gold, pred)
    if negative is None:
        return {
            "negative_label": None,
            "negatives": None,
            "false_positives": None,
            "false_positive_rate_pct": None,
            "false_positive_share_of_positive_predictions_pct": None,
            "false_negatives": None,
            "false_negative_rate_pct": None,
        }
    negatives = sum(g == negative for g in gold)
    fp = sum(g == negative and p != negative for g, p in zip(gold, pred, strict=True))
    fn = sum(g != negative and p == negative for g, p in zip(gold, pred, strict=True))
    predicted_positive = sum(p != negative for p in pred)
    return {
        "negative_label": negative,
        "negatives": negatives,
        "false_positives": fp,
        "false_positive_rate_pct": _pct(fp, negatives),
        "false_positive_share_of_positive_predictions_pct": _pct(fp, predicted_positive),
        "false_negatives": fn,
        "false_negative_rate_pct": _pct(fn, len(gold) - negatives),
    }


def same_signature_pairs(signatures: Mapping[str, TypePair | None], negative: str | None) -> dict[str, Any]:
    """How many ordered pairs of distinct typed relations share a signature: the rate a type-blind confusion
    would have, to read :func:`signature_confusions` against (on TACRED many relations are ``PERSON``-something,
    so a high share is expected even by chance; the comparison between models is what matters)."""
    typed = [label for label, sig in signatures.items() if sig is not None and label != negative]
    pairs = list(permutations(typed, 2))
    same = sum(signatures[a] == signatures[b] for a, b in pairs)
    return {
        "relation_pairs": len(pairs),
        "same_signature_pairs": same,
        "same_signature_pairs_pct": _pct(same, len(pairs)),
    }


def signature_confusions(
    gold: Sequence[str],
    pred: Sequence[str],
    negative: str | None,
    signatures: Mapping[str, TypePair | None],
    pairs: Sequence[TypePair],
    top: int = 10,
) -> dict[str, Any]:
    """Wrong positive predictions (predicted a relation, not the gold label) and how type-driven they look.

    - ``relation_confusions``: wrong positive predictions whose gold label is a relation; ``typed_...``: those where
      both relations have a signature; ``same_signature_share_pct``: the share of the typed ones whose two relations
      have the same signature.
    - ``false_positives_typed``: wrong positive predictions on gold negatives whose arguments are both typed and
      whose predicted relation has a signature; ``type_plausible_false_positives_share_pct``: the share of those
      where the example's ``(head type, tail type)`` is the predicted relation's signature.
    - ``top_confusions``: the ``top`` most frequent ``(gold, predicted)`` wrong positive predictions with their
      count and whether the two signatures agree (``None``: one is unknown or gold is the negative class).
    """
    _check(gold, pred)
    if len(pairs) != len(gold):
        raise ValueError(f"{len(gold)} gold labels but {len(pairs)} type pairs")
    wrong = [(g, p, pair) for g, p, pair in zip(gold, pred, pairs, strict=True) if p != g and p != negative]
    confusions = [(g, p) for g, p, _ in wrong if g != negative]
    typed = [(g, p) for g, p in confusions if signatures.get(g) is not None and signatures.get(p) is not None]
    same = sum(signatures[g] == signatures[p] for g, p in typed)
    on_negatives = [(p, pair) for g, p, pair in wrong if g == negative]
    fp_typed = [(p, pair) for p, pair in on_negatives if UNK not in pair and signatures.get(p) is not None]
    plausible = sum(pair == signatures[p] for p, pair in fp_typed)

    def agree(g: str, p: str) -> bool | None:
        if g == negative or signatures.get(g) is None or signatures.get(p) is None:
            return None
        return signatures[g] == signatures[p]

    ranked = sorted(Counter((g, p) for g, p, _ in wrong).items(), key=lambda item: (-item[1], item[0]))[:top]
    return {
        "wrong_positive_predictions": len(wrong),
        "relation_confusions": len(confusions),
        "typed_relation_confusions": len(typed),
        "same_signature_confusions": same,
        "same_signature_share_pct": _pct(same, len(typed)),
        "false_positives_typed": len(fp_typed),
        "type_plausible_false_positives": plausible,
        "type_plausible_false_positives_share_pct": _pct(plausible, len(fp_typed)),
        "top_confusions": [
            {"gold": g, "predicted": p, "count": count, "same_signature": agree(g, p)} for (g, p), count in ranked
        ],
    }


def error_analysis(
    gold: Sequence[str],
    pred: Sequence[str],
    negative: str | None,
    signatures: Mapping[str, TypePair | None],
    pairs: Sequence[TypePair],
) -> dict[str, Any]:
    """:func:`false_positive_stats` and :func:`signature_confusions` in one dict, plus the accuracy (percent)."""
    _check(gold, pred)
    correct = sum(g == p for g, p in zip(gold, pred, strict=True))
    return {
        "examples": len(gold),
        "accuracy_pct": _pct(correct, len(gold)),
        **false_positive_stats(gold, pred, negative),
        **signature_confusions(gold, pred, negative, signatures, pairs),
    }
