"""From raw text to (head, relation, tail) triples with character offsets.

``text -> sentences -> mentions -> candidate pairs -> batched classification -> decisions -> triples``. Sentences
come from a spaCy pipeline; mentions from the model's own entity recognizer when it has one (a model trained end to
end, ``relenc train --format spert``), else from spaCy: its named entities (``candidates="entities"``, for
TACRED/KBP-style models) or the heads of its noun chunks (``candidates="noun_chunks"``, for SemEval-style nominal
relations); or the caller gives the entities. Every ordered pair of mentions in a sentence is a candidate, within a
maximum token distance and, optionally, allowed entity-type pairs.

Decisions (:mod:`relenc.models.decisions`): the most probable label the pair's entity types allow is taken (the
argument types learnt in training, unless switched off); a positive label below the threshold (the model's tuned
one unless given) counts as no relation. Then triples read as a user expects: a direction-suffixed label
(``R(e2,e1)`` between A and B) becomes ``R`` from B to A, so no dataset syntax is left, and one triple is kept per
(head, relation, tail) of a document, the surest.

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
from relenc.models.decisions import Decisions
from relenc.models.engine import in_order
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy
from relenc.pipeline.coref import DEFAULT_PERSON_TYPES, resolve
from relenc.pipeline.entity import Entity

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


@dataclass(frozen=True)
class Found:
    """What a call found before classifying: each document's mentions, and the candidate pairs among them."""

    mentions: list[list[Entity]]
    candidates: list[Candidate]


