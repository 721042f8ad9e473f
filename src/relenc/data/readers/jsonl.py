"""The generic JSON-lines format for users' own data, and its writer.

One object per line. Either character spans over ``text``::

    {"id": "7", "text": "Alice works for Acme.", "h": {"start": 0, "end": 5, "type": "PERSON"},
     "t": {"start": 16, "end": 20}, "label": "per:employee_of"}

or token spans (``end`` exclusive) over ``tokens``::

    {"id": "7", "tokens": ["Alice", "works", "for", "Acme", "."],
     "h": {"start": 0, "end": 1}, "t": {"start": 3, "end": 4}}

``h``/``t`` may also be called ``head``/``tail``; ``label`` and ``type`` are optional. When both ``tokens`` and
``text`` are given (what the writer writes), spans are token spans and may carry ``char_start``/``char_end``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import example_from_char_spans, json_lines, read_text
from relenc.errors import DataError


def read_jsonl(path: str | Path) -> list[Example]:
    examples = []
    for number, line in enumerate(json_lines(read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg} (column {exc.colno})", path, f"line {number}") from None
        examples.append(example_from_dict(record, path, f"line {number}"))
    return examples


def example_from_dict(record: Any, source: str | Path | None, location: str) -> Example:
    """An Example from one generic-JSONL record; any problem is a DataError at ``source``, ``location``."""
    try:
        return _from_dict(record)
    except DataError as exc:
        where = location
        if isinstance(record, dict) and "id" in record:
            where = f"{location} (id {record['id']!r})"
        raise exc.located(source, where) from None


def _from_dict(record: Any) -> Example:
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    head = _field(record, "h", "head")
    tail = _field(record, "t", "tail")
    label = record.get("label")
    if label is not None and not isinstance(label, str):
        raise DataError(f"label must be a string, got {label!r}")
    id_ = str(record.get("id", ""))
    if not id_:
        raise DataError("missing field 'id'")
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        raise DataError("field 'text' must be a string")
    tokens = record.get("tokens")
    if tokens is None:
        if text is None:
            raise DataError("needs 'text' (with character spans) or 'tokens' (with token spans)")
        return example_from_char_spans(
            id_, text, _bounds(head, "h"), _bounds(tail, "t"), label, head.get("type"), tail.get("type")
        )
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise DataError("field 'tokens' must be a list of strings")
    spans = []
    for role, span in (("h", head), ("t", tail)):
        start, end = _bounds(span, role)
        if not 0 <= start < end <= len(tokens):
            raise DataError(f"{role} span [{start}, {end}) is empty or out of range for {len(tokens)} tokens")
        spans.append(
            Span(
                start,
                end,
                span.get("text", " ".join(tokens[start:end])),
                span.get("type"),
                span.get("char_start"),
                span.get("char_end"),
            )
        )
    return Example(id_, tuple(tokens), spans[0], spans[1], label, text)


def _field(record: dict[str, Any], short: str, long: str) -> dict[str, Any]:
    value = record.get(short, record.get(long))
    if value is None:
        raise DataError(f"missing field '{short}' (or '{long}')")
    if not isinstance(value, dict):
        raise DataError(f"field '{short}' must be an object with start and end")
    return value


def _bounds(span: dict[str, Any], role: str) -> tuple[int, int]:
    if "start" not in span or "end" not in span:
        raise DataError(f"field '{role}' needs 'start' and 'end'")
    start, end = span["start"], span["end"]
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        raise DataError(f"{role} start and end must be integers, got {start!r} and {end!r}")
    return start, end


def example_to_dict(example: Example) -> dict[str, Any]:
    """The token form, with ``text`` and character offsets when known: reading it back gives the same Example."""
    out: dict[str, Any] = {"id": example.id, "tokens": list(example.tokens)}
    if example.text is not None:
        out["text"] = example.text
    out["h"] = example.head.to_dict()
    out["t"] = example.tail.to_dict()
    if example.label is not None:
        out["label"] = example.label
    return out


def write_jsonl(examples: Iterable[Example], path: str | Path) -> int:
    """Write examples atomically (temp file + rename): a crash never leaves a half-written file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for example in examples:
                fh.write(json.dumps(example_to_dict(example), ensure_ascii=False) + "\n")
                count += 1
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
