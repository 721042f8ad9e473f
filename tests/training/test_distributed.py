"""Two processes on the CPU (gloo backend): both end with the same weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


@pytest.mark.integration
def test_two_processes_agree(tiny_encoder: str, tmp_path: Path) -> None:
    # torchrun starts the two ranks; Accelerate reads their environment and uses gloo on the CPU
    launcher = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    worker = Path(__file__).with_name("ddp_worker.py")
    cmd = [str(launcher), "--nproc_per_node", "2", "--master_port", "29517", str(worker)]
    cmd += [tiny_encoder, str(FIXTURE), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = (tmp_path / "rank0.txt").read_text().split()
    rank1 = (tmp_path / "rank1.txt").read_text().split()
    assert rank0[:2] == ["2", "3"]  # two processes, three optimiser steps
    assert rank0 == rank1, "the two processes ended with different weights"
    assert (tmp_path / "run" / "model" / "relenc_config.json").is_file()
