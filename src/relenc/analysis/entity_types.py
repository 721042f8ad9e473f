"""Entity types of the head and tail mentions, and each relation's type signature.

The paper's claims are about entity types: [H,T] mostly encodes them, [MASK] does not. To measure that on any
dataset we need a type for every mention:

- the gold type when the data has one (TACRED's ``subj_type``/``obj_type``, a JSONL span's ``type``);
- otherwise spaCy's NER (``en_core_web_sm``), run on the *whole sentence* rather than the bare mention, because NER
  is contextual ("Paris" alone and "Paris Hilton said" differ), and the mention takes the label of the named entity
  that overlaps it the most characters;
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from relenc.data.example import Example, Span
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy

UNK = "UNK"
# the components typing does not use (see EntityTyper)
_NER_ONLY_EXCLUDE = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter")
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


def sentence_and_offsets(example: Example) -> tuple[str, dict[str, tuple[int, int]]]:
    """The sentence NER sees and the character range of the head and tail in it.

    Examples read from text keep their own text and offsets; token-only ones (TACRED) are joined by single spaces,
    which is also how the input builder sees them.
    """
    if example.text is not None and example.head.char_start is not None and example.tail.char_start is not None:
        spans = {
            "head": (example.head.char_start, example.head.char_end or example.head.char_start),
            "tail": (example.tail.char_start, example.tail.char_end or example.tail.char_start),
        }
        return example.text, spans
    starts: list[int] = []
    position = 0
    for token in example.tokens:
        starts.append(position)
        position += len(token) + 1
    text = " ".join(example.tokens)

    def char_range(span: Span) -> tuple[int, int]:
        return starts[span.start], starts[span.end - 1] + len(example.tokens[span.end - 1])

    return text, {"head": char_range(example.head), "tail": char_range(example.tail)}


def best_overlap(entities: Iterable[tuple[int, int, str]], start: int, end: int) -> str:
    """The label of the entity ``(start, end, label)`` overlapping ``[start, end)`` the most characters, or UNK.

    Ties go to the earlier entity, so the answer does not depend on anything but the input.
    """
    best, best_overlap_chars = UNK, 0
    for e_start, e_end, label in entities:
        overlap = min(end, e_end) - max(start, e_start)
        if overlap > best_overlap_chars:
            best, best_overlap_chars = label, overlap
    return best


class EntityTyper:
    """Types the mentions of examples: gold types first, spaCy NER for the rest (loaded only if needed).

    ``nlp`` may be any callable pipeline with ``pipe`` (a loaded spaCy ``Language``); by default the spaCy model
    ``spacy_model`` is loaded on first use with only its tokenizer, ``tok2vec`` and ``ner`` (the parser and tagger
    are not needed and would triple the time).
    """

    def __init__(self, spacy_model: str = DEFAULT_SPACY_MODEL, nlp: Any = None, batch_size: int = 256) -> None:
        self.spacy_model = spacy_model
        self._nlp = nlp
        self.batch_size = batch_size

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = load_spacy(self.spacy_model, exclude=_NER_ONLY_EXCLUDE)
        return self._nlp

    def type_examples(self, examples: Sequence[Example]) -> TypedExamples:
        """A ``(head type, tail type)`` pair per example, and how many mentions each source typed."""
        types: list[list[str | None]] = [[ex.head.type or None, ex.tail.type or None] for ex in examples]
        sources: Counter[str] = Counter()
        sources["gold"] = sum(t is not None for pair in types for t in pair)
        untyped = [i for i, pair in enumerate(types) if None in pair]
        if untyped:
            prepared = [sentence_and_offsets(examples[i]) for i in untyped]
            docs = self.nlp.pipe((text for text, _ in prepared), batch_size=self.batch_size)
            for i, (_, spans), doc in zip(untyped, prepared, docs, strict=True):
                entities = [(ent.start_char, ent.end_char, str(ent.label_)) for ent in doc.ents]
                for slot, role in enumerate(("head", "tail")):
                    if types[i][slot] is None:
                        label = best_overlap(entities, *spans[role])
                        types[i][slot] = label
                        sources["ner" if label != UNK else "unk"] += 1
        pairs = [(pair[0] or UNK, pair[1] or UNK) for pair in types]
        return TypedExamples(pairs, {k: v for k, v in sources.items() if v})


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
