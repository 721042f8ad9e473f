"""Mining pairs from documents whose chains and pairs are known (spaCy's small English pipeline), chunk by chunk."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from relenc.data.readers.jsonl import example_from_dict
from relenc.errors import RelencError
from relenc.pretraining.corpus import open_corpus
from relenc.pretraining.mining import MiningJob, mine_corpus
from relenc.pretraining.pairs import MiningSettings, MiningStats, mine_chunk

DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs.jsonl"
pytest.importorskip("spacy")


def test_known_pairs() -> None:
    result = mine_chunk(list(open_corpus([DOCS]).documents()), MiningSettings())
    stats = result.stats
    records = [json.loads(line) for line in result.lines]
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


def test_stats_add_up_and_survive_json() -> None:
    a = MiningStats(documents=2, pairs=3, pairs_per_entity_pair=Counter({1: 1, 2: 1}))
    a.merge(MiningStats(documents=1, pairs=4, pairs_per_entity_pair=Counter({4: 1})))
    assert (a.documents, a.pairs, a.pairs_per_entity_pair) == (3, 7, Counter({1: 1, 2: 1, 4: 1}))
    assert MiningStats.from_record(json.loads(json.dumps(a.to_record()))) == a
    assert a.to_dict()["pairs_per_entity_pair_mean"] == 2.333 and a.to_dict()["pairs_per_entity_pair_max"] == 4


def test_missing_spacy_pipeline_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "pairs"
    job = MiningJob((str(DOCS),), settings=MiningSettings(spacy_model="relenc_no_such_pipeline"))
    with pytest.raises(RelencError, match="relenc_no_such_pipeline"):
        mine_corpus(job, out, workers=1, progress=False)
    assert not out.exists()
