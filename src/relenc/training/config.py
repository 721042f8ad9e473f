"""Run configuration: a pydantic model that fully describes a training run.

A config is saved next to every trained model (``run_config.yaml``) and can be loaded from YAML; CLI flags
override individual fields. ``ModelConfig`` says what is built, ``TrainConfig`` how it is trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from relenc.data.readers import is_end_to_end
from relenc.data.readers._common import read_yaml_mapping
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.strategies import Pooling, StrategyName
from relenc.nlp import DEFAULT_SPACY_MODEL


class ModelConfig(BaseModel):
    """What to build: the strategy, the encoder(s), how inputs look and how features are read."""

    model_config = ConfigDict(extra="forbid")

    strategy: StrategyName = "hybrid"
    encoder: str = Field("minilm", description="The encoder (the relation encoder for the hybrid).")
    entity_encoder: str | None = Field(
        None,
        description="Hybrid only: the entity encoder (a trained `ht` model dir, an encoder dir or name). "
        "None: train one with the `ht` strategy first.",
    )
    freeze_entity_encoder: bool = Field(
        True,
        description="Hybrid only: keep the entity encoder fixed (the paper's two separately trained encoders).",
    )
    freeze_relation_encoder: bool = Field(
        True, description="Hybrid only: keep the relation encoder fixed while the joint classifier trains."
    )
    layer: int = Field(-1, description="Which hidden layer to read h, t, m from (-1: last).")
    pooling: Pooling = Field(
        "start",
        description="How h and t are read: start: at the entity-start marker (the paper's); mean: the mean of the "
        "mention's word pieces (markers excluded), which sees a long name whole. Saved with the model.",
    )
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    input: InputConfig = Field(
        default_factory=lambda: InputConfig(),
        description="Markers, prompt template, max length. The prompt is added only for encoders read at m.",
    )


class TrainConfig(BaseModel):
    """How to train: data, optimisation, evaluation and stopping."""

    model_config = ConfigDict(extra="forbid")

    train: str | list[str] | None = Field(
        None,
        description="Training data file, or several read as one in order (train and dev together for a final fit).",
    )
    dev: str | None = None
    format: str = "jsonl"
    dev_fraction: float = Field(
        0.1,
        ge=0.0,
        lt=1.0,
        description="Dev share carved from train when no dev file. 0: no dev: train on every training example for "
        "the whole budget and keep the last model (a final fit, once dev has chosen the budget).",
    )
    negative_label: str | None = "auto"
    metric: Literal["auto", "semeval", "micro"] = "auto"
    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, gt=0)
    batch_size: int = Field(32, gt=0)
    eval_batch_size: int = Field(128, gt=0)
    grad_accum: int = Field(1, gt=0)
    lr: float = Field(5e-5, gt=0)
    head_lr: float = Field(1e-3, gt=0, description="Learning rate of the classifier head (new weights).")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = Field(
        "linear",
        description="Learning-rate schedule after the linear warm-up: linear decay to 0, cosine decay to 0, or "
        "constant. Fine-tuning only (the head-only loop of frozen encoders keeps a constant rate).",
    )
    layer_decay: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Layer-wise learning-rate decay: the encoder's top layer trains at lr, each layer below at "
        "lr*decay^k, the embeddings lowest (1: one rate for the whole encoder). Lower layers hold general features "
        "that fine-tuning should move less. Needs layers named encoder.layer.N (BERT, MiniLM, RoBERTa, MPNet).",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Label smoothing of the relation cross-entropy: the target gives 1-e to the gold label and e "
        "spread over all labels (0: off), which keeps the classifier from over-confident scores.",
    )
    rdrop_alpha: float = Field(
        0.0,
        ge=0,
        description="R-Drop (Liang et al. 2021): each batch runs twice under different dropout and the loss adds "
        "alpha times the symmetric KL divergence between the two predictions (0: off). It makes the sub-networks "
        "dropout samples agree, at the cost of a forward and backward pass twice as large. The paper's alpha is "
        "twice this one (it sums the two cross-entropies, relenc averages them).",
    )
    average_last: int = Field(
        0,
        ge=0,
        description="Checkpoint averaging: keep the weights at the end of each of the last N epochs (files in the "
        "run directory; the end of a run counts as the end of its last, partial epoch; a run stopped early averages "
        "the epochs before the stop) and, after training, evaluate their uniform average on dev; it replaces the "
        "best-dev model when its dev F1 is at least as high (0: off). results.json records both scores and which "
        "was kept.",
    )
    max_grad_norm: float = Field(1.0, gt=0)
    mlm_weight: float = Field(0.0, ge=0, description="Weight of the auxiliary masked-LM loss (0: off).")
    mlm_probability: float = Field(0.15, gt=0, lt=1)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    eval_every: int | None = Field(None, gt=0, description="Evaluate every N optimiser steps (None: each epoch).")
    patience: int | None = Field(None, gt=0, description="Stop after N evaluations without dev improvement.")
    seed: int = 13
    max_train_examples: int | None = Field(None, gt=0, description="Use only the first N training examples.")
    head_epochs: int = Field(10, gt=0, description="Epochs for a classifier head on frozen encoders (hybrid).")

    @property
    def train_files(self) -> list[str]:
        """The training data files, in order (none when not given)."""
        if self.train is None:
            return []
        return [self.train] if isinstance(self.train, str) else list(self.train)

    @property
    def train_source(self) -> str | None:
        """The training data as an error message names it: the file, or the files joined."""
        return " + ".join(self.train_files) or None

    @property
    def has_dev(self) -> bool:
        """Whether the run is scored on dev: a dev file, or a share of train carved as dev (not ``dev_fraction`` 0)."""
        return self.dev is not None or self.dev_fraction > 0

    @field_validator("train")
    @classmethod
    def _one_file_is_a_string(cls, train: str | list[str] | None) -> str | list[str] | None:
        """A list of one file is that file, so a run given ``--train F`` and its saved config agree either way."""
        if isinstance(train, list):
            if not train:
                raise ValueError("an empty list: name at least one training data file")
            if len(train) == 1:
                return train[0]
        return train

    @model_validator(mode="after")
    def _check_dev(self) -> TrainConfig:
        needs_dev = [name for name, on in (("patience", self.patience), ("average_last", self.average_last)) if on]
        if needs_dev and not self.has_dev:
            raise ValueError(
                f"{' and '.join(needs_dev)} compare models on dev, but dev_fraction 0 without a dev file leaves no "
                "dev: give a dev file or a dev_fraction above 0, or turn them off"
            )
        return self


class EntityTrainConfig(BaseModel):
    """How an end-to-end run trains its entity recognizer (:mod:`relenc.models.spans`; data with typed entities)."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(10, gt=0)
    batch_size: int = Field(8, gt=0, description="Sentences per step.")
    lr: float = Field(1e-4, gt=0, description="Encoder learning rate.")
    head_lr: float = Field(1e-3, gt=0, description="Learning rate of the span head (new weights).")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    negatives: int = Field(100, ge=0, description="Non-entity spans sampled per sentence (SpERT: 100).")
    max_width: int = Field(10, gt=0, description="Longest entity, in words.")
    representation: Literal["ends", "ends+max+cls"] = Field(
        "ends+max+cls",
        description="A span's vector: its first and last word pieces (PURE), or also their max-pool and [CLS] (SpERT).",
    )
    shape_dim: int = Field(
        16, ge=0, description="Size of the word-shape embedding (casing the encoder's lowercasing drops); 0: none."
    )
    ner_dim: int = Field(
        16, ge=0, description="Size of the embedding of the words' spaCy NER tags (a cased model's opinion); 0: none."
    )
    ner_model: str = Field(DEFAULT_SPACY_MODEL, description="The spaCy pipeline that tags the words, with ner_dim.")
    max_grad_norm: float = Field(1.0, gt=0)
    precision: Literal["auto", "bf16", "fp32"] = "auto"
    seed: int | None = Field(
        None,
        description="Seed of the recognizer's initialisation and sampling; None: the run's seed (training.seed), so "
        "`relenc train --seed` varies both models of an end-to-end run.",
    )

    def for_run(self, run_seed: int) -> EntityTrainConfig:
        """This config with its seed resolved: its own if set, else the run's."""
        return self if self.seed is not None else self.model_copy(update={"seed": run_seed})

    def span_settings(self) -> dict[str, Any]:
        """The recognizer's shape, as :meth:`relenc.models.spans.EntityRecognizer.build` takes it: the fields here
        that are architecture rather than training, so every caller builds the recognizer this config describes."""
        names = ("max_width", "representation", "shape_dim", "ner_dim", "ner_model")
        return {name: getattr(self, name) for name in names}


