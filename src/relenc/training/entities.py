"""Training an entity recognizer (:class:`relenc.models.spans.EntityRecognizer`) on sentences with typed mentions.

Each step takes a batch of sentences, every gold span of each and ``negatives`` sampled other spans, and minimises
the cross-entropy of their types (``none`` for the negatives), bf16 where native, AdamW with linear warm-up and decay
and a larger learning rate for the new span head. After every epoch the dev sentences are decoded and scored (entity
micro-F1, boundaries and type right); the best recognizer is saved.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from relenc.data.sentence import Sentence
from relenc.evaluation.end2end import score_end2end
from relenc.io import write_text_atomic
from relenc.models.spans import EntityRecognizer, to_device
from relenc.progress import TRAINING_FIELDS, progress_bar
from relenc.runtime import autocast
from relenc.training.config import EntityTrainConfig
from relenc.training.trainer import adamw

RESULTS_NAME = "entity_results.json"  # written when training ends: a recognizer directory with it is finished


def build_recognizer(encoder: str, types: Sequence[str], cfg: EntityTrainConfig) -> EntityRecognizer:
    """A new recognizer of ``types`` on ``encoder``, its head's weights drawn from ``cfg.seed``: with
    :func:`fit_entities`, which draws the rest from it, the recognizer depends on its seed alone, not on what ran
    before it in the process."""
    torch.manual_seed(_seed(cfg))
    return EntityRecognizer.build(encoder, types, **cfg.span_settings())


def fit_entities(
    recognizer: EntityRecognizer,
    train: Sequence[Sentence],
    dev: Sequence[Sentence],
    cfg: EntityTrainConfig,
    output: str | Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Train in place; the best recognizer on dev goes to ``output``; returns the best dev scores, timings and seed.

    Without dev sentences (a final fit on all the data) every epoch trains and the last recognizer is kept: its
    epochs were chosen beforehand, on dev.
    """
    seed = _seed(cfg)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = recognizer.model
    optimizer = adamw(model, cfg.lr, cfg.head_lr, cfg.weight_decay, lambda name: not name.startswith("encoder."))
    steps = cfg.epochs * math.ceil(len(train) / cfg.batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * steps), steps)
    best: dict[str, Any] = {"f1": -1.0}
    start = time.time()
    with progress_bar(enabled=progress, fields=TRAINING_FIELDS) as bar:
        task = bar.add_task("entities", total=steps, loss=0.0, rate=0.0)
        for epoch in range(cfg.epochs):
            order = list(range(len(train)))
            rng.shuffle(order)
            for k in range(0, len(order), cfg.batch_size):
                chunk = [train[i] for i in order[k : k + cfg.batch_size]]
                loss = _step(recognizer, chunk, cfg, rng, optimizer, scheduler)
                bar.update(task, advance=1, loss=loss, rate=(k + len(chunk)) / max(time.time() - start, 1e-9))
            if not dev:
                bar.console.print(f"epoch {epoch + 1}: trained (no dev: the last epoch is kept)")
                continue
            scores = evaluate_entities(recognizer, dev, cfg.precision)
            bar.console.print(
                f"epoch {epoch + 1}: dev entities P {scores['precision']:.2f} R {scores['recall']:.2f} "
                f"F1 {scores['f1']:.2f}" + (" (best)" if scores["f1"] > best["f1"] else "")
            )
            if scores["f1"] > best["f1"]:
                best = {**scores, "epoch": epoch + 1}
                recognizer.save_pretrained(output)
    if not dev:
        best = {"epoch": cfg.epochs, "dev": None}
        recognizer.save_pretrained(output)
    best["train_seconds"] = round(time.time() - start, 1)
    best["seed"] = seed
    write_text_atomic(Path(output) / RESULTS_NAME, json.dumps(best, indent=2))
    return best


def _seed(cfg: EntityTrainConfig) -> int:
    """The config's seed, which must be resolved (:meth:`EntityTrainConfig.for_run`): a recognizer that silently
    took some fixed seed would make every "seed" of an end-to-end run share one recognizer."""
    if cfg.seed is None:
        raise ValueError("the recognizer's seed is not set: resolve it with EntityTrainConfig.for_run")
    return cfg.seed


def evaluate_entities(recognizer: EntityRecognizer, sentences: Sequence[Sentence], precision: str) -> dict[str, Any]:
    """Entity precision, recall and F1 (boundaries and type right), and the F1 per type."""
    found = recognizer.predict([s.tokens for s in sentences], precision=precision)
    predicted = [
        Sentence(s.id, s.tokens, tuple(m for m, _ in mentions)) for s, mentions in zip(sentences, found, strict=True)
    ]
    scores = score_end2end([Sentence(s.id, s.tokens, s.mentions) for s in sentences], predicted)
    e = scores.entities
    return {
        "precision": e.precision,
        "recall": e.recall,
        "f1": e.f1,
        "per_type": {row.label: row.f1 for row in scores.entity_types},
    }


def _step(
    recognizer: EntityRecognizer,
    chunk: Sequence[Sentence],
    cfg: EntityTrainConfig,
    rng: random.Random,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
) -> float:
    """One optimiser step on a batch of sentences; returns its loss."""
    model = recognizer.model
    model.train()
    spans = [recognizer.training_spans(s, cfg.negatives, rng) for s in chunk]
    device = next(model.parameters()).device
    batch = to_device(recognizer.batch([s.tokens for s in chunk], spans), device)
    targets = [recognizer.targets(s, kept) for s, kept in zip(chunk, batch.spans, strict=True)]
    width = batch.mask.size(1)
    target = torch.tensor([t + [-100] * (width - len(t)) for t in targets], device=device)
    with autocast(cfg.precision, device):
        logits = model(batch)
    loss = nn.functional.cross_entropy(logits.float().flatten(0, 1), target.flatten(), ignore_index=-100)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    return float(loss.item())
