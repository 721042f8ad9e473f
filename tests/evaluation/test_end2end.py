"""End-to-end scoring (strict, boundaries, entities) and the SpERT reader, on hand-made sentences and CoNLL04."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relenc.data.readers.spert import read_spert, read_spert_sentences
from relenc.data.sentence import Mention, Relation, Sentence
from relenc.errors import DataError
from relenc.evaluation.end2end import score_end2end

TOKENS = tuple(["John", "Smith", "works", "for", "Acme", "in", "Boston", "."])
GOLD = Sentence(
    "1",
    TOKENS,
    (Mention(0, 2, "Peop"), Mention(4, 5, "Org"), Mention(6, 7, "Loc")),
    (Relation("Work_For", 0, 1), Relation("OrgBased_In", 1, 2)),
)


def test_a_perfect_prediction_scores_100() -> None:
    scores = score_end2end([GOLD], [GOLD])
    assert scores.strict_micro.f1 == scores.strict_macro_f1 == scores.entities.f1 == 100.0


def test_strict_needs_types_boundaries_do_not() -> None:
    wrong_type = Sentence("1", TOKENS, (Mention(0, 2, "Org"), *GOLD.mentions[1:]), GOLD.relations)
    scores = score_end2end([GOLD], [wrong_type])
    assert scores.strict_micro.precision == 50.0 and scores.strict_micro.recall == 50.0  # Work_For's head is wrong
    assert scores.boundaries_micro.f1 == 100.0
    assert scores.entities.f1 == pytest.approx(100 * 2 / 3)
    rows = {row.label: row for row in scores.relation_types}
    assert rows["Work_For"].f1 == 0.0 and rows["OrgBased_In"].f1 == 100.0
    assert scores.strict_macro_f1 == 50.0


def test_wrong_span_missing_sentence_and_unknown_ids() -> None:
    short_head = Sentence("1", TOKENS, (Mention(1, 2, "Peop"), *GOLD.mentions[1:]), GOLD.relations)
    assert score_end2end([GOLD], [short_head]).boundaries_micro.recall == 50.0
    other = Sentence("2", ("x", "y"), (Mention(0, 1, "Loc"), Mention(1, 2, "Loc")), (Relation("Located_In", 0, 1),))
    missing = score_end2end([GOLD, other], [GOLD])  # no prediction for sentence 2: all of it missed
    assert missing.strict_micro.precision == 100.0 and missing.strict_micro.recall == pytest.approx(200 / 3)
    with pytest.raises(DataError, match="not in the gold data: 3"):
        score_end2end([GOLD], [Sentence("3", ("a",), ())])


def test_sentence_invariants() -> None:
    with pytest.raises(DataError, match=r"entity 0 \[2, 9\) is not a span of the 8 tokens"):
        Sentence("x", TOKENS, (Mention(2, 9, "Loc"),))
    with pytest.raises(DataError, match="relation 0: tail 5 is not one of the 1 entities"):
        Sentence("x", TOKENS, (Mention(0, 1, "Loc"),), (Relation("r", 0, 5),))


def test_pair_examples_label_every_ordered_pair() -> None:
    examples = GOLD.pair_examples()
    assert len(examples) == 6
    labels = {(ex.head.text, ex.tail.text): ex.label for ex in examples}
    assert labels[("John Smith", "Acme")] == "Work_For" and labels[("Acme", "John Smith")] == "no_relation"
    assert examples[0].head.type == "Peop"


def test_spert_reader_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    record = {"tokens": ["a", "b"], "entities": [{"type": "Loc", "start": 0, "end": 1}], "orig_id": 7}
    path.write_text(json.dumps([record, {**record, "relations": [{"type": "r", "head": 0, "tail": 3}]}]))
    with pytest.raises(DataError, match=r"bad\.json.*record 2 \(orig_id 7\).*tail 3 is not one of the 1 entities"):
        read_spert_sentences(path)
    path.write_text(json.dumps([record, {**record, "tokens": ["a", " "]}]))
    with pytest.raises(DataError, match=r"record 2 \(orig_id 7\).*'tokens'\[1\] is ' ': a token needs a visible"):
        read_spert_sentences(path)
    path.write_text(json.dumps({"tokens": []}))
    with pytest.raises(DataError, match="expected a JSON array of sentences"):
        read_spert_sentences(path)


@pytest.mark.integration
def test_conll04_counts(real_data: Path) -> None:
    """The counts SOURCE.md gives for CoNLL04, and every relation kept as a positive pair."""
    for split, sentences, entities, relations in (("train", 922, 3377, 1283), ("test", 288, 1079, 422)):
        path = real_data / "conll04" / f"{split}_triples.json"
        read = read_spert_sentences(path)
        assert (len(read), sum(len(s.mentions) for s in read)) == (sentences, entities)
        assert sum(ex.label != "no_relation" for ex in read_spert(path)) == relations
