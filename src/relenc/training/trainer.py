"""Fine-tuning a :class:`RelationExtractor` with Hugging Face Accelerate.

The same loop runs on this CPU, on one GPU, or on many GPUs and nodes (``accelerate launch``). What it adds to a
plain loop: bf16 autocast where native, AdamW with warm-up and a linear, cosine or constant schedule (optionally
with layer-wise learning-rate decay), gradient clipping and accumulation, length-bucketed batches, optional R-Drop,
dev evaluation with model selection and early stopping, optional averaging of the last epochs' weights, optional
knowledge distillation (a teacher's soft targets in the loss, :mod:`relenc.training.distill`), a JSON-lines log,
atomic checkpoints, ``resume`` that continues an interrupted run to the same result, and an
``on_eval`` hook that hands each dev evaluation to the caller (a
hyperparameter search reports it, and may stop the run by raising).

When every encoder is frozen (the hybrid's joint classifier over two trained encoders) the features are computed
once and only the head trains, which takes seconds instead of minutes.
"""

from __future__ import annotations

import functools
import json
import math
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from rich.console import Console
from torch import nn
from transformers import (
    get_constant_schedule_with_warmup,
    get_cosine_schedule_with_warmup,
    get_linear_schedule_with_warmup,
)

from relenc.data.example import Example
from relenc.encoding.builder import Encoded, TooLongError
from relenc.encoding.collate import length_buckets
from relenc.errors import RelencError
from relenc.evaluation.evaluate import evaluate
from relenc.evaluation.scorers import check_metric, score
from relenc.io import replace_dir, write_lines_atomic, write_text_atomic
from relenc.models.engine import to_device
from relenc.models.extractor import RelationExtractor
from relenc.progress import TRAINING_FIELDS, progress_bar
from relenc.runtime import autocast
from relenc.training.averaging import AVERAGING_DIR, EpochWeights
from relenc.training.config import TrainConfig
from relenc.training.distill import Distillation, SoftTargets
from relenc.training.losses import mlm_corrupt, mlm_loss, rdrop_loss, relation_loss

LOG_NAME = "log.jsonl"
STATE_NAME = "trainer_state.json"
CHECKPOINT_DIR = "checkpoint"

#: Called after each dev evaluation with the optimiser step, the epoch (fractional) and the dev scores
#: (precision, recall, f1 in percent). It may raise to end the run; the exception reaches the caller of ``fit``.
EvalHook = Callable[[int, float, dict[str, float]], None]

#: An encoder parameter's place in the stack: the encoder's name prefix (``root``, so a hybrid's two encoders count
#: their layers apart), then the embeddings or layer N (BERT, MiniLM, RoBERTa, MPNet: ``encoder.layer.N``;
#: DistilBERT: ``transformer.layer.N``).
_LAYERED = re.compile(r"^(?:(?P<root>.*?)\.)?(?:embeddings|(?:encoder|transformer)\.layer\.(?P<layer>\d+))\.")


@dataclass
class FitResult:
    """What a run achieved: best dev scores, steps taken, timing."""

    best_dev: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    steps: int = 0
    train_seconds: float = 0.0
    train_examples_per_second: float = 0.0
    stopped_early: bool = False
    averaging: dict[str, Any] | None = None  # with training.average_last: both dev scores and which model was kept


