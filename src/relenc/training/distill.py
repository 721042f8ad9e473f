"""Knowledge distillation: a student learns from a trained teacher's soft labels as well as from the gold ones.

Why: a large teacher (MPNet) scores better than a small student (MiniLM), but the student is several times faster.
The teacher's distribution over the labels, softened by a temperature, also says which wrong labels it finds close
to the right one. A student that matches it learns more from each sentence than a gold label alone tells it, and it
can learn from sentences nobody labelled (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network").

How it fits in: a run config with a ``distill`` section (:class:`~relenc.training.config.DistillConfig`) is an
ordinary run (:func:`relenc.training.run.train_run`) with two more steps:

1. before the run directory is touched, :func:`check_teacher` reads the teacher's config and the unlabelled
   sentences. The teacher's labels must be the data's. Bad input fails with nothing changed, and an old run that
   ``--overwrite`` would replace is kept;
2. after it, :meth:`Teacher.distillation` gives the teacher's logits for every training and unlabelled example.
   They are computed once through the teacher's own inference engine and cached in ``RUN/teacher_logits.safetensors``,
   so a resumed run reads them instead of running the teacher again.

The trainer (:func:`relenc.training.trainer.fit` with ``distillation``) then trains as usual, with
:func:`distillation_loss` in place of the plain cross-entropy. Checkpoints, resume, dev evaluation, model selection
and ``results.json`` are those of every run.

The unlabelled sentences are read with :func:`relenc.pretraining.data.read_pairs`, the one reader of ``relenc
mine-pairs`` output. It is imported only when a run has unlabelled data, because pre-training imports this package.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from rich.console import Console
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.encoding.builder import TooLongError
from relenc.errors import DataError, RelencError
from relenc.models import checks
from relenc.models.engine import Inputs, Item, counting_progress, in_order
from relenc.models.extractor import CONFIG_NAME, RelationExtractor, model_root
from relenc.training.config import DistillConfig, RunConfig, TrainConfig
from relenc.training.defaults import apply_recipe
from relenc.training.losses import relation_loss

#: The teacher's logits in the run directory (one row per training example, then per unlabelled one).
CACHE_NAME = "teacher_logits.safetensors"
#: The gold label id of an unlabelled example: the cross-entropy skips it, so it trains on the soft targets alone.
IGNORE = -100


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    targets: torch.Tensor,
    temperature: float,
    alpha: float,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """The distillation loss of a batch, in fp32: each example's ``alpha * T^2 * KL(softmax(teacher / T) ||
    softmax(student / T)) + (1 - alpha) * CE(student, gold)``, averaged over the batch. An unlabelled example
    (target :data:`IGNORE`) has the first term only.

    Why T^2: the gradient of the softened term shrinks as 1 / T^2, so the factor keeps the balance between the two
    terms the same whatever T is (Hinton et al. 2015). The cross-entropy is the (smoothed) mean over the labelled
    rows times their share of the batch, so every row weighs the same. A batch without unlabelled rows gives exactly
    ``alpha * T^2 * mean KL + (1 - alpha) * CE``, and with ``alpha`` 0 it is the plain cross-entropy, bit for bit.
    """
    log_student = (student.float() / temperature).log_softmax(-1)
    log_teacher = (teacher.float() / temperature).log_softmax(-1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(-1).mean()
    labelled = targets != IGNORE
    n = int(labelled.sum())
    if n == 0:
        ce = student.float().sum() * 0.0  # a batch of unlabelled rows: no gold term, but a gradient path
    else:
        ce = relation_loss(student[labelled], targets[labelled], label_smoothing) * (n / len(targets))
    return (1 - alpha) * ce + alpha * temperature**2 * kl


@dataclass(frozen=True)
class SoftTargets:
    """A teacher's logits for some examples (a row each, in the student's label order) and how the student learns
    from them."""

    logits: torch.Tensor
    temperature: float
    alpha: float

    def rows(self, index: Sequence[int] | torch.Tensor) -> SoftTargets:
        """The soft targets of these rows (a batch, or the examples a run keeps)."""
        return replace(self, logits=self.logits[index])

    def loss(self, student: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """:func:`distillation_loss` of the student's logits for these rows."""
        teacher = self.logits.to(student.device)
        return distillation_loss(student, teacher, targets, self.temperature, self.alpha, label_smoothing)


