"""The decisions an end-to-end model stores (threshold, argument types), and the recognizer and decisions travelling
with the model directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from builders import build

from relenc.data.example import Example, Span
from relenc.data.sentence import Mention, Relation, Sentence
from relenc.errors import RelencError
from relenc.models.decisions import DECISIONS_NAME, Decisions, learn_argument_types
from relenc.models.extractor import ENTITIES_DIR, RelationExtractor
from relenc.models.spans import EntityRecognizer

TYPES = {"Work_For": frozenset({("Peop", "Org")}), "Live_In": frozenset({("Peop", "Loc"), ("Peop", "Org")})}
SENTENCE = Sentence(
    "1",
    ("Ann", "of", "Acme", "lives", "in", "Rome", "."),
    (Mention(0, 1, "Peop"), Mention(2, 3, "Org"), Mention(5, 6, "Loc")),
    (Relation("Work_For", 0, 1), Relation("Live_In", 0, 2)),
)


def test_allows_only_the_learnt_type_pairs_of_a_known_relation() -> None:
    """A relation is constrained only where training saw it between typed mentions: unknown relations and
    untyped mentions stay allowed, so a model never loses a label it could not have learnt types for."""
    decisions = Decisions(0.4, TYPES)
    assert decisions.allows("Work_For", "Peop", "Org")
    assert not decisions.allows("Work_For", "Org", "Peop")
    assert decisions.allows("Live_In", "Peop", "Org")
    assert decisions.allows("Founded", "Org", "Org")
    assert decisions.allows("Work_For", None, "Peop") and decisions.allows("Work_For", "Org", None)


def test_learn_argument_types_from_typed_positive_examples() -> None:
    """Negative and unlabelled examples say nothing about a relation, and one seen only between untyped mentions
    gets no entry (so it stays unconstrained)."""
    examples = SENTENCE.pair_examples("no_relation")
    untyped = Example("u", ("Ann", "met", "Bo"), Span(0, 1, "Ann"), Span(2, 3, "Bo"), "Met")
    unlabelled = Example("n", SENTENCE.tokens, SENTENCE.span(1), SENTENCE.span(0), None)
    assert learn_argument_types([*examples, untyped, unlabelled], "no_relation") == {
        "Work_For": frozenset({("Peop", "Org")}),
        "Live_In": frozenset({("Peop", "Loc")}),
    }
    assert "no_relation" in learn_argument_types(examples, None)  # without a negative class every label counts


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    """What a run tunes is what extraction applies later; a directory without the file has no decisions."""
    decisions = Decisions(0.375, TYPES, {"data": "dev", "f1": 61.5})
    decisions.save(tmp_path)
    assert Decisions.load(tmp_path) == decisions
    assert Decisions.load(tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not a readable decisions file"),
        ('{"threshold": 0.5}', "not a readable decisions file"),
        ('{"threshold": "high", "argument_types": {}}', "not a readable decisions file"),
        ('{"threshold": 0.5, "argument_types": {"R": [["Peop"]]}}', "not a readable decisions file"),
        ('{"threshold": 0.5, "argument_types": {}, "tuned": 5}', "not a readable decisions file"),
        ('{"threshold": 1.5, "argument_types": {}}', "threshold 1.5 is not a probability"),
    ],
)
def test_a_damaged_file_is_an_error_naming_it(tmp_path: Path, content: str, problem: str) -> None:
    """A hand-edited or truncated ``decisions.json`` must not load as silent defaults: the error names the file
    and says to train again."""
    (tmp_path / DECISIONS_NAME).write_text(content)
    with pytest.raises(RelencError, match=problem) as info:
        Decisions.load(tmp_path)
    assert str(tmp_path / DECISIONS_NAME) in str(info.value) and "train the model again" in str(info.value)


def test_the_recognizer_and_decisions_are_saved_with_the_model(tiny_encoder: str, tmp_path: Path) -> None:
    """An end-to-end model is one directory: ``entities/`` and ``decisions.json`` are written by
    ``save_pretrained`` and read back by ``from_pretrained``, the recognizer with the same weights; a model without
    them writes neither and loads with none."""
    extractor = build("ht", tiny_encoder)
    assert (extractor.recognizer, extractor.decisions) == (None, None)
    plain = extractor.save_pretrained(tmp_path / "plain")
    assert not (plain / ENTITIES_DIR).exists() and not (plain / DECISIONS_NAME).exists()
    loaded = RelationExtractor.from_pretrained(plain)
    assert (loaded.recognizer, loaded.decisions) == (None, None)

    torch.manual_seed(0)
    extractor.recognizer = EntityRecognizer.build(tiny_encoder, ["Peop", "Org", "Loc"], max_width=3)
    extractor.decisions = Decisions(0.42, TYPES, {"data": "dev"})
    full = extractor.save_pretrained(tmp_path / "full")
    loaded = RelationExtractor.from_pretrained(full)
    assert loaded.decisions == extractor.decisions
    assert loaded.recognizer is not None and loaded.recognizer.config == extractor.recognizer.config
    for recognizer in (extractor.recognizer, loaded.recognizer):
        recognizer.model.eval()
    batch = loaded.recognizer.batch([SENTENCE.tokens], [loaded.recognizer.candidates(len(SENTENCE.tokens))])
    with torch.no_grad():
        assert torch.equal(loaded.recognizer.model(batch), extractor.recognizer.model(batch))