class _Run:
    """Bookkeeping shared by the full fine-tuning loop and the head-only loop: log, best model, patience."""

    def __init__(
        self,
        extractor: RelationExtractor,
        cfg: TrainConfig,
        output: Path,
        metric: str,
        acc: Accelerator,
        on_eval: EvalHook | None = None,
    ):
        self.extractor = extractor
        self.cfg = cfg
        self.output = output
        self.metric = metric
        self.acc = acc
        self.best_f1 = -1.0
        self.best_dev: dict[str, float] = {}
        self.best_step = 0
        self.bad_evals = 0
        self.console = Console(stderr=True)
        self.on_eval = on_eval
        self.averaging: dict[str, Any] | None = None

    def log(self, record: dict[str, Any]) -> None:
        if self.acc.is_main_process:
            with (self.output / LOG_NAME).open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def after_eval(self, step: int, epoch: float, dev: dict[str, float] | None, train_loss: float) -> bool:
        """Record an evaluation, keep the best model (without dev, ``None``: the latest); return True when patience
        has run out."""
        improved = dev is None or dev["f1"] > self.best_f1
        if improved:
            if dev is not None:
                self.best_f1, self.best_dev = dev["f1"], dev
            self.best_step, self.bad_evals = step, 0
            if self.acc.is_main_process:
                self.extractor.save_pretrained(self.output / "model")
        else:
            self.bad_evals += 1
        self.log(
            {
                "step": step,
                "epoch": round(epoch, 4),
                "train_loss": round(train_loss, 6),
                "dev": dev,
                "best": improved,
                "time": time.time(),
            }
        )
        scores = (
            "no dev: model/ holds this model"
            if dev is None
            else f"dev {self.metric} P {dev['precision']:.2f} R {dev['recall']:.2f} F1 {dev['f1']:.2f}"
            + (" (best)" if improved else "")
        )
        self.console.print(f"step {step} epoch {epoch:.2f}: train loss {train_loss:.4f}, {scores}")
        return self.cfg.patience is not None and self.bad_evals >= self.cfg.patience

    def report(self, step: int, epoch: float, dev: dict[str, float] | None) -> None:
        """Hand an evaluation to the caller's hook, once the run has logged it (and checkpointed, in the full loop):
        whatever the hook raises to end the run leaves a run directory as consistent as an interruption does. A run
        without dev has no scores to hand."""
        if self.on_eval is not None and dev is not None:
            self.on_eval(step, epoch, dev)

    def state(self) -> dict[str, Any]:
        return {
            "best_f1": self.best_f1,
            "best_dev": self.best_dev,
            "best_step": self.best_step,
            "bad_evals": self.bad_evals,
        } | ({"averaging": self.averaging} if self.averaging is not None else {})

    def restore(self, state: dict[str, Any]) -> None:
        self.best_f1 = state["best_f1"]
        self.best_dev = state["best_dev"]
        self.best_step = state["best_step"]
        self.bad_evals = state["bad_evals"]
        self.averaging = state.get("averaging")


def make_accelerator(cfg: TrainConfig) -> Accelerator:
    """An Accelerator for this process; bf16 autocast is applied by the loop itself (``cfg.precision``).

    Accelerate's state is a process-wide singleton that refuses a second, different ``mixed_precision``, so the
    precision is not handed to it: that keeps several runs with different precisions possible in one process.
    """
    # encoders carry parts we never read (BERT's pooler), so DDP must tolerate parameters without gradient
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    return Accelerator(
        gradient_accumulation_steps=cfg.grad_accum, cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp]
    )


def fit(
    extractor: RelationExtractor,
    train: Sequence[Example],
    dev: Sequence[Example],
    cfg: TrainConfig,
    output: str | Path,
    metric: str,
    resume: bool = False,
    progress: bool = True,
    on_eval: EvalHook | None = None,
    distillation: Distillation | None = None,
) -> FitResult:
    """Train ``extractor`` in place; the best dev model is saved to ``output/model``. ``on_eval`` is called after
    every dev evaluation (:data:`EvalHook`). With ``distillation`` the loss is the distillation loss on a teacher's
    soft targets, and its unlabelled examples train along with ``train``.

    Raises :class:`RelencError` when the data does not fit the label set or a checkpoint cannot be resumed.
    """
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    acc = make_accelerator(cfg)
    if acc.is_main_process:
        _prepare_output(out, resume)
    acc.wait_for_everyone()
    labels = _label_ids(extractor, train)
    soft: SoftTargets | None = None
    if distillation is not None:
        train, labels, soft = distillation.training_set(train, labels)
    train, items, kept = _encodable(extractor, train, acc)
    dev = extractor.with_types(dev)  # typed by NER once here, not again at every evaluation
    labels = labels[kept]
    if soft is not None:
        soft = soft.rows(kept)
    run = _Run(extractor, cfg, out, metric, acc, on_eval)
    if set(extractor.spec.roles) <= extractor.model.frozen:
        return _fit_head_only(run, train, items, labels, dev, progress, soft)
    return _fit_full(run, train, items, labels, dev, resume, progress, soft)


