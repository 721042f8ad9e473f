"""From raw text to (head, relation, tail) triples with character offsets.

``text -> sentences -> mentions -> candidate pairs -> batched classification -> triples``. Sentences and mentions
come from a spaCy pipeline: its named entities (``candidates="entities"``, for TACRED/KBP-style models) or the
heads of its noun chunks (``candidates="noun_chunks"``, for SemEval-style nominal relations); or the caller gives
the entities. Every ordered pair of mentions in a sentence is a candidate, within a maximum token distance and,
optionally, allowed entity-type pairs. A positive prediction below ``threshold`` counts as the negative class.

The work of one call can be bounded, for callers that serve untrusted input (``relenc serve``): at most
``max_entities`` mentions and ``max_pairs`` candidate pairs (counted before any pair is encoded; over them, a
:class:`LimitExceeded`), and a ``deadline`` checked between documents and between batches of candidates (past it, a
:class:`DeadlineExceeded`), so that an over-budget call gives the model back after at most one batch.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans
from relenc.errors import DataError, RelencError
from relenc.models.engine import in_order
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy

Candidates = Literal["entities", "noun_chunks"]


class LimitExceeded(RelencError):
    """A call asks for more work than a configured bound allows; raised before that work is done."""


class DeadlineExceeded(RelencError):
    """The call's time budget ran out; raised between documents or batches of candidates, never inside a batch."""


def check_deadline(deadline: float | None, doing: str) -> None:
    """A :class:`DeadlineExceeded` if ``deadline`` (a ``time.monotonic()`` value) has passed; ``doing`` says where."""
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded(f"ran out of time while {doing}")


def _within(count: int, limit: int | None, what: str, name: str) -> None:
    """A :class:`LimitExceeded` naming the limit and the value if ``count`` is over ``limit`` (None: no limit)."""
    if limit is not None and count > limit:
        raise LimitExceeded(f"{count} {what}, more than the limit {name}={limit}: send shorter texts or fewer entities")


@dataclass(frozen=True)
class Entity:
    """A mention with character offsets into the document (end exclusive)."""

    text: str
    start: int
    end: int
    type: str | None = None


@dataclass(frozen=True)
class Triple:
    head: Entity
    relation: str
    tail: Entity
    score: float


@dataclass(frozen=True)
class Candidate:
    """A pair to classify: its document (index in the call), its head and tail, and its example."""

    doc: int
    head: Entity
    tail: Entity
    example: Example


@dataclass
class ExtractionConfig:
    """Settings of the extraction pipeline."""

    candidates: Candidates = "entities"
    threshold: float = 0.5
    max_distance: int = 40
    allowed_types: dict[str, set[tuple[str, str]]] | None = None
    entity_types: frozenset[str] | None = None
    batch_size: int = 64
    max_sentence_chars: int = 2000
    keep_negative: bool = False
    spacy_model: str = DEFAULT_SPACY_MODEL
    compile: bool = False  # torch.compile the model first (RelationExtractor.compile): for long jobs
    max_entities: int | None = None  # most mentions in one call, all documents together (None: no bound)
    max_pairs: int | None = None  # most candidate pairs in one call (None: no bound)
    _excluded: frozenset[str] = field(
        default=frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}), repr=False
    )


