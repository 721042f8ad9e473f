"""End-to-end scores: predicted sentences (mentions found, relations between them) against the gold ones.

As Taillé et al. (2020, "Let's Stop Incorrect Comparisons in End-to-end Relation Extraction") ask:

- **strict**: a predicted relation counts only if both mentions' boundaries and types and the relation type match a
  gold relation;
- **boundaries**: the same without the mention types;
- micro-F1 over all relations, and macro-F1, the mean of the per-relation-type F1s (over the gold relation types);
- **entities**: a predicted mention counts if its boundaries and type match a gold mention (micro-F1), with a row
  per entity type.

Sentences are matched by id; a gold sentence with no prediction counts all its mentions and relations as missed.
Scores are percentages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from typing import Any

from relenc.data.sentence import Sentence
from relenc.errors import DataError
from relenc.evaluation.scorers import RelationRow


@dataclass(frozen=True)
class End2EndScores:
    """Strict and boundaries relation scores (micro and macro), entity scores, and the per-type tables (rows of
    the per-relation report, whose ``label`` is the relation or entity type; ``all`` for the micro rows)."""

    strict_micro: RelationRow
    strict_macro_f1: float
    boundaries_micro: RelationRow
    boundaries_macro_f1: float
    entities: RelationRow
    relation_types: tuple[RelationRow, ...]
    entity_types: tuple[RelationRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON values: the headline scores, then the per-type rows."""
        return {
            "strict_micro": asdict(self.strict_micro),
            "strict_macro_f1": self.strict_macro_f1,
            "boundaries_micro": asdict(self.boundaries_micro),
            "boundaries_macro_f1": self.boundaries_macro_f1,
            "entities": asdict(self.entities),
            "relation_types": [asdict(r) for r in self.relation_types],
            "entity_types": [asdict(r) for r in self.entity_types],
        }


def score_end2end(gold: Sequence[Sentence], predicted: Sequence[Sentence]) -> End2EndScores:
    """Score ``predicted`` against ``gold`` (matched by sentence id; every predicted id must be a gold one)."""
    gold_ids = {s.id for s in gold}
    if len(gold_ids) != len(gold):
        raise DataError("gold sentences have duplicate ids")
    unknown = sorted({s.id for s in predicted} - gold_ids)
    if unknown:
        raise DataError(f"predictions for sentences not in the gold data: {', '.join(unknown[:5])}")
    strict_gold, strict_pred = _relations(gold, typed=True), _relations(predicted, typed=True)
    loose_gold, loose_pred = _relations(gold, typed=False), _relations(predicted, typed=False)
    relation_types = sorted({str(key[2]) for key in strict_gold})
    strict_rows = tuple(_row(t, _of(strict_gold, t), _of(strict_pred, t)) for t in relation_types)
    loose_rows = [_row(t, _of(loose_gold, t), _of(loose_pred, t)) for t in relation_types]
    gold_mentions, pred_mentions = _mentions(gold), _mentions(predicted)
    entity_types = sorted({key[3] for key in gold_mentions})
    return End2EndScores(
        strict_micro=_row("all", strict_gold, strict_pred),
        strict_macro_f1=_mean(r.f1 for r in strict_rows),
        boundaries_micro=_row("all", loose_gold, loose_pred),
        boundaries_macro_f1=_mean(r.f1 for r in loose_rows),
        entities=_row("all", gold_mentions, pred_mentions),
        relation_types=strict_rows,
        entity_types=tuple(
            _row(t, {m for m in gold_mentions if m[3] == t}, {m for m in pred_mentions if m[3] == t})
            for t in entity_types
        ),
    )


def _relations(sentences: Iterable[Sentence], typed: bool) -> set[tuple[object, ...]]:
    """One key per relation: (sentence, head span[, head type], relation type, tail span[, tail type])."""
    keys: set[tuple[object, ...]] = set()
    for s in sentences:
        for r in s.relations:
            h, t = s.mentions[r.head], s.mentions[r.tail]
            head = (h.start, h.end, h.type) if typed else (h.start, h.end)
            tail = (t.start, t.end, t.type) if typed else (t.start, t.end)
            keys.add((s.id, head, r.type, tail))
    return keys


def _mentions(sentences: Iterable[Sentence]) -> set[tuple[str, int, int, str]]:
    return {(s.id, m.start, m.end, m.type) for s in sentences for m in s.mentions}


def _of(keys: set[tuple[object, ...]], relation: str) -> set[tuple[object, ...]]:
    return {key for key in keys if key[2] == relation}


def _row(name: str, gold: AbstractSet[object], pred: AbstractSet[object]) -> RelationRow:
    right = len(gold & pred)
    precision = 100 * right / len(pred) if pred else 0.0
    recall = 100 * right / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return RelationRow(name, precision, recall, f1, len(gold), len(pred))


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
