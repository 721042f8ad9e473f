"""A seeded, stratified dev split carved from training data (SemEval-2010 Task 8 has no official dev set)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from relenc.data.example import Example


def dev_split(
    examples: Sequence[Example], fraction: float = 0.1, seed: int = 13
) -> tuple[list[Example], list[Example]]:
    """Split into (train, dev): within each label, a seeded shuffle puts ``round(fraction * n)`` examples in dev.

    Stratifying keeps rare labels (SemEval's ``Entity-Destination(e2,e1)`` has one training example) in
    proportion; a label with a single example stays in train. Both parts keep the input order, and the same input
    and seed always give the same split.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    by_label: dict[str | None, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        by_label[ex.label].append(i)
    rng = random.Random(seed)
    dev_idx: set[int] = set()
    for label in sorted(by_label, key=lambda lab: (lab is None, lab or "")):
        idx = by_label[label]
        n_dev = round(fraction * len(idx)) if len(idx) > 1 else 0
        shuffled = idx[:]
        rng.shuffle(shuffled)
        dev_idx.update(shuffled[:n_dev])
    train = [ex for i, ex in enumerate(examples) if i not in dev_idx]
    dev = [ex for i, ex in enumerate(examples) if i in dev_idx]
    return train, dev
