"""Losses: cross-entropy for relations, the auxiliary masked-LM loss and its corruption step."""

from __future__ import annotations

import torch
from torch import nn


def mlm_corrupt(
    input_ids: torch.Tensor,
    candidates: torch.Tensor,
    mask_token_id: int,
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pick ``probability`` of the candidate positions and replace them all by the mask token.

    Only ``candidates`` (ordinary sentence word pieces outside the entities, chosen by the input builder) can be
    picked, so markers, entity pieces, the prompt and padding are never corrupted. As in the authors' code every
    picked token becomes the mask token (no 80/10/10 split). Returns the corrupted ids, the picked positions (bool,
    same shape) and the original ids at those positions (the targets).
    """
    draw = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    picked = (draw < probability) & candidates
    corrupted = input_ids.masked_fill(picked, mask_token_id)
    return corrupted, picked, input_ids[picked]


def mlm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at the picked positions; zero (with a gradient path) when nothing was picked."""
    if targets.numel() == 0:
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits.float(), targets)
