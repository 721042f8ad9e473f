from __future__ import annotations

import torch

from relenc.training.losses import mlm_corrupt, mlm_loss


def test_mlm_corrupt_only_touches_candidates() -> None:
    ids = torch.arange(1000).reshape(10, 100) + 1000
    candidates = torch.zeros(10, 100, dtype=torch.bool)
    candidates[:, 10:60] = True
    gen = torch.Generator().manual_seed(0)
    corrupted, picked, targets = mlm_corrupt(ids, candidates, mask_token_id=103, probability=0.15, generator=gen)
    assert not picked[~candidates].any()
    assert torch.equal(corrupted[~picked], ids[~picked])
    assert (corrupted[picked] == 103).all()
    assert torch.equal(targets, ids[picked])
    share = picked.sum().item() / candidates.sum().item()
    assert 0.08 < share < 0.22  # 15% of 500 candidates, within sampling noise


def test_mlm_loss_zero_when_nothing_picked() -> None:
    logits = torch.randn(0, 50, requires_grad=True)
    loss = mlm_loss(logits, torch.zeros(0, dtype=torch.long))
    assert loss.item() == 0.0
    loss.backward()
