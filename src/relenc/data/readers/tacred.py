"""TACRED JSON (also TACREV and Re-TACRED): a JSON array of objects, or JSON lines.

Fields: ``id``, ``token`` (PTB-escaped tokens, kept as they are), ``subj_start``/``subj_end`` and
``obj_start``/``obj_end`` (0-based, INCLUSIVE), ``subj_type``, ``obj_type``, ``relation`` (absent: unlabelled).
The subject is the head and the object the tail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import json_lines, read_text
from relenc.errors import DataError


def read_tacred(path: str | Path) -> list[Example]:
    content = read_text(path)
    stripped = content.lstrip()
    records: list[tuple[str, Any]] = []
    if stripped.startswith("["):
        try:
            data = json.loads(content)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", path, f"line {exc.lineno}, column {exc.colno}") from None
        records = [(f"record {i + 1}", r) for i, r in enumerate(data)]
    else:
        for number, line in enumerate(json_lines(content), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DataError(f"invalid JSON: {exc.msg}", path, f"line {number}") from None
    examples = []
    for where, record in records:
        try:
            examples.append(_example(record))
        except DataError as exc:
            rid = record.get("id") if isinstance(record, dict) else None
            raise exc.located(path, f"{where} (id {rid!r})" if rid is not None else where) from None
    return examples


def _example(record: Any) -> Example:
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    for key in ("id", "token", "subj_start", "subj_end", "obj_start", "obj_end"):
        if key not in record:
            raise DataError(f"missing field {key!r}")
    tokens = record["token"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise DataError("field 'token' must be a list of strings")
    bounds = [record[k] for k in ("subj_start", "subj_end", "obj_start", "obj_end")]
    if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
        raise DataError(f"span bounds must be integers, got {bounds}")
    ss, se, os_, oe = bounds
    label = record.get("relation")
    if label is not None and not isinstance(label, str):
        raise DataError(f"field 'relation' must be a string, got {label!r}")

    def span(start: int, end_incl: int, etype: Any) -> Span:
        if end_incl < start:
            raise DataError(f"span end {end_incl} is before its start {start} (TACRED ends are inclusive)")
        text = " ".join(tokens[start : end_incl + 1]) if start >= 0 and end_incl < len(tokens) else ""
        return Span(start, end_incl + 1, text, etype if isinstance(etype, str) else None)

    return Example(
        id=str(record["id"]),
        tokens=tuple(tokens),
        head=span(ss, se, record.get("subj_type")),
        tail=span(os_, oe, record.get("obj_type")),
        label=label,
    )
