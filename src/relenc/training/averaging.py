"""Checkpoint averaging over the last epochs (``training.average_last``).

The weights at the end of the last few epochs lie near one another in a flat region of the loss; their uniform
average tends to sit nearer its centre than any one of them, and generalises a little better (Izmailov et al. 2018;
the checkpoint averaging of Vaswani et al. 2017). The trainer keeps the trainable weights at each epoch's end as
files in the run directory (``averaging/step_<n>.safetensors``, the last N only), so an interrupted run resumes
with the same epochs to average, and deletes them once the run has finished. Frozen weights are the same in every
epoch and are left out.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

AVERAGING_DIR = "averaging"
_FILE = re.compile(r"^step_(\d+)\.safetensors$")


class EpochWeights:
    """The trainable weights of ``model`` at the end of each of the last ``keep`` epochs, as files in ``directory``.

    ``writer``: whether this process writes (the main one: in distributed training every process holds the same
    weights, and each reads the files once the main process has written them).
    """

    def __init__(self, directory: Path, keep: int, model: nn.Module, writer: bool = True) -> None:
        if keep < 1:
            raise ValueError(f"keep must be positive, got {keep}")
        self.directory = directory
        self.keep = keep
        self.model = model
        self.writer = writer

    def _trainable(self) -> dict[str, nn.Parameter]:
        return {name: param for name, param in self.model.named_parameters() if param.requires_grad}

    def steps(self) -> list[int]:
        """The optimiser steps whose weights are kept, in order."""
        if not self.directory.is_dir():
            return []
        return sorted(int(m[1]) for path in self.directory.iterdir() if (m := _FILE.match(path.name)))

    def _path(self, step: int) -> Path:
        return self.directory / f"step_{step}.safetensors"

    def save(self, step: int) -> None:
        """Keep the weights of ``step`` (an epoch's end) and forget those beyond the last ``keep``."""
        if not self.writer:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.directory / f".step_{step}.tmp"
        save_file({name: p.detach().cpu().contiguous() for name, p in self._trainable().items()}, str(tmp))
        os.replace(tmp, self._path(step))  # a crash never leaves a half-written file under a step's name
        for old in self.steps()[: -self.keep]:
            self._path(old).unlink()

    def forget_after(self, step: int) -> None:
        """Delete the weights kept after ``step``: a resumed run continues from there and keeps them again."""
        if self.writer:
            for later in (s for s in self.steps() if s > step):
                self._path(later).unlink()

    def load_average(self) -> list[int]:
        """Set the model's trainable weights to the uniform average of the kept ones (summed in fp32, then cast to
        each weight's own type); return the steps averaged."""
        steps = self.steps()
        if not steps:
            raise RuntimeError(f"no weights were kept in {self.directory} to average")
        params = self._trainable()
        total = {name: torch.zeros_like(p, dtype=torch.float32, device="cpu") for name, p in params.items()}
        for step in steps:
            for name, tensor in load_file(str(self._path(step))).items():
                total[name] += tensor.float()
        with torch.no_grad():
            for name, param in params.items():
                param.copy_((total[name] / len(steps)).to(param.dtype))
        return steps

    def remove(self) -> None:
        """Delete the kept weights (the run has finished with them)."""
        if self.writer and self.directory.is_dir():
            shutil.rmtree(self.directory)
