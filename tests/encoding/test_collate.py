"""Batching: padding into tensors and length-bucketed batch order."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from relenc.encoding import Encoded, collate, length_buckets
from relenc.encoding.collate import MIN_CUT_TOKENS


def item(n: int, head: int = 1, tail: int = 2, mask: int = -1) -> Encoded:
    return Encoded(
        input_ids=list(range(10, 10 + n)),
        head_pos=head,
        tail_pos=tail,
        mask_pos=mask,
        mlm_candidates=[i % 2 == 1 for i in range(n)],
        truncated=0,
        head_span=(head, head + 1),
        tail_span=(tail, min(tail + 2, n)),
    )


def test_collate_pads_right_to_the_longest() -> None:
    items = [item(3), item(6, head=4, tail=2, mask=5), item(1, head=0, tail=0)]
    batch = collate(items, pad_id=0)
    positions = {"head_pos", "tail_pos", "mask_pos", "head_span", "tail_span"}
    assert set(batch) == {"input_ids", "attention_mask", "mlm_candidates"} | positions
    assert batch["input_ids"].shape == batch["attention_mask"].shape == batch["mlm_candidates"].shape == (3, 6)
    assert batch["input_ids"].dtype == batch["attention_mask"].dtype == torch.long
    assert batch["mlm_candidates"].dtype == torch.bool
    assert batch["input_ids"][0].tolist() == [10, 11, 12, 0, 0, 0]
    assert batch["input_ids"][1].tolist() == items[1].input_ids
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0, 0], [1] * 6, [1, 0, 0, 0, 0, 0]]
    assert batch["mlm_candidates"][0].tolist() == [False, True, False, False, False, False]  # padding: never
    for key, field in (("head_pos", "head_pos"), ("tail_pos", "tail_pos"), ("mask_pos", "mask_pos")):
        assert batch[key].dtype == torch.long and batch[key].shape == (3,)
        assert batch[key].tolist() == [getattr(i, field) for i in items]  # -1 (no prompt) kept as it is
    for key in ("head_span", "tail_span"):  # [start, end) per item
        assert batch[key].dtype == torch.long and batch[key].tolist() == [list(getattr(i, key)) for i in items]


def test_collate_uses_the_pad_id() -> None:
    batch = collate([item(1), item(3)], pad_id=7)
    assert batch["input_ids"][0].tolist() == [10, 7, 7]


def test_collate_rejects_empty_and_inconsistent_items() -> None:
    with pytest.raises(ValueError, match="at least one"):
        collate([], pad_id=0)
    broken = Encoded([1, 2, 3], 0, 1, -1, [False], 0, (0, 1), (1, 2))
    with pytest.raises(ValueError, match="MLM flags"):
        collate([broken], pad_id=0)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 300), max_size=400),
    batch_size=st.integers(1, 40),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_length_buckets_cover_every_index_once(lengths: list[int], batch_size: int, shuffle: bool, seed: int) -> None:
    batches = length_buckets(lengths, batch_size, shuffle=shuffle, seed=seed)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(0 < len(b) <= batch_size for b in batches)
    if shuffle:
        assert sum(len(b) < batch_size for b in batches) <= (len(lengths) // (batch_size * 50) + 1)  # one per chunk
    assert batches == length_buckets(lengths, batch_size, shuffle=shuffle, seed=seed)  # deterministic


def test_length_buckets_without_shuffle_are_sorted() -> None:
    lengths = [(i * 37) % 101 for i in range(1000)]
    batches = length_buckets(lengths, 32, shuffle=False, seed=0)
    flat = [i for b in batches for i in b]
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert batches == length_buckets(lengths, 32, shuffle=False, seed=99)  # the seed plays no part


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 300), max_size=400),
    batch_size=st.integers(1, 40),
    max_padding=st.sampled_from([0.0, 0.04, 0.2, 1.0]),
)
def test_inference_batches_respect_the_padding_cap(lengths: list[int], batch_size: int, max_padding: float) -> None:
    batches = length_buckets(lengths, batch_size, shuffle=False, seed=0, max_padding=max_padding)
    assert [i for b in batches for i in b] == sorted(range(len(lengths)), key=lambda i: lengths[i])
    for b in batches:
        padded = len(b) * max(lengths[i] for i in b)
        before_last = sum(lengths[i] for i in b[:-1])
        assert before_last < MIN_CUT_TOKENS or 1 - sum(lengths[i] for i in b) / padded <= max_padding + 1e-12
    for b, after in itertools.pairwise(batches):  # a batch ends only when full or when the cap bites
        tokens = sum(lengths[i] for i in b)
        grown = len(b) + 1
        assert len(b) == batch_size or (
            tokens >= MIN_CUT_TOKENS and 1 - (tokens + lengths[after[0]]) / (grown * lengths[after[0]]) > max_padding
        )
    if max_padding == 1.0:  # no cap: full batches except the last
        assert all(len(b) == batch_size for b in batches[:-1])


def test_padding_cap_cuts_the_long_tail_only() -> None:
    lengths = [20] * 60 + [30] * 4 + [80] * 3
    batches = length_buckets(lengths, 128, shuffle=False, seed=0, max_padding=0.04)
    # 1,200 tokens of length 20 would pad to 30 by 33%: cut; the 120 tokens after that are too few to cut again
    assert [len(b) for b in batches] == [60, 7]
    assert [len(b) for b in length_buckets(lengths, 128, shuffle=False, seed=0, max_padding=1.0)] == [67]


def test_small_batches_are_never_cut_for_padding() -> None:
    lengths = [12, 40, 25, 60, 33, 18, 51, 29]  # what the server gathers from a few concurrent requests
    assert [len(b) for b in length_buckets(lengths, 8, shuffle=False, seed=0, max_padding=0.0)] == [8]


def test_length_buckets_with_shuffle_group_similar_lengths() -> None:
    rng = random.Random(0)
    lengths = [rng.randint(5, 250) for _ in range(5000)]
    batches = length_buckets(lengths, 32, shuffle=True, seed=3)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    unbucketed = [order[k : k + 32] for k in range(0, len(order), 32)]
    random_spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in unbucketed)
    assert spread * 10 < random_spread
    assert batches != length_buckets(lengths, 32, shuffle=True, seed=4)  # the seed changes the order
    first_lengths = [lengths[b[0]] for b in batches[:20]]
    assert first_lengths != sorted(first_lengths)  # the batch order is shuffled, not by length


def test_length_buckets_rejects_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        length_buckets([1, 2], 0, shuffle=False, seed=0)
    with pytest.raises(ValueError, match="max_padding"):
        length_buckets([1, 2], 2, shuffle=False, seed=0, max_padding=1.5)
