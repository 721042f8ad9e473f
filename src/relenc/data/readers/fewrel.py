"""FewRel JSON: ``{relation_id: [{"tokens": [...], "h": [name, id, [[idx, ...], ...]], "t": [...]}, ...]}``.

The first mention of the head and of the tail is used (FewRel's mentions are contiguous token indices). Ids are
``"<relation>:<index>"``; the Wikidata ids of the entities go to ``meta``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import read_text
from relenc.errors import DataError


def read_fewrel(path: str | Path) -> list[Example]:
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", path, f"line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(data, dict):
        raise DataError("expected one JSON object mapping relation ids to lists of instances", path)
    examples = []
    for relation, instances in data.items():
        if not isinstance(instances, list):
            raise DataError(f"relation {relation!r} must map to a list of instances", path)
        for i, inst in enumerate(instances):
            try:
                examples.append(_example(f"{relation}:{i}", relation, inst))
            except DataError as exc:
                raise exc.located(path, f"relation {relation}, instance {i}") from None
    return examples


def _example(id_: str, relation: str, inst: Any) -> Example:
    if not isinstance(inst, dict) or "tokens" not in inst or "h" not in inst or "t" not in inst:
        raise DataError("an instance needs 'tokens', 'h' and 't'")
    tokens = inst["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise DataError("'tokens' must be a list of strings")
    spans = []
    for role in ("h", "t"):
        ent = inst[role]
        try:
            name, qid, mentions = ent
            indices = mentions[0]
        except (TypeError, ValueError, IndexError, KeyError):
            raise DataError(f"'{role}' must be [name, id, [[token indices], ...]]") from None
        if not indices or not all(isinstance(k, int) for k in indices):
            raise DataError(f"'{role}' has an empty or non-integer mention")
        if list(indices) != list(range(indices[0], indices[0] + len(indices))):
            raise DataError(f"'{role}' mention {indices} is not contiguous")
        start, end = indices[0], indices[-1] + 1
        text = " ".join(tokens[start:end]) if start >= 0 and end <= len(tokens) else str(name)
        spans.append((Span(start, end, text), qid))
    return Example(
        id=id_,
        tokens=tuple(tokens),
        head=spans[0][0],
        tail=spans[1][0],
        label=relation,
        meta={"head_id": spans[0][1], "tail_id": spans[1][1]},
    )