@dataclass(frozen=True)
class Distillation:
    """What a run hands the trainer: soft targets for its training examples, then for the ``unlabelled`` ones. A
    row of NaN marks an example the teacher could not read."""

    targets: SoftTargets
    unlabelled: tuple[Example, ...]

    def training_set(
        self, train: Sequence[Example], labels: torch.Tensor
    ) -> tuple[list[Example], torch.Tensor, SoftTargets]:
        """The examples the student trains on: ``train`` (with its gold label ids ``labels``) and the unlabelled
        ones (label :data:`IGNORE`), each with its soft targets. Examples the teacher could not read are left out
        (:meth:`Teacher.distillation` named them)."""
        examples = [*train, *self.unlabelled]
        if len(examples) != len(self.targets.logits):
            raise ValueError(f"{len(self.targets.logits)} rows of soft targets for {len(examples)} examples")
        gold = torch.cat([labels, torch.full((len(self.unlabelled),), IGNORE, dtype=torch.long)])
        read = (~self.targets.logits.isnan().any(dim=1)).nonzero().squeeze(1).tolist()
        return [examples[i] for i in read], gold[read], self.targets.rows(read)


def teacher_root(path: str) -> Path:
    """The teacher's model directory (``path`` itself, or a run directory's ``model/``); an error says what is
    wrong with ``path`` otherwise."""
    if not Path(path).exists():
        raise RelencError(f"{path}: the teacher does not exist; give a trained relenc model (or run) directory")
    root = model_root(path)
    if root is None:
        raise RelencError(
            f"{path}: not a trained relenc model (no {CONFIG_NAME} in it or in its model/); give a model (or run) "
            "directory as the teacher"
        )
    return root


def student_config(base: RunConfig, flags: dict[str, Any], distill: dict[str, Any]) -> RunConfig:
    """The run config of ``relenc distill``: ``base`` (a YAML file, or the defaults) with the training ``flags``
    given (dotted paths), ``distill``'s given values over ``base``'s distill section, and the student's defaults.

    The student takes the teacher's strategy and input settings (markers, prompt template, max length) unless a
    flag or ``base`` sets them. The same input lets the student read each sentence as the teacher did. Its encoder
    is every run's default (minilm) unless set. ``None`` values mean "not given". The measured defaults of
    :mod:`relenc.training.defaults` (the ``ht`` budget on MiniLM) apply as in ``relenc train``, so a distilled
    student and a plainly trained one have the same budget.
    """
    given = {key: value for key, value in distill.items() if value is not None}
    section = (base.distill.model_dump(mode="json") if base.distill is not None else {}) | given
    if "teacher" not in section:
        raise RelencError("no teacher: give --teacher MODEL_DIR (or distill.teacher in the config)")
    saved = checks.read_config(teacher_root(section["teacher"]) / CONFIG_NAME)
    defaults: dict[str, Any] = {}
    if "strategy" not in base.model.model_fields_set:
        defaults["model.strategy"] = saved.spec.name
    if "input" not in base.model.model_fields_set:  # each role's prompt follows the student's strategy (train_run)
        defaults["model.input"] = saved.inputs[saved.spec.roles[0]].model_dump(mode="json", exclude={"prompt"})
    chosen = defaults | {key: value for key, value in flags.items() if value is not None}
    return base.override(**apply_recipe(base, chosen), distill=section)  # the budget a plain run would get