class DistillConfig(BaseModel):
    """Knowledge distillation (:mod:`relenc.training.distill`): the run's model, the student, also learns from a
    trained teacher's soft labels, ``alpha * T^2 * KL(teacher || student at temperature T) + (1 - alpha) * CE``."""

    model_config = ConfigDict(extra="forbid")

    teacher: str = Field(description="A trained relenc model (or run) directory whose labels are the data's.")
    temperature: float = Field(
        2.0,
        gt=0,
        description="Both models' scores are divided by T before the softmax: above 1 the teacher's distribution "
        "shows how alike it finds the wrong labels too, which is what the student learns from it.",
    )
    alpha: float = Field(
        0.5, ge=0, le=1, description="Weight of the distillation term; 1 - alpha weighs the gold cross-entropy."
    )
    unlabelled: str | None = Field(
        None,
        description="Mined pairs (a `relenc mine-pairs` directory or a JSONL file of 'a'/'b' records): their "
        "sentences, with head and tail, train on the distillation term alone.",
    )
    max_unlabelled: int | None = Field(
        None, gt=0, description="Read the first N pairs of unlabelled and keep at most N distinct sentences."
    )

    @model_validator(mode="after")
    def _check(self) -> DistillConfig:
        if self.max_unlabelled is not None and self.unlabelled is None:
            raise ValueError("max_unlabelled limits the unlabelled sentences, but no unlabelled file is given")
        return self


