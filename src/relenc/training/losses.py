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


def info_nce(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 0.07,
    hard_negatives: torch.Tensor | None = None,
    hard_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """InfoNCE / NT-Xent over cosine similarity with in-batch negatives, and optional hard negatives.

    Rows with the same label are positives of each other (a mined pair shares its pair index; in supervised
    pre-training, sentences share their relation). For every ordered positive pair (a, p)::

        -log( exp(s(a,p)/t) / (exp(s(a,p)/t) + sum over n with another label of exp(s(a,n)/t)
                                             + sum over hard negatives h of a of exp(s(a,h)/t)) )

    averaged over all ordered positive pairs. Other positives of ``a`` stay out of the denominator (the semantics of
    pytorch-metric-learning's ``NTXentLoss``). Rows without any positive contribute nothing; a batch without any
    positive pair gives zero (with a gradient path).

    ``hard_negatives`` are rows that are only ever negatives: each one for the anchors whose label equals its
    ``hard_labels`` entry (a mined pair's hard negatives, sentences of its document with the same head and another
    tail, are negatives for that pair's two sentences). They are harder than in-batch negatives, which mostly
    differ in topic already; none (or zero rows) gives exactly the loss without them.
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
    if hard_negatives is not None and hard_labels is not None and len(hard_negatives):
        zh = nn.functional.normalize(hard_negatives.float(), dim=-1)
        own = labels[anchors][:, None] == hard_labels[None, :]
        hard_logits = (z[anchors] @ zh.T / temperature).masked_fill(~own, float("-inf"))
        neg_logits = torch.cat([neg_logits, hard_logits], dim=1)
    denominator = torch.logsumexp(torch.cat([pos_logit[:, None], neg_logits], dim=1), dim=1)
    return (denominator - pos_logit).mean()


def rdrop_loss(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """R-Drop's consistency term (Liang et al. 2021): the symmetric KL divergence between the predictive
    distributions of two passes of the same batch under different dropout masks, ``(KL(p1 || p2) + KL(p2 || p1)) / 2``
    summed over the labels and averaged over the rows, in fp32.

    Why: dropout makes training see a random sub-network while inference uses the whole one; pulling two sampled
    sub-networks to the same prediction narrows that gap. The mean over rows keeps a weight's meaning independent of
    the batch size. The trainer adds ``alpha`` times this to the mean of the two passes' cross-entropies; the paper
    adds ``alpha`` times it to their sum, so the paper's alpha is twice ours. Identical logits give exactly 0.
    """
    log_p, log_q = first.float().log_softmax(-1), second.float().log_softmax(-1)
    forward = (log_p.exp() * (log_p - log_q)).sum(-1)
    backward = (log_q.exp() * (log_q - log_p)).sum(-1)
    return ((forward + backward) / 2).mean()
