"""End-to-end extraction: mentions from the model's own recognizer, the stored decisions, one triple per fact, and
the same pipeline on tokenised sentences (prediction, threshold tuning, SpERT records).

The recognizer and the classifier are scripted (fixed phrases, fixed probabilities), so each test can say exactly
which mentions and triples come out; the tiny model still encodes every candidate, as in real use. The real
recognizer and classifier, trained, are exercised by tests/training/test_end2end_training.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("spacy")

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers._common import example_from_char_spans
from relenc.data.readers.spert import read_spert_sentences
from relenc.data.sentence import Mention, Relation, Sentence
from relenc.encoding.builder import InputConfig
from relenc.models.decisions import Decisions
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import Candidate, ExtractionConfig, Pipeline, Triple
from relenc.pipeline.sentences import (
    ScoredSentence,
    at_threshold,
    predict_sentences,
    sentence_docs,
    spert_records,
    tune_threshold,
)

NEGATIVE = "no_relation"
LABELS = LabelSet.from_labels([NEGATIVE, "Work_For", "Live_In"])
PHRASES = {"Alice Smith": "Peop", "Acme Corp": "Org", "Bob Jones": "Peop", "Paris": "Loc"}
TEXT = "Alice Smith works for Acme Corp in Paris. Bob Jones lives in Paris."
#: The argument types the tests store: Work_For links a person to an organisation, Live_In a person to a place
TYPES = {"Work_For": frozenset({("Peop", "Org")}), "Live_In": frozenset({("Peop", "Loc")})}

Probabilities = dict[tuple[str, str], dict[str, float]]
Script = Callable[..., None]


class PhraseRecognizer(EntityRecognizer):
    """A recognizer that finds fixed phrases (longest first) and records what it was asked: it stands in for a
    trained one, whose mentions a test could not predict."""

    def __init__(self, phrases: dict[str, str]) -> None:  # no encoder: nothing of the base class is used
        self.phrases = sorted(((tuple(p.split()), t) for p, t in phrases.items()), key=lambda p: -len(p[0]))
        self.calls: list[list[list[str]]] = []

    def predict(
        self, tokens: Sequence[Sequence[str]], batch_size: int = 16, precision: str = "auto"
    ) -> list[list[tuple[Mention, float]]]:
        self.calls.append([list(words) for words in tokens])
        return [self._find(tuple(words)) for words in tokens]

    def _find(self, words: tuple[str, ...]) -> list[tuple[Mention, float]]:
        found, i = [], 0
        while i < len(words):
            match = next(((p, t) for p, t in self.phrases if words[i : i + len(p)] == p), None)
            if match is None:
                i += 1
                continue
            found.append((Mention(i, i + len(match[0]), match[1]), 0.99))
            i += len(match[0])
        return found


@pytest.fixture(scope="module")
def extractor(tiny_encoder: str) -> RelationExtractor:
    """A tiny random ``ht`` classifier of the end-to-end labels, built once; tests give it a recognizer, decisions
    and scripted probabilities through ``monkeypatch``, so each test sees it bare."""
    return RelationExtractor.build("ht", LABELS, {"main": tiny_encoder}, {"main": InputConfig(markers="punct")})


@pytest.fixture
def scripted(extractor: RelationExtractor, monkeypatch: pytest.MonkeyPatch) -> Script:
    """``scripted(probabilities, recognizer=..., decisions=...)``: the extractor with that recognizer and those
    decisions, whose classifier gives each (head text, tail text) pair the probabilities listed (the negative
    class, certain, for the others)."""

    def script(
        probabilities: Probabilities, recognizer: EntityRecognizer | None = None, decisions: Decisions | None = None
    ) -> None:
        def predict(examples: Sequence[Example], *_: Any, **__: Any) -> list[Prediction]:
            out = []
            for ex in examples:
                given = probabilities.get((ex.head.text, ex.tail.text), {NEGATIVE: 1.0})
                probs = {label: given.get(label, 0.0) for label in LABELS.labels}
                best = max(probs, key=probs.__getitem__)
                out.append(Prediction(best, probs[best], probs))
            return out

        monkeypatch.setattr(extractor, "predict", predict)
        monkeypatch.setattr(extractor, "recognizer", recognizer)
        monkeypatch.setattr(extractor, "decisions", decisions)

    return script


def entity(text: str, mention: str, type_: str | None, after: int = 0, name: str | None = None) -> Entity:
    start = text.index(mention, after)
    return Entity(mention, start, start + len(mention), type_, name)


def test_the_threshold_is_the_models_unless_given(extractor: RelationExtractor, scripted: Script) -> None:
    """``threshold=None`` means the tuned threshold the model stores (0.5 without one), a given threshold wins,
    and ``type_constraints=False`` drops the learnt argument types but not the threshold."""
    scripted({})
    assert Pipeline(extractor).threshold == 0.5
    scripted({}, decisions=Decisions(0.3, TYPES))
    assert Pipeline(extractor).threshold == 0.3
    assert Pipeline(extractor).decisions.argument_types == TYPES
    assert Pipeline(extractor, ExtractionConfig(threshold=0.8)).threshold == 0.8
    unconstrained = Pipeline(extractor, ExtractionConfig(type_constraints=False))
    assert (unconstrained.threshold, unconstrained.decisions.argument_types) == (0.3, {})


def test_decide_takes_the_likeliest_label_the_types_allow(extractor: RelationExtractor, scripted: Script) -> None:
    """A relation the entity types rule out gives way to the next likeliest label; a positive label under the
    threshold becomes the negative class; the negative class is always allowed; explicit ``allowed_types`` replace
    the learnt types; untyped mentions are not constrained."""
    scripted({}, decisions=Decisions(0.4, TYPES))
    text = "Ann works for Acme."

    def candidate(head_type: str | None, tail_type: str | None) -> Candidate:
        example = example_from_char_spans("x", text, (0, 3), (14, 18), None, head_type, tail_type)
        return Candidate(0, Entity("Ann", 0, 3, head_type), Entity("Acme", 14, 18, tail_type), example)

    pred = Prediction("Live_In", 0.5, {NEGATIVE: 0.05, "Live_In": 0.5, "Work_For": 0.45})
    pipe = Pipeline(extractor)
    assert pipe.decide(candidate("Peop", "Org"), pred) == ("Work_For", 0.45)  # Live_In needs a Loc
    assert pipe.decide(candidate("Peop", "Loc"), pred) == ("Live_In", 0.5)
    assert pipe.decide(candidate("Org", "Peop"), pred) == (NEGATIVE, 0.05)  # neither relation fits: negative
    assert pipe.decide(candidate(None, "Org"), pred) == ("Live_In", 0.5)
    strict = Pipeline(extractor, ExtractionConfig(threshold=0.48))
    assert strict.decide(candidate("Peop", "Org"), pred) == (NEGATIVE, 0.05)
    unconstrained = Pipeline(extractor, ExtractionConfig(type_constraints=False))
    assert unconstrained.decide(candidate("Peop", "Org"), pred) == ("Live_In", 0.5)
    given = Pipeline(extractor, ExtractionConfig(allowed_types={"Live_In": {("Peop", "Org")}}))
    assert given.decide(candidate("Peop", "Org"), pred) == ("Live_In", 0.5)
    likely_none = Prediction(NEGATIVE, 0.6, {NEGATIVE: 0.6, "Live_In": 0.1, "Work_For": 0.3})
    assert pipe.decide(candidate("Peop", "Org"), likely_none) == (NEGATIVE, 0.6)


def test_mentions_come_from_the_models_recognizer(extractor: RelationExtractor, scripted: Script, nlp: Any) -> None:
    """With a recognizer, the mentions are its own (spaCy would type them PERSON/ORG/GPE and take "Corp." in),
    found for every document in one batched call; a document's given entities replace them, and noun-chunk
    candidates do not use the recognizer."""
    recognizer = PhraseRecognizer(PHRASES)
    scripted({}, recognizer=recognizer)
    pipe = Pipeline(extractor, ExtractionConfig(resolve_mentions=False), nlp=nlp)
    other = "Bob Jones met Alice Smith."
    found = pipe.find(pipe.parse([TEXT, other]))
    assert found.mentions == [
        [
            entity(TEXT, "Alice Smith", "Peop"),
            entity(TEXT, "Acme Corp", "Org"),
            entity(TEXT, "Paris", "Loc"),
            entity(TEXT, "Bob Jones", "Peop"),
            entity(TEXT, "Paris", "Loc", after=TEXT.index("Bob")),
        ],
        [entity(other, "Bob Jones", "Peop"), entity(other, "Alice Smith", "Peop")],
    ]
    assert len(recognizer.calls) == 1 and len(recognizer.calls[0]) == 3  # three sentences, one call
    assert {(c.head.text, c.tail.text) for c in found.candidates if c.doc == 1} == {
        ("Bob Jones", "Alice Smith"),
        ("Alice Smith", "Bob Jones"),
    }
    given = [entity(other, "Bob Jones", "PER")]
    assert pipe.find(pipe.parse([TEXT, other]), [None, given]).mentions[1] == given
    assert len(recognizer.calls) == 2 and len(recognizer.calls[1]) == 2  # only the document without entities
    chunks = Pipeline(extractor, ExtractionConfig(candidates="noun_chunks", resolve_mentions=False), nlp=nlp)
    heads = chunks.find(chunks.parse([other])).mentions[0]
    assert [(e.text, e.type) for e in heads] == [("Jones", None), ("Smith", None)]
    assert len(recognizer.calls) == 2


def test_extract_applies_the_models_decisions(extractor: RelationExtractor, scripted: Script, nlp: Any) -> None:
    """Raw text to triples with the stored decisions: the types rule a likelier label out, a relation under the
    tuned threshold is dropped, and the scores come through."""
    probabilities: Probabilities = {
        ("Alice Smith", "Acme Corp"): {"Work_For": 0.7, NEGATIVE: 0.3},
        ("Acme Corp", "Alice Smith"): {"Work_For": 0.8, NEGATIVE: 0.2},  # an organisation works for no one
        ("Alice Smith", "Paris"): {"Live_In": 0.65, NEGATIVE: 0.35},
        ("Bob Jones", "Paris"): {"Live_In": 0.55, NEGATIVE: 0.45},  # under the threshold
    }
    scripted(probabilities, recognizer=PhraseRecognizer(PHRASES), decisions=Decisions(0.6, TYPES))
    triples = Pipeline(extractor, nlp=nlp).extract(TEXT)
    assert triples == [
        Triple(entity(TEXT, "Alice Smith", "Peop"), "Work_For", entity(TEXT, "Acme Corp", "Org"), 0.7),
        Triple(entity(TEXT, "Alice Smith", "Peop"), "Live_In", entity(TEXT, "Paris", "Loc"), 0.65),
    ]


def test_a_triple_names_its_mentions_and_one_entity_is_never_paired(
    extractor: RelationExtractor, scripted: Script, nlp: Any
) -> None:
    """Mentions are named after their entity (coreference), a pair of two mentions of one entity is no candidate,
    and two mentions of one entity stating one fact give one triple, the surer."""
    text = "Tim Cook, or Cook for short, runs Apple."
    probabilities: Probabilities = {
        ("Tim Cook", "Apple"): {"Work_For": 0.7, NEGATIVE: 0.3},
        ("Cook", "Apple"): {"Work_For": 0.9, NEGATIVE: 0.1},
    }
    scripted(probabilities, recognizer=PhraseRecognizer({"Tim Cook": "Peop", "Cook": "Peop", "Apple": "Org"}))
    pipe = Pipeline(extractor, nlp=nlp)
    found = pipe.find(pipe.parse([text]))
    assert {(c.head.text, c.tail.text) for c in found.candidates} == {
        ("Tim Cook", "Apple"),
        ("Apple", "Tim Cook"),
        ("Cook", "Apple"),
        ("Apple", "Cook"),
    }
    cook = entity(text, "Cook", "Peop", after=5, name="Tim Cook")
    assert pipe.extract(text) == [Triple(cook, "Work_For", entity(text, "Apple", "Org"), 0.9)]


# ------------------------------------------------------------------------------------------------ sentences

SENTENCES = [
    Sentence(
        "s1",
        ("Alice", "Smith", "of", "Acme", "Corp", "moved", "to", "U.S.", "Paris", "."),
        (Mention(0, 2, "Peop"),),  # gold, not used by prediction
        (),
    ),
    Sentence("s2", ("Tim", "Cook", ",", "or", "Cook", ",", "runs", "Apple", "."), ()),
]


def test_sentence_docs_keep_the_tokens_as_one_sentence() -> None:
    """The data's own tokens become the Doc's words, and a sentence is never split again (``U.S.`` and ``.``
    inside would end one for a sentence splitter), so predicted mentions line up with gold token spans."""
    docs = sentence_docs(SENTENCES)
    assert [[t.text for t in doc] for doc in docs] == [list(s.tokens) for s in SENTENCES]
    assert [len(list(doc.sents)) for doc in docs] == [1, 1]


def test_predict_sentences_give_token_spans_and_every_mentions_relations(
    extractor: RelationExtractor, scripted: Script
) -> None:
    """Predicted mentions are token spans of the sentence (not its gold mentions), relations link them by index
    with their scores, and mentions are not named: a sentence's two mentions of one entity both keep their
    relations, as end-to-end scoring counts them."""
    probabilities: Probabilities = {
        ("Alice Smith", "Acme Corp"): {"Work_For": 0.9, NEGATIVE: 0.1},
        ("Alice Smith", "Paris"): {"Live_In": 0.2, NEGATIVE: 0.1, "Work_For": 0.7},  # Work_For not allowed
        ("Tim Cook", "Apple"): {"Work_For": 0.8, NEGATIVE: 0.2},
        ("Cook", "Apple"): {"Work_For": 0.6, NEGATIVE: 0.4},
    }
    phrases = PHRASES | {"Tim Cook": "Peop", "Cook": "Peop", "Apple": "Org"}
    scripted(probabilities, recognizer=PhraseRecognizer(phrases), decisions=Decisions(0.5, TYPES))
    scored = predict_sentences(Pipeline(extractor, ExtractionConfig(threshold=0.0)), SENTENCES)
    assert [s.sentence for s in scored] == [
        Sentence("s1", SENTENCES[0].tokens, (Mention(0, 2, "Peop"), Mention(3, 5, "Org"), Mention(8, 9, "Loc"))),
        Sentence("s2", SENTENCES[1].tokens, (Mention(0, 2, "Peop"), Mention(4, 5, "Peop"), Mention(7, 8, "Org"))),
    ]
    assert [s.relations for s in scored] == [
        ((Relation("Work_For", 0, 1), 0.9), (Relation("Live_In", 0, 2), 0.2)),
        ((Relation("Work_For", 0, 2), 0.8), (Relation("Work_For", 1, 2), 0.6)),
    ]


def scored_sentence(sentence: Sentence, *relations: tuple[Relation, float]) -> ScoredSentence:
    return ScoredSentence(replace(sentence, relations=()), relations)


GOLD = [
    Sentence("a", ("x", "y", "z"), (Mention(0, 1, "P"), Mention(2, 3, "O")), (Relation("R", 0, 1),)),
    Sentence("b", ("x", "y", "z"), (Mention(0, 1, "P"), Mention(2, 3, "O")), (Relation("R", 0, 1),)),
]


def test_tune_threshold_finds_the_best_strict_f1_below_one_half_too() -> None:
    """The best threshold may be under 0.5 (a right relation scored 0.3), and ``at_threshold`` keeps a relation
    scoring exactly the threshold."""
    scored = [
        scored_sentence(GOLD[0], (Relation("R", 0, 1), 0.9), (Relation("R", 1, 0), 0.6)),
        scored_sentence(GOLD[1], (Relation("R", 0, 1), 0.3)),
    ]
    assert tune_threshold(GOLD, scored) == (0.3, pytest.approx(80.0))  # 2 right of 3; at 0.9: 1 of 1, F1 66.7
    assert [s.relations for s in at_threshold(scored, 0.6)] == [(Relation("R", 0, 1), Relation("R", 1, 0)), ()]


def test_tune_threshold_ties_go_to_the_lower_threshold() -> None:
    """Between thresholds of the same F1 the lower wins: it keeps more triples on new text."""
    scored = [scored_sentence(GOLD[0], (Relation("R", 0, 1), 0.8), (Relation("R", 1, 0), 0.2))]
    assert tune_threshold(GOLD[:1], scored) == (0.5, 100.0)  # 0.5 and 0.8 both keep only the right one


def test_spert_records_read_back_as_the_predicted_sentences(tmp_path: Path) -> None:
    """What ``relenc predict`` writes is SpERT JSON that the reader (and so ``relenc score``) reads back, each
    relation with its score; a threshold leaves out the relations under it."""
    scored = [scored_sentence(GOLD[0], (Relation("R", 0, 1), 0.9), (Relation("R", 1, 0), 0.2))]
    records = spert_records(scored)
    assert records[0]["relations"][1] == {"type": "R", "head": 1, "tail": 0, "score": 0.2}
    path = tmp_path / "predicted.json"
    path.write_text(json.dumps(records))
    assert read_spert_sentences(path) == at_threshold(scored, 0.0)
    assert [r["score"] for r in spert_records(scored, threshold=0.5)[0]["relations"]] == [0.9]