def read_unlabelled(path: str, limit: int | None = None) -> list[Example]:
    """The sentences of mined pairs (each pair's ``a`` and ``b``, with their head and tail), without labels, each
    once, in file order. With ``limit`` only the first ``limit`` pairs are read, and at most ``limit`` sentences
    are kept (fewer only when those pairs repeat sentences)."""
    from relenc.pretraining.data import read_pairs  # here, not above: relenc.pretraining imports this package

    pairs = read_pairs(path, limit)
    if not pairs:
        raise DataError("holds no pairs; give a relenc mine-pairs output or a JSONL file of 'a'/'b' records", path)
    seen: set[tuple[Any, ...]] = set()
    sentences: list[Example] = []
    for ex in (ex for pair in pairs for ex in (pair.a, pair.b)):
        key = (ex.tokens, ex.head.start, ex.head.end, ex.tail.start, ex.tail.end)
        if key not in seen:
            seen.add(key)
            sentences.append(ex.with_label(None))
    return sentences[:limit]


@dataclass(frozen=True)
class Teacher:
    """A checked teacher: its model directory and saved config, the run's distillation settings, the unlabelled
    sentences, and ``order``, the teacher's column of each of the student's labels."""

    root: Path
    saved: checks.SavedConfig
    settings: DistillConfig
    unlabelled: tuple[Example, ...]
    order: tuple[int, ...]

    def distillation(self, train: Sequence[Example], out: Path, cfg: TrainConfig, progress: bool) -> Distillation:
        """The teacher's soft targets for ``train`` and the unlabelled sentences: read from the run directory's
        cache, or computed (in the main process, in ``cfg``'s eval batch size and precision) and cached there."""
        examples = [*train, *self.unlabelled]
        key = {"examples": _digest(examples), "labels": json.dumps([self.saved.labels.labels[i] for i in self.order])}
        cache = out / CACHE_NAME
        console = Console(stderr=True)
        processes = PartialState(cpu=not torch.cuda.is_available())  # the settings the trainer's Accelerator uses
        if processes.is_main_process:
            if cache.is_file():
                console.print(f"teacher logits: read from {cache}")
            else:
                batch_size, precision = cfg.eval_batch_size, cfg.precision
                logits = _teacher_logits(
                    self.root, examples, self.order, batch_size, precision, processes.device, progress
                )
                _write_cache(cache, logits, key)
                console.print(f"teacher logits of {len(examples)} examples ({self.root}) saved in {cache}")
        processes.wait_for_everyone()
        logits = _read_cache(cache, key)
        self._report_unread(logits, examples, processes.is_main_process)
        targets = SoftTargets(logits, self.settings.temperature, self.settings.alpha)
        return Distillation(targets, self.unlabelled)

    def _report_unread(self, logits: torch.Tensor, examples: Sequence[Example], show: bool) -> None:
        """Name the examples the teacher could not read, which training leaves out (``show``: in this process, the
        main one); none at all is an error."""
        unread = logits.isnan().any(dim=1).nonzero().squeeze(1).tolist()
        if not unread:
            return
        max_length = self.saved.inputs[self.saved.spec.roles[0]].max_length
        if len(unread) == len(examples):
            raise RelencError(
                f"{self.root}: the teacher can read none of the {len(examples)} examples (their entities are too far "
                f"apart for its max_length {max_length})"
            )
        if not show:
            return
        ids = ", ".join(repr(examples[i].id) for i in unread[:5]) + (" ..." if len(unread) > 5 else "")
        Console(stderr=True).print(
            f"warning: {len(unread)} of {len(examples)} examples are left out of training: their entities are too "
            f"far apart for the teacher's max_length {max_length} ({ids})",
            markup=False,
        )