def _prepare_output(out: Path, resume: bool) -> None:
    """A resumed run keeps its log up to the checkpoint it continues from; a new run starts without the log,
    state and checkpoint of an earlier one."""
    if resume:
        _truncate_log(out, _checkpoint_step(out))
        return
    for stale in (LOG_NAME, STATE_NAME):
        (out / stale).unlink(missing_ok=True)
    for stale in (CHECKPOINT_DIR, AVERAGING_DIR):
        shutil.rmtree(out / stale, ignore_errors=True)


def _encodable(
    extractor: RelationExtractor, train: Sequence[Example], acc: Accelerator
) -> tuple[list[Example], list[dict[str, Encoded]], list[int]]:
    """The training examples that fit ``max_length``, with their encodings and their indices in ``train`` (to keep
    what goes with them); the others are left out with a warning naming them.

    One unusable sentence (KBP37 has a web page whose entities are 300 word pieces apart) should not stop a
    run over thousands. Training uses the encodings returned here, so the check costs nothing when everything fits;
    example by example only when something does not.
    """
    train = extractor.with_types(train)  # NER types, where the markers need them, once for all
    try:
        return list(train), extractor.encode(train), list(range(len(train)))
    except TooLongError:
        pass
    kept: list[Example] = []
    items: list[dict[str, Encoded]] = []
    indices: list[int] = []
    dropped: list[Example] = []
    for i, ex in enumerate(train):
        try:
            items.extend(extractor.encode([ex]))
            kept.append(ex)
            indices.append(i)
        except TooLongError:
            dropped.append(ex)
    max_length = next(iter(extractor.parts.values())).builder.config.max_length
    acc.print(
        f"warning: {len(dropped)} of {len(train)} training examples left out: their entities are too far apart "
        f"for max_length {max_length} ({', '.join(repr(ex.id) for ex in dropped[:5])}"
        f"{' ...' if len(dropped) > 5 else ''}); set model.input.max_length higher (the encoder allows up to "
        f"its position limit) to keep them"
    )
    if not kept:
        raise RelencError("no training example fits max_length")
    return kept, items, indices


def _label_ids(extractor: RelationExtractor, examples: Sequence[Example]) -> torch.Tensor:
    ids = []
    for ex in examples:
        if ex.label is None:
            raise RelencError(f"training example {ex.id!r} has no label")
        ids.append(extractor.labels.index(ex.label))
    return torch.tensor(ids, dtype=torch.long)


def _optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    return adamw(
        model,
        cfg.lr,
        cfg.head_lr,
        cfg.weight_decay,
        lambda name: name.startswith(("head.", "mlm_heads.")),
        cfg.layer_decay,
    )


def adamw(
    model: nn.Module,
    lr: float,
    head_lr: float,
    weight_decay: float,
    is_new: Callable[[str], bool],
    layer_decay: float = 1.0,
) -> torch.optim.Optimizer:
    """AdamW with the usual no-decay set (biases, norms) and a larger learning rate for the parameters that start
    fresh (``is_new(name)``: a classifier or span head) than for the pre-trained encoder, whose rates fall layer by
    layer with ``layer_decay`` < 1 (:func:`layer_rates`)."""
    trainable = [(name, param) for name, param in model.named_parameters() if param.requires_grad]
    rates = layer_rates([name for name, _ in trainable if not is_new(name)], lr, layer_decay)
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, param in trainable:
        rate = head_lr if is_new(name) else rates[name]
        decay = 0.0 if param.ndim < 2 or "norm" in name.lower() else weight_decay
        groups.setdefault((rate, decay), []).append(param)
    return torch.optim.AdamW(
        [{"params": ps, "lr": rate, "weight_decay": wd} for (rate, wd), ps in groups.items()],
        betas=(0.9, 0.999),
        eps=1e-8,
    )


