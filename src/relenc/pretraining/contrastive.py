"""The contrastive objective and its backward pass, whole or by gradient caching.

What is contrasted (``variant``): ``m`` (the mask vector); ``ht`` (a linear reduction of [h; t]); ``both`` (the
mean of the ``m`` and ``ht`` losses); ``htm`` (a linear reduction of [h; t; m]); ``h`` (the head vector: for an
entity encoder, mentions of one entity chain are positives). The reductions are dropped after pre-training.

Contrastive learning wants large batches (every other pair is a negative), and a batch's activations grow with it.
Gradient caching (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup")
makes the memory that of one chunk: embed the batch chunk by chunk without gradient, take the loss over all
embeddings and its gradient with respect to them, then run each chunk again with gradient and backpropagate its
part of that gradient. The parameter gradients are those of the whole batch, because the second pass replays each
chunk's random state (dropout) of the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from relenc.encoding.builder import Encoded
from relenc.models.engine import to_device
from relenc.models.extractor import RelationExtractor
from relenc.models.model import RelationModel
from relenc.runtime import autocast
from relenc.training.losses import info_nce

Vectors = dict[str, torch.Tensor]


class Reducer(nn.Module):
    """The variant's projection of h, t, m to what InfoNCE compares (dropped after pre-training)."""

    def __init__(self, variant: str, dim: int) -> None:
        super().__init__()
        self.variant = variant
        self.ht = nn.Linear(2 * dim, dim) if variant in ("ht", "both") else None
        self.htm = nn.Linear(3 * dim, dim) if variant == "htm" else None

    def embeddings(self, vectors: Vectors) -> list[torch.Tensor]:
        """What each InfoNCE term of the variant compares (``both`` has two terms)."""
        if self.variant in ("m", "h"):
            return [vectors[self.variant]]
        if self.htm is not None:
            return [self.htm(torch.cat([vectors["h"], vectors["t"], vectors["m"]], -1))]
        assert self.ht is not None
        ht = self.ht(torch.cat([vectors["h"], vectors["t"]], -1))
        return [ht] if self.variant == "ht" else [ht, vectors["m"]]

    def loss(self, vectors: Vectors, groups: torch.Tensor, hard: torch.Tensor, temperature: float) -> torch.Tensor:
        """The mean of the variant's InfoNCE terms; rows flagged ``hard`` are only negatives, for their group."""
        terms = [
            info_nce(z[~hard], groups[~hard], temperature, hard_negatives=z[hard], hard_labels=groups[hard])
            for z in self.embeddings(vectors)
        ]
        return torch.stack(terms).mean()


class ContrastiveModel(nn.Module):
    """Encoder + reducer + loss in one module, so that one DDP wrapper synchronises every trained parameter."""

    def __init__(self, model: RelationModel, reducer: Reducer, temperature: float) -> None:
        super().__init__()
        self.model = model
        self.reducer = reducer
        self.temperature = temperature

    def forward(self, inputs: dict[str, dict[str, torch.Tensor]], groups: torch.Tensor, hard: torch.Tensor) -> Any:
        return self.loss(self.model.vectors(inputs), groups, hard)

    def loss(self, vectors: Vectors, groups: torch.Tensor, hard: torch.Tensor) -> torch.Tensor:
        """The loss over the vectors of every process (each one's rows are negatives for all the others')."""
        gathered = {k: _gather(v.float()) for k, v in vectors.items()}
        return self.reducer.loss(gathered, _gather(groups), _gather(hard), self.temperature)


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor from every process, keeping this process's gradient (negatives from all processes)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return tensor
    import torch.distributed.nn.functional as dist_fn

    return torch.cat(dist_fn.all_gather(tensor), dim=0)


def full_backward(
    model: Any,
    extractor: RelationExtractor,
    items: Sequence[dict[str, Encoded]],
    groups: torch.Tensor,
    hard: torch.Tensor,
    precision: str,
    acc: Any,
) -> torch.Tensor:
    """The whole batch forward and backward at once (``model``: the Accelerate-prepared contrastive model)."""
    inputs = to_device(extractor.collate(items), acc.device)
    with autocast(precision, acc.device):
        loss = model(inputs, groups, hard)
    acc.backward(loss)
    return loss.detach()


def cached_backward(
    contrastive: ContrastiveModel,
    extractor: RelationExtractor,
    items: Sequence[dict[str, Encoded]],
    groups: torch.Tensor,
    hard: torch.Tensor,
    chunk_size: int,
    precision: str,
    device: torch.device,
) -> torch.Tensor:
    """The batch's parameter gradients by gradient caching, ``chunk_size`` rows at a time (module docstring).

    Each chunk is collated (padded) on its own. Its random state is saved before the first pass and restored, in a
    forked generator, for the second, so both passes draw the same dropout masks. One process only: the caller
    refuses more (DDP would synchronise each chunk's backward on its own).
    """
    chunks = [to_device(extractor.collate(items[k : k + chunk_size]), device) for k in range(0, len(items), chunk_size)]
    states, cached = [], []
    with torch.no_grad():
        for inputs in chunks:
            states.append(_rng_state(device))
            with autocast(precision, device):
                cached.append(contrastive.model.vectors(inputs))
    embeddings = {k: torch.cat([c[k] for c in cached]).float().requires_grad_() for k in cached[0]}
    loss = contrastive.loss(embeddings, groups, hard)
    loss.backward()  # the reducer's gradients, and the loss's gradient with respect to every embedding
    start = 0
    for inputs, state in zip(chunks, states, strict=True):
        with torch.random.fork_rng(devices=_cuda_devices(device)):
            _set_rng_state(state, device)
            with autocast(precision, device):
                vectors = contrastive.model.vectors(inputs)
        rows = slice(start, start + len(next(iter(vectors.values()))))
        keys = [k for k in vectors if embeddings[k].grad is not None]  # t has none when only h is contrasted
        grads = [embeddings[k].grad[rows] for k in keys]  # type: ignore[index]
        if keys:
            torch.autograd.backward([vectors[k].float() for k in keys], grad_tensors=grads)
        start = rows.stop
    return loss.detach()


def _cuda_devices(device: torch.device) -> list[int]:
    return [device.index or 0] if device.type == "cuda" else []


def _rng_state(device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The generator state that dropout on ``device`` draws from (the CPU's, and the GPU's on CUDA)."""
    gpu = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return torch.get_rng_state(), gpu


def _set_rng_state(state: tuple[torch.Tensor, torch.Tensor | None], device: torch.device) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state(state[1], device)
