"""Contrastive (InfoNCE / NT-Xent) pre-training of an encoder, on mined pairs or on a labelled set.

- **pairs** (self-supervised): a batch holds B mined pairs, 2B sentences; the two sentences of a pair are
  positives, everything else in the batch (from every process, under Accelerate) is a negative.
- **labelled** (supervised): sentences with the same relation are positives. The negative class is either its own
  class (``negatives="class"``) or excluded (``negatives="exclude"``: each no-relation sentence only serves as a
  negative for the others).

What is contrasted (``variant``): ``m`` (the mask vector); ``ht`` (a linear reduction of [h; t]); ``both`` (the
mean of the ``m`` and ``ht`` losses); ``htm`` (a linear reduction of [h; t; m]); ``h`` (the head vector: for an
entity encoder, mentions of one entity chain are positives). The reductions are dropped afterwards: only the
encoder is saved, as a directory that ``relenc train --encoder DIR`` loads.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import torch
import yaml
from accelerate.utils import set_seed
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from torch import nn

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.data.readers._common import json_objects, read_text
from relenc.data.readers.jsonl import example_from_dict
from relenc.encoding.builder import InputConfig
from relenc.errors import DataError, RelencError
from relenc.io import atomic_dir
from relenc.models.engine import to_device
from relenc.models.extractor import RelationExtractor
from relenc.models.model import RelationModel
from relenc.pretraining.shards import pair_files
from relenc.progress import TRAINING_FIELDS, progress_bar
from relenc.runtime import autocast
from relenc.training.config import TrainConfig
from relenc.training.losses import info_nce
from relenc.training.trainer import make_accelerator

Variant = Literal["m", "ht", "both", "htm", "h"]
_STRATEGY = {"m": "mask", "ht": "ht", "both": "ht_mask", "htm": "ht_mask", "h": "ht"}


class PretrainConfig(BaseModel):
    """A contrastive pre-training run."""

    model_config = ConfigDict(extra="forbid")

    encoder: str = "minilm"
    pairs: str | None = Field(
        None, description="Mined pairs: a `relenc mine-pairs` output directory, or a JSONL file of pairs."
    )
    labelled: str | None = Field(None, description="A labelled data file for supervised contrastive training.")
    format: str = "jsonl"
    negatives: Literal["class", "exclude"] = "exclude"
    variant: Variant = "m"
    temperature: float = Field(0.07, gt=0)
    input: InputConfig = Field(default_factory=lambda: InputConfig())
    batch_size: int = Field(32, gt=1, description="Pairs per batch (pairs mode) or sentences (labelled mode).")
    epochs: float = Field(1.0, gt=0)
    max_steps: int | None = Field(None, gt=0)
    lr: float = Field(2e-5, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    seed: int = 13
    max_examples: int | None = Field(None, gt=0)


def read_pairs(path: str | Path, limit: int | None = None) -> list[tuple[Example, Example]]:
    """Pairs written by ``relenc mine-pairs`` (its output directory: every shard, in order) or any JSONL file of
    ``{"id", "a", "b"}`` objects; only the first ``limit`` when given, so a large run is not read whole for a few."""
    return list(itertools.islice(_iter_pairs(path), limit))


def _iter_pairs(path: str | Path) -> Iterator[tuple[Example, Example]]:
    for file in pair_files(path):
        for number, record in json_objects(read_text(file), file, "'a' and 'b' examples"):
            if "a" not in record or "b" not in record:
                raise DataError("each line needs 'a' and 'b' examples", file, f"line {number}")
            a = example_from_dict(record["a"], file, f"line {number}, 'a'")
            b = example_from_dict(record["b"], file, f"line {number}, 'b'")
            yield a, b


class Reducer(nn.Module):
    """The variant's projection of h, t, m to what InfoNCE compares (dropped after pre-training)."""

    def __init__(self, variant: str, dim: int) -> None:
        super().__init__()
        self.variant = variant
        self.ht = nn.Linear(2 * dim, dim) if variant in ("ht", "both") else None
        self.htm = nn.Linear(3 * dim, dim) if variant == "htm" else None

    def losses(self, vectors: dict[str, torch.Tensor], labels: torch.Tensor, temperature: float) -> torch.Tensor:
        if self.variant == "m":
            return info_nce(vectors["m"], labels, temperature)
        if self.variant == "h":
            return info_nce(vectors["h"], labels, temperature)
        if self.variant == "htm":
            assert self.htm is not None
            return info_nce(self.htm(torch.cat([vectors["h"], vectors["t"], vectors["m"]], -1)), labels, temperature)
        assert self.ht is not None
        ht = info_nce(self.ht(torch.cat([vectors["h"], vectors["t"]], -1)), labels, temperature)
        if self.variant == "ht":
            return ht
        return (ht + info_nce(vectors["m"], labels, temperature)) / 2


class ContrastiveModel(nn.Module):
    """Encoder + reducer + loss in one module, so that one DDP wrapper synchronises every trained parameter."""

    def __init__(self, model: RelationModel, reducer: Reducer, temperature: float) -> None:
        super().__init__()
        self.model = model
        self.reducer = reducer
        self.temperature = temperature

    def forward(self, inputs: dict[str, dict[str, torch.Tensor]], groups: torch.Tensor) -> torch.Tensor:
        vectors = self.model.vectors(inputs)
        gathered = {k: _gather(v.float()) for k, v in vectors.items()}
        return self.reducer.losses(gathered, _gather(groups), self.temperature)


