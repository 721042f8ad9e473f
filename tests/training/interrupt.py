"""Killing a run part-way, for the resume tests: the trainer's evaluation-and-checkpoint step raises after N calls."""

from __future__ import annotations

from typing import Any

import pytest

from relenc.training import trainer


def interrupt_after_evaluations(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """From now on, the ``n``-th evaluation of a run (logged and checkpointed first) raises KeyboardInterrupt, as a
    kill right after its checkpoint would; ``monkeypatch.undo()`` or a new patch restores the trainer."""
    real = trainer._evaluate_and_checkpoint
    calls = {"n": 0}

    def interrupt(*args: Any) -> bool:
        result = real(*args)
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(trainer, "_evaluate_and_checkpoint", interrupt)
