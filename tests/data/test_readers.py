"""Readers on small hand-written fixtures: fields, spans, ids, labels, types, character offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from relenc.data.example import Example
from relenc.data.readers import FORMATS, read_dataset
from relenc.data.readers.kbp37 import EMPTY_ENTITY
from relenc.errors import RelencError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def assert_char_offsets_match(ex: Example) -> None:
    assert ex.text is not None
    for span in (ex.head, ex.tail):
        assert span.char_start is not None and span.char_end is not None
        assert ex.text[span.char_start : span.char_end] == span.text


def test_semeval_text_tokens_and_offsets() -> None:
    first, second = read_dataset(FIX / "semeval.txt", "semeval")
    assert (first.id, first.label) == ("1", "Product-Producer(e2,e1)")
    assert first.text == "The author of the book spoke."
    assert first.tokens == ("The", "author", "of", "the", "book", "spoke", ".")
    assert (first.head.text, first.tail.text) == ("author", "book")
    assert first.span_tokens(first.head) == ("author",) and first.span_tokens(first.tail) == ("book",)
    assert (second.id, second.label) == ("2", "Other")
    assert second.text == "A cup's handle broke."
    assert second.head.text == "cup" and second.tokens[second.head.end] == "'"  # "<e1>cup</e1>'s": glued tag
    for ex in (first, second):
        assert_char_offsets_match(ex)


def test_semeval_entities_with_punctuation() -> None:
    first, second = read_dataset(FIX / "semeval_more.txt", "semeval")
    assert first.head.text == "flip-flop" and first.span_tokens(first.head) == ("flip", "-", "flop")
    assert first.tail.text == "U.S." and first.span_tokens(first.tail) == ("U", ".", "S", ".")
    assert second.text == "The configuration's elements, (all 3.5 cm) were aligned."
    assert (second.head.text, second.tail.text) == ("configuration", "elements")
    for ex in (first, second):
        assert_char_offsets_match(ex)


def test_semeval_unlabelled_test_form() -> None:
    examples = read_dataset(FIX / "semeval_unlabelled.txt", "semeval")
    assert [ex.id for ex in examples] == ["8001", "8002"]
    assert [ex.label for ex in examples] == [None, None]
    assert examples[1].head.text == "company" and examples[1].tail.text == "chairs"


def test_kbp37_keeps_its_whitespace_tokens() -> None:
    first, second, third = read_dataset(FIX / "kbp37.txt", "kbp37")
    assert (first.id, first.label) == ("0", "per:employee_of(e1,e2)")
    assert first.tokens == ("Thom", "Yorke", "of", "Radiohead", "played", ".")
    assert first.text == "Thom Yorke of Radiohead played ."
    assert (first.head.text, first.tail.text) == ("Thom Yorke", "Radiohead")
    assert third.label == "no_relation"
    assert third.tokens == ("J.R.", "Smith", "visited", "the", "U.S.", "with", "Acme", "Inc.")
    assert (third.head.text, third.tail.text) == ("J.R. Smith", "Acme Inc.")
    for ex in (first, second, third):
        assert_char_offsets_match(ex)
        assert ex.text == " ".join(ex.tokens)


def test_kbp37_empty_entity_gets_a_placeholder() -> None:
    second = read_dataset(FIX / "kbp37.txt", "kbp37")[1]
    assert second.span_tokens(second.head) == (EMPTY_ENTITY,)
    assert second.meta == {"empty_entity": "head"}
    assert second.tail.text == "Ireland"


@pytest.mark.parametrize("name", ["tacred.json", "tacred.jsonl"])
def test_tacred_inclusive_ends_types_and_ids(name: str) -> None:
    examples = read_dataset(FIX / name, "tacred")
    ex = examples[0]
    assert (ex.id, ex.label) == ("t1", "org:city_of_headquarters")
    assert ex.span_tokens(ex.head) == ("Chunghwa", "Telecom", "Co")  # subj_start 2, subj_end 4 inclusive
    assert ex.span_tokens(ex.tail) == ("Taiwan",)
    assert (ex.head.type, ex.tail.type) == ("ORGANIZATION", "CITY")
    assert ex.text is None and ex.head.char_start is None


def test_tacred_json_lines_without_relation_is_unlabelled() -> None:
    unlabelled = read_dataset(FIX / "tacred.jsonl", "tacred")[1]
    assert unlabelled.id == "t3" and unlabelled.label is None
    assert unlabelled.head.type is None


def test_tacred_keeps_ptb_tokens() -> None:
    ex = read_dataset(FIX / "tacred.json", "tacred")[1]
    assert ex.tokens[3:] == ("-LRB-", "again", "-RRB-")
    assert ex.text is None


def test_fewrel_first_mention_ids_and_meta() -> None:
    examples = read_dataset(FIX / "fewrel.json", "fewrel")
    assert [ex.id for ex in examples] == ["P177:0", "P26:0", "P26:1"]
    assert [ex.label for ex in examples] == ["P177", "P26", "P26"]
    first = examples[0]
    assert first.head.text == "Cape Girardeau Bridge" and (first.head.start, first.head.end) == (1, 4)
    assert first.meta == {"head_id": "Q5034838", "tail_id": "Q1497"}
    assert examples[2].tail.start == 2  # the first of its two mentions ([[2], [0]])


def test_jsonl_character_and_token_forms() -> None:
    first, second, third = read_dataset(FIX / "generic.jsonl", "jsonl")
    assert first.id == "g1" and first.label == "per:employee_of"
    assert first.span_tokens(first.head) == ("Alice", "Smith") and first.span_tokens(first.tail) == ("Acme", "Corp")
    assert (first.head.type, first.tail.type) == ("PERSON", "ORG")
    assert_char_offsets_match(first)
    assert second.id == "2" and second.label is None  # integer id read as a string; head/tail aliases
    assert second.tokens == ("Bob", "left", "Initech", ".") and second.text is None
    assert second.head.text == "Bob" and second.head.type == "PERSON"
    assert third.head.text == "NY" and third.span_tokens(third.head) == ("NY",)  # "NY" inside "NY-based"
    assert third.meta == {"source": "hand-written"}


def test_jsonl_char_span_inside_a_word_splits_it(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(
        '{"id": "1", "text": "AcmeCorp hired Dan ", "h": {"start": 0, "end": 4}, "t": {"start": 14, "end": 19}}'
    )
    ex = read_dataset(path, "jsonl")[0]
    assert ex.tokens == ("Acme", "Corp", "hired", "Dan")
    assert ex.head.text == "Acme"
    assert ex.tail.text == "Dan" and (ex.tail.char_start, ex.tail.char_end) == (15, 18)  # whitespace trimmed


def test_empty_jsonl_file_has_no_examples(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    assert read_dataset(path, "jsonl") == []


def test_unknown_format_lists_the_formats() -> None:
    choices = "tacred, semeval, kbp37, fewrel, jsonl, spert"
    with pytest.raises(RelencError, match=rf"unknown format 'xml'; choose one of {choices}"):
        read_dataset(FIX / "semeval.txt", "xml")
    assert FORMATS == ("tacred", "semeval", "kbp37", "fewrel", "jsonl", "spert")


@pytest.mark.parametrize(
    ("name", "fmt"), [("semeval.txt", "semeval"), ("tacred.json", "tacred"), ("generic.jsonl", "jsonl")]
)
def test_byte_order_mark_and_crlf_are_tolerated(name: str, fmt: str, tmp_path: Path) -> None:
    original = (FIX / name).read_text()
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + original.replace("\n", "\r\n").encode())
    assert read_dataset(path, fmt) == read_dataset(FIX / name, fmt)
