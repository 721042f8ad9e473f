"""The extraction pipeline on a tiny random model: candidates, offsets, thresholds, batch jobs, spaCy component."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("spacy")

from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.nlp import load_spacy
from relenc.pipeline.batch import extract_file
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import ExtractionConfig, Pipeline, Triple, one_per_triple

if TYPE_CHECKING:
    from conftest import RunCli

TEXT = "Barack Obama visited Paris in May. Angela Merkel met Emmanuel Macron in Berlin."


def test_every_ordered_pair_within_a_sentence(model_dir: str, nlp: object) -> None:
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), ExtractionConfig(keep_negative=True), nlp=nlp)
    triples = pipe.extract(TEXT)
    pairs = {(t.head.text, t.tail.text) for t in triples}
    # sentence 1: Obama, Paris (May is a DATE, excluded) -> 2 ordered pairs; sentence 2: 3 entities -> 6
    assert len(pairs) == 8
    assert ("Barack Obama", "Paris") in pairs and ("Berlin", "Angela Merkel") in pairs
    assert ("Barack Obama", "Berlin") not in pairs  # never across sentences
    for t in triples:
        assert TEXT[t.head.start : t.head.end] == t.head.text and TEXT[t.tail.start : t.tail.end] == t.tail.text
        assert t.head.type in ("PERSON", "GPE") and 0.0 <= t.score <= 1.0


def test_threshold_one_leaves_only_negatives(model_dir: str, nlp: object) -> None:
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), ExtractionConfig(threshold=1.01), nlp=nlp)
    assert pipe.extract(TEXT) == []


def test_given_entities_and_allowed_types(model_dir: str, nlp: object) -> None:
    config = ExtractionConfig(keep_negative=True, allowed_types={"per:met": {("PER", "PER")}})
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), config, nlp=nlp)
    ents = [
        Entity("Angela Merkel", 35, 48, "PER"),
        Entity("Emmanuel Macron", 53, 68, "PER"),
        Entity("Berlin", 72, 78, "LOC"),
    ]
    triples = pipe.extract(TEXT, ents)
    assert {(t.head.text, t.tail.text) for t in triples} == {
        ("Angela Merkel", "Emmanuel Macron"),
        ("Emmanuel Macron", "Angela Merkel"),
    }
    with pytest.raises(Exception, match="does not match the document text"):
        pipe.extract(TEXT, [Entity("Angela", 0, 6, "PER"), Entity("Paris", 21, 26, "LOC")])


def test_one_triple_per_fact() -> None:
    """Triples read without dataset syntax: ``R(e2,e1)`` from a to b is ``R`` from b to a, the same fact as
    ``R(e1,e2)`` from b to a, so only the surer of the two is kept; another relation between them stays."""
    a, b = Entity("a", 0, 1), Entity("b", 2, 3)
    triples = [Triple(a, "R(e2,e1)", b, 0.9), Triple(b, "R(e1,e2)", a, 0.8), Triple(a, "S", b, 0.7)]
    assert one_per_triple(triples) == [Triple(a, "S", b, 0.7), Triple(b, "R", a, 0.9)]


def test_batch_job_resumes_and_records_errors(model_dir: str, nlp: object, tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text(
        json.dumps({"id": "a", "text": TEXT})
        + "\n"
        + json.dumps({"id": "b", "text": "Bob lives.", "entities": [{"text": "Bob", "start": 5, "end": 8}]})
        + "\n"
        + json.dumps({"id": "c", "text": "Ann Lee moved to Rome."})
        + "\n"
    )
    out = tmp_path / "out.jsonl"
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), ExtractionConfig(keep_negative=True), nlp=nlp)
    stats = extract_file(pipe, src, out, chunk=2, progress=False)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"] and stats.failed == 1
    assert "does not match the document text" in rows[1]["error"]
    assert set(rows[0]["relations"][0]) == {"head", "relation", "tail", "score"}
    assert set(rows[0]["relations"][0]["head"]) == {"text", "start", "end", "type", "name"}
    # a kill -9 in the middle of the last line, before the partial file became OUT: the cut line is dropped and
    # that document is done again; the others are skipped (more such cases in test_batch.py)
    partial = out.with_name(".out.jsonl.partial")
    out.rename(partial)
    partial.write_text(partial.read_text().rsplit("\n", 2)[0] + "\n" + '{"id": "c", "rel')
    stats = extract_file(pipe, src, out, progress=False)
    assert (stats.skipped, stats.documents) == (2, 1)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b", "c"]


def test_missing_spacy_pipeline_is_a_user_error(model_dir: str) -> None:
    """The pipeline loads spaCy on first use, through relenc.nlp: a wrong name says what to install, once."""
    pipe = Pipeline(
        RelationExtractor.from_pretrained(model_dir), ExtractionConfig(spacy_model="relenc_no_such_pipeline")
    )
    with pytest.raises(RelencError, match=r"relenc_no_such_pipeline.*spacy download"):
        pipe.extract(TEXT)


def test_spacy_component(model_dir: str) -> None:
    import relenc.pipeline.spacy_component  # noqa: F401  registers the factory (also an entry point)

    nlp = load_spacy()
    nlp.add_pipe("relenc", config={"model": model_dir, "threshold": 0.0})
    doc = nlp(TEXT)
    assert isinstance(doc._.relations, list)
    for rel in doc._.relations:
        assert doc.text[rel["head"]["start"] : rel["head"]["end"]] == rel["head"]["text"]


def test_extract_cli_compiles_when_asked(
    model_dir: str, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[RelationExtractor] = []
    monkeypatch.setattr(RelationExtractor, "compile", lambda self: compiled.append(self) or self)  # compiling is slow
    source = tmp_path / "docs.txt"
    source.write_text(TEXT + "\n")
    code, _, stderr = run_cli(["extract", str(source), str(tmp_path / "out.jsonl"), "--model", model_dir, "--compile"])
    assert code == 0, stderr
    assert len(compiled) == 1
    assert json.loads((tmp_path / "out.jsonl").read_text())["relations"] is not None


def test_type_map_renames_spacy_labels(model_dir: str, nlp: object) -> None:
    """A model trained on other type names (CoNLL04's Peop, Loc) gets spaCy's entities under its own names."""
    config = ExtractionConfig(keep_negative=True, type_map={"PERSON": "Peop", "GPE": "Loc"})
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), config, nlp=nlp)
    types = {(t.head.text, t.head.type) for t in pipe.extract(TEXT)}
    assert ("Barack Obama", "Peop") in types and ("Paris", "Loc") in types


def test_type_map_option_is_checked() -> None:
    """--type-map takes LABEL=TYPE pairs; anything else is an error that shows the bad entry."""
    from relenc.cli.extract import parse_type_map

    assert parse_type_map("PERSON=Peop, GPE=Loc,") == {"PERSON": "Peop", "GPE": "Loc"}
    assert parse_type_map(None) == {}
    with pytest.raises(RelencError, match="'ORG' is not LABEL=TYPE"):
        parse_type_map("PERSON=Peop,ORG")


def test_recognized_mentions_lose_punctuation_at_their_ends(nlp: Any) -> None:
    """A recognizer span that took the sentence's full stop ("Apple .") names "Apple", with its own offsets."""
    from relenc.pipeline.extract import _trimmed

    doc = nlp("Tim Cook is the chief executive of Apple. He was born in Alabama.")
    apple = next(t for t in doc if t.text == "Apple")
    assert [t.text for t in _trimmed(doc[apple.i : apple.i + 2])] == ["Apple"]
    assert [t.text for t in _trimmed(doc[apple.i + 1 : apple.i + 2])] == []  # punctuation alone: no mention