def layer_rates(names: Iterable[str], lr: float, decay: float) -> dict[str, float]:
    """The learning rate of each pre-trained parameter under layer-wise decay.

    In an encoder of L layers, the top layer (L-1) trains at ``lr``, layer k at ``lr * decay**(L-1-k)`` and the
    embeddings at ``lr * decay**L``; what sits in neither (BERT's pooler, MPNet's relative-attention bias shared by
    every layer) keeps ``lr``. Each encoder counts its own layers (the hybrid's two may differ in depth). With
    ``decay`` 1 every rate is exactly ``lr``, as without the option.

    Why: the lower layers hold general features that fine-tuning on a few thousand sentences should move less than
    the top ones (discriminative fine-tuning, as in ULMFiT and the ELECTRA and DeBERTa recipes).
    """
    names = list(names)
    found = {name: match for name in names if (match := _LAYERED.match(name))}
    depth: dict[str, int] = {}
    for match in found.values():
        if match["layer"] is not None:
            root = match["root"] or ""
            depth[root] = max(depth.get(root, 0), int(match["layer"]) + 1)
    if decay != 1.0 and not depth:
        raise RelencError(
            "training.layer_decay needs an encoder whose layers are named encoder.layer.N (BERT, MiniLM, RoBERTa, "
            "MPNet) or transformer.layer.N (DistilBERT); this model has none: set layer_decay to 1"
        )
    rates = dict.fromkeys(names, lr)
    for name, match in found.items():
        layers = depth.get(match["root"] or "", 0)
        below = layers if match["layer"] is None else layers - 1 - int(match["layer"])
        rates[name] = lr * decay**below
    return rates


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int) -> Any:
    """The learning-rate schedule of ``cfg.schedule``: a linear warm-up over ``warmup_ratio`` of the steps, then a
    linear or cosine decay to 0 at ``total_steps``, or a constant rate."""
    warmup = int(cfg.warmup_ratio * total_steps)
    if cfg.schedule == "constant":
        return get_constant_schedule_with_warmup(optimizer, warmup)
    decay = get_cosine_schedule_with_warmup if cfg.schedule == "cosine" else get_linear_schedule_with_warmup
    return decay(optimizer, warmup, total_steps)


@dataclass
class BatchSchedule:
    """Which batches each epoch gives this process, and how many optimiser steps the run takes.

    Batches are length-bucketed and reshuffled per epoch from the seed, so a resumed run sees exactly the batches
    the interrupted one would have: the step count alone says where to continue.
    """

    lengths: list[int]
    cfg: TrainConfig
    world: int
    rank: int

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        batches = length_buckets(self.lengths, self.cfg.batch_size, shuffle=True, seed=self.cfg.seed + epoch)
        per_rank = len(batches) // self.world
        if per_rank == 0:
            raise RelencError(f"{len(self.lengths)} training examples make fewer batches than processes ({self.world})")
        return batches[self.rank : per_rank * self.world : self.world]

    @property
    def batches_per_epoch(self) -> int:
        return len(self.epoch_batches(0))

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.batches_per_epoch // self.cfg.grad_accum)

    @property
    def total_steps(self) -> int:
        return self.cfg.max_steps or math.ceil(self.cfg.epochs * self.steps_per_epoch)

    @property
    def eval_every(self) -> int:
        return self.cfg.eval_every or self.steps_per_epoch


