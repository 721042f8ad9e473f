"""Contrastive (InfoNCE / NT-Xent) pre-training of an encoder, on mined pairs or on a labelled set.

- **pairs** (self-supervised): a batch holds B mined pairs, 2B sentences, and up to ``hard_negatives`` hard
  negatives per pair; the two sentences of a pair are positives, everything else in the batch (from every process,
  under Accelerate) is a negative, and a pair's hard negatives are negatives for that pair's sentences. Entity-chain
  pairs (``relenc mine-pairs --kind entity``) pre-train an entity encoder with the variant ``h``.
- **labelled** (supervised): sentences with the same relation are positives. The negative class is either its own
  class (``negatives="class"``) or excluded (``negatives="exclude"``: each no-relation sentence only serves as a
  negative for the others).

Entity blanking (Matching the Blanks): at every step each head and each tail is replaced by ``[BLANK]`` with
``blank_probability``, drawn from the seed, the step and the process, so that the encoder must learn what the
sentences say rather than match the entities' names, and a resumed run draws what the interrupted one would have.
``chunk_size`` turns on gradient caching (:mod:`~relenc.pretraining.contrastive`), so a batch of hundreds of pairs
fits in memory. Every ``checkpoint_every`` steps the model, optimiser and random states go to ``output/checkpoint``;
``resume`` goes on from there to the result an uninterrupted run gives.

``probe`` scores the encoder being trained on FewRel 5-way 1-shot episodes (:mod:`~relenc.pretraining.probe`) at
step 0, every ``probe_every`` steps and at the last step; each probe is a line of ``output/pretrain_log.jsonl``
and of the final results.

What is contrasted is the ``variant`` (:class:`~relenc.pretraining.contrastive.Reducer`). Only the encoder is
saved, as a directory that ``relenc train --encoder DIR`` (or ``--entity-encoder DIR``) loads.

A run is a :class:`PretrainConfig`, from flags or a YAML file (:meth:`PretrainConfig.from_yaml`). Its paths
(``pairs``, ``labelled``, ``probe``, an ``encoder`` directory) are used as they are written: relative ones from the
working directory, as every path on relenc's command line and in ``relenc train --config``, so that a value means
the same in the file and as a flag that overrides it (the recipes in ``configs/`` are run from the repository's
root).
"""

from __future__ import annotations

import difflib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml
from accelerate.utils import set_seed
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console
from rich.progress import Progress, TaskID

from relenc.data.example import Example
from relenc.data.readers import read_dataset
from relenc.data.readers._common import read_yaml_mapping
from relenc.encoding.builder import InputConfig, TooLongError
from relenc.errors import RelencError
from relenc.io import atomic_dir, replace_dir, write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.models.hf import fit_embeddings, save_encoder_files
from relenc.pretraining.contrastive import ContrastiveModel, Reducer, cached_backward, full_backward
from relenc.pretraining.data import ContrastiveSet, blank_batch, read_pairs
from relenc.pretraining.probe import DEFAULT_EPISODES, FewRelProbe, ProbeLog, ProbeResult, probe_summary
from relenc.progress import TRAINING_FIELDS, progress_bar
from relenc.training.config import TrainConfig, problem_line
from relenc.training.trainer import make_accelerator

