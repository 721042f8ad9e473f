"""The generic JSON-lines format for users' own data: its reader and its writer.

One object per line (blank lines are skipped). Either character spans over ``text``::

    {"id": "7", "text": "Alice works for Acme.", "h": {"start": 0, "end": 5, "type": "PERSON"},
     "t": {"start": 16, "end": 20}, "label": "per:employee_of"}

which is tokenised by :func:`relenc.data.tokenize.tokenize` (split at the span boundaries, so any character span
works), or token spans (``end`` exclusive) over ``tokens``::

    {"id": "7", "tokens": ["Alice", "works", "for", "Acme", "."],
     "h": {"start": 0, "end": 1}, "t": {"start": 3, "end": 4}}

``h``/``t`` may also be called ``head``/``tail``; ``label``, ``type`` and ``meta`` (an object) are optional. When
``tokens`` is given, spans are token spans; ``text`` may come with it, and then spans may carry
``char_start``/``char_end`` and ``text``. That is what :func:`write_jsonl` writes, so reading its output gives back
the same examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import (
    example_from_char_spans,
    iter_json_lines,
    read_text,
    record_location,
    require_int,
    require_str,
    require_str_list,
)
from relenc.errors import DataError
from relenc.io import write_lines_atomic


def read_jsonl(path: str | Path) -> list[Example]:
    return [example_from_dict(record, path, f"line {n}") for n, record in iter_json_lines(read_text(path), path)]


def example_from_dict(record: Any, source: str | Path | None, location: str) -> Example:
    """An Example from one generic-JSONL record; any problem is a DataError at ``source``, ``location`` (and id)."""
    try:
        return _from_dict(record)
    except DataError as exc:
        raise exc.located(source, record_location(location, record)) from None


def _from_dict(record: Any) -> Example:
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    if "id" not in record:
        raise DataError("missing field 'id'")
    id_ = record["id"]
    if not isinstance(id_, str | int) or isinstance(id_, bool) or id_ == "":
        raise DataError(f"field 'id' must be a non-empty string or an integer, got {id_!r}")
    head = _entity(record, "h", "head")
    tail = _entity(record, "t", "tail")
    label = require_str(record.get("label"), "field 'label'", optional=True)
    text = require_str(record.get("text"), "field 'text'", optional=True)
    meta = record.get("meta", {})
    if not isinstance(meta, dict):
        raise DataError(f"field 'meta' must be an object, got {meta!r}")
    if record.get("tokens") is None:
        if text is None:
            raise DataError("missing field 'text' (with character spans) or 'tokens' (with token spans)")
        return _from_chars(str(id_), text, head, tail, label, meta)
    tokens = require_str_list(record["tokens"], "field 'tokens'")
    return Example(
        str(id_), tuple(tokens), _token_span(head, "h", tokens), _token_span(tail, "t", tokens), label, text, meta
    )


def _entity(record: dict[str, Any], short: str, long: str) -> dict[str, Any]:
    if short in record and long in record:
        raise DataError(f"both '{short}' and '{long}' are given; use one")
    value = record.get(short, record.get(long))
    if value is None:
        raise DataError(f"missing field '{short}' (or '{long}')")
    if not isinstance(value, dict):
        raise DataError(f"field '{short}' must be an object with 'start' and 'end', got {value!r}")
    for key in ("start", "end"):
        if key not in value:
            raise DataError(f"field '{short}' has no {key!r}")
        require_int(value[key], f"'{short}' {key}")
    require_str(value.get("type"), f"'{short}' type", optional=True)
    require_str(value.get("text"), f"'{short}' text", optional=True)
    return value


def _from_chars(
    id_: str, text: str, head: dict[str, Any], tail: dict[str, Any], label: str | None, meta: dict[str, Any]
) -> Example:
    example = example_from_char_spans(
        id_,
        text,
        (head["start"], head["end"]),
        (tail["start"], tail["end"]),
        label,
        head.get("type"),
        tail.get("type"),
        meta,
    )
    for role, given, span in (("h", head, example.head), ("t", tail, example.tail)):
        if given.get("text") is not None and given["text"].strip() != span.text:
            raise DataError(f"'{role}' text {given['text']!r} does not match the text at its offsets {span.text!r}")
    return example


def _token_span(span: dict[str, Any], role: str, tokens: list[str]) -> Span:
    start, end = span["start"], span["end"]
    char_start, char_end = span.get("char_start"), span.get("char_end")
    for name, value in (("char_start", char_start), ("char_end", char_end)):
        if value is not None:
            require_int(value, f"'{role}' {name}")
    text = span.get("text")
    return Span(
        start, end, " ".join(tokens[start:end]) if text is None else text, span.get("type"), char_start, char_end
    )


def example_to_dict(example: Example) -> dict[str, Any]:
    """The token form, plus ``text``, character offsets and ``meta`` when known.

    Reading the result back with :func:`example_from_dict` gives the same Example.
    """
    out: dict[str, Any] = {"id": example.id, "tokens": list(example.tokens)}
    if example.text is not None:
        out["text"] = example.text
    out["h"] = example.head.to_dict()
    out["t"] = example.tail.to_dict()
    if example.label is not None:
        out["label"] = example.label
    if example.meta:
        out["meta"] = example.meta
    return out


def write_jsonl(examples: Iterable[Example], path: str | Path) -> int:
    """Write examples as generic JSONL and return how many were written.

    Atomic: the lines go to a temporary file in the target's folder, which then replaces the target, so a crash or
    a bad example never leaves a half-written file behind.
    """
    return write_lines_atomic(path, (json.dumps(example_to_dict(ex), ensure_ascii=False) for ex in examples))