def _fit_full(
    run: _Run,
    train: Sequence[Example],
    items: list[dict[str, Encoded]],
    labels: torch.Tensor,
    dev: Sequence[Example],
    resume: bool,
    progress: bool,
    soft: SoftTargets | None,
) -> FitResult:
    """Fine-tune encoders and head together: the bucketed, accumulated, checkpointed loop."""
    extractor, cfg, out, acc = run.extractor, run.cfg, run.output, run.acc
    cut = sum(1 for item in items if any(enc.truncated for enc in item.values()))
    if cut:
        acc.print(f"{cut} of {len(items)} training examples were cut around their entities to fit max_length")
    lengths = [max(len(enc.input_ids) for enc in item.values()) for item in items]
    plan = BatchSchedule(lengths, cfg, acc.num_processes, acc.process_index)
    total_steps = plan.total_steps
    optimizer = _optimizer(extractor.model, cfg)
    scheduler = make_scheduler(optimizer, cfg, total_steps)
    model, optimizer, scheduler = acc.prepare(extractor.model, optimizer, scheduler)
    step, finished_in = _resume(run, acc, out) if resume else (0, None)
    if finished_in is not None:
        return _result(run, step, finished_in, 0, False)
    kept = _epoch_weights(run, step)
    loss_ema, seen, stopped, start = 0.0, 0, False, time.time()
    with progress_bar(enabled=progress and acc.is_main_process, fields=TRAINING_FIELDS) as bar:
        task = bar.add_task("training", total=total_steps, completed=step, loss=0.0, rate=0.0)
        while step < total_steps and not stopped:
            epoch, offset = divmod(step * cfg.grad_accum, plan.batches_per_epoch)
            model.train()
            for batch_idx in plan.epoch_batches(epoch)[offset:]:
                loss = _train_step(extractor, model, acc, cfg, items, labels, batch_idx, optimizer, scheduler, soft)
                seen += len(batch_idx) * acc.num_processes
                loss_ema = loss if loss_ema == 0.0 else 0.95 * loss_ema + 0.05 * loss
                if not acc.sync_gradients:
                    continue
                step += 1
                bar.update(task, advance=1, loss=loss_ema, rate=seen / max(time.time() - start, 1e-9))
                if kept is not None and (step % plan.steps_per_epoch == 0 or step >= total_steps):
                    kept.save(step)  # before the checkpoint: a run resumed from it has every epoch's weights
                if step % plan.eval_every == 0 or step >= total_steps:
                    stopped = _evaluate_and_checkpoint(run, acc, dev, step, plan.steps_per_epoch, loss_ema, out)
                    model.train()
                if stopped or step >= total_steps:
                    break
    elapsed = time.time() - start
    if kept is not None:
        _average_epochs(run, kept, functools.partial(_dev_scores, run, dev), plan.steps_per_epoch)
    _write_final_state(acc, out, step, run, elapsed)
    if kept is not None:
        kept.remove()
    return _result(run, step, elapsed, seen, stopped)


def _resume(run: _Run, acc: Accelerator, out: Path) -> tuple[int, float | None]:
    """Restore the checkpoint: the step to continue from (0 without one), and the recorded training seconds when
    the run had already finished (None otherwise), so the caller returns its result without training again."""
    checkpoint = out / CHECKPOINT_DIR
    if not checkpoint.is_dir():
        return 0, None
    acc.load_state(str(checkpoint))
    state = _read_state(checkpoint / STATE_NAME)
    run.restore(state["run"])
    step = int(state["step"])
    final = _read_state(out / STATE_NAME) if (out / STATE_NAME).is_file() else {}
    if final.get("done") and final.get("step") == step:
        run.restore(final["run"])  # the finished run's record, averaging included
        acc.print("this run has already finished; nothing to resume")
        return step, float(final.get("train_seconds", 0.0))
    acc.print(f"resuming from step {step}")
    return step, None


