"""Every kind of bad input gives one DataError naming the file, the place and the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.errors import DataError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: file not found"):
        read_dataset(tmp_path / "nope.txt", "semeval")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a directory"):
        read_dataset(tmp_path, "jsonl")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(DataError, match=r"bin\.jsonl: not UTF-8"):
        read_dataset(path, "jsonl")


def test_malformed_json_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        '{"id": "1", "tokens": ["a", "b"], "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2}}\n{oops\n',
    )
    with pytest.raises(DataError, match=r"d\.jsonl, line 2: invalid JSON"):
        read_dataset(path, "jsonl")


def test_malformed_tacred_array(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", '[{"id": "a",\n "token": [}]')
    with pytest.raises(DataError, match=r"t\.json, line 2, column \d+: invalid JSON"):
        read_dataset(path, "tacred")


def test_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", json.dumps([{"id": "x1", "token": ["a", "b"], "subj_start": 0, "subj_end": 0}]))
    with pytest.raises(DataError, match=r"t\.json, record 1 \(id 'x1'\): missing field 'obj_start'"):
        read_dataset(path, "tacred")


def test_span_out_of_range(tmp_path: Path) -> None:
    record = {"id": "r9", "token": ["a", "b"], "subj_start": 0, "subj_end": 0, "obj_start": 1, "obj_end": 5}
    path = write(tmp_path, "t.json", json.dumps([record]))
    with pytest.raises(DataError, match=r"record 1 \(id 'r9'\): tail span \[1, 6\) is out of range for 2 tokens"):
        read_dataset(path, "tacred")


def test_empty_span(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        '{"id": "e", "tokens": ["a", "b"], "h": {"start": 1, "end": 1}, "t": {"start": 0, "end": 1}}\n',
    )
    with pytest.raises(DataError, match=r"d\.jsonl, line 1 \(id 'e'\): h span \[1, 1\) is empty or out of range"):
        read_dataset(path, "jsonl")


def test_overlapping_head_and_tail(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        '{"id": "o", "tokens": ["a", "b", "c"], "h": {"start": 0, "end": 2}, "t": {"start": 1, "end": 3}}\n',
    )
    with pytest.raises(DataError, match=r"line 1 \(id 'o'\): head tokens \[0, 2\) and tail tokens \[1, 3\) overlap"):
        read_dataset(path, "jsonl")


def test_char_span_out_of_text(tmp_path: Path) -> None:
    path = write(
        tmp_path, "d.jsonl", '{"id": "c", "text": "short", "h": {"start": 0, "end": 2}, "t": {"start": 3, "end": 40}}\n'
    )
    with pytest.raises(DataError, match=r"tail character span \[3, 40\) is empty or out of range for a text of 5"):
        read_dataset(path, "jsonl")


def test_semeval_missing_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", '1\t"The <e1>author</e1> of the book."\nOther\n\n')
    with pytest.raises(DataError, match=r"s\.txt, line 1 \(id 1\): expected exactly one <e2> tag, found 0"):
        read_dataset(path, "semeval")


def test_semeval_duplicated_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", '\n\n7\t"<e1>a</e1> <e1>b</e1> <e2>c</e2>"\nOther\n')
    with pytest.raises(DataError, match=r"line 3 \(id 7\): expected exactly one <e1> tag, found 2"):
        read_dataset(path, "semeval")


def test_semeval_garbage_line(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", "not a record\n")
    with pytest.raises(DataError, match=r"s\.txt, line 1: expected 'id<TAB>\"sentence\"'"):
        read_dataset(path, "semeval")


def test_fewrel_not_contiguous(tmp_path: Path) -> None:
    data = {"P1": [{"tokens": ["a", "b", "c"], "h": ["a", "Q1", [[0, 2]]], "t": ["b", "Q2", [[1]]]}]}
    path = write(tmp_path, "f.json", json.dumps(data))
    with pytest.raises(DataError, match=r"f\.json, relation P1, instance 0: 'h' mention \[0, 2\] is not contiguous"):
        read_dataset(path, "fewrel")


def test_example_invariants_without_a_file() -> None:
    with pytest.raises(DataError, match="no tokens"):
        Example("1", (), Span(0, 1, "a"), Span(1, 2, "b"))
    with pytest.raises(DataError, match="does not match the text at its character offsets"):
        Example("1", ("a", "b"), Span(0, 1, "a", None, 0, 1), Span(1, 2, "b", None, 2, 3), text="a c")
