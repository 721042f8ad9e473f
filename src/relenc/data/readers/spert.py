"""SpERT JSON (CoNLL04, SciERC, ADE in the SpERT release): end-to-end data, a sentence with all its entities.

A JSON array; each element ``{"tokens": [...], "entities": [{"type", "start", "end"}], "relations": [{"type",
"head", "tail"}], "orig_id"?}``, where ``start``/``end`` are token offsets (end exclusive) and ``head``/``tail``
index ``entities``. :func:`read_spert_sentences` gives the :class:`Sentence` records (for entity recognition and
end-to-end scoring); :func:`read_spert` the pair examples a relation classifier trains on (every ordered pair of
entities of a sentence, ``no_relation`` where the sentence has no relation from head to tail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.data.example import Example
from relenc.data.readers._common import parse_json, read_text, require_int, require_str, require_str_list
from relenc.data.sentence import Mention, Relation, Sentence
from relenc.errors import DataError

NEGATIVE = "no_relation"


def read_spert_sentences(path: str | Path) -> list[Sentence]:
    """Every sentence of the file, checked; a DataError names the record (and its ``orig_id``) at fault."""
    data = parse_json(read_text(path), path)
    if not isinstance(data, list):
        raise DataError(f"expected a JSON array of sentences, got {type(data).__name__}", path)
    sentences = []
    for i, record in enumerate(data, start=1):
        where = f"record {i}"
        if isinstance(record, dict) and isinstance(record.get("orig_id"), str | int):
            where += f" (orig_id {record['orig_id']!r})"
        try:
            sentences.append(_sentence(record, i))
        except DataError as exc:
            raise DataError(exc.problem, path, where) from None
    return sentences


def read_spert(path: str | Path) -> list[Example]:
    """The pair examples of every sentence (see :meth:`Sentence.pair_examples`)."""
    return [ex for sentence in read_spert_sentences(path) for ex in sentence.pair_examples(NEGATIVE)]


def _sentence(record: Any, number: int) -> Sentence:
    if not isinstance(record, dict):
        raise DataError(f"expected a JSON object, got {type(record).__name__}")
    tokens = require_str_list(record.get("tokens"), "'tokens'")
    blank = next((i for i, token in enumerate(tokens) if not token.strip()), None)
    if blank is not None:  # spaCy cannot hold an empty word, and the tokenizer gives it no word piece
        raise DataError(f"'tokens'[{blank}] is {tokens[blank]!r}: a token needs a visible character")
    mentions = tuple(
        Mention(require_int(e.get("start"), "entity start"), require_int(e.get("end"), "entity end"), _str(e, "type"))
        for e in _objects(record, "entities")
    )
    relations = tuple(
        Relation(
            _str(r, "type"), require_int(r.get("head"), "relation head"), require_int(r.get("tail"), "relation tail")
        )
        for r in _objects(record, "relations")
    )
    sentence_id = str(record.get("orig_id", number))
    return Sentence(sentence_id, tuple(tokens), mentions, relations)


def _str(record: dict[str, Any], key: str) -> str:
    value = require_str(record.get(key), f"'{key}'")
    assert value is not None  # not optional: require_str raised for None
    return value


def _objects(record: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataError(f"'{key}' must be a list of objects")
    return value
