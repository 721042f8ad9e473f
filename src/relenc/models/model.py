"""The relation model as a torch module: encoder(s) -> h, t, m at carried positions -> classifier head.

h and t are read at the entity-start markers (``pooling="start"``, the paper's) or as the mean of the mention's word
pieces (``pooling="mean"``); m is the prompt's mask token. A model without labels has no head: it is an encoder (or
two) read at the strategy's parts, for embeddings and for contrastive pre-training, and nothing in it is random or
unused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from relenc.models.engine import Inputs
from relenc.models.heads import ClassifierHead, MLMHead
from relenc.models.strategies import POOLINGS, Pooling, Strategy


@dataclass
class ModelOutput:
    logits: torch.Tensor
    features: torch.Tensor
    vectors: dict[str, torch.Tensor]
    mlm_logits: dict[str, torch.Tensor]


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Pick one vector per row: ``hidden[i, positions[i]]`` (single-token pooling, as in the paper)."""
    rows = torch.arange(hidden.size(0), device=hidden.device)
    return hidden[rows, positions]


def mean_over_spans(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """The mean of ``hidden[i, start:end]`` for each row's ``spans[i] = (start, end)`` (end exclusive, never empty).

    A mask over the positions rather than a loop or slicing, so the batch stays one computation and the ONNX export
    needs no shape that depends on the data. Pieces outside the span are multiplied by 0 and the sum is divided by
    the piece count, so a one-piece mention gives exactly that piece's vector.
    """
    positions = torch.arange(hidden.size(1), device=hidden.device)
    inside = (positions[None, :] >= spans[:, :1]) & (positions[None, :] < spans[:, 1:])
    weights = inside.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1)


class RelationModel(nn.Module):
    """Encoders keyed by role (``main``; or ``entity`` and ``relation``), the strategy's reads, one head.

    Frozen encoders stay in eval mode and run without gradient, so a frozen entity encoder is exactly the
    pre-trained one however long the head trains. ``n_labels=0`` builds no classifier head (embeddings only).
    ``pooling`` says how h and t are read (:data:`relenc.models.strategies.Pooling`).
    """

    def __init__(
        self,
        spec: Strategy,
        encoders: dict[str, PreTrainedModel],
        n_labels: int,
        dropout: float = 0.1,
        layer: int = -1,
        frozen: frozenset[str] = frozenset(),
        mlm: bool = False,
        pooling: Pooling = "start",
    ) -> None:
        super().__init__()
        if set(encoders) != set(spec.roles):
            raise ValueError(f"strategy {spec.name} needs encoders {spec.roles}, got {tuple(encoders)}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        self.spec = spec
        self.layer = layer
        self.pooling = pooling
        self.frozen = frozenset(frozen)
        self.encoders = nn.ModuleDict(encoders)
        in_dim = sum(self.hidden_size(role) * len(vectors) for role, vectors in spec.reads)
        self.head = ClassifierHead(in_dim, self.hidden_size(spec.roles[-1]), n_labels, dropout) if n_labels else None
        self.mlm_heads = nn.ModuleDict(
            {
                role: MLMHead(encoders[role].get_input_embeddings(), self.hidden_size(role))  # type: ignore[arg-type]
                for role in spec.roles
                if mlm and role not in self.frozen
            }
        )
        for role in self.frozen:
            self.encoders[role].requires_grad_(False)

    def hidden_size(self, role: str) -> int:
        encoder: Any = self.encoders[role]
        return int(encoder.config.hidden_size)

    def train(self, mode: bool = True) -> RelationModel:
        super().train(mode)
        for role in self.frozen:
            self.encoders[role].eval()
        return self

    def encode(self, role: str, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Hidden states of the configured layer for one encoder."""
        encoder = self.encoders[role]
        want_all = self.layer != -1
        with torch.set_grad_enabled(torch.is_grad_enabled() and role not in self.frozen):
            out = encoder(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                output_hidden_states=want_all,
            )
        return out.hidden_states[self.layer] if want_all else out.last_hidden_state

    def vectors(self, inputs: Inputs, parts: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """The parts (h, t, m) at their positions, each from the encoder the strategy reads it from; only the
        encoders that give a wanted part run."""
        wanted = self.spec.parts if parts is None else tuple(parts)
        out: dict[str, torch.Tensor] = {}
        for role, reads in self.spec.reads:
            names = [name for name in reads if name in wanted]
            if names:
                hidden = self.encode(role, inputs[role])
                for name in names:
                    out[name] = self.read(hidden, inputs[role], name)
        return out

    def read(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor], part: str) -> torch.Tensor:
        """One part from an encoder's hidden states: h and t by the model's pooling, m at the mask token."""
        if part in _SPAN and self.pooling == "mean":
            return mean_over_spans(hidden, batch[_SPAN[part]])
        return gather_positions(hidden, batch[_POS[part]])

    def forward(self, inputs: Inputs, mlm_positions: dict[str, torch.Tensor] | None = None) -> ModelOutput:
        if self.head is None:
            raise RuntimeError("this model has no classifier head (it was built without labels): use vectors()")
        vectors: dict[str, torch.Tensor] = {}
        mlm_logits: dict[str, torch.Tensor] = {}
        for role, wanted in self.spec.reads:
            hidden = self.encode(role, inputs[role])
            for name in wanted:
                vectors[name] = self.read(hidden, inputs[role], name)
            if mlm_positions is not None and role in mlm_positions and role in self.mlm_heads:
                mlm_logits[role] = self.mlm_heads[role](hidden[mlm_positions[role]])
        features = torch.cat([vectors[name] for name in self.spec.parts], dim=-1)
        return ModelOutput(self.head(features), features, vectors, mlm_logits)


_POS = {"h": "head_pos", "t": "tail_pos", "m": "mask_pos"}
_SPAN = {"h": "head_span", "t": "tail_span"}
