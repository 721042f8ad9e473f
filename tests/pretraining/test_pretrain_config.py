"""``relenc pretrain --config FILE``: the shipped recipes, flags over the file, and one clear line per bad key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from relenc.errors import RelencError
from relenc.pretraining.pretrain import PretrainConfig

if TYPE_CHECKING:
    from conftest import RunCli

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "tiny_train.jsonl"


@pytest.mark.parametrize(
    ("name", "variant", "pairs", "hard_negatives"),
    [
        ("pretrain-wiki-relation.yaml", "m", "runs/pairs-wiki", 1),
        ("pretrain-wiki-entity.yaml", "h", "runs/pairs-wiki-entity", 0),
    ],
)
def test_the_wiki_recipes_are_valid_configs(name: str, variant: str, pairs: str, hard_negatives: int) -> None:
    cfg = PretrainConfig.from_yaml(REPO / "configs" / name)
    assert (cfg.variant, cfg.pairs, cfg.hard_negatives) == (variant, pairs, hard_negatives)
    assert (cfg.batch_size, cfg.chunk_size, cfg.precision, cfg.blank_probability) == (256, 64, "bf16", 0.7)
    assert cfg.probe == "../shared/data/fewrel/val_wiki.json" and cfg.probe_every and cfg.checkpoint_every
    assert cfg.max_steps is not None and cfg.max_examples is not None
    assert cfg.max_examples >= cfg.max_steps * cfg.batch_size  # every step has a batch of unseen pairs


def test_unknown_keys_and_bad_values_are_one_line_each_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"batch": 64, "input": {"max_len": 9}, "lr": -1, "colour": "red"}))
    with pytest.raises(RelencError) as info:
        PretrainConfig.from_yaml(path)
    assert sorted(str(info.value).splitlines()) == [
        f"{path}: batch: unknown key; did you mean batch_size?",
        f"{path}: colour: unknown key; the keys are {', '.join(PretrainConfig.model_fields)}",
        f"{path}: input.max_len: unknown key; did you mean max_length?",
        f"{path}: lr: Input should be greater than 0",
    ]
    path.write_text("variant: m\n  batch_size: 2\n")
    with pytest.raises(RelencError, match=r"run.yaml, line 2, column 13: not valid YAML"):
        PretrainConfig.from_yaml(path)
    path.write_text("- m\n")
    with pytest.raises(RelencError, match=r"run.yaml: expected a mapping of pre-training settings, got list"):
        PretrainConfig.from_yaml(path)


def test_flags_override_the_config_file(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "run.yaml"
    settings = {"encoder": tiny_encoder, "labelled": str(FIXTURE), "batch_size": 4, "max_steps": 3, "lr": 1e-3}
    config.write_text(yaml.safe_dump({**settings, "precision": "fp32", "negatives": "class"}))
    args = ["pretrain", "--config", str(config), "-o", str(tmp_path / "enc"), "--no-progress", "--max-steps", "1"]
    code, stdout, stderr = run_cli(args)
    assert code == 0, stderr
    assert json.loads(stdout)["steps"] == 1
    saved = yaml.safe_load((tmp_path / "enc" / "pretrain_config.yaml").read_text())
    assert (saved["max_steps"], saved["batch_size"], saved["negatives"]) == (1, 4, "class")
    code, _, stderr = run_cli([*args, "--probe-every", "2"])
    assert code == 2 and stderr.splitlines() == [
        "error: command-line flags: probe_every needs probe (a FewRel file to probe on)"
    ]
    config.write_text("batch_sise: 4\n")
    code, _, stderr = run_cli(args)
    assert code == 2 and stderr.splitlines() == [f"error: {config}: batch_sise: unknown key; did you mean batch_size?"]
    code, _, stderr = run_cli(["pretrain", "--config", str(tmp_path / "none.yaml"), "-o", str(tmp_path / "x")])
    assert code == 2 and stderr.splitlines() == [f"error: {tmp_path / 'none.yaml'}: file not found"]
