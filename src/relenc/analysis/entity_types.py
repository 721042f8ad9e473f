"""Entity types of the head and tail mentions, and each relation's type signature.

The paper's claims are about entity types: [H,T] mostly encodes them, [MASK] does not. To measure that on any
dataset we need a type for every mention:

- the gold type when the data has one (TACRED's ``subj_type``/``obj_type``, a JSONL span's ``type``);
- otherwise spaCy's NER, run on the whole sentence, the label of the named entity that overlaps the mention the most
  characters (:class:`relenc.nlp.EntityTyper`);
- ``UNK`` when no named entity overlaps the mention (SemEval's nominals like "the cup" are mostly ``UNK``, and so
  is KBP37's empty-entity placeholder).

Gold and NER types use different inventories (``ORGANIZATION`` vs ``ORG``), so a dataset is typed by one source in
practice; :class:`TypedExamples` counts how many mentions came from each so that mixtures are visible.

A relation's *type signature* is its most frequent fully typed ``(head type, tail type)`` pair: pairs with an
``UNK`` are left out, otherwise ``(UNK, UNK)`` would become the signature of every SemEval relation and every
confusion would look like a same-type confusion. A relation has no signature (``None``) unless at least half of its
examples are fully typed, so that a signature describes the relation rather than a few of its examples.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from relenc.data.example import Example
from relenc.nlp import UNK, EntityTyper

__all__ = ["UNK", "EntityTyper", "TypePair", "TypedExamples", "signature_report", "type_examples", "type_signatures"]

TypePair = tuple[str, str]


@dataclass
class TypedExamples:
    """``pairs[i]`` is ``(head type, tail type)`` of example ``i``; ``sources`` counts mentions by origin."""

    pairs: list[TypePair]
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def unk_share_pct(self) -> float:
        """Percent of mentions without a type: above half, type-based numbers describe few examples."""
        mentions = 2 * len(self.pairs)
        return 100.0 * sum(t == UNK for pair in self.pairs for t in pair) / mentions if mentions else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "mentions_by_source": dict(self.sources),
            "unk_share_pct": self.unk_share_pct,
            "type_pairs": _top(Counter(self.pairs), 20),
        }


def _top(counts: Counter[TypePair], n: int) -> dict[str, int]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
    return {f"{h}-{t}": c for (h, t), c in ranked}


def type_examples(typer: EntityTyper, examples: Sequence[Example]) -> TypedExamples:
    """A ``(head type, tail type)`` pair per example (gold, else NER, else UNK), and how many mentions each source
    typed."""
    types = typer.mention_types(examples)
    sources = Counter(source for pair in types for _, source in pair)
    return TypedExamples([(h, t) for (h, _), (t, _) in types], {k: v for k, v in sources.items() if v})


def signature_report(
    labels: Sequence[str | None], pairs: Sequence[TypePair], min_typed_share: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Per relation: its examples, how many are fully typed, its signature and how many examples have it.

    The signature is the most frequent fully typed pair (ties by name), and only when at least ``min_typed_share``
    of the relation's examples are fully typed: a pair seen on 3 of 800 examples (SemEval typed by NER, where
    nearly every nominal is ``UNK``) describes those 3 examples, not the relation.
    """
    if len(labels) != len(pairs):
        raise ValueError(f"{len(labels)} labels but {len(pairs)} type pairs")
    totals: Counter[str] = Counter()
    counts: dict[str, Counter[TypePair]] = {}
    for label, pair in zip(labels, pairs, strict=True):
        if label is None:
            continue
        totals[label] += 1
        per_label = counts.setdefault(label, Counter())
        if UNK not in pair:
            per_label[pair] += 1
    report: dict[str, dict[str, Any]] = {}
    for label in sorted(totals):
        typed = sum(counts[label].values())
        best = min(counts[label].items(), key=lambda item: (-item[1], item[0])) if typed else None
        reliable = best is not None and typed >= min_typed_share * totals[label]
        report[label] = {
            "examples": totals[label],
            "typed": typed,
            "signature": best[0] if reliable and best is not None else None,
            "signature_examples": best[1] if reliable and best is not None else 0,
        }
    return report


def type_signatures(
    labels: Sequence[str | None], pairs: Sequence[TypePair], min_typed_share: float = 0.5
) -> dict[str, TypePair | None]:
    """Each relation's type signature (see :func:`signature_report`), or ``None`` where it has none.

    Unlabelled examples are ignored; ``UNK`` pairs never count, however frequent.
    """
    return {label: row["signature"] for label, row in signature_report(labels, pairs, min_typed_share).items()}
