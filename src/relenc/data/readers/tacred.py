"""TACRED JSON (also TACREV and Re-TACRED): a JSON array of objects, or JSON lines (one object per line).

The form is told by the first non-space character (``[``: an array). Fields: ``id``, ``token`` (PTB-escaped tokens
such as ``-LRB-``, kept as they are), ``subj_start``/``subj_end`` and ``obj_start``/``obj_end`` (0-based,
INCLUSIVE), ``subj_type``, ``obj_type``, ``relation`` (absent: unlabelled). The subject is the head and the object
the tail. ``text`` stays ``None``: the original characters cannot be recovered from PTB tokens. Other fields
(``stanford_pos`` and so on) are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import (
    iter_json_lines,
    parse_json,
    read_text,
    record_location,
    require_int,
    require_str,
    require_str_list,
)
from relenc.errors import DataError

_REQUIRED = ("id", "token", "subj_start", "subj_end", "obj_start", "obj_end")


def read_tacred(path: str | Path) -> list[Example]:
    content = read_text(path)
    records: list[tuple[str, Any]]
    if content.lstrip().startswith("["):
        data = parse_json(content, path)
        records = [(f"record {i}", record) for i, record in enumerate(data, start=1)]
    else:
        records = [(f"line {number}", record) for number, record in iter_json_lines(content, path)]
    examples = []
    for where, record in records:
        try:
            examples.append(_example(record))
        except DataError as exc:
            raise exc.located(path, record_location(where, record)) from None
    return examples


def _example(record: Any) -> Example:
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    for key in _REQUIRED:
        if key not in record:
            raise DataError(f"missing field {key!r}")
    id_ = record["id"]
    if not isinstance(id_, str | int) or isinstance(id_, bool):
        raise DataError(f"field 'id' must be a string or an integer, got {id_!r}")
    tokens = require_str_list(record["token"], "field 'token'")
    label = require_str(record.get("relation"), "field 'relation'", optional=True)

    def span(role: str, prefix: str) -> Span:
        start = require_int(record[f"{prefix}_start"], f"field '{prefix}_start'")
        last = require_int(record[f"{prefix}_end"], f"field '{prefix}_end'")
        etype = require_str(record.get(f"{prefix}_type"), f"field '{prefix}_type'", optional=True)
        if last < start:
            raise DataError(f"{role} span end {last} is before its start {start} (TACRED ends are inclusive)")
        if start < 0 or last >= len(tokens):
            raise DataError(f"{role} span [{start}, {last}] (ends inclusive) is out of range for {len(tokens)} tokens")
        return Span(start, last + 1, " ".join(tokens[start : last + 1]), etype)

    return Example(str(id_), tuple(tokens), span("head", "subj"), span("tail", "obj"), label)
