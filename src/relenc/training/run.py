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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelerate.utils import set_seed
from rich.console import Console

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split
from relenc.errors import RelencError
from relenc.evaluation.scorers import SEMEVAL_LABELS, Metric, default_metric
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor, is_model_dir
from relenc.models.strategies import get_strategy
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


def choose_metric(config: RunConfig) -> Metric:
    """The config's metric; ``auto`` is the format's default (:func:`relenc.evaluation.scorers.default_metric`)."""
    metric = config.training.metric
    return default_metric(config.training.format) if metric == "auto" else metric


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
    spec = get_strategy(mc.strategy)
    stages = _Stages(config, out, resume, progress, (train, dev))
    sources, frozen = stages.sources()
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
        "stages": stages.results,
    }
    _write_json(out / RESULTS_NAME, results)
    return results


@dataclass
class _Stages:
    """The hybrid's encoders trained first (``ht`` for the entity encoder, ``mask`` for the relation encoder), each
    a run of its own under ``out/stages/<role>``; ``results`` collects their results by strategy."""

    config: RunConfig
    out: Path
    resume: bool
    progress: bool
    data: tuple[Sequence[Example], Sequence[Example]]
    results: dict[str, Any] = field(default_factory=dict)

    def train(self, strategy: str, role: str) -> str:
        """Train (or, on resume, reuse) one stage; return its model directory."""
        output = self.out / "stages" / role
        done = output / RESULTS_NAME
        if self.resume and done.is_file() and is_model_dir(output / "model"):
            self.results[strategy] = json.loads(done.read_text(encoding="utf-8"))
        else:
            model = self.config.model.model_copy(update={"strategy": strategy})
            sub = self.config.model_copy(update={"model": model})
            self.results[strategy] = train_run(sub, output, self.resume, self.progress, self.data)
        return str(output / "model")

    def sources(self) -> tuple[dict[str, str], list[str]]:
        """Where each encoder role comes from, and which roles stay frozen; a hybrid's missing encoders are
        trained here first."""
        mc = self.config.model
        if mc.strategy != "hybrid":
            return {"main": mc.encoder}, []
        sources = {
            "entity": mc.entity_encoder or self.train("ht", "entity"),
            "relation": mc.encoder if is_model_dir(mc.encoder) else self.train("mask", "relation"),
        }
        flags = (("entity", mc.freeze_entity_encoder), ("relation", mc.freeze_relation_encoder))
        return sources, [role for role, flag in flags if flag]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2))
