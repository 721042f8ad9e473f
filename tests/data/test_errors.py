"""Every kind of bad input is one DataError whose message is ``<file>, <location>: <problem>``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.errors import DataError

TOKENS: dict[str, Any] = {"tokens": ["a", "b", "c"]}


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def jsonl(tmp_path: Path, *records: Any) -> Path:
    return write(tmp_path, "d.jsonl", "".join(json.dumps(r) + "\n" for r in records))


def tacred(tmp_path: Path, **fields: Any) -> Path:
    record = {"id": "x1", "token": ["a", "b", "c"], "subj_start": 0, "subj_end": 0, "obj_start": 2, "obj_end": 2}
    record.update(fields)
    return write(tmp_path, "t.json", json.dumps([record]))


def fewrel(tmp_path: Path, **fields: Any) -> Path:
    instance = {"tokens": ["a", "b", "c"], "h": ["a", "Q1", [[0]]], "t": ["c", "Q2", [[2]]]}
    instance.update(fields)
    return write(tmp_path, "f.json", json.dumps({"P1": [instance]}))


def expect(path: Path, fmt: str, location: str | None, problem: str) -> None:
    """The error names the file, then the location, then contains the problem."""
    with pytest.raises(DataError) as info:
        read_dataset(path, fmt)
    message = str(info.value)
    where = f"{path}, {location}: " if location else f"{path}: "
    assert message.startswith(where), message
    assert problem in message, message


# --- files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["tacred", "semeval", "kbp37", "fewrel", "jsonl"])
def test_missing_file(tmp_path: Path, fmt: str) -> None:
    expect(tmp_path / "nope.txt", fmt, None, "file not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    expect(tmp_path, "jsonl", None, "is a directory, expected a file")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b'{"id": "\xff"}\n')
    expect(path, "jsonl", "line 1", "not UTF-8 text (invalid start byte at byte 8); save the file as UTF-8")


def test_not_utf8_names_the_line_and_the_byte_in_the_file(tmp_path: Path) -> None:
    """The line an editor shows and the byte offset a hex viewer shows, counting a leading byte-order mark."""
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"\xef\xbb\xbf" + b'1\t"<e1>A</e1> b <e2>C</e2>."\nOther\n\n2\t"caf\xe9"\n')
    expect(path, "semeval", "line 4", "not UTF-8 text (invalid continuation byte at byte 45)")


def test_crlf_and_lone_cr_line_ends_are_read_as_newlines(tmp_path: Path) -> None:
    record = '{"id": "1", "tokens": ["a", "b"], "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2}}'
    path = tmp_path / "crlf.jsonl"
    path.write_bytes(f"{record}\r\n{record.replace('1', '2', 1)}\r".encode())
    assert [ex.id for ex in read_dataset(path, "jsonl")] == ["1", "2"]


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_an_empty_file_is_an_error_when_examples_are_required(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "empty.jsonl", content)
    assert read_dataset(path, "jsonl") == []  # data stats and convert may read an empty file
    with pytest.raises(DataError, match=r"empty\.jsonl: holds no examples \(read as jsonl\); check the file"):
        read_dataset(path, "jsonl", allow_empty=False)


# --- invalid JSON ---------------------------------------------------------------------------------------------


def test_invalid_json_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.jsonl",
        '{"id": "1", "tokens": ["a", "b"], "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2}}\n\n{oops\n',
    )
    expect(path, "jsonl", "line 3, column 2", "invalid JSON: Expecting property name enclosed in double quotes")


def test_invalid_json_in_a_tacred_array(tmp_path: Path) -> None:
    expect(write(tmp_path, "t.json", '[{"id": "a",\n "token": [}]'), "tacred", "line 2, column 12", "invalid JSON")


def test_invalid_json_in_tacred_lines(tmp_path: Path) -> None:
    expect(write(tmp_path, "t.jsonl", '{"id": "a"}\n{"id": \n'), "tacred", "line 2, column 8", "invalid JSON")


def test_invalid_json_in_fewrel(tmp_path: Path) -> None:
    expect(write(tmp_path, "f.json", '{"P1": [\n\n{"tokens": ]}'), "fewrel", "line 3, column 12", "invalid JSON")


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    expect(write(tmp_path, "d.jsonl", "[" * 100_000 + "\n"), "jsonl", "line 1", "invalid JSON: nested too deeply")


# --- missing fields and wrong types -------------------------------------------------------------------------------


def test_tacred_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", json.dumps([{"id": "x1", "token": ["a"], "subj_start": 0, "subj_end": 0}]))
    expect(path, "tacred", "record 1 (id 'x1')", "missing field 'obj_start'")


def test_tacred_record_not_an_object(tmp_path: Path) -> None:
    expect(write(tmp_path, "t.jsonl", '{"id": 1}\n[1, 2]\n'), "tacred", "line 1 (id '1')", "missing field 'token'")
    expect(write(tmp_path, "t.jsonl", "[1, 2]\n"), "tacred", "record 1", "expected a JSON object, got int")


def test_tacred_wrong_types(tmp_path: Path) -> None:
    expect(tacred(tmp_path, token="a b c"), "tacred", "record 1 (id 'x1')", "field 'token' must be a list of strings")
    expect(
        tacred(tmp_path, subj_end="0"), "tacred", "record 1 (id 'x1')", "field 'subj_end' must be an integer, got '0'"
    )
    expect(tacred(tmp_path, obj_type=3), "tacred", "record 1 (id 'x1')", "field 'obj_type' must be a string, got 3")
    expect(tacred(tmp_path, relation=["a"]), "tacred", "record 1 (id 'x1')", "field 'relation' must be a string")


def test_jsonl_missing_fields(tmp_path: Path) -> None:
    expect(jsonl(tmp_path, {"tokens": ["a"]}), "jsonl", "line 1", "missing field 'id'")
    expect(
        jsonl(tmp_path, {"id": "q", **TOKENS, "h": {"start": 0, "end": 1}}),
        "jsonl",
        "line 1 (id 'q')",
        "missing field 't' (or 'tail')",
    )
    record = {"id": "q", "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2}}
    expect(
        jsonl(tmp_path, record), "jsonl", "line 1 (id 'q')", "missing field 'text' (with character spans) or 'tokens'"
    )
    expect(
        jsonl(tmp_path, {"id": "q", **TOKENS, "h": {"start": 0}, "t": {"start": 1, "end": 2}}),
        "jsonl",
        "line 1 (id 'q')",
        "field 'h' has no 'end'",
    )


def test_jsonl_wrong_types(tmp_path: Path) -> None:
    base = {"id": "w", **TOKENS, "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2}}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"h": {"start": "0", "end": 1}}, "'h' start must be an integer, got '0'"),
        ({"t": {"start": 1, "end": True}}, "'t' end must be an integer, got True"),
        ({"label": 3}, "field 'label' must be a string, got 3"),
        ({"tokens": ["a", 2, "c"]}, "field 'tokens' must be a list of strings"),
        ({"h": [0, 1]}, "field 'h' must be an object with 'start' and 'end'"),
        ({"h": {"start": 0, "end": 1, "type": 5}}, "'h' type must be a string, got 5"),
        ({"meta": [1]}, "field 'meta' must be an object"),
        ({"head": {"start": 0, "end": 1}}, "both 'h' and 'head' are given"),
    ]
    for change, problem in cases:
        expect(jsonl(tmp_path, {**base, **change}), "jsonl", "line 1 (id 'w')", problem)
    expect(
        jsonl(tmp_path, {**base, "id": None}), "jsonl", "line 1", "field 'id' must be a non-empty string or an integer"
    )
    expect(jsonl(tmp_path, base, "just a string"), "jsonl", "line 2", "expected a JSON object, got str")


def test_fewrel_missing_field_and_wrong_types(tmp_path: Path) -> None:
    where = "relation 'P1', instance 0 (id 'P1:0')"
    path = write(tmp_path, "f.json", json.dumps({"P1": [{"tokens": ["a", "b"], "h": ["a", "Q1", [[0]]]}]}))
    expect(path, "fewrel", where, "missing field 't'")
    expect(fewrel(tmp_path, h=["a", "Q1"]), "fewrel", where, "field 'h' must be [name, id, [[token indices], ...]]")
    expect(fewrel(tmp_path, h=["a", "Q1", [["0"]]]), "fewrel", where, "a token index in 'h' must be an integer")
    expect(fewrel(tmp_path, t=["c", "Q2", []]), "fewrel", where, "field 't' must list at least one non-empty mention")
    expect(fewrel(tmp_path, t=["c", 2, [[2]]]), "fewrel", where, "the id in 't' must be a string, got 2")
    expect(write(tmp_path, "f.json", "[1]"), "fewrel", None, "expected one JSON object mapping relation ids")
    expect(write(tmp_path, "f.json", '{"P9": {}}'), "fewrel", "relation 'P9'", "must map to a list of instances")


def test_fewrel_mention_not_contiguous(tmp_path: Path) -> None:
    path = fewrel(tmp_path, h=["a", "Q1", [[0, 2]]], t=["b", "Q2", [[1]]])
    expect(path, "fewrel", "relation 'P1', instance 0 (id 'P1:0')", "'h' mention [0, 2] is not contiguous")


# --- spans ------------------------------------------------------------------------------------------------------


def test_span_out_of_range(tmp_path: Path) -> None:
    expect(
        tacred(tmp_path, obj_end=5),
        "tacred",
        "record 1 (id 'x1')",
        "tail span [2, 5] (ends inclusive) is out of range for 3 tokens",
    )
    record = {"id": "r", **TOKENS, "h": {"start": 0, "end": 1}, "t": {"start": 2, "end": 9}}
    expect(jsonl(tmp_path, record), "jsonl", "line 1 (id 'r')", "tail span [2, 9) is out of range for 3 tokens")
    record = {"id": "c", "text": "short", "h": {"start": 0, "end": 2}, "t": {"start": 3, "end": 40}}
    expect(
        jsonl(tmp_path, record),
        "jsonl",
        "line 1 (id 'c')",
        "tail character span [3, 40) is empty or out of range for a text of 5",
    )
    expect(
        fewrel(tmp_path, t=["c", "Q2", [[3]]]),
        "fewrel",
        "relation 'P1', instance 0 (id 'P1:0')",
        "'t' mention [3] is out of range for 3 tokens",
    )


def test_empty_span(tmp_path: Path) -> None:
    record = {"id": "e", **TOKENS, "h": {"start": 1, "end": 1}, "t": {"start": 2, "end": 3}}
    expect(jsonl(tmp_path, record), "jsonl", "line 1 (id 'e')", "head span is empty: start 1 >= end 1")
    record = {"id": "e", "text": "a   b", "h": {"start": 1, "end": 3}, "t": {"start": 4, "end": 5}}
    expect(jsonl(tmp_path, record), "jsonl", "line 1 (id 'e')", "head span [1, 3) covers only whitespace")
    expect(
        tacred(tmp_path, subj_start=2, subj_end=1),
        "tacred",
        "record 1 (id 'x1')",
        "head span end 1 is before its start 2",
    )
    path = write(tmp_path, "s.txt", '5\t"The <e1></e1> of the <e2>book</e2>."\nOther\n')
    expect(path, "semeval", "line 1 (id '5')", "entity <e1> is empty")


def test_overlapping_head_and_tail(tmp_path: Path) -> None:
    overlap = "head tokens [0, 2) and tail tokens [1, 3) overlap"
    record = {"id": "o", **TOKENS, "h": {"start": 0, "end": 2}, "t": {"start": 1, "end": 3}}
    expect(jsonl(tmp_path, record), "jsonl", "line 1 (id 'o')", overlap)
    expect(tacred(tmp_path, subj_end=1, obj_start=1), "tacred", "record 1 (id 'x1')", overlap)
    path = fewrel(tmp_path, h=["a b", "Q1", [[0, 1]]], t=["b c", "Q2", [[1, 2]]])
    expect(path, "fewrel", "relation 'P1', instance 0 (id 'P1:0')", overlap)
    path = write(tmp_path, "s.txt", '3\t"<e1>a <e2>b</e1> c</e2>"\nOther\n')
    expect(path, "semeval", "line 1 (id '3')", overlap)
    path = write(tmp_path, "k.txt", '4\t" <e1> a <e2> b </e1> c </e2> "\nno_relation\n\n\n')
    expect(path, "kbp37", "line 1 (id '4')", overlap)


# --- SemEval and KBP37 layout ---------------------------------------------------------------------------------


def test_missing_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", '1\t"The <e1>author</e1> of the book."\nOther\nComment:\n\n')
    expect(path, "semeval", "line 1 (id '1')", "expected exactly one <e2> tag, found 0")
    path = write(tmp_path, "k.txt", '1\t" <e1> a </e1> b "\nno_relation\n\n\n')
    expect(path, "kbp37", "line 1 (id '1')", "expected exactly one <e2> tag, found 0")


def test_duplicated_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", '\n\n7\t"<e1>a</e1> <e1>b</e1> <e2>c</e2>"\nOther\n')
    expect(path, "semeval", "line 3 (id '7')", "expected exactly one <e1> tag, found 2")
    path = write(tmp_path, "k.txt", '7\t" <e1> a </e1> <e2> b </e2> </e2> "\nno_relation\n\n\n')
    expect(path, "kbp37", "line 1 (id '7')", "expected exactly one </e2> tag, found 2")


def test_closing_tag_before_opening_tag(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", '2\t"</e1>a<e1> <e2>c</e2>"\nOther\n')
    expect(path, "semeval", "line 1 (id '2')", "</e1> comes before <e1>")


def test_kbp37_tag_glued_to_a_word(tmp_path: Path) -> None:
    path = write(tmp_path, "k.txt", '9\t" <e1>a </e1> <e2> b </e2> "\nno_relation\n\n\n')
    expect(path, "kbp37", "line 1 (id '9')", "tag glued to a word in '<e1>a'")


def test_semeval_record_missing_its_label_line(tmp_path: Path) -> None:
    content = (
        '1\t"The <e1>a</e1> and <e2>b</e2>."\nOther\nComment:\n\n'
        '2\t"The <e1>c</e1> and <e2>d</e2>."\nComment: the label line is gone\n\n'
    )
    expect(write(tmp_path, "s.txt", content), "semeval", "line 5 (id '2')", "the record has no label line")
    content = '1\t"<e1>a</e1> <e2>b</e2>"\nOther\n\n2\t"<e1>c</e1> <e2>d</e2>"\n'  # truncated file
    expect(write(tmp_path, "s.txt", content), "semeval", "line 4 (id '2')", "the record has no label line")


def test_semeval_label_line_in_an_unlabelled_file(tmp_path: Path) -> None:
    content = '8001\t"<e1>a</e1> <e2>b</e2>"\n8002\t"<e1>c</e1> <e2>d</e2>"\nOther\n'
    expect(write(tmp_path, "s.txt", content), "semeval", "line 3", "unexpected line 'Other': this file is unlabelled")


def test_semeval_label_with_spaces(tmp_path: Path) -> None:
    content = '1\t"<e1>a</e1> <e2>b</e2>"\nnot a label\n'
    expect(write(tmp_path, "s.txt", content), "semeval", "line 2", "label line 'not a label' is not a label")


def test_semeval_garbage_line(tmp_path: Path) -> None:
    expect(
        write(tmp_path, "s.txt", "\nnot a record\n"),
        "semeval",
        "line 2",
        "expected a record line 'id<TAB>\"sentence\"'",
    )


def test_semeval_sentence_not_quoted(tmp_path: Path) -> None:
    path = write(tmp_path, "s.txt", "4\tThe <e1>a</e1> and <e2>b</e2>.\nOther\n")
    expect(path, "semeval", "line 1 (id '4')", "the sentence must be wrapped in double quotes")


def test_example_invariants_without_a_file() -> None:
    with pytest.raises(DataError, match=r"^the sentence has no tokens$"):
        Example("1", (), Span(0, 1, "a"), Span(1, 2, "b"))
    with pytest.raises(DataError, match="does not match the text at its character offsets"):
        Example("1", ("a", "b"), Span(0, 1, "a", None, 0, 1), Span(1, 2, "b", None, 2, 3), text="a c")


def test_jsonl_span_text_that_does_not_match_the_offsets(tmp_path: Path) -> None:
    record = {
        "id": "m",
        "text": "Ann met Bo",
        "h": {"start": 0, "end": 3, "text": "Anne"},
        "t": {"start": 8, "end": 10},
    }
    expect(
        jsonl(tmp_path, record),
        "jsonl",
        "line 1 (id 'm')",
        "'h' text 'Anne' does not match the text at its offsets 'Ann'",
    )
    record = {
        "id": "m",
        **TOKENS,
        "text": "a b c",
        "h": {"start": 0, "end": 1, "char_start": 0, "char_end": 2},
        "t": {"start": 2, "end": 3},
    }
    expect(
        jsonl(tmp_path, record),
        "jsonl",
        "line 1 (id 'm')",
        "head text 'a' does not match the text at its character offsets 'a '",
    )
