"""A whole training run from a :class:`RunConfig`: read data, build the model, train it, record what happened.

A run directory holds::

    run_config.yaml     the full config (rebuilds the run)
    model/              the best model on dev (``RelationExtractor.from_pretrained``)
    log.jsonl           one line per evaluation
    results.json        best dev scores, steps, timings, and the stages of a hybrid
    checkpoint/         the last checkpoint, for ``--resume``
    averaging/          with ``training.average_last``: the last epochs' weights, until the run has averaged them
    teacher_logits.safetensors    with ``distill``: the teacher's logits, computed once (relenc.training.distill)
    stages/entity, stages/relation    a hybrid's encoders trained first with ``ht`` and ``mask``

A directory holds one run, never parts of two: training into a directory that holds a run is refused unless it
resumes that run (with the same config, checked field by field) or overwrites it (deleting it first).

The hybrid ([H,T]+MASK) uses two separately trained encoders. Unless told otherwise it trains an ``ht`` model
(the entity encoder) and a ``mask`` model (the relation encoder) first, then the joint classifier on [h; t; m].
An entity encoder can instead be a trained ``ht`` model, or any encoder never trained on relations.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from accelerate.utils import set_seed
from rich.console import Console

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import is_end_to_end, read_dataset
from relenc.data.readers._common import parse_json, read_text
from relenc.data.splits import dev_split
from relenc.encoding.builder import InputConfig
from relenc.errors import DataError, RelencError
from relenc.evaluation.scorers import SEMEVAL_LABELS, Metric, default_metric
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor, is_model_dir
from relenc.models.strategies import get_strategy
from relenc.nlp import EntityTyper
from relenc.runtime import resolve_precision
from relenc.training.averaging import AVERAGING_DIR
from relenc.training.config import RunConfig
from relenc.training.distill import CACHE_NAME, Distillation, check_teacher
from relenc.training.end2end import train_end_to_end
from relenc.training.trainer import CHECKPOINT_DIR, LOG_NAME, STATE_NAME, EvalHook, FitResult, fit

RESULTS_NAME = "results.json"
RUN_CONFIG_NAME = "run_config.yaml"
#: What a run writes into its directory: any of them means the directory holds a run, and ``overwrite`` deletes
#: exactly these (never other files a user keeps there).
RUN_FILES: tuple[str, ...] = (
    RUN_CONFIG_NAME,
    "model",
    LOG_NAME,
    RESULTS_NAME,
    CHECKPOINT_DIR,
    STATE_NAME,
    "stages",
    AVERAGING_DIR,
    CACHE_NAME,
)


def load_training_data(config: RunConfig) -> tuple[list[Example], list[Example]]:
    """Train and dev examples; without a dev file, a seeded stratified share of train becomes dev (none with
    ``dev_fraction`` 0: then every training example trains)."""
    tc = config.training
    if tc.train is None:
        raise RelencError("no training data: give --train FILE or training.train in the config")
    train = [ex for path in tc.train_files for ex in read_dataset(path, tc.format, allow_empty=False)]
    if tc.max_train_examples is not None:
        train = train[: tc.max_train_examples]
    if tc.dev is not None:
        return train, read_dataset(tc.dev, tc.format, allow_empty=False)
    if not tc.has_dev:
        return train, []
    train, dev = dev_split(train, fraction=tc.dev_fraction, seed=tc.seed)
    if not dev:
        raise DataError(
            f"{len(train)} examples are too few to carve a dev share from (every label keeps one training "
            "example); give a dev file (--dev FILE or training.dev)",
            tc.train_source,
        )
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
    overwrite: bool = False,
    on_eval: EvalHook | None = None,
    distillation: Distillation | None = None,
) -> dict[str, Any]:
    """Train as ``config`` says into ``output``; return (and write) the run's results.

    A run directory never mixes two runs: ``output`` must hold no run, unless ``resume`` continues the run in it
    (which must have the same config; a finished one is only reported, nothing is rewritten) or ``overwrite``
    deletes it, once the new run's data has been read. ``on_eval`` sees each dev evaluation of the final model
    (not those of a hybrid's stages, whose scores are of other models); see :data:`relenc.training.trainer.EvalHook`.
    With ``config.distill`` the model learns from a teacher's soft targets too (:mod:`relenc.training.distill`), and
    so do a hybrid's stages, which are handed the run's ``distillation`` rather than running the teacher again.
    """
    out = Path(output)
    if data is None and is_end_to_end(config.training.format):  # whole sentences: recognizer, classifier, decisions
        return train_end_to_end(config, out, resume, progress, overwrite)
    finished = _check_run_dir(config, out, resume, overwrite)
    if finished is not None:
        return finished
    train, dev = data if data is not None else load_training_data(config)
    labels = _label_set(config, train, dev)
    teacher = None
    if config.distill is not None and distillation is None:  # checked before the run directory changes
        teacher = check_teacher(config.distill, labels, config.training.train_source)
    _prepare_run_dir(config, out, overwrite)
    if teacher is not None:
        distillation = teacher.distillation(train, out, config.training, progress)
    mc = config.model
    spec = get_strategy(mc.strategy)
    stages = _Stages(config, out, resume, progress, (train, dev), distillation)
    sources, frozen = stages.sources()
    inputs = {role: mc.input.model_copy(update={"prompt": spec.needs_prompt(role)}) for role in spec.roles}
    types = sorted({t for ex in train for t in (ex.head.type, ex.tail.type) if t} | set(_ner_labels(mc.input)))
    set_seed(config.training.seed)  # new marker embeddings and the head start the same in every run
    extractor = RelationExtractor.build(
        mc.strategy,
        labels,
        sources,
        inputs,
        layer=mc.layer,
        dropout=mc.dropout,
        pooling=mc.pooling,
        frozen=frozen,
        mlm=config.training.mlm_weight > 0,
        entity_types=types if mc.input.markers == "typed" else (),
    )
    precision = resolve_precision(config.training.precision)  # what "auto" means on this machine
    Console(stderr=True).print(
        f"[bold]{mc.strategy}[/bold]: {len(train)} train / {len(dev)} dev examples, {len(labels)} labels, "
        f"encoders {sources}" + (f", frozen {frozen}" if frozen else "") + f", {_precision_note(config, precision)}"
    )
    result = fit(
        extractor, train, dev, config.training, out, choose_metric(config), resume, progress, on_eval, distillation
    )
    results = _results(config, result, len(train), len(dev), stages.results, precision)
    write_json(out / RESULTS_NAME, results)
    return results


def _ner_labels(inputs: InputConfig) -> tuple[str, ...]:
    """The NER's labels when typed markers take their types from spaCy: every one needs its marker from the start."""
    return EntityTyper().labels if inputs.markers == "typed" and inputs.entity_types == "spacy" else ()


def _precision_note(config: RunConfig, precision: str) -> str:
    """The precision the run computes in, and why when ``auto`` chose fp32: a user then knows why it is slower."""
    if precision == "fp32" and config.training.precision == "auto":
        return "fp32 (this CPU has no native bf16: about half bf16's speed)"
    return precision


def _results(
    config: RunConfig, result: FitResult, n_train: int, n_dev: int, stages: dict[str, Any], precision: str
) -> dict[str, Any]:
    """What ``results.json`` says about a run: its best dev scores, steps and timings, the stages of a hybrid, and,
    with ``training.average_last``, the averaged model's dev scores and which model was kept."""
    results = {
        "strategy": config.model.strategy,
        "metric": choose_metric(config),
        "best_dev": result.best_dev,
        "best_step": result.best_step,
        "steps": result.steps,
        "train_seconds": result.train_seconds,
        "train_examples_per_second": result.train_examples_per_second,
        "stopped_early": result.stopped_early,
        "precision": precision,
        "train_examples": n_train,
        "dev_examples": n_dev,
        "stages": stages,
    }
    if result.averaging is not None:
        results["averaging"] = result.averaging
    return results


def _label_set(config: RunConfig, train: Sequence[Example], dev: Sequence[Example]) -> LabelSet:
    """The labels of train and dev; for SemEval, a closed inventory, all 19 even if a subset lacks some.

    A run scored with the official SemEval metric may know no other label: the scorer would stop on it at the
    first dev evaluation, after the first stretch of training, rather than now.
    """
    observed = [ex.label for ex in (*train, *dev)]
    if config.training.format == "semeval":
        observed += sorted(SEMEVAL_LABELS)
    labels = LabelSet.from_labels(observed, negative=config.training.negative_label)
    foreign = sorted(set(labels.labels) - SEMEVAL_LABELS)
    if choose_metric(config) == "semeval" and foreign:
        raise RelencError(
            f"training.metric semeval scores only SemEval-2010 Task 8 labels, but the data has {', '.join(foreign[:5])}"
            f"{' ...' if len(foreign) > 5 else ''}; use training.metric micro"
        )
    return labels


def _check_run_dir(config: RunConfig, out: Path, resume: bool, overwrite: bool) -> dict[str, Any] | None:
    """Refuse to mix two runs in ``out``; return the results of a finished run that ``resume`` finds (there is
    nothing left to do), else None."""
    if resume and overwrite:
        raise RelencError("--resume continues the run in the output directory and --overwrite deletes it: give one")
    held = [name for name in RUN_FILES if (out / name).exists()]
    if not held or overwrite:
        return None
    if not resume:
        raise RelencError(
            f"{out} already holds a run ({', '.join(held)}); continue it with --resume, replace it with "
            "--overwrite, or choose another output directory"
        )
    differences = _config_differences(out, config)
    if differences:
        raise RelencError(
            f"{out} holds a run with another config, so it cannot be resumed with this one: "
            f"{'; '.join(differences)}; resume with the run's own settings (--config {out / RUN_CONFIG_NAME}), "
            "or start again with --overwrite"
        )
    if (out / RESULTS_NAME).is_file():
        print(f"{out}: this run has already finished; nothing was changed", file=sys.stderr)
        return read_json(out / RESULTS_NAME)
    return None


def _prepare_run_dir(config: RunConfig, out: Path, overwrite: bool) -> None:
    """Delete the run being overwritten and save the config (atomically), in the main process once every process
    has checked the directory: a process still checking must not find the new run's files and refuse them."""
    processes = PartialState(cpu=not torch.cuda.is_available())  # the settings make_accelerator uses
    processes.wait_for_everyone()
    if processes.is_main_process:
        if overwrite:
            _clear_run(out)
        out.mkdir(parents=True, exist_ok=True)
        if not (out / RUN_CONFIG_NAME).is_file():  # on resume it is there already, and the same
            write_text_atomic(out / RUN_CONFIG_NAME, config.to_yaml())
    processes.wait_for_everyone()


def _config_differences(out: Path, config: RunConfig) -> list[str]:
    """The fields in which ``config`` differs from the config saved in ``out``, as ``training.lr is 0.001 in the
    run, 0.01 now``; a run without a readable saved config cannot be checked, so it is an error."""
    saved = out / RUN_CONFIG_NAME
    if not saved.is_file():
        raise RelencError(
            f"{out} holds a run without {RUN_CONFIG_NAME}, so it cannot be checked against this config; "
            "start again with --overwrite"
        )
    try:
        old = RunConfig.from_yaml(saved)
    except RelencError as exc:
        raise RelencError(
            f"{exc}\n{saved}: cannot be read, so the run cannot be resumed; start again with --overwrite"
        ) from exc
    return _differences(old.model_dump(mode="json"), config.model_dump(mode="json"))


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the leaves that differ between two dumps of the same model, with both values."""
    found: list[str] = []
    for key in old:
        before, after = old[key], new[key]
        if isinstance(before, dict) and isinstance(after, dict):
            found += _differences(before, after, f"{prefix}{key}.")
        elif before != after:
            found.append(f"{prefix}{key} is {before!r} in the run, {after!r} now")
    return found


def _clear_run(out: Path) -> None:
    """Delete what an earlier run wrote into ``out`` (:data:`RUN_FILES`), so nothing of it mixes with the new run."""
    for name in RUN_FILES:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


@dataclass
class _Stages:
    """The hybrid's encoders trained first (``ht`` for the entity encoder, ``mask`` for the relation encoder), each
    a run of its own under ``out/stages/<role>``; ``results`` collects their results by strategy."""

    config: RunConfig
    out: Path
    resume: bool
    progress: bool
    data: tuple[Sequence[Example], Sequence[Example]]
    distillation: Distillation | None = None
    results: dict[str, Any] = field(default_factory=dict)

    def train(self, strategy: str, role: str) -> str:
        """Train (or, on resume, continue or reuse) one stage; return its model directory."""
        output = self.out / "stages" / role
        model = self.config.model.model_copy(update={"strategy": strategy})
        sub = self.config.model_copy(update={"model": model})
        self.results[strategy] = train_run(
            sub, output, self.resume, self.progress, self.data, distillation=self.distillation
        )
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


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2))


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object the run wrote; a damaged one is an error that names it and says what to do."""
    try:
        data = parse_json(read_text(path), path)
    except DataError as exc:
        raise RelencError(f"{exc}; start the run again with --overwrite") from exc
    if not isinstance(data, dict):
        raise RelencError(f"{path}: expected a JSON object; start the run again with --overwrite")
    return data