def _read_state(path: Path) -> dict[str, Any]:
    """A trainer state file; a missing or damaged one (a checkpoint from before relenc kept its state inside it)
    is an error that says to start again."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RelencError(
            f"{path}: cannot read the trainer state ({exc}); start the run again with --overwrite"
        ) from exc
    if not isinstance(state, dict) or "step" not in state:
        raise RelencError(f"{path}: not a trainer state; start the run again with --overwrite")
    return state


def _checkpoint_step(out: Path) -> int:
    """The step of the checkpoint a resumed run continues from (0 without one: it starts again)."""
    checkpoint = out / CHECKPOINT_DIR
    return int(_read_state(checkpoint / STATE_NAME)["step"]) if checkpoint.is_dir() else 0


def _truncate_log(out: Path, step: int) -> None:
    """Keep the log lines up to the checkpoint's ``step``: a run stopped between an evaluation and its checkpoint
    logged an evaluation that the resumed run repeats, and a run killed while writing may have left half a line."""
    log = out / LOG_NAME
    if not log.is_file():
        return
    lines = log.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if (logged := _logged_step(line)) is not None and logged <= step]
    if len(kept) < len(lines):
        write_lines_atomic(log, kept)
        print(f"{log}: {len(lines) - len(kept)} lines after step {step} (the checkpoint) removed", file=sys.stderr)


def _logged_step(line: str) -> int | None:
    """The step of a log line; None for a line cut short by a crash while it was written."""
    try:
        return int(json.loads(line)["step"])
    except (ValueError, KeyError, TypeError):
        return None


def _train_step(
    extractor: RelationExtractor,
    model: nn.Module,
    acc: Accelerator,
    cfg: TrainConfig,
    items: list[dict[str, Encoded]],
    labels: torch.Tensor,
    batch_idx: list[int],
    optimizer: Any,
    scheduler: Any,
    soft: SoftTargets | None = None,
) -> float:
    """One batch forward and backward (cross-entropy, or the distillation loss with ``soft``; R-Drop's term and the
    masked-LM loss when they are on); the optimiser steps when gradient accumulation says so. Returns the batch's
    loss."""
    inputs = to_device(extractor.collate([items[i] for i in batch_idx]), acc.device)
    targets = labels[batch_idx].to(acc.device)
    with acc.accumulate(model):
        mlm_pos, mlm_targets = _mlm_inputs(extractor, cfg, inputs) if cfg.mlm_weight > 0 else ({}, {})
        if cfg.rdrop_alpha > 0:  # R-Drop: the batch twice in one pass, each copy under its own dropout masks
            inputs, mlm_pos, mlm_targets = _twice(inputs), _twice(mlm_pos), _twice(mlm_targets)
        with autocast(cfg.precision, acc.device):
            output = model(inputs, mlm_pos or None)
        loss = relation_objective(output.logits, targets, cfg, soft.rows(batch_idx) if soft is not None else None)
        for role, logits in output.mlm_logits.items():
            loss = loss + cfg.mlm_weight * mlm_loss(logits, mlm_targets[role])
        acc.backward(loss)
        if acc.sync_gradients:
            acc.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return float(loss.item())


def _mlm_inputs(
    extractor: RelationExtractor, cfg: TrainConfig, inputs: dict[str, dict[str, torch.Tensor]]
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Corrupt the input ids of every role with a masked-LM head, in place; return the picked positions and the
    original ids there (the targets), per role."""
    mlm_pos, mlm_targets = {}, {}
    for role in extractor.model.mlm_heads:
        mask_id = int(extractor.parts[role].tokenizer.mask_token_id)
        ids, picked, tgt = mlm_corrupt(
            inputs[role]["input_ids"], inputs[role]["mlm_candidates"], mask_id, cfg.mlm_probability
        )
        inputs[role]["input_ids"] = ids
        mlm_pos[role], mlm_targets[role] = picked, tgt
    return mlm_pos, mlm_targets


def _twice(batch: dict[str, Any]) -> dict[str, Any]:
    """Every tensor of a (nested) batch stacked on itself: rows ``i`` and ``n + i`` are the same example, so one
    pass gives R-Drop its two predictions under independent dropout masks (one pass of twice the rows rather than
    two passes, which distributed training would count as two uses of each parameter)."""
    return {
        key: _twice(value) if isinstance(value, dict) else torch.cat([value, value]) for key, value in batch.items()
    }


def relation_objective(
    logits: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig, soft: SoftTargets | None = None
) -> torch.Tensor:
    """The relation loss of a batch: the (smoothed) cross-entropy, or with ``soft`` (the batch's soft targets) the
    distillation loss (:func:`relenc.training.distill.distillation_loss`); with R-Drop on, ``logits`` holds the batch
    twice (:func:`_twice`), and the loss is the mean of that loss over both copies plus ``rdrop_alpha`` times their
    symmetric KL divergence (:func:`relenc.training.losses.rdrop_loss`)."""
    if cfg.rdrop_alpha <= 0:
        return _supervised_loss(logits, targets, cfg, soft)
    first, second = logits.chunk(2)
    twice = soft.rows(torch.arange(len(targets)).repeat(2)) if soft is not None else None
    both = _supervised_loss(logits, torch.cat([targets, targets]), cfg, twice)
    return both + cfg.rdrop_alpha * rdrop_loss(first, second)


def _supervised_loss(
    logits: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig, soft: SoftTargets | None
) -> torch.Tensor:
    """The (smoothed) cross-entropy, or the distillation loss when the batch has soft targets."""
    if soft is None:
        return relation_loss(logits, targets, cfg.label_smoothing)
    return soft.loss(logits, targets, cfg.label_smoothing)


def _evaluate_and_checkpoint(
    run: _Run,
    acc: Accelerator,
    dev: Sequence[Example],
    step: int,
    steps_per_epoch: int,
    train_loss: float,
    out: Path,
) -> bool:
    dev_scores = _dev_scores(run, dev)
    stop = run.after_eval(step, step / steps_per_epoch, dev_scores, train_loss)
    _checkpoint(run, acc, out, step)
    run.report(step, step / steps_per_epoch, dev_scores)
    return stop


