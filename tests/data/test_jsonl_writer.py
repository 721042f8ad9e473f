"""The generic JSONL writer: its record shape, atomic writes, and read -> write -> read being the identity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import example_from_dict, example_to_dict, write_jsonl
from relenc.errors import DataError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"
SOURCES = [
    ("semeval.txt", "semeval"),
    ("semeval_more.txt", "semeval"),
    ("semeval_unlabelled.txt", "semeval"),
    ("kbp37.txt", "kbp37"),
    ("tacred.json", "tacred"),
    ("tacred.jsonl", "tacred"),
    ("fewrel.json", "fewrel"),
    ("generic.jsonl", "jsonl"),
]


@pytest.mark.parametrize(("name", "fmt"), SOURCES)
def test_every_reader_round_trips_through_jsonl(name: str, fmt: str, tmp_path: Path) -> None:
    examples = read_dataset(FIX / name, fmt)
    out = tmp_path / "out.jsonl"
    assert write_jsonl(examples, out) == len(examples)
    again = read_dataset(out, "jsonl")
    assert again == examples
    assert [ex.meta for ex in again] == [ex.meta for ex in examples]  # meta is not part of ==, check it too
    assert [ex.text for ex in again] == [ex.text for ex in examples]


def test_record_shape_leaves_out_unknown_fields() -> None:
    ex = Example("1", ("a", "b"), Span(0, 1, "a"), Span(1, 2, "b"))
    assert example_to_dict(ex) == {
        "id": "1",
        "tokens": ["a", "b"],
        "h": {"start": 0, "end": 1, "text": "a"},
        "t": {"start": 1, "end": 2, "text": "b"},
    }


def test_record_shape_with_text_offsets_types_label_and_meta() -> None:
    ex = Example(
        "7",
        ("Ann", "met", "Bo"),
        Span(0, 1, "Ann", "PER", 0, 3),
        Span(2, 3, "Bo", None, 8, 10),
        "meet",
        "Ann met Bo",
        {"k": "v"},
    )
    record = example_to_dict(ex)
    assert record == {
        "id": "7",
        "tokens": ["Ann", "met", "Bo"],
        "text": "Ann met Bo",
        "h": {"start": 0, "end": 1, "text": "Ann", "type": "PER", "char_start": 0, "char_end": 3},
        "t": {"start": 2, "end": 3, "text": "Bo", "char_start": 8, "char_end": 10},
        "label": "meet",
        "meta": {"k": "v"},
    }
    assert example_from_dict(json.loads(json.dumps(record)), None, "record 1") == ex


def test_write_is_atomic_when_an_example_fails(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("old content\n")

    def examples() -> Iterator[Example]:
        yield Example("1", ("a", "b"), Span(0, 1, "a"), Span(1, 2, "b"))
        raise DataError("bad record", "in.txt", "line 9")

    with pytest.raises(DataError, match="bad record"):
        write_jsonl(examples(), target)
    assert target.read_text() == "old content\n", "the old file is untouched"
    assert os.listdir(tmp_path) == ["out.jsonl"], "no temporary file is left behind"


def test_write_creates_folders_and_a_readable_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.jsonl"
    assert write_jsonl([], target) == 0
    assert target.read_text() == ""
    assert target.stat().st_mode & 0o444 == 0o444
