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