def check_teacher(settings: DistillConfig, labels: LabelSet, source: str | None = None) -> Teacher:
    """The teacher of ``settings``, checked against the run's ``labels`` (read from ``source``, for the message),
    with its unlabelled sentences read: every problem with the teacher or that data is an error here, before the
    run directory changes."""
    root = teacher_root(settings.teacher)
    saved = checks.read_config(root / CONFIG_NAME)
    ours, theirs = set(labels.labels), set(saved.labels.labels)
    if ours != theirs:
        differences = [
            f"only the {who} has {_listed(sorted(extra))}"
            for who, extra in (("teacher", theirs - ours), ("training data", ours - theirs))
            if extra
        ]
        data = f"the training data's ({source})" if source else "the training data's"
        raise RelencError(
            f"{root / CONFIG_NAME}: the teacher's labels differ from {data}: {'; '.join(differences)}; a student "
            "learns the teacher's labels, so distil on data with the same label set"
        )
    unlabelled = read_unlabelled(settings.unlabelled, settings.max_unlabelled) if settings.unlabelled else []
    order = tuple(saved.labels.labels.index(label) for label in labels.labels)
    return Teacher(root, saved, settings, tuple(unlabelled), order)


def _listed(labels: Sequence[str]) -> str:
    return ", ".join(labels[:5]) + (" ..." if len(labels) > 5 else "")


def _teacher_logits(
    root: Path,
    examples: Sequence[Example],
    order: Sequence[int],
    batch_size: int,
    precision: str,
    device: torch.device,
    progress: bool,
) -> torch.Tensor:
    """The teacher's fp32 logits for ``examples``, columns in the student's label ``order``, through the teacher's
    inference engine on ``device`` (bucketed, no gradient, bf16 where native); NaN rows for examples it cannot
    read."""
    teacher = RelationExtractor.from_pretrained(root)
    teacher.model.to(device)
    rows, items = _readable(teacher, examples)

    def step(inputs: Inputs) -> torch.Tensor:
        return teacher.engine.forward(inputs).logits.float().cpu()

    with counting_progress("teacher logits", len(items), progress) as advance:
        results = teacher.engine.run(items, step, batch_size, precision, advance)
    logits = torch.full((len(examples), len(order)), float("nan"))
    if rows:
        logits[rows] = torch.stack(in_order(results, len(items), lambda batch: batch.unbind()))[:, list(order)]
    return logits


def _readable(teacher: RelationExtractor, examples: Sequence[Example]) -> tuple[list[int], list[Item]]:
    """The indices of the examples the teacher can encode (their entities fit its max_length), with the
    encodings; one by one only when some do not fit."""
    try:
        return list(range(len(examples))), teacher.encode(examples)
    except TooLongError:
        pass  # some example does not fit: find which, below
    rows: list[int] = []
    items: list[Item] = []
    for i, ex in enumerate(examples):
        try:
            items.extend(teacher.encode([ex]))
        except TooLongError:
            continue  # left out: Teacher.distillation names it
        rows.append(i)
    return rows, items


def _digest(examples: Sequence[Example]) -> str:
    """A fingerprint of the examples the teacher scores (id, words, spans, label, in order): a cache made for other
    data (a data file changed between a run and its resume) must not be taken for this data's."""
    digest = hashlib.sha256()
    for ex in examples:
        record = [ex.id, ex.tokens, ex.head.start, ex.head.end, ex.tail.start, ex.tail.end, ex.label]
        digest.update(json.dumps(record).encode("utf-8"))
    return digest.hexdigest()


def _write_cache(path: Path, logits: torch.Tensor, key: dict[str, str]) -> None:
    """Write the logits with their key, atomically: a run killed while writing leaves no cache, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    save_file({"logits": logits.contiguous()}, str(tmp), metadata=key)
    os.replace(tmp, path)


def _read_cache(path: Path, key: dict[str, str]) -> torch.Tensor:
    """The cached logits; a damaged cache, or one made for other examples or labels, is an error naming it."""
    try:
        with safe_open(str(path), framework="pt") as cache:
            found = cache.metadata() or {}
            logits = cache.get_tensor("logits")
    except (OSError, SafetensorError) as exc:
        raise RelencError(
            f"{path}: cannot read the teacher's cached logits ({exc}); delete the file to compute them again"
        ) from exc
    stale = [name for name, value in key.items() if found.get(name) != value]
    if stale:
        raise RelencError(
            f"{path}: the teacher's logits were computed for other {' and '.join(stale)} (the data changed since "
            "the run started), so the run cannot go on with them; start it again with --overwrite"
        )
    return logits
