"""Tiny extractors for the model tests: every strategy, built from the tiny encoder with the same seed."""

from __future__ import annotations

import torch

from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor
from relenc.models.strategies import get_strategy

LABELS = LabelSet.from_labels(["no_relation", "per:employee_of", "org:city_of_headquarters"])


def build(strategy: str, encoder: str, frozen: tuple[str, ...] = ()) -> RelationExtractor:
    """A fresh extractor of ``strategy`` whose every encoder is ``encoder``, the prompt where the strategy reads m."""
    spec = get_strategy(strategy)
    torch.manual_seed(0)
    return RelationExtractor.build(
        strategy,
        LABELS,
        {role: encoder for role in spec.roles},
        {role: InputConfig(prompt=spec.needs_prompt(role)) for role in spec.roles},
        frozen=frozen,
    )