class RunConfig(BaseModel):
    """A whole run: the model and its training."""

    model_config = ConfigDict(extra="forbid")

    model: ModelConfig = Field(default_factory=lambda: ModelConfig())
    training: TrainConfig = Field(default_factory=lambda: TrainConfig())
    entities: EntityTrainConfig = Field(
        default_factory=lambda: EntityTrainConfig(),
        description="The entity recognizer of an end-to-end run (formats with whole sentences: spert).",
    )
    distill: DistillConfig | None = Field(None, description="Learn from a teacher's soft labels too (None: off).")

    @model_validator(mode="after")
    def _check(self) -> RunConfig:
        if self.model.entity_encoder is not None and self.model.strategy != "hybrid":
            raise ValueError("entity_encoder is only used by the hybrid strategy")
        if self.distill is not None and is_end_to_end(self.training.format):
            raise ValueError(
                f"distillation trains a classifier of given pairs; format {self.training.format} trains end to end "
                "from whole sentences: convert the data to pairs (relenc data convert) to distil"
            )
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        """Load and check a YAML config; every problem is a RelencError naming the file (and the line or field)."""
        data = read_yaml_mapping(path, "a mapping with 'model' and 'training' sections")
        return cls.parse(data, source=str(path))

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "config") -> RunConfig:
        """Validate ``data``; the RelencError has one line per problem, ``<source>: <field path>: <problem>``, so the
        CLI prints one ``error:`` line for each and the user sees every bad field at once."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RelencError("\n".join(problem_line(source, err) for err in exc.errors())) from exc

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def override(self, **flags: Any) -> RunConfig:
        """Return a copy with dotted-path overrides (``{"training.epochs": 2}``); ``None`` values are ignored."""
        data = self.model_dump(mode="json")
        for dotted, value in flags.items():
            if value is None:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for key in parents:
                node = node[key]
            node[leaf] = value
        return RunConfig.parse(data, source="command-line flags")


def problem_line(source: str, error: Any) -> str:
    """One pydantic error as ``run.yaml: training.lr: Input should be greater than 0`` (no field path for a
    problem of the whole config, such as a strategy that does not use ``entity_encoder``)."""
    field = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{source}: {field}: {message}" if field else f"{source}: {message}"
