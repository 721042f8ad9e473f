"""Property-based tests: readers fed random or mangled input raise only DataError; JSONL round-trips."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from relenc.data.example import Example, Span
from relenc.data.readers import FORMATS, read_dataset
from relenc.data.readers._common import example_from_char_spans
from relenc.data.readers.jsonl import write_jsonl
from relenc.errors import DataError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"
SAMPLES = {
    "semeval": (FIX / "semeval.txt").read_text(),
    "kbp37": (FIX / "kbp37.txt").read_text(),
    "tacred": (FIX / "tacred.json").read_text(),
    "fewrel": (FIX / "fewrel.json").read_text(),
    "jsonl": (FIX / "generic.jsonl").read_text(),
    "spert": (FIX / "spert.json").read_text(),
}


def read_as(fmt: str, content: str) -> list[Example]:
    """Read ``content`` as ``fmt``: any failure must be a DataError that names the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data"
        path.write_text(content, encoding="utf-8")
        try:
            return read_dataset(path, fmt)
        except DataError as exc:
            assert str(exc).startswith(str(path)), f"the error names the file: {exc}"
            return []


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), text=st.text(max_size=300))
def test_random_text_raises_only_data_errors(fmt: str, text: str) -> None:
    read_as(fmt, text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), data=st.data())
def test_mangled_files_raise_only_data_errors(fmt: str, data: st.DataObject) -> None:
    text = SAMPLES[fmt]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    insert = data.draw(st.text(alphabet='<>e12/"{}[],:0123456789 \t\nab-_.', max_size=8))
    for example in read_as(fmt, text[:start] + insert + text[end:]):
        assert isinstance(example, Example)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
VALID: dict[str, Any] = {
    "jsonl": {
        "id": "1",
        "text": "Alice works for Acme.",
        "h": {"start": 0, "end": 5, "type": "P", "text": "Alice"},
        "t": {"start": 16, "end": 20},
        "label": "x",
        "meta": {"k": "v"},
    },
    "jsonl-tokens": {
        "id": 2,
        "tokens": ["Ann", "met", "Bo"],
        "text": "Ann met Bo",
        "head": {"start": 0, "end": 1, "text": "Ann", "char_start": 0, "char_end": 3},
        "tail": {"start": 2, "end": 3, "type": "P"},
    },
    "tacred": {
        "id": "t",
        "token": ["a", "b", "c"],
        "subj_start": 0,
        "subj_end": 0,
        "obj_start": 2,
        "obj_end": 2,
        "subj_type": "X",
        "relation": "r",
    },
    "fewrel": {"tokens": ["a", "b", "c"], "h": ["a", "Q1", [[0]]], "t": ["c", "Q2", [[2]]]},
}


def mutate(record: Any, path: list[Any], value: Any, delete: bool) -> Any:
    """A copy of ``record`` with the item at ``path`` replaced by ``value`` (or deleted)."""
    if not path:
        return value
    copy = record.copy()
    key = path[0]
    if len(path) == 1 and delete:
        del copy[key]
    else:
        copy[key] = mutate(copy[key], path[1:], value, delete)
    return copy


def paths(record: Any, prefix: list[Any]) -> list[list[Any]]:
    """Every place inside a JSON value, the value itself included."""
    out = [prefix]
    items = record.items() if isinstance(record, dict) else enumerate(record) if isinstance(record, list) else []
    for key, child in items:
        out.extend(paths(child, [*prefix, key]))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(sorted(VALID)), data=st.data())
def test_records_with_a_wrong_field_raise_only_data_errors(fmt: str, data: st.DataObject) -> None:
    record = VALID[fmt]
    path = data.draw(st.sampled_from(paths(record, [])))
    bad = mutate(record, path, data.draw(json_values), delete=bool(path) and data.draw(st.booleans()))
    content = {"tacred": json.dumps([bad]), "fewrel": json.dumps({"P1": [bad]})}.get(fmt, json.dumps(bad) + "\n")
    for example in read_as(fmt.split("-")[0], content):
        assert isinstance(example, Example)


words = st.text(alphabet=st.characters(categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=6)
labels = st.none() | st.sampled_from(["no_relation", "per:title", "Cause-Effect(e1,e2)"])
types = st.none() | st.sampled_from(["PER", "ORG"])
metas = st.dictionaries(st.sampled_from(["head_id", "note"]), st.text(max_size=4), max_size=2)


@st.composite
def token_examples(draw: st.DrawFn) -> Example:
    """Token-span examples such as TACRED and FewRel produce (tokens may hold spaces: JSON keeps them)."""
    tokens = draw(st.lists(words, min_size=2, max_size=12))
    cut = draw(st.integers(1, len(tokens) - 1))
    h_start = draw(st.integers(0, cut - 1))
    h_end = draw(st.integers(h_start + 1, cut))
    t_start = draw(st.integers(cut, len(tokens) - 1))
    t_end = draw(st.integers(t_start + 1, len(tokens)))
    head = Span(h_start, h_end, " ".join(tokens[h_start:h_end]), draw(types))
    tail = Span(t_start, t_end, " ".join(tokens[t_start:t_end]), draw(types))
    if draw(st.booleans()):
        head, tail = tail, head
    return Example(draw(st.text(min_size=1, max_size=5)), tuple(tokens), head, tail, draw(labels), meta=draw(metas))


@st.composite
def text_examples(draw: st.DrawFn) -> Example:
    """Character-span examples such as SemEval and the generic JSONL produce: text, offsets, split tokens."""
    text = draw(st.text(alphabet=st.characters(categories=("L", "N", "P", "Zs")), min_size=3, max_size=40))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), min_size=4, max_size=4, unique=True)))
    first, second = (cuts[0], cuts[1]), (cuts[2], cuts[3])
    assume(text[first[0] : first[1]].strip() and text[second[0] : second[1]].strip())
    head, tail = (second, first) if draw(st.booleans()) else (first, second)
    return example_from_char_spans(draw(st.text(min_size=1, max_size=5)), text, head, tail, draw(labels), draw(types))


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(token_examples() | text_examples(), min_size=1, max_size=5))
def test_jsonl_round_trip(batch: list[Example]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        assert write_jsonl(batch, path) == len(batch)
        again = read_dataset(path, "jsonl")
        assert again == batch
        assert [(ex.text, ex.meta) for ex in again] == [(ex.text, ex.meta) for ex in batch]
        path2 = Path(tmp) / "again.jsonl"
        write_jsonl(again, path2)
        assert path2.read_bytes() == path.read_bytes(), "writing is deterministic"
