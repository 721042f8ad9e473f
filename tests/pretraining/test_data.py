"""Pair records (old ones without hard negatives too), rows and units, batches, and blanking step by step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import example_to_dict
from relenc.encoding.builder import BLANK_TOKEN
from relenc.errors import DataError
from relenc.pretraining.data import ContrastiveSet, MinedPair, blank_batch, read_pairs

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"
EXAMPLES = read_dataset(FIXTURE, "jsonl")


def test_records_with_and_without_hard_negatives(tmp_path: Path) -> None:
    a, b, c, d = (example_to_dict(ex) for ex in EXAMPLES[:4])
    lines = [
        {"id": "old", "a": a, "b": b},
        {"id": "new", "a": a, "b": b, "hard_negatives": [c, d]},
        {"id": "chain", "kind": "entity", "entity": "X", "a": c, "b": d},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    old, new, chain = read_pairs(path)
    assert old == MinedPair(EXAMPLES[0], EXAMPLES[1])
    assert new.hard_negatives == (EXAMPLES[2], EXAMPLES[3]) and new.kind == "relation"
    assert chain.kind == "entity" and chain.hard_negatives == ()
    path.write_text(json.dumps({"a": a, "b": b, "hard_negatives": c}) + "\n")
    with pytest.raises(DataError, match="'hard_negatives' must be a list"):
        read_pairs(path)
    path.write_text(json.dumps({"a": a, "b": b, "kind": "event"}) + "\n")
    with pytest.raises(DataError, match="unknown kind 'event'"):
        read_pairs(path)


def test_a_pair_and_its_hard_negatives_share_a_group_and_a_batch() -> None:
    pairs = [MinedPair(EXAMPLES[2 * p], EXAMPLES[2 * p + 1], tuple(EXAMPLES[5:8])) for p in range(4)]
    data = ContrastiveSet.from_pairs(pairs, hard_negatives=2)
    assert data.units[0] == [0, 1, 2, 3] and len(data.examples) == 16
    assert data.group.tolist()[:8] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert data.hard.tolist()[:4] == [False, False, True, True]
    batches = data.batches(2, seed=13, epoch=0)
    assert len(batches) == 2 and all(len(rows) == 8 for rows in batches)
    assert sorted(r for rows in batches for r in rows) == list(range(16))
    assert data.batches(2, seed=13, epoch=1) != batches and data.batches(2, seed=13, epoch=0) == batches
    plain = ContrastiveSet.from_pairs(pairs, hard_negatives=0)
    assert plain.units[1] == [2, 3] and not plain.hard.any()
    assert data.without({0, 2}).units[0] == [1, 3] and len(data.without(set(range(4))).units) == 3


def test_blanking_at_zero_one_and_with_a_seed() -> None:
    examples = EXAMPLES * 2
    assert blank_batch(examples, 0.0, np.random.default_rng(0)) == examples
    every = blank_batch(examples, 1.0, np.random.default_rng(0))
    assert all(ex.span_tokens(ex.head) == ex.span_tokens(ex.tail) == (BLANK_TOKEN,) for ex in every)
    some = blank_batch(examples, 0.5, np.random.default_rng([13, 7, 0]))
    assert some == blank_batch(examples, 0.5, np.random.default_rng([13, 7, 0]))
    assert some != blank_batch(examples, 0.5, np.random.default_rng([13, 8, 0]))
    blanked = [ex.span_tokens(span) == (BLANK_TOKEN,) for ex in some for span in (ex.head, ex.tail)]
    assert 0 < sum(blanked) < len(blanked)  # each mention on its own, not the whole sentence or batch