class Pipeline:
    """A trained model plus a spaCy pipeline: call :meth:`extract` on documents of any length."""

    def __init__(self, model: RelationExtractor, config: ExtractionConfig | None = None, nlp: Any = None) -> None:
        self.model = model
        self.config = config or ExtractionConfig()
        self._nlp = nlp

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = load_spacy(self.config.spacy_model)
        return self._nlp

    def extract(self, text: str, entities: Sequence[Entity] | None = None) -> list[Triple]:
        """Triples of one document; ``entities`` (document offsets) replace the NER when given."""
        return self.extract_many([text], [entities] if entities is not None else None)[0]

    def extract_many(
        self,
        texts: Sequence[str],
        entities: Sequence[Sequence[Entity] | None] | None = None,
        deadline: float | None = None,
    ) -> list[list[Triple]]:
        """Triples of many documents, classified together in batches."""
        return self.extract_docs(self.parse(texts, deadline), entities, deadline)

    def parse(self, texts: Sequence[str], deadline: float | None = None) -> list[Any]:
        """The spaCy docs of ``texts``; the deadline is checked after each document."""
        docs = []
        for doc in self.nlp.pipe(texts, batch_size=16):
            docs.append(doc)
            check_deadline(deadline, f"parsing document {len(docs) - 1} of {len(texts)}")
        return docs

    def extract_docs(
        self,
        docs: Sequence[Any],
        entities: Sequence[Sequence[Entity] | None] | None = None,
        deadline: float | None = None,
    ) -> list[list[Triple]]:
        """Triples of documents already processed by spaCy (sentences and entities set)."""
        candidates = self.candidates(docs, entities, deadline)
        return self.triples(len(docs), candidates, self.classify(candidates, deadline))

    def candidates(
        self,
        docs: Sequence[Any],
        entities: Sequence[Sequence[Entity] | None] | None = None,
        deadline: float | None = None,
    ) -> list[Candidate]:
        """Every candidate pair of ``docs``, within ``max_entities`` and ``max_pairs``.

        Mentions and pairs are counted before any example is built (building one tokenises its sentence), so a
        call over a bound costs only the counting.
        """
        mentions = []
        for d, doc in enumerate(docs):
            check_deadline(deadline, f"finding the entities of document {d}")
            mentions.append(self._mentions(doc, entities[d] if entities is not None else None))
        _within(sum(len(m) for m in mentions), self.config.max_entities, "entities", "max_entities")
        pairs = []
        for d, doc in enumerate(docs):
            check_deadline(deadline, f"pairing the entities of document {d}")
            pairs += [(d, pair) for pair in self._pairs(doc, mentions[d])]
        _within(len(pairs), self.config.max_pairs, "candidate pairs", "max_pairs")
        out = []
        for d, (s, lo, hi, head, tail) in pairs:
            example = example_from_char_spans(
                f"{d}:{s}:{head.start}-{tail.start}",
                docs[d].text[lo:hi],
                (head.start - lo, head.end - lo),
                (tail.start - lo, tail.end - lo),
                None,
                head.type,
                tail.type,
            )
            out.append(Candidate(d, head, tail, example))
        return out

    def classify(self, candidates: Sequence[Candidate], deadline: float | None = None) -> list[Prediction]:
        """The candidates' predictions, in the engine's batches (the ones a single ``predict`` call makes).

        The deadline is checked before each batch: a call over budget stops after the batch in progress.
        """
        examples = [c.example for c in candidates]
        items = self.model.encode(examples)
        batches = self.model.engine.batches(items, self.config.batch_size)
        results = []
        for k, idx in enumerate(batches):
            check_deadline(deadline, f"classifying batch {k + 1} of {len(batches)} of candidate pairs")
            results.append(
                (idx, self.model.predict([examples[i] for i in idx], len(idx), encoded=[items[i] for i in idx]))
            )
        return in_order(results, len(examples), lambda preds: preds)

    def triples(self, n_docs: int, candidates: Sequence[Candidate], preds: Sequence[Prediction]) -> list[list[Triple]]:
        """Per document, the triples of its candidates' predictions: threshold, allowed types, one per direction."""
        results: list[list[Triple]] = [[] for _ in range(n_docs)]
        if not candidates:  # nothing to label: an extractor without a classifier may find no pairs
            return results
        negative = self.model.labels.negative
        for cand, pred in zip(candidates, preds, strict=True):
            label, score = pred.label, pred.score
            if not self._allowed(label, cand.head, cand.tail):
                continue
            if label != negative and score < self.config.threshold:
                label, score = (negative or label), pred.probabilities.get(negative or label, score)
            if label == negative and not self.config.keep_negative:
                continue
            results[cand.doc].append(Triple(cand.head, label, cand.tail, round(score, 6)))
        return [_one_per_direction(triples) for triples in results]

    def _allowed(self, label: str, head: Entity, tail: Entity) -> bool:
        allowed = self.config.allowed_types
        if allowed is None or label not in allowed or head.type is None or tail.type is None:
            return True
        return (head.type, tail.type) in allowed[label]

    def _mentions(self, doc: Any, given: Sequence[Entity] | None) -> list[Entity]:
        if given is not None:
            for e in given:
                if not 0 <= e.start < e.end <= len(doc.text) or doc.text[e.start : e.end] != e.text:
                    raise DataError(f"entity {e.text!r} [{e.start}, {e.end}) does not match the document text")
            return sorted(given, key=lambda e: e.start)
        if self.config.candidates == "noun_chunks":
            return [Entity(c.root.text, c.root.idx, c.root.idx + len(c.root.text), None) for c in doc.noun_chunks]
        keep = self.config.entity_types
        return [
            Entity(e.text, e.start_char, e.end_char, e.label_)
            for e in doc.ents
            if (keep is None and e.label_ not in self.config._excluded) or (keep is not None and e.label_ in keep)
        ]

    def _pairs(self, doc: Any, mentions: Sequence[Entity]) -> Iterable[tuple[int, int, int, Entity, Entity]]:
        """``(sentence index, sentence start, sentence end, head, tail)`` of every candidate pair of one document."""
        for s, sent in enumerate(doc.sents):
            lo, hi = sent.start_char, sent.end_char
            inside = [m for m in mentions if lo <= m.start and m.end <= hi]
            if len(inside) < 2 or hi - lo > self.config.max_sentence_chars:
                continue
            for head in inside:
                for tail in inside:
                    if head is tail or (head.start < tail.end and tail.start < head.end):
                        continue
                    if _token_distance(doc, head, tail) > self.config.max_distance:
                        continue
                    if not self._type_pair_possible(head, tail):
                        continue
                    yield s, lo, hi, head, tail

    def _type_pair_possible(self, head: Entity, tail: Entity) -> bool:
        allowed = self.config.allowed_types
        if allowed is None or head.type is None or tail.type is None:
            return True
        return any((head.type, tail.type) in pairs for pairs in allowed.values())


