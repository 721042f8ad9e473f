"""A whole training run from a :class:`RunConfig`: read data, build the model, train it, record what happened.

A run directory holds::

    run_config.yaml     the full config (rebuilds the run)
    model/              the best model on dev (``RelationExtractor.from_pretrained``)
    log.jsonl           one line per evaluation
    results.json        best dev scores, steps, timings, and the stages of a hybrid
    checkpoint/         the last checkpoint, for ``--resume``
    stages/entity, stages/relation    a hybrid's encoders trained first with ``ht`` and ``mask``

The hybrid ([H,T]+MASK) uses two separately trained encoders. Unless told otherwise it trains an ``ht`` model
(the entity encoder) and a ``mask`` model (the relation encoder) first, then the joint classifier on [h; t; m].
An entity encoder can instead be a trained ``ht`` model, or any encoder never trained on relations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accelerate.utils import set_seed
from rich.console import Console

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split
from relenc.errors import RelencError
from relenc.evaluation.scorers import SEMEVAL_LABELS
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor, is_model_dir
from relenc.models.strategies import strategy_spec
from relenc.training.config import RunConfig
from relenc.training.trainer import fit

RESULTS_NAME = "results.json"


def load_training_data(config: RunConfig) -> tuple[list[Example], list[Example]]:
    """Train and dev examples; without a dev file, a seeded stratified share of train becomes dev."""
    tc = config.training
    if tc.train is None:
        raise RelencError("no training data: give --train FILE or training.train in the config")
    train = read_dataset(tc.train, tc.format)
    if tc.max_train_examples is not None:
        train = train[: tc.max_train_examples]
    if tc.dev is not None:
        dev = read_dataset(tc.dev, tc.format)
    else:
        train, dev = dev_split(train, fraction=tc.dev_fraction, seed=tc.seed)
    if not train or not dev:
        raise RelencError(f"need training and dev examples, got {len(train)} and {len(dev)}")
    return train, dev


def choose_metric(config: RunConfig) -> str:
    metric = config.training.metric
    if metric == "auto":
        return "semeval" if config.training.format == "semeval" else "micro"
    return metric


def train_run(
    config: RunConfig,
    output: str | Path,
    resume: bool = False,
    progress: bool = True,
    data: tuple[Sequence[Example], Sequence[Example]] | None = None,
) -> dict[str, Any]:
    """Train as ``config`` says into ``output``; return (and write) the run's results."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    train, dev = data if data is not None else load_training_data(config)
    observed = [ex.label for ex in (*train, *dev)]
    if config.training.format == "semeval":  # a closed inventory: know all 19 labels even if a subset lacks some
        observed += sorted(SEMEVAL_LABELS)
    labels = LabelSet.from_labels(observed, negative=config.training.negative_label)
    (out / "run_config.yaml").write_text(config.to_yaml(), encoding="utf-8")
    mc = config.model
    spec = strategy_spec(mc.strategy)
    stages: dict[str, Any] = {}
    sources: dict[str, str] = {}
    frozen: list[str] = []
    if mc.strategy == "hybrid":
        sources["entity"] = mc.entity_encoder or _stage(
            config, "ht", out / "stages" / "entity", resume, progress, (train, dev), stages
        )
        sources["relation"] = (
            mc.encoder
            if is_model_dir(mc.encoder)
            else _stage(config, "mask", out / "stages" / "relation", resume, progress, (train, dev), stages)
        )
        frozen = [
            role
            for role, flag in (("entity", mc.freeze_entity_encoder), ("relation", mc.freeze_relation_encoder))
            if flag
        ]
    else:
        sources["main"] = mc.encoder
    inputs = {role: mc.input.model_copy(update={"prompt": spec.needs_prompt(role)}) for role in spec.roles}
    types = sorted({t for ex in train for t in (ex.head.type, ex.tail.type) if t})
    set_seed(config.training.seed)  # new marker embeddings and the head start the same in every run
    extractor = RelationExtractor.build(
        mc.strategy,
        labels,
        sources,
        inputs,
        layer=mc.layer,
        dropout=mc.dropout,
        frozen=frozen,
        mlm=config.training.mlm_weight > 0,
        entity_types=types if mc.input.markers == "typed" else (),
    )
    Console(stderr=True).print(
        f"[bold]{mc.strategy}[/bold]: {len(train)} train / {len(dev)} dev examples, {len(labels)} labels, "
        f"encoders {sources}" + (f", frozen {frozen}" if frozen else "")
    )
    result = fit(extractor, train, dev, config.training, out, choose_metric(config), resume, progress)
    results = {
        "strategy": mc.strategy,
        "metric": choose_metric(config),
        "best_dev": result.best_dev,
        "best_step": result.best_step,
        "steps": result.steps,
        "train_seconds": result.train_seconds,
        "train_examples_per_second": result.train_examples_per_second,
        "stopped_early": result.stopped_early,
        "train_examples": len(train),
        "dev_examples": len(dev),
        "stages": stages,
    }
    _write_json(out / RESULTS_NAME, results)
    return results


def _stage(
    config: RunConfig,
    strategy: str,
    output: Path,
    resume: bool,
    progress: bool,
    data: tuple[Sequence[Example], Sequence[Example]],
    stages: dict[str, Any],
) -> str:
    """Train one encoder of the hybrid with a single-encoder strategy; return its model directory."""
    done = output / RESULTS_NAME
    if resume and done.is_file() and is_model_dir(output / "model"):
        stages[strategy] = json.loads(done.read_text(encoding="utf-8"))
    else:
        sub = config.model_copy(update={"model": config.model.model_copy(update={"strategy": strategy})})
        stages[strategy] = train_run(sub, output, resume, progress, data)
    return str(output / "model")


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2))
