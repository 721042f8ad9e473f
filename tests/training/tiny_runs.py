"""The run config of the training tests' tiny runs (the tiny fixture, fast optimiser settings), shared by the trainer
and run-directory tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.training.config import RunConfig

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


def tiny_config(encoder: str, strategy: str = "ht", **training: Any) -> RunConfig:
    """A run on the tiny fixture (train and dev), fp32, evaluated every 2 steps; ``training`` overrides fields."""
    base = {
        "train": str(FIXTURE),
        "dev": str(FIXTURE),
        "format": "jsonl",
        "batch_size": 4,
        "lr": 1e-3,
        "head_lr": 1e-2,
        "warmup_ratio": 0.0,
        "precision": "fp32",
        "eval_every": 2,
    }
    base.update(training)
    return RunConfig.parse({"model": {"strategy": strategy, "encoder": encoder}, "training": base})
