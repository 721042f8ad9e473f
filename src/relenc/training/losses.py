"""Losses: cross-entropy for relations, the auxiliary masked-LM loss and its corruption step."""

from __future__ import annotations

import torch
from torch import nn


def relation_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the relation classifier, computed in fp32 (bf16 logits would round the small differences
    between labels away).

    With ``label_smoothing`` e the target is ``1 - e`` on the gold label plus ``e / K`` on each of the ``K`` labels
    (PyTorch's definition), so the loss is ``(1 - e) * CE + e * mean over labels of -log p``; 0 is the plain
    cross-entropy, bit for bit.
    """
    return nn.functional.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)


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


def info_nce(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float = 0.07) -> torch.Tensor:
    """InfoNCE / NT-Xent over cosine similarity with in-batch negatives.

    Rows with the same label are positives of each other (a mined pair shares its pair index; in supervised
    pre-training, sentences share their relation). For every ordered positive pair (a, p)::

        -log( exp(s(a,p)/t) / (exp(s(a,p)/t) + sum over n with another label of exp(s(a,n)/t)) )

    averaged over all ordered positive pairs. Other positives of ``a`` stay out of the denominator (the semantics of
    pytorch-metric-learning's ``NTXentLoss``). Rows without any positive contribute nothing; a batch without any
    positive pair gives zero (with a gradient path).
    """
    z = nn.functional.normalize(embeddings.float(), dim=-1)
    sim = z @ z.T / temperature
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = same & ~eye
    negative = ~same
    if not positive.any():
        return sim.sum() * 0.0
    anchors, targets = positive.nonzero(as_tuple=True)
    pos_logit = sim[anchors, targets]
    neg_logits = sim[anchors].masked_fill(~negative[anchors], float("-inf"))
    denominator = torch.logsumexp(torch.cat([pos_logit[:, None], neg_logits], dim=1), dim=1)
    return (denominator - pos_logit).mean()