def _dev_scores(run: _Run, dev: Sequence[Example]) -> dict[str, float] | None:
    """The extractor's precision, recall and F1 on dev, in percent (None for a run without dev)."""
    if not dev:
        return None
    cfg = run.cfg
    ev = evaluate(run.extractor, dev, run.metric, cfg.eval_batch_size, cfg.precision, source=cfg.dev)
    return {"precision": ev.precision, "recall": ev.recall, "f1": ev.f1}


def _epoch_weights(run: _Run, step: int) -> EpochWeights | None:
    """Where the run keeps its epoch-end weights for ``training.average_last`` (None when it is off); weights kept
    after ``step``, the step a resumed run continues from, are dropped: the run keeps them again."""
    if run.cfg.average_last == 0:
        return None
    kept = EpochWeights(run.output / AVERAGING_DIR, run.cfg.average_last, run.extractor.model, run.acc.is_main_process)
    kept.forget_after(step)
    return kept


def _average_epochs(
    run: _Run, kept: EpochWeights, dev_scores: Callable[[], dict[str, float] | None], steps_per_epoch: int
) -> None:
    """Evaluate the uniform average of the kept epoch-end weights on dev; it replaces the saved best model when its
    dev F1 is at least as high (an average as good as the best single checkpoint is the safer bet: it rests on
    several epochs). ``run.averaging`` records both scores and which model was kept. The extractor in memory keeps
    the averaged weights either way."""
    run.acc.wait_for_everyone()  # the main process has written every epoch's weights
    steps = kept.steps()
    if not steps:  # stopped early before the first epoch ended
        run.console.print("no epoch ended: nothing to average, the best model stays")
        run.averaging = {"epochs": [], "steps": [], "best_dev": run.best_dev, "averaged_dev": None, "model": "best"}
        return
    kept.load_average()
    run.acc.wait_for_everyone()  # every process has read the files (the main one deletes them when the run is done)
    dev = dev_scores()
    if dev is None:  # the config refuses average_last without dev; a run that gets here anyway must not guess
        raise RelencError("checkpoint averaging compares the average with the best model on dev, and there is none")
    chosen = "averaged" if dev["f1"] >= run.best_f1 else "best"
    if chosen == "averaged" and run.acc.is_main_process:
        run.extractor.save_pretrained(run.output / "model")
    epochs = [round(s / steps_per_epoch, 4) for s in steps]
    run.averaging = {"epochs": epochs, "steps": steps, "best_dev": run.best_dev, "averaged_dev": dev, "model": chosen}
    run.console.print(
        f"average of the weights after epochs {', '.join(map(str, epochs))}: dev {run.metric} F1 {dev['f1']:.2f} "
        f"(best single model {run.best_f1:.2f}); model/ holds the {chosen} model"
    )


def _checkpoint(run: _Run, acc: Accelerator, out: Path, step: int) -> None:
    """Save model, optimiser, scheduler and RNG state with the step and the best-so-far bookkeeping, and swap them
    in as one directory: a crash at any point leaves a checkpoint whose state matches its weights."""
    tmp = out / f".{CHECKPOINT_DIR}.tmp"
    acc.wait_for_everyone()
    if acc.is_main_process:  # one process clears the leftovers: another may already be writing its state there
        shutil.rmtree(tmp, ignore_errors=True)
    acc.wait_for_everyone()
    acc.save_state(str(tmp))
    acc.wait_for_everyone()  # every process's state is in tmp before it is swapped in
    if acc.is_main_process:
        write_text_atomic(tmp / STATE_NAME, json.dumps({"step": step, "run": run.state()}))
        replace_dir(tmp, out / CHECKPOINT_DIR)


def _write_final_state(acc: Accelerator, out: Path, step: int, run: _Run, train_seconds: float) -> None:
    """Mark the run finished (``done``), so that resuming it returns its result without training again."""
    if not acc.is_main_process:
        return
    state = {"step": step, "run": run.state(), "done": True, "train_seconds": train_seconds}
    write_text_atomic(out / STATE_NAME, json.dumps(state))


