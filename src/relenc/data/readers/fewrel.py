"""FewRel JSON: ``{relation_id: [{"tokens": [...], "h": [name, id, [[idx, ...], ...]], "t": [...]}, ...]}``.

The label is the relation id (a Wikidata PID such as ``P177``); ids are ``"<relation>:<index in its list>"``. An
entity may list several mentions (420 instances of ``val_wiki.json`` do); the *first* mention of the head and of the
tail is used, and must be contiguous token indices. The entities' ids (Wikidata QIDs) go to
``meta["head_id"]``/``meta["tail_id"]``.

An instance whose head and tail mentions overlap is a :class:`DataError` naming the relation and instance, like any
other bad record, so a bad file fails loudly instead of losing examples. (Checked: neither ``val_wiki.json`` nor
``val_nyt.json`` has one, with first mentions or with any pair of mentions.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers._common import parse_json, read_text, require_int, require_str, require_str_list
from relenc.errors import DataError


def read_fewrel(path: str | Path) -> list[Example]:
    data = parse_json(read_text(path), path)
    if not isinstance(data, dict):
        raise DataError("expected one JSON object mapping relation ids to lists of instances", path)
    examples = []
    for relation, instances in data.items():
        if not isinstance(instances, list):
            raise DataError("the relation must map to a list of instances", path, f"relation {relation!r}")
        for i, instance in enumerate(instances):
            id_ = f"{relation}:{i}"
            try:
                examples.append(_example(id_, relation, instance))
            except DataError as exc:
                raise exc.located(path, f"relation {relation!r}, instance {i} (id {id_!r})") from None
    return examples


def _example(id_: str, relation: str, instance: Any) -> Example:
    if not isinstance(instance, dict):
        raise DataError(f"expected a JSON object, got {type(instance).__name__}")
    for key in ("tokens", "h", "t"):
        if key not in instance:
            raise DataError(f"missing field {key!r}")
    tokens = require_str_list(instance["tokens"], "field 'tokens'")
    head, head_id = _first_mention(instance["h"], "h", tokens)
    tail, tail_id = _first_mention(instance["t"], "t", tokens)
    return Example(id_, tuple(tokens), head, tail, relation, meta={"head_id": head_id, "tail_id": tail_id})


def _first_mention(entity: Any, role: str, tokens: list[str]) -> tuple[Span, str]:
    """The entity's first mention as a span, and the entity's id."""
    if not isinstance(entity, list) or len(entity) != 3:
        raise DataError(f"field '{role}' must be [name, id, [[token indices], ...]]")
    name, entity_id, mentions = entity
    require_str(name, f"the name in '{role}'")
    require_str(entity_id, f"the id in '{role}'")
    if not isinstance(mentions, list) or not mentions or not isinstance(mentions[0], list) or not mentions[0]:
        raise DataError(f"field '{role}' must list at least one non-empty mention as [[token indices], ...]")
    indices = [require_int(k, f"a token index in '{role}'") for k in mentions[0]]
    start, end = indices[0], indices[-1] + 1
    if indices != list(range(start, start + len(indices))):
        raise DataError(f"'{role}' mention {indices} is not contiguous")
    if start < 0 or end > len(tokens):
        raise DataError(f"'{role}' mention {indices} is out of range for {len(tokens)} tokens")
    return Span(start, end, " ".join(tokens[start:end])), str(entity_id)
