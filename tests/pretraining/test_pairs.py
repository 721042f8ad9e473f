"""Mining pairs from documents whose chains and pairs are known (spaCy's small English pipeline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relenc.data.readers.jsonl import example_from_dict
from relenc.errors import RelencError
from relenc.pretraining.pairs import mine_pairs, read_documents

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs.jsonl"
pytest.importorskip("spacy")


def test_known_pairs(tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    stats = mine_pairs(read_documents(DOCS), out, progress=False)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    found = {(r["entities"][0], r["entities"][1], r["a"]["text"], r["b"]["text"]) for r in records}
    assert (
        "Barack Obama",
        "Hawaii",
        "Barack Obama was born in Hawaii.",
        "Obama later moved from Hawaii to Chicago.",
    ) in found
    assert (
        "Barack Obama",
        "Michelle Robinson",
        "He met Michelle Robinson in Chicago.",
        "She married Obama in 1992.",
    ) in found
    # "Mrs." makes Smith female, so "She" joins her chain: Smith-Berlin co-occur twice
    assert ("Smith", "Berlin", "Mrs. Smith stayed in Berlin.", "She liked Berlin.") in found
    # entity pairs seen in one sentence only (Robinson-Chicago in d1, Paris in d2) give nothing
    assert not any("Paris is nice." in (r["a"]["text"], r["b"]["text"]) for r in records)
    for r in records:  # head and tail are the same entities, in the same order, in both sentences
        a = example_from_dict(r["a"], "pairs", "a")
        b = example_from_dict(r["b"], "pairs", "b")
        assert a.head.type in ("PERSON", "ORG", "PRON", "GPE") and b.tail.type is not None
    assert stats.documents == 3 and stats.pairs == len(records)
    assert stats.to_dict()["entity_pairs_in_two_or_more_sentences"] >= 4


def test_wikiextractor_format(tmp_path: Path) -> None:
    wiki = tmp_path / "wiki_00"
    first = '<doc id="12" url="x" title="A">\nA\n\nFirst line here.\nSecond.\n</doc>\n'
    wiki.write_text(first + '<doc id="13" url="y" title="B">\nB\n</doc>\n')
    docs = list(read_documents(tmp_path))
    assert [(d.id, d.text.strip()) for d in docs] == [("12", "First line here.\nSecond.")]


def test_missing_spacy_pipeline_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    with pytest.raises(RelencError, match="relenc_no_such_pipeline"):
        mine_pairs(read_documents(DOCS), out, spacy_model="relenc_no_such_pipeline", progress=False)
    assert not out.exists()