@dataclass
class ExtractionConfig:
    """Settings of the extraction pipeline."""

    candidates: Candidates = "entities"
    threshold: float | None = None  # None: the model's tuned threshold (relenc.models.decisions), else 0.5
    type_constraints: bool = True  # apply the argument types the model learnt (when it stores them)
    resolve_mentions: bool = True  # name pronouns and short names after their entity (relenc.pipeline.coref)
    person_types: frozenset[str] = DEFAULT_PERSON_TYPES  # entity types of people (any case): pronouns link to them
    max_distance: int = 40
    allowed_types: dict[str, set[tuple[str, str]]] | None = None
    entity_types: frozenset[str] | None = None  # spaCy labels to keep (None: all but dates, numbers and amounts)
    type_map: dict[str, str] = field(default_factory=dict)  # spaCy label -> the model's type (GPE -> Loc)
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
        decisions = model.decisions or Decisions()
        self.threshold = self.config.threshold if self.config.threshold is not None else decisions.threshold
        self.decisions = decisions if self.config.type_constraints else Decisions(self.threshold)

    @property
    def nlp(self) -> Any:
        """The spaCy pipeline, loaded on first use without what extraction never reads: the lemmatizer, and the NER
        when the model finds its own entities (a third of the parse time of ``en_core_web_sm``)."""
        if self._nlp is None:
            own_entities = self.model.recognizer is not None and self.config.candidates == "entities"
            self._nlp = load_spacy(
                self.config.spacy_model, exclude=("lemmatizer", "ner") if own_entities else ("lemmatizer",)
            )
        return self._nlp

    def extract(self, text: str, entities: Sequence[Entity] | None = None) -> list[Triple]:
        """Triples of one document; ``entities`` (document offsets) replace the entity recognition when given."""
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
        """Triples of documents already processed by spaCy (sentences, and entities unless the model has a
        recognizer)."""
        found = self.find(docs, entities, deadline)
        return self.triples(len(docs), found.candidates, self.classify(found.candidates, deadline))

    def find(
        self,
        docs: Sequence[Any],
        entities: Sequence[Sequence[Entity] | None] | None = None,
        deadline: float | None = None,
    ) -> Found:
        """The mentions of ``docs`` and every candidate pair among them, within ``max_entities`` and ``max_pairs``.

        Mentions and pairs are counted before any example is built (building one tokenises its sentence), so a
        call over a bound costs only the counting.
        """
        mentions = self._all_mentions(docs, entities, deadline)
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
        return Found(mentions, out)

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
        """Per document, the triples of its candidates' predictions: decided, direction-normalised, one each."""
        results: list[list[Triple]] = [[] for _ in range(n_docs)]
        if not candidates:  # nothing to label: an extractor without a classifier may find no pairs
            return results
        negative = self.model.labels.negative
        for cand, pred in zip(candidates, preds, strict=True):
            label, score = self.decide(cand, pred)
            if label == negative and not self.config.keep_negative:
                continue
            results[cand.doc].append(Triple(cand.head, label, cand.tail, round(score, 6)))
        return [one_per_triple(triples) for triples in results]

    def decide(self, cand: Candidate, pred: Prediction) -> tuple[str, float]:
        """The label of one candidate and its probability: the most probable label its entity types allow (the
        negative class always is), demoted to the negative class below the threshold."""
        negative = self.model.labels.negative
        probs = pred.probabilities
        allowed = [label for label in probs if label == negative or self._allowed(label, cand.head, cand.tail)]
        if not allowed:  # no negative class and no relation fits these types: the prediction as it is
            return pred.label, pred.score
        label = max(allowed, key=probs.__getitem__)
        if negative is not None and label != negative and probs[label] < self.threshold:
            label = negative
        return label, probs[label]

    def _allowed(self, label: str, head: Entity, tail: Entity) -> bool:
        given = self.config.allowed_types
        if given is None:
            return self.decisions.allows(label, head.type, tail.type)
        if label not in given or head.type is None or tail.type is None:
            return True
        return (head.type, tail.type) in given[label]

    def _all_mentions(
        self, docs: Sequence[Any], entities: Sequence[Sequence[Entity] | None] | None, deadline: float | None
    ) -> list[list[Entity]]:
        """Each document's mentions: the given ones, else the model's recognizer's (all documents in one batched
        call), else spaCy's."""
        given = list(entities) if entities is not None else [None] * len(docs)
        recognizer = self.model.recognizer if self.config.candidates == "entities" else None
        recognized: dict[int, list[Entity]] = {}
        if recognizer is not None:
            check_deadline(deadline, "finding the entities")
            todo = [d for d, g in enumerate(given) if g is None]
            recognized = dict(zip(todo, recognize(recognizer, [docs[d] for d in todo]), strict=True))
        mentions = []
        for d, doc in enumerate(docs):
            check_deadline(deadline, f"finding the entities of document {d}")
            found = recognized[d] if d in recognized else self._mentions(doc, given[d])
            mentions.append(resolve(doc, found, self.config.person_types) if self.config.resolve_mentions else found)
        return mentions

    def _mentions(self, doc: Any, given: Sequence[Entity] | None) -> list[Entity]:
        if given is not None:
            for e in given:
                if not 0 <= e.start < e.end <= len(doc.text) or doc.text[e.start : e.end] != e.text:
                    raise DataError(f"entity {e.text!r} [{e.start}, {e.end}) does not match the document text")
            return sorted(given, key=lambda e: e.start)
        if self.config.candidates == "noun_chunks":
            return [Entity(c.root.text, c.root.idx, c.root.idx + len(c.root.text), None) for c in doc.noun_chunks]
        keep, rename = self.config.entity_types, self.config.type_map
        return [
            Entity(e.text, e.start_char, e.end_char, rename.get(e.label_, e.label_))
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
                    if head is tail or head.key == tail.key or (head.start < tail.end and tail.start < head.end):
                        continue  # one mention, two mentions of one entity, or overlapping mentions
                    if _token_distance(doc, head, tail) > self.config.max_distance:
                        continue
                    if not self._type_pair_possible(head, tail):
                        continue
                    yield s, lo, hi, head, tail

    def _type_pair_possible(self, head: Entity, tail: Entity) -> bool:
        """Whether any relation of an explicit ``allowed_types`` fits the pair (learnt types only choose labels)."""
        allowed = self.config.allowed_types
        if allowed is None or head.type is None or tail.type is None:
            return True
        return any((head.type, tail.type) in pairs for pairs in allowed.values())


def recognize(recognizer: EntityRecognizer, docs: Sequence[Any]) -> list[list[Entity]]:
    """The recognizer's typed mentions in spaCy docs, sentence by sentence, as document character offsets."""
    sentences = [(d, [t for t in sent if not t.is_space]) for d, doc in enumerate(docs) for sent in doc.sents]
    sentences = [(d, words) for d, words in sentences if words]
    found = recognizer.predict([[t.text for t in words] for _, words in sentences])
    out: list[list[Entity]] = [[] for _ in docs]
    for (d, words), mentions in zip(sentences, found, strict=True):
        for mention, _ in mentions:
            span = _trimmed(words[mention.start : mention.end])
            if span:
                start, end = span[0].idx, span[-1].idx + len(span[-1].text)
                out[d].append(Entity(docs[d].text[start:end], start, end, mention.type))
    return out


def _trimmed(tokens: Sequence[Any]) -> Sequence[Any]:
    """A mention without the punctuation tokens at its ends: "Apple ." at the end of a sentence is "Apple" (a
    name never starts or ends with a token of punctuation alone; in CoNLL04's own tokens 37 of 5,349 do, all split
    abbreviations such as "Calif ." that spaCy keeps whole)."""
    lo, hi = 0, len(tokens)
    while lo < hi and not any(c.isalnum() for c in tokens[lo].text):
        lo += 1
    while hi > lo and not any(c.isalnum() for c in tokens[hi - 1].text):
        hi -= 1
    return tokens[lo:hi]


_DIRECTED = re.compile(r"^(.*)\((e1,e2|e2,e1)\)$")


def one_per_triple(triples: list[Triple]) -> list[Triple]:
    """Triples as a reader expects them: no dataset syntax, each (head, relation, tail) once.

    Directed labels say the same thing twice (``A R(e2,e1) B`` is ``B R(e1,e2) A``): a label with ``(e2,e1)`` swaps
    head and tail, and the direction suffix is dropped. Then one triple is kept per (head, relation, tail) by what
    the mentions name (their entity's full name, else their text), the one with the highest score, so a fact a
    document states twice is listed once.
    """
    best: dict[tuple[str, str, str], Triple] = {}
    for t in triples:
        match = _DIRECTED.match(t.relation)
        if match:
            head, tail = (t.tail, t.head) if match.group(2) == "e2,e1" else (t.head, t.tail)
            t = Triple(head, match.group(1), tail, t.score)
        key = (t.head.key, t.relation, t.tail.key)
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