Variant = Literal["m", "ht", "both", "htm", "h"]
_STRATEGY = {"m": "mask", "ht": "ht", "both": "ht_mask", "htm": "ht_mask", "h": "ht"}
CHECKPOINT_DIR = "checkpoint"
STATE_NAME = "pretrain_state.json"
RESULTS_NAME = "pretrain_results.json"
CONFIG_NAME = "pretrain_config.yaml"
# what a resumed run may change: the length of the run, and when it saves or probes (neither changes the training)
_EXTENSIBLE = frozenset({"max_steps", "epochs", "checkpoint_every", "probe_every"})
_FIELDS = (*TRAINING_FIELDS, "{task.fields[steps]:.2f} steps/s", "probe {task.fields[probe]}")
_CHECK_BATCH = 1024  # sentences per tokenizer call when checking that they fit max_length


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
    blank_probability: float = Field(
        0.7, ge=0, le=1, description="Chance that a head or tail is replaced by [BLANK] at a step (0: never)."
    )
    hard_negatives: int = Field(
        1, ge=0, description="Hard negatives per pair in the loss (mining keeps up to 3); each costs a sentence."
    )
    chunk_size: int | None = Field(
        None, ge=0, description="Gradient caching: sentences per forward pass (0 or none: the whole batch at once)."
    )
    checkpoint_every: int | None = Field(None, gt=0, description="Save a checkpoint every N steps, for resume.")
    probe: str | None = Field(
        None, description="A FewRel JSON file: 5-way 1-shot accuracy of the encoder at step 0, while and after."
    )
    probe_every: int | None = Field(
        None, gt=0, description="Probe every N steps (besides step 0 and the last step); none: only those two."
    )
    probe_episodes: int = Field(DEFAULT_EPISODES, ge=2, description="Episodes per probe (the same ones every time).")

    @model_validator(mode="after")
    def _check(self) -> PretrainConfig:
        if self.probe is None and self.probe_every is not None:
            raise ValueError("probe_every needs probe (a FewRel file to probe on)")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> PretrainConfig:
        """A run from a YAML mapping of this class's fields; every problem is a RelencError line naming the file
        (and the line of a YAML error, or the key)."""
        data = read_yaml_mapping(path, "a mapping of pre-training settings")
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: dict[str, Any], source: str) -> PretrainConfig:
        """Validate ``data``; the RelencError has one line per problem, ``<source>: <key>: <problem>``, so the CLI
        prints an ``error:`` line for each and every bad key shows at once."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RelencError("\n".join(_problem(source, error) for error in exc.errors())) from None

    def override(self, **flags: Any) -> PretrainConfig:
        """A copy with the given fields changed (``None``: a flag not given, which leaves the value as it is)."""
        given = {key: value for key, value in flags.items() if value is not None}
        return self.parse({**self.model_dump(mode="json"), **given}, "command-line flags")


def _problem(source: str, error: Any) -> str:
    """A pydantic error as one line; an unknown key is named with the nearest known one, so a typo is plain."""
    if error["type"] != "extra_forbidden":
        return problem_line(source, error)
    *parents, key = (str(part) for part in error["loc"])
    model: type[BaseModel] = PretrainConfig
    for parent in parents:  # a key of a nested section (input.max_len): the section's own keys
        annotation = model.model_fields[parent].annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else model
    known = list(model.model_fields)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(known)}"
    return f"{source}: {'.'.join([*parents, key])}: unknown key; {hint}"


def pretrain(config: PretrainConfig, output: str | Path, progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Run contrastive pre-training; save the encoder (weights + tokenizer with the markers, and ``[BLANK]`` when
    blanking) to ``output``. ``resume``: go on from ``output``'s checkpoint; a finished run returns its results."""
    if (config.pairs is None) == (config.labelled is None):
        raise RelencError("give exactly one of --pairs (mined pairs) or --labelled (a labelled data file)")
    out = Path(output)
    acc = make_accelerator(TrainConfig(precision=config.precision))
    if resume and (finished := _finished_results(out, config)) is not None:
        _say(acc, f"{out} holds this run, finished: nothing to resume")
        return finished
    set_seed(config.seed)
    if config.chunk_size and acc.num_processes > 1:
        raise RelencError("--chunk-size (gradient caching) runs in one process; use a larger --batch-size per process")
    probe = None
    if config.probe is not None and acc.is_main_process:  # read and drawn before the encoder loads: fail fast
        probe = FewRelProbe(config.probe, config.probe_episodes, _STRATEGY[config.variant])
    extractor = _extractor(config)
    data = _fitting(_load(config), extractor, acc)
    if (rows := sum(len(unit) for unit in data.units)) < 4:
        raise RelencError(f"need at least 4 sentences to pre-train, got {rows}")
    reducer = Reducer(config.variant, extractor.model.hidden_size("main"))
    loop = _Loop(extractor, ContrastiveModel(extractor.model, reducer, config.temperature), data, config, acc, probe)
    hard = int(data.hard.sum())
    _say(
        acc,
        f"contrastive pre-training ({config.variant}) on {len(data.examples) - hard} sentences and {hard} hard "
        f"negatives, blanking entities with probability {config.blank_probability}",
    )
    losses, seconds = loop.run(out, resume, progress)
    window = max(1, min(5, len(losses) // 2))  # mean loss over the first and the last few steps
    results: dict[str, Any] = {
        "variant": config.variant,
        "sentences": len(data.examples) - hard,
        "hard_negatives": hard,
        "steps": len(losses),
        "first_loss": round(sum(losses[:window]) / window, 4),
        "last_loss": round(sum(losses[-window:]) / window, 4),
        "seconds": round(seconds, 1),
    }
    if probe is not None:
        results["probe"] = probe_summary(probe, loop.probes)
    if acc.is_main_process:  # the encoder, its config, its results and its log appear together, or not at all
        with atomic_dir(out) as tmp:
            save_encoder(extractor, tmp)
            (tmp / CONFIG_NAME).write_text(yaml.safe_dump(config.model_dump(mode="json")), "utf-8")
            (tmp / RESULTS_NAME).write_text(json.dumps(results, indent=2), "utf-8")
            if loop.log.path.exists():
                shutil.copyfile(loop.log.path, tmp / loop.log.path.name)
    return results


def _extractor(config: PretrainConfig) -> RelationExtractor:
    """The encoder read at the variant's parts with no classifier (nothing is built that is not trained), its
    tokenizer given the blank token when blanking (and its embeddings a row for it)."""
    extractor = RelationExtractor.from_encoder(
        config.encoder, _STRATEGY[config.variant], config.input, seed=config.seed
    )
    if config.blank_probability > 0:
        part = extractor.parts["main"]
        part.builder.add_blank_token()
        encoder: Any = extractor.model.encoders["main"]
        fit_embeddings(encoder, part.tokenizer)
    return extractor


def _load(config: PretrainConfig) -> ContrastiveSet:
    """The rows to contrast: mined pairs with their hard negatives, or labelled sentences."""
    if config.pairs is not None:
        pairs = read_pairs(config.pairs, config.max_examples)
        if config.variant != "h" and any(pair.kind == "entity" for pair in pairs):
            raise RelencError(
                f"{config.pairs} holds entity-chain pairs: they pre-train an entity encoder on the head vector; use "
                "--variant h"
            )
        return ContrastiveSet.from_pairs(pairs, config.hard_negatives)
    examples = read_dataset(config.labelled, config.format)[: config.max_examples]  # type: ignore[arg-type]
    return ContrastiveSet.from_labelled(examples, config.negatives == "exclude", str(config.labelled))


def _fitting(data: ContrastiveSet, extractor: RelationExtractor, acc: Any) -> ContrastiveSet:
    """The set without the sentences whose entities lie too far apart for ``max_length`` (named in a warning),
    found once here so that a long run never stops at one. Blanking only shortens a sentence: what fits, fits
    blanked."""
    too_long: set[int] = set()
    for start in range(0, len(data.examples), _CHECK_BATCH):
        part = data.examples[start : start + _CHECK_BATCH]
        try:
            extractor.encode(part)
        except TooLongError:
            too_long.update(start + i for i, example in enumerate(part) if not _fits(extractor, example))
    if too_long:
        first = ", ".join(repr(data.examples[i].id) for i in sorted(too_long)[:5])
        _say(
            acc,
            f"warning: {len(too_long)} of {len(data.examples)} sentences left out: their entities are too far apart "
            f"for max_length (first: {first}); set input.max_length higher to keep them",
        )
    return data.without(too_long)


def _fits(extractor: RelationExtractor, example: Example) -> bool:
    try:
        extractor.encode([example])
    except TooLongError:
        return False
    return True


@dataclass
class _Loop:
    """What the steps of a run share: the model, the rows, the config, the accelerator and the probe (on the main
    process only, when the run has one) with the probes so far."""

    extractor: RelationExtractor
    contrastive: ContrastiveModel
    data: ContrastiveSet
    config: PretrainConfig
    acc: Any
    probe: FewRelProbe | None = None
    probes: list[ProbeResult] = field(default_factory=list)
    log: ProbeLog = field(init=False)

    def run(self, out: Path, resume: bool, progress: bool) -> tuple[list[float], float]:
        """Train over shuffled batches, each process taking its share, checkpointing every ``checkpoint_every``
        steps; returns the loss of every step (the resumed ones included) and the seconds of training."""
        cfg, acc = self.config, self.acc
        per_rank = len(self.data.batches(cfg.batch_size, cfg.seed, 0)) // acc.num_processes
        if per_rank == 0:
            raise RelencError("too few examples for one batch per process")
        total = cfg.max_steps or math.ceil(cfg.epochs * per_rank)
        params = [p for p in self.contrastive.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        model, optimizer = acc.prepare(self.contrastive, optimizer)
        self.log = ProbeLog(out)
        losses, before = _restore(acc, out, cfg) if resume else _fresh(acc, out)
        if acc.is_main_process:  # the log goes with the checkpoint: the probes of its steps, no later ones
            self.probes = self.log.resume(len(losses)) if losses else []
            if not losses:
                self.log.clear()
        meter = _Meter()
        with progress_bar(enabled=progress and acc.is_main_process, fields=_FIELDS) as bar:
            task = bar.add_task(
                "pre-training", total=total, completed=len(losses), loss=0.0, rate=0.0, steps=0.0, probe=self._shown()
            )
            if not losses:
                self._probe(bar, task, meter, losses)
            while len(losses) < total:
                epoch, offset = divmod(len(losses), per_rank)
                batches = self.data.batches(cfg.batch_size, cfg.seed, epoch)
                for rows in batches[acc.process_index : per_rank * acc.num_processes : acc.num_processes][offset:]:
                    losses.append(self._step(model, optimizer, params, rows, len(losses)))
                    meter.update(bar, task, losses[-1], len(rows) * acc.num_processes)
                    if len(losses) == total or (cfg.probe_every and len(losses) % cfg.probe_every == 0):
                        self._probe(bar, task, meter, losses)  # before the checkpoint, which then vouches for it
                    if cfg.checkpoint_every and len(losses) % cfg.checkpoint_every == 0 and len(losses) < total:
                        _save_checkpoint(acc, out, cfg, losses, before + meter.seconds)
                    if len(losses) >= total:
                        break
        return losses, before + meter.seconds

    def _probe(self, bar: Progress, task: TaskID, meter: _Meter, losses: list[float]) -> None:
        """Probe the encoder as it is after ``len(losses)`` steps (main process only), log it and show it; its time
        is left out of the pace the bar shows."""
        if self.probe is None:
            return
        bar.update(task, description="probing")
        since = len(losses) - (self.probes[-1].step if self.probes else 0)
        loss = sum(losses[-since:]) / since if since else None
        result = self.probe.run(self.extractor, len(losses), loss, self.config.precision)
        meter.pause(result.seconds)
        self.probes.append(result)
        self.log.append(result)
        bar.update(task, description="pre-training", probe=self._shown())
        bar.console.print(
            f"step {result.step}: FewRel 5-way 1-shot probe {100 * result.accuracy:.2f}% ± {100 * result.ci95:.2f} "
            f"({len(self.probe.episodes)} episodes, {len(self.probe.examples):,} sentences, {result.seconds:.0f} s)"
        )

    def _shown(self) -> str:
        """The last probe's accuracy for the progress line."""
        return f"{100 * self.probes[-1].accuracy:.1f}%" if self.probes else "-"

    def _step(self, model: Any, optimizer: Any, params: list[torch.nn.Parameter], rows: list[int], step: int) -> float:
        """One optimiser step on the batch ``rows``: blank (drawn from the seed, the step and the process), encode,
        backward (cached chunk by chunk with ``chunk_size``), clip, update. Returns the batch's loss."""
        cfg, acc, extractor = self.config, self.acc, self.extractor
        rng = np.random.default_rng([cfg.seed, step, acc.process_index])
        items = extractor.encode(blank_batch([self.data.examples[i] for i in rows], cfg.blank_probability, rng))
        groups, hard = self.data.group[rows].to(acc.device), self.data.hard[rows].to(acc.device)
        model.train()
        if cfg.chunk_size:
            chunk = cfg.chunk_size
            loss = cached_backward(self.contrastive, extractor, items, groups, hard, chunk, cfg.precision, acc.device)
        else:
            loss = full_backward(model, extractor, items, groups, hard, cfg.precision, acc)
        acc.clip_grad_norm_(params, cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        return float(loss.item())


@dataclass
class _Meter:
    """This process's pace since it started (a resumed run's steps before it do not count): the progress line's
    loss, sentences/s and steps/s; the bar's own columns give done/total and the time left."""

    steps: int = 0
    sentences: int = 0
    start: float = field(default_factory=time.time)

    @property
    def seconds(self) -> float:
        return time.time() - self.start

    def pause(self, seconds: float) -> None:
        """Leave out ``seconds`` spent on something else (a probe) from the pace and the training time."""
        self.start += seconds

    def update(self, bar: Progress, task: TaskID, loss: float, sentences: int) -> None:
        self.steps += 1
        self.sentences += sentences
        elapsed = max(self.seconds, 1e-9)
        bar.update(task, advance=1, loss=loss, rate=self.sentences / elapsed, steps=self.steps / elapsed)


def _fresh(acc: Any, out: Path) -> tuple[list[float], float]:
    """A run from step 0: a checkpoint left by an earlier run in ``out`` is not this run's, so it goes."""
    if acc.is_main_process and (out / CHECKPOINT_DIR).is_dir():
        shutil.rmtree(out / CHECKPOINT_DIR)
    return [], 0.0


def _save_checkpoint(acc: Any, out: Path, config: PretrainConfig, losses: list[float], seconds: float) -> None:
    """Model, optimiser and random states with the losses so far and the config, swapped in as one directory: a
    crash at any point leaves a whole checkpoint."""
    tmp = out / f".{CHECKPOINT_DIR}.tmp"
    acc.wait_for_everyone()
    if acc.is_main_process and tmp.is_dir():  # a killed run's leftovers; another process may write into it next
        shutil.rmtree(tmp)
    acc.wait_for_everyone()
    acc.save_state(str(tmp))
    acc.wait_for_everyone()
    if acc.is_main_process:
        state = {"step": len(losses), "losses": losses, "seconds": seconds, "config": config.model_dump(mode="json")}
        write_text_atomic(tmp / STATE_NAME, json.dumps(state))
        replace_dir(tmp, out / CHECKPOINT_DIR)


def _restore(acc: Any, out: Path, config: PretrainConfig) -> tuple[list[float], float]:
    """The losses and seconds so far from ``out``'s checkpoint, whose model, optimiser and random states are loaded
    (nothing without a checkpoint: the run starts at step 0)."""
    checkpoint = out / CHECKPOINT_DIR
    if not (checkpoint / STATE_NAME).is_file():
        _say(acc, f"no checkpoint in {out}: starting from step 0")
        return [], 0.0
    state = _read_json(checkpoint / STATE_NAME)
    if not {"step", "losses", "seconds", "config"} <= state.keys():
        raise RelencError(f"{checkpoint / STATE_NAME} is not a pre-training state; start again without --resume")
    _check_same_run(checkpoint / STATE_NAME, state["config"], config, _EXTENSIBLE)
    acc.load_state(str(checkpoint))
    _say(acc, f"resuming from step {state['step']}")
    return [float(x) for x in state["losses"]], float(state["seconds"])


def _finished_results(out: Path, config: PretrainConfig) -> dict[str, Any] | None:
    """The results of this run if ``out`` holds it finished (an encoder, no checkpoint), else None."""
    if (out / CHECKPOINT_DIR).is_dir() or not (out / RESULTS_NAME).is_file():
        return None
    saved = yaml.safe_load((out / CONFIG_NAME).read_text("utf-8"))
    _check_same_run(out / CONFIG_NAME, saved, config, frozenset({"checkpoint_every", "probe_every"}))
    return _read_json(out / RESULTS_NAME)


def _check_same_run(source: Path, saved: dict[str, Any], config: PretrainConfig, may_differ: frozenset[str]) -> None:
    """Refuse to resume another run's checkpoint: it would mix two configurations in one encoder."""
    old = PretrainConfig.model_validate(saved).model_dump(mode="json")
    new = config.model_dump(mode="json")
    changed = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key) and key not in may_differ)
    if changed:
        raise RelencError(
            f"{source} is from a run with other settings ({', '.join(changed)} differ): resume with the same ones, "
            "or start again without --resume"
        )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise RelencError(f"{path}: cannot be read ({exc}); start again without --resume") from exc


def _say(acc: Any, message: str) -> None:
    """A line for a person, on stderr (stdout carries the results as JSON), from the main process only."""
    if acc.is_main_process:
        Console(stderr=True, soft_wrap=True).print(message)


def save_encoder(extractor: RelationExtractor, directory: Path) -> None:
    """The encoder alone, as a Hugging Face directory (safetensors + tokenizer with the markers), into
    ``directory`` (the caller makes it atomic)."""
    encoder: Any = extractor.model.encoders["main"]
    save_encoder_files(encoder, extractor.parts["main"].tokenizer, directory)
