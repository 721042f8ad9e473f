from __future__ import annotations

import math

import pytest
import torch

from relenc.training.losses import info_nce


def test_info_nce_hand_computed() -> None:
    # three unit vectors; rows 0 and 1 are a positive pair, row 2 is a negative for both
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    t = 0.5
    s01, s02, s12 = 0.6 / t, 0.0 / t, 0.8 / t
    loss_01 = -math.log(math.exp(s01) / (math.exp(s01) + math.exp(s02)))
    loss_10 = -math.log(math.exp(s01) / (math.exp(s01) + math.exp(s12)))
    assert info_nce(z, labels, temperature=t).item() == pytest.approx((loss_01 + loss_10) / 2, rel=1e-5)


def test_other_positives_stay_out_of_the_denominator() -> None:
    z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0]])
    three_positives = info_nce(z, torch.tensor([0, 0, 0, 1]), temperature=1.0)
    # pair (0,1): denominator has s01 and the negative s03 only, not s02
    expected_01 = -math.log(math.exp(0.8) / (math.exp(0.8) + math.exp(-1.0)))
    pairs = {(0, 1): 0.8, (0, 2): 0.6, (1, 2): 0.96}
    negs = {0: -1.0, 1: -0.8, 2: -0.6}
    total = 0.0
    for (a, b), s in pairs.items():
        total += -math.log(math.exp(s) / (math.exp(s) + math.exp(negs[a])))
        total += -math.log(math.exp(s) / (math.exp(s) + math.exp(negs[b])))
    assert three_positives.item() == pytest.approx(total / 6, rel=1e-5)
    assert expected_01 > 0


def test_scale_invariant_and_zero_without_positives() -> None:
    z = torch.randn(6, 8)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert info_nce(z, labels).item() == pytest.approx(info_nce(3 * z, labels).item(), rel=1e-5)
    none = torch.randn(3, 4, requires_grad=True)
    loss = info_nce(none, torch.tensor([0, 1, 2]))
    assert loss.item() == 0.0
    loss.backward()


def test_hard_negatives_join_the_denominator_of_their_own_pair_only() -> None:
    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.0, -1.0]])
    labels = torch.tensor([0, 0, 1, 1])
    hard = torch.tensor([[0.8, 0.6]])  # a hard negative of pair 0 (rows 0 and 1)
    t = 0.5
    with_hard = info_nce(z, labels, t, hard_negatives=hard, hard_labels=torch.tensor([0]))
    s = {(0, 1): 0.6, (0, 2): 0.0, (0, 3): 0.0, (1, 2): 0.8, (1, 3): -0.8, (2, 3): -1.0}
    h = {0: 0.8, 1: 0.96}

    def term(a: int, p: int, negatives: list[float]) -> float:
        sim = s[min(a, p), max(a, p)] / t
        return -math.log(math.exp(sim) / (math.exp(sim) + sum(math.exp(n / t) for n in negatives)))

    expected = [
        term(0, 1, [s[0, 2], s[0, 3], h[0]]),
        term(1, 0, [s[1, 2], s[1, 3], h[1]]),
        term(2, 3, [s[0, 2], s[1, 2]]),  # pair 1 does not see pair 0's hard negative
        term(3, 2, [s[0, 3], s[1, 3]]),
    ]
    assert with_hard.item() == pytest.approx(sum(expected) / 4, rel=1e-5)
    assert with_hard.item() >= info_nce(z, labels, t).item()
    none = info_nce(z, labels, t, hard_negatives=torch.zeros(0, 2), hard_labels=torch.zeros(0, dtype=torch.long))
    assert none.item() == info_nce(z, labels, t).item()


def test_a_hard_negative_equal_to_the_positive_halves_the_odds() -> None:
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0]], requires_grad=True)
    labels = torch.tensor([0, 0])
    loss = info_nce(z, labels, 0.1, hard_negatives=torch.tensor([[2.0, 0.0]]), hard_labels=torch.tensor([0]))
    assert loss.item() == pytest.approx(math.log(2), rel=1e-5)  # exp(s) / (exp(s) + exp(s))
    loss.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
