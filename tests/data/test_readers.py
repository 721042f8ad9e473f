"""Readers on small hand-written fixtures: fields, spans, ids, labels; and the generic JSONL round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from relenc.data.example import Example, Span
from relenc.data.readers import FORMATS, read_dataset
from relenc.data.readers.jsonl import example_to_dict, write_jsonl
from relenc.data.readers.semeval import EMPTY_ENTITY
from relenc.errors import RelencError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def test_semeval_spans_map_back_to_characters() -> None:
    first, second = read_dataset(FIX / "semeval.txt", "semeval")
    assert first.id == "1" and first.label == "Product-Producer(e2,e1)"
    assert first.text == "The author of the book spoke."
    assert first.head.text == "author" and first.tail.text == "book"
    assert first.span_tokens(first.head) == ("author",)
    assert first.text[first.head.char_start : first.head.char_end] == "author"
    # a tag glued to the next characters: "<e1>cup</e1>'s"
    assert second.head.text == "cup" and second.tokens[second.head.end] == "'"
    assert second.label == "Other"


def test_semeval_unlabelled_test_form(tmp_path: Path) -> None:
    path = tmp_path / "test.txt"
    path.write_text('8001\t"The <e1>a</e1> and <e2>b</e2>."\n8002\t"<e1>c</e1> <e2>d</e2>"\n')
    examples = read_dataset(path, "semeval")
    assert [ex.id for ex in examples] == ["8001", "8002"]
    assert all(ex.label is None for ex in examples)


def test_kbp37_tokens_and_empty_entities() -> None:
    first, second = read_dataset(FIX / "kbp37.txt", "kbp37")
    assert first.id == "0" and first.label == "per:employee_of(e1,e2)"
    assert first.text == "Thom Yorke of Radiohead played ."
    assert first.head.text == "Thom Yorke" and first.tail.text == "Radiohead"
    assert second.head.text == EMPTY_ENTITY  # "<e1> </e1>" is kept with a placeholder
    assert second.tail.text == "Ireland"


@pytest.mark.parametrize("name", ["tacred.json", "tacred.jsonl"])
def test_tacred_inclusive_ends_and_types(name: str) -> None:
    examples = read_dataset(FIX / name, "tacred")
    ex = examples[0]
    assert ex.id == "t1" and ex.label == "org:city_of_headquarters"
    assert ex.span_tokens(ex.head) == ("Chunghwa", "Telecom", "Co")
    assert ex.span_tokens(ex.tail) == ("Taiwan",)
    assert (ex.head.type, ex.tail.type) == ("ORGANIZATION", "CITY")
    if name.endswith("jsonl"):
        assert examples[1].label is None


def test_tacred_keeps_ptb_tokens() -> None:
    ex = read_dataset(FIX / "tacred.json", "tacred")[1]
    assert "-LRB-" in ex.tokens and ex.text is None


def test_fewrel_first_mention_and_ids() -> None:
    examples = read_dataset(FIX / "fewrel.json", "fewrel")
    assert [ex.id for ex in examples] == ["P177:0", "P26:0", "P26:1"]
    assert examples[0].head.text == "Cape Girardeau Bridge"
    assert examples[0].meta == {"head_id": "Q5034838", "tail_id": "Q1497"}
    assert examples[2].tail.start == 2  # first of two mentions


def test_jsonl_char_and_token_forms(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": 1, "text": "Alice works for Acme Corp.", "h": {"start": 0, "end": 5}, "t": {"start": 16, "end": 25},'
        ' "label": "x"}\n'
        '{"id": "2", "tokens": ["Bob", "left", "Initech"], "head": {"start": 0, "end": 1, "type": "PER"},'
        ' "tail": {"start": 2, "end": 3}}\n'
    )
    a, b = read_dataset(path, "jsonl")
    assert a.id == "1" and a.span_tokens(a.tail) == ("Acme", "Corp")
    assert b.head.type == "PER" and b.label is None


def test_char_span_inside_a_word_splits_it(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": "1", "text": "the NY-based firm", "h": {"start": 4, "end": 6}, "t": {"start": 13, "end": 17}}\n'
    )
    ex = read_dataset(path, "jsonl")[0]
    assert ex.head.text == "NY" and ex.tail.text == "firm"


@pytest.mark.parametrize("fmt", ["semeval", "kbp37", "tacred", "fewrel"])
def test_every_reader_round_trips_through_jsonl(fmt: str, tmp_path: Path) -> None:
    source = {"semeval": "semeval.txt", "kbp37": "kbp37.txt", "tacred": "tacred.json", "fewrel": "fewrel.json"}[fmt]
    examples = read_dataset(FIX / source, fmt)
    out = tmp_path / "out.jsonl"
    assert write_jsonl(examples, out) == len(examples)
    again = read_dataset(out, "jsonl")
    assert again == examples


def test_example_to_dict_has_no_none_fields() -> None:
    ex = Example("1", ("a", "b"), Span(0, 1, "a"), Span(1, 2, "b"))
    assert example_to_dict(ex) == {
        "id": "1",
        "tokens": ["a", "b"],
        "h": {"start": 0, "end": 1, "text": "a"},
        "t": {"start": 1, "end": 2, "text": "b"},
    }


def test_unknown_format() -> None:
    with pytest.raises(RelencError, match=r"unknown format 'xml'.*tacred"):
        read_dataset(FIX / "semeval.txt", "xml")
    assert FORMATS == ("tacred", "semeval", "kbp37", "fewrel", "jsonl")
