"""Batching: pad encoded examples into tensors, and group examples of similar length into batches."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from relenc.encoding.builder import Encoded


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad to the longest item; positions are carried as they are (padding is on the right)."""
    width = max(len(item.input_ids) for item in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(items), width), dtype=torch.long)
    candidates = torch.zeros((len(items), width), dtype=torch.bool)
    for row, item in enumerate(items):
        n = len(item.input_ids)
        ids[row, :n] = torch.tensor(item.input_ids, dtype=torch.long)
        attention[row, :n] = 1
        candidates[row, :n] = torch.tensor(item.mlm_candidates, dtype=torch.bool)
    return {
        "input_ids": ids,
        "attention_mask": attention,
        "head_pos": torch.tensor([item.head_pos for item in items], dtype=torch.long),
        "tail_pos": torch.tensor([item.tail_pos for item in items], dtype=torch.long),
        "mask_pos": torch.tensor([item.mask_pos for item in items], dtype=torch.long),
        "mlm_candidates": candidates,
    }


def length_buckets(lengths: Sequence[int], batch_size: int, shuffle: bool, seed: int) -> list[list[int]]:
    """Batches of indices with similar lengths, so little compute goes to padding.

    Without shuffling: indices sorted by length, cut into batches. With shuffling (training): indices are shuffled,
    sorted by length within chunks of 50 batches (so batches differ between epochs), and the batch order is
    shuffled. Deterministic for a seed; every index appears exactly once.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    order = list(range(len(lengths)))
    if not shuffle:
        order.sort(key=lambda i: lengths[i])
        return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]
    rng = random.Random(seed)
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for k in range(0, len(order), chunk):
        part = sorted(order[k : k + chunk], key=lambda i: lengths[i])
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches
