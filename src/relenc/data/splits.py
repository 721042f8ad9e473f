"""A seeded, stratified dev split carved from training data.

SemEval-2010 Task 8 has no official dev set (and FewRel's val files none either), yet training needs one for early
stopping and model selection. Carving it the same way every time keeps runs comparable.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from relenc.data.example import Example
from relenc.errors import RelencError


def dev_split(
    examples: Sequence[Example], fraction: float = 0.1, seed: int = 13
) -> tuple[list[Example], list[Example]]:
    """Split ``examples`` into ``(train, dev)``, stratified by label, seeded and deterministic.

    How: the examples are grouped by label (unlabelled ones form a group of their own). Groups are visited in
    sorted label order, and one ``random.Random(seed)`` shuffles each group's positions; the first
    ``round(fraction * n)`` go to dev, capped at ``n - 1`` so every label keeps at least one training example (a
    label seen once stays in train). Both parts keep the input order.

    Why: stratifying keeps each label's share in dev equal to its share in train, which matters for rare labels
    (SemEval's ``Entity-Destination(e2,e1)`` has a single training example). The same input and seed always give
    the same split. With the defaults, SemEval's 8,000 training examples become 7,201 train and 799 dev.
    """
    if not 0.0 < fraction < 1.0:
        raise RelencError(f"the dev fraction must be between 0 and 1 (exclusive), got {fraction}")
    by_label: dict[str | None, list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        by_label[example.label].append(i)
    rng = random.Random(seed)
    dev_positions: set[int] = set()
    for label in sorted(by_label, key=lambda lab: (lab is None, lab or "")):
        positions = by_label[label][:]
        rng.shuffle(positions)
        n_dev = min(round(fraction * len(positions)), len(positions) - 1)
        dev_positions.update(positions[:n_dev])
    train = [ex for i, ex in enumerate(examples) if i not in dev_positions]
    dev = [ex for i, ex in enumerate(examples) if i in dev_positions]
    return train, dev
