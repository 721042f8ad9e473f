"""The dev split: seeded, stratified by label, deterministic, order-keeping."""

from __future__ import annotations

from collections import Counter

import pytest

from relenc.data.example import Example, Span
from relenc.data.splits import dev_split
from relenc.errors import RelencError


def make(counts: dict[str | None, int]) -> list[Example]:
    """Examples with the given label counts, interleaved so labels are not in blocks."""
    labels = [label for label, n in counts.items() for _ in range(n)]
    labels = labels[::2] + labels[1::2]
    return [Example(str(i), ("a", "b"), Span(0, 1, "a"), Span(1, 2, "b"), label) for i, label in enumerate(labels)]


def test_stratified_by_label() -> None:
    examples = make({"A": 50, "B": 30, "Other": 20, "rare": 1, None: 10})
    train, dev = dev_split(examples, fraction=0.2, seed=1)
    assert Counter(ex.label for ex in dev) == {"A": 10, "B": 6, "Other": 4, None: 2}
    assert Counter(ex.label for ex in train)["rare"] == 1, "a label seen once stays in train"
    assert len(train) + len(dev) == len(examples)
    assert {ex.id for ex in train}.isdisjoint(ex.id for ex in dev)


def test_every_label_keeps_a_training_example() -> None:
    train, dev = dev_split(make({"A": 2, "B": 3}), fraction=0.9)
    assert Counter(ex.label for ex in train) == {"A": 1, "B": 1}
    assert len(dev) == 3


def test_deterministic_and_seeded() -> None:
    examples = make({"A": 40, "B": 40})
    assert dev_split(examples, 0.25, seed=13) == dev_split(list(examples), 0.25, seed=13)
    assert dev_split(examples, 0.25, seed=13)[1] != dev_split(examples, 0.25, seed=14)[1]


def test_both_parts_keep_the_input_order() -> None:
    examples = make({"A": 30, "B": 20})
    position = {ex.id: i for i, ex in enumerate(examples)}
    for part in dev_split(examples, 0.3):
        assert [position[ex.id] for ex in part] == sorted(position[ex.id] for ex in part)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2.0])
def test_fraction_must_be_strictly_between_0_and_1(fraction: float) -> None:
    with pytest.raises(RelencError, match=f"the dev fraction must be between 0 and 1 \\(exclusive\\), got {fraction}"):
        dev_split(make({"A": 5}), fraction)