def _gather(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate a tensor from every process, keeping this process's gradient (negatives from all processes)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return tensor
    import torch.distributed.nn.functional as dist_fn

    return torch.cat(dist_fn.all_gather(tensor), dim=0)


def pretrain(config: PretrainConfig, output: str | Path, progress: bool = True) -> dict[str, Any]:
    """Run contrastive pre-training; save the encoder (weights + tokenizer with markers) to ``output``."""
    if (config.pairs is None) == (config.labelled is None):
        raise RelencError("give exactly one of --pairs (mined pairs) or --labelled (a labelled data file)")
    set_seed(config.seed)
    acc = make_accelerator(TrainConfig(precision=config.precision))
    examples, group_of = _load_examples(config)
    if len(examples) < 4:
        raise RelencError(f"need at least 4 sentences to pre-train, got {len(examples)}")
    # an encoder read at the variant's parts, with no classifier: nothing is built that is not trained
    extractor = RelationExtractor.from_encoder(
        config.encoder, _STRATEGY[config.variant], config.input, seed=config.seed
    )
    reducer = Reducer(config.variant, extractor.model.hidden_size("main"))
    contrastive = ContrastiveModel(extractor.model, reducer, config.temperature)
    Console(stderr=True).print(f"contrastive pre-training ({config.variant}) on {len(examples)} sentences")
    start = time.time()
    losses = _train(extractor, contrastive, examples, torch.tensor(group_of), config, acc, progress)
    window = max(1, min(5, len(losses) // 2))  # mean loss over the first and the last few steps
    results = {
        "variant": config.variant,
        "sentences": len(examples),
        "steps": len(losses),
        "first_loss": round(sum(losses[:window]) / window, 4),
        "last_loss": round(sum(losses[-window:]) / window, 4),
        "seconds": round(time.time() - start, 1),
    }
    if acc.is_main_process:  # the encoder, its config and its results appear together, or not at all
        with atomic_dir(output) as tmp:
            save_encoder(extractor, tmp)
            (tmp / "pretrain_config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")), "utf-8")
            (tmp / "pretrain_results.json").write_text(json.dumps(results, indent=2), "utf-8")
    return results


def _load_examples(config: PretrainConfig) -> tuple[list[Example], list[int]]:
    """The sentences to contrast and each one's group: the two sentences of a mined pair share a group; in
    supervised mode a relation is a group, and with ``negatives="exclude"`` each no-relation sentence is a group of
    its own (only ever a negative)."""
    if config.pairs is not None:
        pairs = read_pairs(config.pairs, config.max_examples)
        return [ex for pair in pairs for ex in pair], [i // 2 for i in range(2 * len(pairs))]
    examples = read_dataset(config.labelled, config.format)[: config.max_examples]  # type: ignore[arg-type]
    labels = LabelSet.from_labels(ex.label for ex in examples)
    group_of = []
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError("unlabelled example in supervised pre-training", config.labelled, f"record {i + 1}")
        if config.negatives == "exclude" and ex.label == labels.negative:
            group_of.append(len(labels) + i)
        else:
            group_of.append(labels.index(ex.label))
    return examples, group_of


def _train(
    extractor: RelationExtractor,
    contrastive: ContrastiveModel,
    examples: list[Example],
    group: torch.Tensor,
    config: PretrainConfig,
    acc: Any,
    progress: bool,
) -> list[float]:
    """The contrastive loop over shuffled batches, each process taking its share; returns the loss of every step."""
    items = extractor.encode(examples)
    pairs_mode = config.pairs is not None
    per_rank = len(_batches(len(examples), config, pairs_mode)) // acc.num_processes
    if per_rank == 0:
        raise RelencError("too few examples for one batch per process")
    total = config.max_steps or math.ceil(config.epochs * per_rank)
    params = [p for p in contrastive.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    model, optimizer = acc.prepare(contrastive, optimizer)
    losses: list[float] = []
    start = time.time()
    with progress_bar(enabled=progress and acc.is_main_process, fields=TRAINING_FIELDS) as bar:
        task = bar.add_task("pre-training", total=total, loss=0.0, rate=0.0)
        epoch = 0
        while len(losses) < total:
            order = _batches(len(examples), config, pairs_mode, epoch=epoch)
            for idx in order[acc.process_index : per_rank * acc.num_processes : acc.num_processes]:
                inputs = to_device(extractor.collate([items[i] for i in idx]), acc.device)
                model.train()
                with autocast(config.precision, acc.device):
                    loss = model(inputs, group[idx].to(acc.device))
                acc.backward(loss)
                acc.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
                losses.append(loss.item())
                rate = len(losses) * len(idx) / (time.time() - start)
                bar.update(task, advance=1, loss=loss.item(), rate=rate)
                if len(losses) >= total:
                    break
            epoch += 1
    return losses


def _batches(n: int, config: PretrainConfig, pairs_mode: bool, epoch: int = 0) -> list[list[int]]:
    """Shuffled batches; in pairs mode both sentences of a pair always share a batch."""
    rng = random.Random(config.seed + epoch)
    if pairs_mode:
        pair_ids = list(range(n // 2))
        rng.shuffle(pair_ids)
        size = config.batch_size
        return [
            [i for p in pair_ids[k : k + size] for i in (2 * p, 2 * p + 1)]
            for k in range(0, len(pair_ids) - size + 1, size)
        ]
    order = list(range(n))
    rng.shuffle(order)
    return [order[k : k + config.batch_size] for k in range(0, n - config.batch_size + 1, config.batch_size)]


def save_encoder(extractor: RelationExtractor, directory: Path) -> None:
    """The encoder alone, as a Hugging Face directory (safetensors + tokenizer with the markers), into
    ``directory`` (the caller makes it atomic)."""
    encoder: Any = extractor.model.encoders["main"]
    encoder.save_pretrained(directory, safe_serialization=True)
    extractor.parts["main"].tokenizer.save_pretrained(directory)
