"""Contrastive pre-training on pairs and on labelled data; the result loads as an encoder for fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import example_to_dict
from relenc.errors import RelencError
from relenc.pretraining.pairs import MiningStats
from relenc.pretraining.pretrain import PretrainConfig, pretrain, read_pairs
from relenc.pretraining.shards import ShardedOutput
from relenc.training.config import RunConfig
from relenc.training.run import train_run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


def write_pairs(path: Path) -> Path:
    examples = read_dataset(FIXTURE, "jsonl")
    lines = [
        json.dumps({"id": str(i), "a": example_to_dict(a), "b": example_to_dict(b)})
        for i, (a, b) in enumerate(zip(examples[0::2], examples[1::2], strict=True))
    ]
    path.write_text("\n".join(lines * 2) + "\n")
    return path


@pytest.mark.parametrize("variant", ["m", "both", "htm", "h"])
def test_pretrain_on_pairs_then_fine_tune(tiny_encoder: str, tmp_path: Path, variant: str) -> None:
    cfg = PretrainConfig(
        encoder=tiny_encoder,
        pairs=str(write_pairs(tmp_path / "p.jsonl")),
        variant=variant,
        batch_size=4,
        max_steps=12,
        lr=1e-3,
        precision="fp32",
    )
    results = pretrain(cfg, tmp_path / "enc", progress=False)
    assert results["steps"] == 12 and results["last_loss"] < results["first_loss"]
    assert (tmp_path / "enc" / "model.safetensors").is_file()
    run = RunConfig.parse(
        {
            "model": {"strategy": "ht_mask", "encoder": str(tmp_path / "enc")},
            "training": {"train": str(FIXTURE), "dev": str(FIXTURE), "max_steps": 2, "precision": "fp32"},
        }
    )
    assert train_run(run, tmp_path / "run", progress=False)["steps"] == 2


def test_pretrain_on_a_mining_directory(tiny_encoder: str, tmp_path: Path) -> None:
    """The shards of a mining run, in order, are the pairs; an unfinished run is refused."""
    lines = write_pairs(tmp_path / "p.jsonl").read_text().splitlines()
    out = ShardedOutput(tmp_path / "mined", job={})
    for first in range(0, len(lines), 3):
        out.add_shard(lines[first : first + 3], MiningStats(documents=1), first, ("a", "b"), elapsed=1.0)
    with pytest.raises(RelencError, match="unfinished mining run"):
        read_pairs(tmp_path / "mined")
    out.finish(elapsed=1.0)
    assert read_pairs(tmp_path / "mined") == read_pairs(tmp_path / "p.jsonl")
    assert read_pairs(tmp_path / "mined", limit=4) == read_pairs(tmp_path / "p.jsonl")[:4]
    cfg = PretrainConfig(
        encoder=tiny_encoder, pairs=str(tmp_path / "mined"), batch_size=4, max_steps=2, precision="fp32"
    )
    assert pretrain(cfg, tmp_path / "enc", progress=False)["steps"] == 2


def test_supervised_pretraining(tiny_encoder: str, tmp_path: Path) -> None:
    cfg = PretrainConfig(
        encoder=tiny_encoder,
        labelled=str(FIXTURE),
        format="jsonl",
        batch_size=8,
        max_steps=20,
        lr=1e-3,
        precision="fp32",
        negatives="class",
    )
    results = pretrain(cfg, tmp_path / "enc", progress=False)
    assert results["last_loss"] < results["first_loss"]


def test_needs_exactly_one_source(tiny_encoder: str, tmp_path: Path) -> None:
    with pytest.raises(RelencError, match="exactly one of --pairs"):
        pretrain(PretrainConfig(encoder=tiny_encoder), tmp_path / "x", progress=False)