_REVERSED = re.compile(r"^(.*)\(e2,e1\)$")


def _one_per_direction(triples: list[Triple]) -> list[Triple]:
    """Directed labels say the same thing twice: ``A R(e2,e1) B`` is ``B R(e1,e2) A``. Keep one, the surer.

    Both candidate orders of a pair are classified; a label with ``(e2,e1)`` is rewritten as the ``(e1,e2)`` triple
    with head and tail swapped, and when both orders agree only the higher score is kept.
    """
    best: dict[tuple[int, int, int, int, str], Triple] = {}
    for t in triples:
        match = _REVERSED.match(t.relation)
        if match:
            t = Triple(t.tail, f"{match.group(1)}(e1,e2)", t.head, t.score)
        key = (t.head.start, t.head.end, t.tail.start, t.tail.end, t.relation)
        if key not in best or t.score > best[key].score:
            best[key] = t
    return sorted(best.values(), key=lambda t: (t.head.start, t.tail.start, t.relation))


def _token_distance(doc: Any, a: Entity, b: Entity) -> int:
    first, second = (a, b) if a.start <= b.start else (b, a)
    span = doc.char_span(first.end, second.start, alignment_mode="expand")
    return len(span) if span is not None else 0


def load_pipeline(model_dir: str, config: ExtractionConfig | None = None) -> Pipeline:
    extractor = RelationExtractor.from_pretrained(model_dir)
    if config is not None and config.compile:
        extractor.compile()
    return Pipeline(extractor, config)
