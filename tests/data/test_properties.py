"""Property-based tests: readers fed random or mangled input raise only DataError; JSONL round-trips."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relenc.data.example import Example, Span
from relenc.data.readers import FORMATS, read_dataset
from relenc.data.readers.jsonl import write_jsonl
from relenc.errors import DataError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"
SAMPLES = {
    "semeval": (FIX / "semeval.txt").read_text(),
    "kbp37": (FIX / "kbp37.txt").read_text(),
    "tacred": (FIX / "tacred.json").read_text(),
    "fewrel": (FIX / "fewrel.json").read_text(),
    "jsonl": '{"id": "1", "text": "Alice works for Acme.", "h": {"start": 0, "end": 5},'
    ' "t": {"start": 16, "end": 20}}\n',
}


def read_text_as(fmt: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data"
        path.write_text(text, encoding="utf-8")
        try:
            read_dataset(path, fmt)
        except DataError as exc:
            assert str(path) in str(exc), "the error names the file"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fmt=st.sampled_from(FORMATS), text=st.text(max_size=300))
def test_random_text_raises_only_data_errors(fmt: str, text: str) -> None:
    read_text_as(fmt, text)


@settings(max_examples=150, deadline=None)
@given(fmt=st.sampled_from(FORMATS), data=st.data())
def test_mangled_files_raise_only_data_errors(fmt: str, data: st.DataObject) -> None:
    text = SAMPLES[fmt]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 20)))
    insert = data.draw(st.text(alphabet='<>e12/"{}[],:0123456789 \t\nab-', max_size=8))
    read_text_as(fmt, text[:start] + insert + text[end:])


words = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P")), min_size=1, max_size=6)


@st.composite
def examples(draw: st.DrawFn) -> Example:
    tokens = draw(st.lists(words, min_size=2, max_size=12))
    cut = draw(st.integers(1, len(tokens) - 1))
    h_start = draw(st.integers(0, cut - 1))
    h_end = draw(st.integers(h_start + 1, cut))
    t_start = draw(st.integers(cut, len(tokens) - 1))
    t_end = draw(st.integers(t_start + 1, len(tokens)))
    head = Span(h_start, h_end, " ".join(tokens[h_start:h_end]), draw(st.none() | st.just("PER")))
    tail = Span(t_start, t_end, " ".join(tokens[t_start:t_end]))
    if draw(st.booleans()):
        head, tail = tail, head
    label = draw(st.none() | st.sampled_from(["no_relation", "per:title", "Cause-Effect(e1,e2)"]))
    return Example(draw(st.text(min_size=1, max_size=5)), tuple(tokens), head, tail, label)


@settings(max_examples=100, deadline=None)
@given(batch=st.lists(examples(), min_size=1, max_size=5))
def test_jsonl_round_trip(batch: list[Example]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        write_jsonl(batch, path)
        assert read_dataset(path, "jsonl") == batch
