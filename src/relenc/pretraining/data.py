"""What contrastive pre-training reads and contrasts: mined pairs (with their hard negatives) or labelled sentences,
flattened into rows with groups, batched, and blanked step by step.

A row is one sentence. Rows with the same group are positives of each other (the two sentences of a mined pair;
the sentences of one relation in supervised mode). A hard-negative row carries the group of the pair it belongs to,
flagged ``hard``: the loss uses it only as a negative for that pair's sentences. A unit is the rows that always
share a batch (a pair and its hard negatives, or one labelled sentence); batches are shuffled units.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers._common import json_objects, read_text
from relenc.data.readers.jsonl import example_from_dict
from relenc.encoding.builder import blank_entities
from relenc.errors import DataError
from relenc.pretraining.pairs import KINDS, Kind
from relenc.pretraining.shards import pair_files


@dataclass(frozen=True)
class MinedPair:
    """One mined record: two sentences that are positives of each other, the hard negatives of their head (none
    in files mined before relenc kept them), and the kind: ``relation`` pairs train a relation encoder, ``entity``
    (two mentions of one chain, marked as the head) an entity encoder."""

    a: Example
    b: Example
    hard_negatives: tuple[Example, ...] = ()
    kind: Kind = "relation"


def read_pairs(path: str | Path, limit: int | None = None) -> list[MinedPair]:
    """Pairs written by ``relenc mine-pairs`` (its output directory: every shard, in order) or any JSONL file of
    ``{"id", "a", "b"}`` objects (optionally ``"hard_negatives"``: a list of examples, and ``"kind"``); only the
    first ``limit`` when given, so a large run is not read whole for a few."""
    return list(itertools.islice(_iter_pairs(path), limit))


def _iter_pairs(path: str | Path) -> Iterator[MinedPair]:
    for file in pair_files(path):
        for number, record in json_objects(read_text(file), file, "'a' and 'b' examples"):
            where = f"line {number}"
            if "a" not in record or "b" not in record:
                raise DataError("each line needs 'a' and 'b' examples", file, where)
            hard = record.get("hard_negatives", [])
            kind = record.get("kind", "relation")
            if not isinstance(hard, list):
                raise DataError(f"'hard_negatives' must be a list of examples, got {type(hard).__name__}", file, where)
            if kind not in KINDS:
                raise DataError(f"unknown kind {kind!r}; known: {', '.join(KINDS)}", file, where)
            yield MinedPair(
                example_from_dict(record["a"], file, f"{where}, 'a'"),
                example_from_dict(record["b"], file, f"{where}, 'b'"),
                tuple(example_from_dict(h, file, f"{where}, hard negative {k}") for k, h in enumerate(hard, 1)),
                kind,
            )


@dataclass
class ContrastiveSet:
    """The rows to contrast (see the module docstring): ``examples``, each one's ``group`` and ``hard`` flag, and
    the ``units`` that batches are made of."""

    examples: list[Example]
    group: torch.Tensor
    hard: torch.Tensor
    units: list[list[int]]

    @classmethod
    def from_pairs(cls, pairs: Sequence[MinedPair], hard_negatives: int) -> ContrastiveSet:
        """Rows of every pair: its two sentences, then its first ``hard_negatives`` hard negatives."""
        examples: list[Example] = []
        group: list[int] = []
        hard: list[bool] = []
        units: list[list[int]] = []
        for p, pair in enumerate(pairs):
            negatives = pair.hard_negatives[:hard_negatives]
            units.append(list(range(len(examples), len(examples) + 2 + len(negatives))))
            examples += [pair.a, pair.b, *negatives]
            group += [p] * (2 + len(negatives))
            hard += [False, False] + [True] * len(negatives)
        return cls(examples, torch.tensor(group), torch.tensor(hard, dtype=torch.bool), units)

    @classmethod
    def from_labelled(cls, examples: Sequence[Example], exclude_negative: bool, source: str) -> ContrastiveSet:
        """A relation is a group; with ``exclude_negative`` each no-relation sentence is a group of its own (only
        ever a negative, never pulled towards the other no-relation sentences)."""
        labels = LabelSet.from_labels(ex.label for ex in examples)
        group = []
        for i, ex in enumerate(examples):
            if ex.label is None:
                raise DataError("unlabelled example in supervised pre-training", source, f"record {i + 1}")
            if exclude_negative and ex.label == labels.negative:
                group.append(len(labels) + i)
            else:
                group.append(labels.index(ex.label))
        n = len(examples)
        return cls(list(examples), torch.tensor(group), torch.zeros(n, dtype=torch.bool), [[i] for i in range(n)])

    def without(self, rows: set[int]) -> ContrastiveSet:
        """The same set with ``rows`` left out of every unit (a pair that loses a sentence keeps the other, which
        stays a negative for the rest of its batch); units left empty go."""
        units = [kept for unit in self.units if (kept := [r for r in unit if r not in rows])]
        return ContrastiveSet(self.examples, self.group, self.hard, units)

    def batches(self, units_per_batch: int, seed: int, epoch: int) -> list[list[int]]:
        """The rows of each batch of ``units_per_batch`` shuffled units (reshuffled every epoch from the seed, so a
        resumed run sees the batches the interrupted one would have); a last, smaller batch is dropped."""
        order = list(range(len(self.units)))
        random.Random(seed + epoch).shuffle(order)
        return [
            [row for u in order[k : k + units_per_batch] for row in self.units[u]]
            for k in range(0, len(order) - units_per_batch + 1, units_per_batch)
        ]


def blank_batch(examples: Sequence[Example], probability: float, rng: np.random.Generator) -> list[Example]:
    """Each head and each tail replaced by the blank token with ``probability``, independently (Matching the
    Blanks: with names hidden, a pair cannot be matched by its names, only by what the sentences say)."""
    if probability == 0:
        return list(examples)
    draws = rng.random((len(examples), 2)) < probability
    return [blank_entities(ex, bool(h), bool(t)) for ex, (h, t) in zip(examples, draws, strict=True)]
