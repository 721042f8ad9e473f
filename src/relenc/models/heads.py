"""The classifier head of the paper and a fresh masked-LM head for the auxiliary loss."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """``Linear(k*d -> d) -> ReLU -> Dropout -> Linear(d -> n_labels)``, the paper's fixed-depth classifier."""

    def __init__(self, in_dim: int, hidden_dim: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, n_labels),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class MLMHead(nn.Module):
    """A BERT-style language-model head (transform, GELU, LayerNorm, decoder tied to the input embeddings).

    Our offline encoders ship without an MLM head, so this one starts fresh; tying the decoder to the input
    embeddings means only the small transform is new.
    """

    def __init__(self, embeddings: nn.Embedding, hidden_dim: int) -> None:
        super().__init__()
        self.transform = nn.Linear(hidden_dim, hidden_dim)
        self.act = nn.GELU()
        self.norm = nn.LayerNorm(hidden_dim)
        self.embeddings = [embeddings]  # a list, so the tied weight is not registered (or saved) twice
        self.bias = nn.Parameter(torch.zeros(embeddings.num_embeddings))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.act(self.transform(hidden)))
        return nn.functional.linear(x, self.embeddings[0].weight, self.bias)