def _result(run: _Run, steps: int, seconds: float, seen: int, stopped: bool) -> FitResult:
    return FitResult(
        best_dev=run.best_dev,
        best_step=run.best_step,
        steps=steps,
        train_seconds=round(seconds, 2),
        train_examples_per_second=round(seen / seconds, 2) if seconds > 0 else 0.0,
        stopped_early=stopped,
        averaging=run.averaging,
    )


def extract_features(
    extractor: RelationExtractor,
    examples: Sequence[Example],
    batch_size: int,
    precision: str,
    encoded: Sequence[dict[str, Encoded]] | None = None,
) -> torch.Tensor:
    """The classifier's input vectors ([h; t; m] etc.) for every example, in order, as fp32 (``encoded``: the
    examples' encodings, when the caller has them already)."""
    vectors = extractor.embed(examples, batch_size=batch_size, precision=precision, encoded=encoded)
    return torch.from_numpy(np.concatenate([vectors[part] for part in extractor.spec.parts], axis=1))


def _fit_head_only(
    run: _Run,
    train: Sequence[Example],
    items: list[dict[str, Encoded]],
    labels: torch.Tensor,
    dev: Sequence[Example],
    progress: bool,
    soft: SoftTargets | None,
) -> FitResult:
    """All encoders frozen: compute features once, then train the head for ``cfg.head_epochs`` epochs."""
    extractor, cfg, acc = run.extractor, run.cfg, run.acc
    console = Console(stderr=True)
    console.print("all encoders are frozen: computing features once, then training the classifier head")
    start = time.time()
    x_train = extract_features(extractor, train, cfg.eval_batch_size, cfg.precision, encoded=items)
    head = extractor.model.head
    if head is None:
        raise RelencError("training needs a classifier head: build the extractor with labels")
    dev_scores: Callable[[], dict[str, float] | None] = lambda: None  # noqa: E731  (a run without dev)
    if dev:
        x_dev = extract_features(extractor, dev, cfg.eval_batch_size, cfg.precision)
        dev_scores = functools.partial(_head_dev_scores, run, head, x_dev, [ex.label or "" for ex in dev])
    optimizer = torch.optim.AdamW(head.parameters(), lr=cfg.head_lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    n_batches = math.ceil(len(train) / cfg.batch_size)
    step = 0
    stopped = False
    kept = _epoch_weights(run, 0)
    with progress_bar(enabled=progress and acc.is_main_process, fields=TRAINING_FIELDS) as bar:
        task = bar.add_task("head", total=cfg.head_epochs * n_batches, loss=0.0, rate=0.0)
        for epoch in range(cfg.head_epochs):
            head.train()
            order = torch.randperm(len(train), generator=generator)
            total = 0.0
            for b in range(n_batches):
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                features = x_train[idx].repeat(2, 1) if cfg.rdrop_alpha > 0 else x_train[idx]
                batch_soft = soft.rows(idx) if soft is not None else None
                loss = relation_objective(head(features), labels[idx], cfg, batch_soft)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(head.parameters(), cfg.max_grad_norm)
                optimizer.step()
                total += loss.item()
                step += 1
                bar.update(task, advance=1, loss=loss.item(), rate=step * cfg.batch_size / (time.time() - start))
            if kept is not None:
                kept.save(step)
            scores = dev_scores()
            stopped = run.after_eval(step, epoch + 1, scores, total / n_batches)
            run.report(step, epoch + 1, scores)
            if stopped:
                break
    if kept is not None:
        _average_epochs(run, kept, dev_scores, n_batches)
        kept.remove()
    return _result(run, step, time.time() - start, step * cfg.batch_size, stopped)


def _head_dev_scores(run: _Run, head: nn.Module, x_dev: torch.Tensor, gold: list[str]) -> dict[str, float]:
    """The head's precision, recall and F1 on the dev features, in percent."""
    labels = run.extractor.labels
    head.eval()
    with torch.inference_mode():
        pred = [labels.labels[i] for i in head(x_dev).argmax(-1).tolist()]
    result = score(gold, pred, metric=check_metric(run.metric), negative=labels.negative)
    return {"precision": result.precision, "recall": result.recall, "f1": result.f1}
