"""A run directory holds one run: it is resumed (same config, checked), overwritten on request, or refused; a
finished run is only reported; a resumed log has no repeated step; the files are written atomically."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
from snapshots import snapshot
from tiny_runs import FIXTURE, tiny_config

from relenc.errors import DataError, RelencError
from relenc.models.extractor import RelationExtractor
from relenc.training import trainer
from relenc.training.config import RunConfig
from relenc.training.run import train_run


def config(encoder: str, strategy: str = "ht", **training: Any) -> RunConfig:
    """The tiny run, stopped after 2 steps (a hybrid's head after 1 epoch)."""
    return tiny_config(encoder, strategy, **{"max_steps": 2, "head_epochs": 1, **training})


@pytest.fixture(scope="module")
def finished_ht(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-step ``ht`` run, trained once; tests copy it."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train_run(config(tiny_encoder), out, progress=False)
    return out


def copy_run(source: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(source, tmp_path / "run"))


def test_a_directory_holding_a_run_is_refused(finished_ht: Path, tiny_encoder: str, tmp_path: Path) -> None:
    run = copy_run(finished_ht, tmp_path)
    before = snapshot(run)
    with pytest.raises(RelencError, match="already holds a run") as info:
        train_run(config(tiny_encoder, lr=2e-3), run, progress=False)
    assert "continue it with --resume, replace it with --overwrite, or choose another output directory" in str(
        info.value
    )
    assert "run_config.yaml, model, log.jsonl, results.json" in str(info.value)
    assert snapshot(run) == before  # the new config is not written beside the old model


def test_overwrite_replaces_the_old_run_and_keeps_other_files(
    finished_ht: Path, tiny_encoder: str, tmp_path: Path
) -> None:
    run = copy_run(finished_ht, tmp_path)
    (run / "notes.txt").write_text("mine")
    (run / "checkpoint" / "stale-marker").write_text("from the old run")
    results = train_run(config(tiny_encoder, lr=2e-3, max_steps=4), run, progress=False, overwrite=True)
    assert results["steps"] == 4
    assert RunConfig.from_yaml(run / "run_config.yaml").training.lr == 2e-3
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == [2, 4]
    assert not (run / "checkpoint" / "stale-marker").exists()
    assert (run / "notes.txt").read_text() == "mine"  # only what a run writes is deleted


def test_overwrite_keeps_the_old_run_when_the_new_data_cannot_be_read(
    finished_ht: Path, tiny_encoder: str, tmp_path: Path
) -> None:
    run = copy_run(finished_ht, tmp_path)
    before = snapshot(run)
    with pytest.raises(DataError, match="file not found"):
        train_run(config(tiny_encoder, train=str(tmp_path / "gone.jsonl")), run, progress=False, overwrite=True)
    assert snapshot(run) == before


def test_resume_with_another_config_names_the_fields(finished_ht: Path, tiny_encoder: str, tmp_path: Path) -> None:
    run = copy_run(finished_ht, tmp_path)
    before = snapshot(run)
    with pytest.raises(RelencError) as info:
        train_run(config(tiny_encoder, lr=2e-3, seed=7), run, resume=True, progress=False)
    message = str(info.value)
    assert "holds a run with another config, so it cannot be resumed with this one" in message
    assert "training.lr is 0.001 in the run, 0.002 now; training.seed is 13 in the run, 7 now" in message
    assert "--overwrite" in message and "model.strategy" not in message
    assert snapshot(run) == before


def test_resume_of_a_finished_run_rewrites_nothing(
    finished_ht: Path, tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(finished_ht, tmp_path)
    before = snapshot(run)
    results = train_run(config(tiny_encoder), run, resume=True, progress=False)
    assert results == json.loads((run / "results.json").read_text())
    assert "this run has already finished; nothing was changed" in capsys.readouterr().err
    assert snapshot(run) == before


def test_resume_and_overwrite_together_are_refused(tiny_encoder: str, tmp_path: Path) -> None:
    with pytest.raises(RelencError, match=r"--resume continues .* and --overwrite deletes it: give one"):
        train_run(config(tiny_encoder), tmp_path / "run", resume=True, overwrite=True, progress=False)


def test_a_run_without_its_config_cannot_be_resumed(finished_ht: Path, tiny_encoder: str, tmp_path: Path) -> None:
    run = copy_run(finished_ht, tmp_path)
    (run / "run_config.yaml").unlink()
    with pytest.raises(RelencError, match=r"holds a run without run_config\.yaml, so it cannot be checked"):
        train_run(config(tiny_encoder), run, resume=True, progress=False)


def test_the_hybrid_resumes_as_one_run_with_its_stages(tiny_encoder: str, tmp_path: Path) -> None:
    """A finished hybrid (two stages and the joint head) is reported as it is; overwriting it retrains the stages
    with the new config rather than reusing stages trained with the old one."""
    run = tmp_path / "hybrid"
    train_run(config(tiny_encoder, "hybrid"), run, progress=False)
    before = snapshot(run)
    assert {"stages/entity/run_config.yaml", "stages/relation/results.json"} <= set(before)
    train_run(config(tiny_encoder, "hybrid"), run, resume=True, progress=False)
    assert snapshot(run) == before
    train_run(config(tiny_encoder, "hybrid", lr=2e-3), run, overwrite=True, progress=False)
    for stage in ("entity", "relation"):
        assert RunConfig.from_yaml(run / "stages" / stage / "run_config.yaml").training.lr == 2e-3


def test_resume_after_a_stop_between_evaluation_and_checkpoint_repeats_no_log_line(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after step 4 was evaluated and logged but before its checkpoint was saved, the run resumes from
    the step-2 checkpoint: step 4 is logged once, and the model is the uninterrupted run's."""
    cfg = config(tiny_encoder, max_steps=6)
    train_run(cfg, tmp_path / "straight", progress=False)
    real = trainer._checkpoint
    calls = {"n": 0}

    def stop_at_second(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(*args, **kwargs)

    monkeypatch.setattr(trainer, "_checkpoint", stop_at_second)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path / "resumed", progress=False)
    logged = (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in logged] == [2, 4]
    with (tmp_path / "resumed" / "log.jsonl").open("a") as fh:
        fh.write('{"step": 6, "epo')  # and half a line, as a kill in mid-write leaves it
    monkeypatch.setattr(trainer, "_checkpoint", real)
    train_run(cfg, tmp_path / "resumed", resume=True, progress=False)
    logged = (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in logged] == [2, 4, 6]
    straight = RelationExtractor.from_pretrained(tmp_path / "straight").model.state_dict()
    resumed = RelationExtractor.from_pretrained(tmp_path / "resumed").model.state_dict()
    for name, weights in straight.items():
        assert torch.equal(weights, resumed[name]), name


def test_run_config_is_written_atomically(tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk while saving the config leaves no config, and no temp file, behind."""

    def full_disk(src: object, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr("relenc.io.os.replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        train_run(config(tiny_encoder), tmp_path / "run", progress=False)
    assert list((tmp_path / "run").iterdir()) == []


def test_empty_training_data_and_too_few_examples_for_a_dev_share(tiny_encoder: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(DataError, match=f"^{empty}: holds no examples"):
        train_run(config(tiny_encoder, train=str(empty)), tmp_path / "run", progress=False)
    with pytest.raises(DataError, match=f"^{empty}: holds no examples"):
        train_run(config(tiny_encoder, dev=str(empty)), tmp_path / "run", progress=False)
    one = tmp_path / "one.jsonl"
    one.write_text(FIXTURE.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match=f"^{one}: 1 examples are too few to carve a dev share from"):
        train_run(config(tiny_encoder, train=str(one), dev=None), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_the_semeval_metric_refuses_other_labels_before_training(tiny_encoder: str, tmp_path: Path) -> None:
    with pytest.raises(RelencError, match=r"training\.metric semeval scores only SemEval-2010 Task 8 labels, but"):
        train_run(config(tiny_encoder, metric="semeval"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
