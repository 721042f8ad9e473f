"""The relation model as a torch module: encoder(s) -> h, t, m at carried positions -> classifier head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from relenc.models.heads import ClassifierHead, MLMHead
from relenc.models.strategies import StrategySpec

Inputs = dict[str, dict[str, torch.Tensor]]


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


class RelationModel(nn.Module):
    """Encoders keyed by role (``main``; or ``entity`` and ``relation``), the strategy's reads, one head.

    Frozen encoders stay in eval mode and run without gradient, so a frozen entity encoder is exactly the
    pre-trained one however long the head trains.
    """

    def __init__(
        self,
        spec: StrategySpec,
        encoders: dict[str, PreTrainedModel],
        n_labels: int,
        dropout: float = 0.1,
        layer: int = -1,
        frozen: frozenset[str] = frozenset(),
        mlm: bool = False,
    ) -> None:
        super().__init__()
        if set(encoders) != set(spec.roles):
            raise ValueError(f"strategy {spec.name} needs encoders {spec.roles}, got {tuple(encoders)}")
        self.spec = spec
        self.layer = layer
        self.frozen = frozenset(frozen)
        self.encoders = nn.ModuleDict(encoders)
        in_dim = sum(self.hidden_size(role) * len(vectors) for role, vectors in spec.reads)
        self.head = ClassifierHead(in_dim, self.hidden_size(spec.roles[-1]), n_labels, dropout)
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

    def forward(self, inputs: Inputs, mlm_positions: dict[str, torch.Tensor] | None = None) -> ModelOutput:
        vectors: dict[str, torch.Tensor] = {}
        pieces = []
        mlm_logits: dict[str, torch.Tensor] = {}
        for role, wanted in self.spec.reads:
            hidden = self.encode(role, inputs[role])
            for name in wanted:
                vec = gather_positions(hidden, inputs[role][f"{_POS[name]}"])
                vectors[name] = vec
                pieces.append(vec)
            if mlm_positions is not None and role in mlm_positions and role in self.mlm_heads:
                mlm_logits[role] = self.mlm_heads[role](hidden[mlm_positions[role]])
        features = torch.cat(pieces, dim=-1)
        return ModelOutput(self.head(features), features, vectors, mlm_logits)


_POS = {"h": "head_pos", "t": "tail_pos", "m": "mask_pos"}
