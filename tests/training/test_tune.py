"""``relenc tune``: trials are ordinary runs reporting each evaluation, pruned trials stop, the study resumes after an
interruption, the best trial becomes a run config; the trainer's on_eval hook; the search config's checks."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import pytest
import yaml

from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split
from relenc.errors import RelencError
from relenc.training import tune as tuning
from relenc.training.config import RunConfig
from relenc.training.run import train_run
from relenc.training.tune import STUDY_NAME, load_tune_config, tune

if TYPE_CHECKING:
    from conftest import RunCli

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "tiny_train.jsonl"


def search(encoder: str, train: Path = FIXTURE, dev: Path | None = FIXTURE, **space: Any) -> dict[str, Any]:
    """A search over a tiny encoder on the 8-sentence fixture: 1 or 2 epochs of 2 steps, one evaluation each."""
    training = {"train": str(train), "format": "jsonl", "batch_size": 4, "precision": "fp32"}
    if dev is not None:
        training["dev"] = str(dev)
    return {
        "run": {"model": {"strategy": "ht", "encoder": encoder}, "training": training},
        "space": {
            "training.lr": {"low": 1e-4, "high": 1e-2, "log": True},
            "training.epochs": {"low": 1, "high": 2},
            "training.layer_decay": {"low": 0.8, "high": 1.0},
            "head_lr_multiplier": {"low": 2.0, "high": 10.0},
            "model.dropout": {"choices": [0.0, 0.1]},
            **space,
        },
        "search": {"seed": 3, "startup_trials": 2, "prune_after_trials": 1, "prune_warmup_evaluations": 0},
    }


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def study(out: Path) -> optuna.Study:
    return optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{out / 'study.sqlite3'}")


def states(out: Path) -> list[str]:
    return [trial.state.name for trial in study(out).trials]


def test_three_trials_write_the_study_and_a_best_config_that_trains(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli
) -> None:
    config, out = write(tmp_path / "tune.yaml", search(tiny_encoder)), tmp_path / "search"
    code, stdout, stderr = run_cli(["tune", "--config", str(config), "--output", str(out), "--trials", "3"])
    assert code == 0, stderr
    trials = study(out).trials
    assert [t.state.name in ("COMPLETE", "PRUNED") for t in trials] == [True] * 3
    for trial in trials:  # the trainer reported every evaluation, numbered from 0, with the logged dev F1
        log = [json.loads(line) for line in (out / "trials" / str(trial.number) / "log.jsonl").read_text().splitlines()]
        assert trial.intermediate_values == {k: entry["dev"]["f1"] for k, entry in enumerate(log)}
    best = max((t for t in trials if t.state.name == "COMPLETE"), key=lambda t: t.value or 0.0)
    assert f"best trial {best.number}: dev F1 {best.value:.2f}" in stdout and "training.head_lr" in stdout
    run = RunConfig.from_yaml(out / "best.yaml")
    assert run == RunConfig.from_yaml(out / "trials" / str(best.number) / "run_config.yaml")
    assert run.training.head_lr == pytest.approx(run.training.lr * best.params["head_lr_multiplier"])
    assert (out / "tune_config.yaml").is_file()
    code, _, stderr = run_cli(
        ["train", "--config", str(out / "best.yaml"), "-o", str(tmp_path / "r"), "--max-steps", "1"]
    )
    assert code == 0, stderr


class PruneAllButTheFirst(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number > 0


def test_a_pruned_trial_stops_at_the_evaluation_it_reported(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tuning, "_pruner", lambda _search: PruneAllButTheFirst())
    space = {"training.epochs": {"choices": [2]}}
    result = tune(load_tune_config(write(tmp_path / "t.yaml", search(tiny_encoder, **space))), tmp_path / "s", 3)
    assert states(tmp_path / "s") == ["COMPLETE", "PRUNED", "PRUNED"]
    for number, evaluations in ((0, 2), (1, 1), (2, 1)):
        trial_dir = tmp_path / "s" / "trials" / str(number)
        assert len(study(tmp_path / "s").trials[number].intermediate_values) == evaluations
        assert len((trial_dir / "log.jsonl").read_text().splitlines()) == evaluations
    assert result.best_trial == 0 and result.states["PRUNED"] == 2


def finished_trial(state: optuna.trial.TrialState, curve: list[float]) -> optuna.trial.FrozenTrial:
    """A trial that reported ``curve`` (dev F1 per evaluation) and ended in ``state``."""
    value = curve[-1] if state == optuna.trial.TrialState.COMPLETE else None
    return optuna.trial.create_trial(state=state, value=value, intermediate_values=dict(enumerate(curve)))


def test_the_pruning_median_counts_pruned_trials_too() -> None:
    """Optuna's MedianPruner compares with completed trials only, the survivors of earlier pruning; ours with every
    earlier trial that reached the evaluation, so a trial above the search's median goes on."""
    search_config = tuning.SearchConfig(prune_after_trials=3, prune_warmup_evaluations=1)
    study = optuna.create_study(direction="maximize", pruner=tuning._pruner(search_config))
    complete, pruned = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
    earlier = [
        (complete, [70.0, 82.0, 83.0]),
        (complete, [71.0, 81.0, 82.5]),
        (pruned, [60.0, 70.0]),
        (pruned, [60, 72]),
    ]
    for state, curve in earlier:
        study.add_trial(finished_trial(state, curve))
    # second evaluation: the completed trials' median is 81.5, every trial's 76.5; then 80 with the 80 trial counted
    for second_epoch, pruned_now in ((80.0, False), (75.0, True)):
        trial = study.ask()
        trial.report(50.0, 0)
        assert not trial.should_prune()  # the first evaluation is never judged (warm-up)
        trial.report(second_epoch, 1)
        assert trial.should_prune() is pruned_now, second_epoch
        study.tell(trial, state=pruned if pruned_now else complete, values=None if pruned_now else second_epoch)
    assert [t.state for t in study.trials[-2:]] == [complete, pruned]


ONE_EPOCH = {"training.epochs": {"choices": [1]}}


def test_an_interrupted_search_resumes_to_the_requested_number(tiny_encoder: str, tmp_path: Path) -> None:
    config, out = load_tune_config(write(tmp_path / "t.yaml", search(tiny_encoder, **ONE_EPOCH))), tmp_path / "s"
    tune(config, out, 2)
    first = (out / "trials" / "0" / "results.json").stat().st_mtime_ns
    with pytest.raises(RelencError, match=r"already holds a search .*continue it with --resume"):
        tune(config, out, 3)
    tune(config, out, 3, resume=True)
    assert len(states(out)) == 3 and "RUNNING" not in states(out) and "FAIL" not in states(out)
    assert (out / "trials" / "0" / "results.json").stat().st_mtime_ns == first  # kept, not trained again
    params = [trial.params for trial in study(out).trials]
    assert params[2] not in params[:2]  # the resumed sampler does not start its random draws over
    result = tune(config, out, 3, resume=True)  # nothing left to do: only the best is reported again
    assert len(states(out)) == 3 and result.best_config.is_file()


def test_a_trial_left_running_by_a_killed_search_is_failed_and_replaced(
    tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, out = load_tune_config(write(tmp_path / "t.yaml", search(tiny_encoder, **ONE_EPOCH))), tmp_path / "s"
    tune(config, out, 2)
    study(out).ask()  # what a search killed during its third trial leaves: a RUNNING trial
    (out / "trials" / "2").mkdir()
    tune(config, out, 3, resume=True)
    assert states(out)[2] == "FAIL" and len([s for s in states(out) if s in ("COMPLETE", "PRUNED")]) == 3
    assert (out / "trials" / "3" / "run_config.yaml").is_file()
    assert "trial 2 was interrupted: marked failed" in capsys.readouterr().err


def test_every_trial_uses_the_dev_split_of_relenc_train(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a dev file, every trial gets dev_split(train, 0.1, seed 13): what relenc train carves."""
    records = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r | {"id": f"{r['id']}-{k}"}) + "\n" for k in range(5) for r in records))
    expected = [ex.id for ex in dev_split(read_dataset(train, "jsonl"), 0.1, 13)[1]]
    seen: list[list[str]] = []

    def spy(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append([ex.id for ex in kwargs["data"][1]])
        return train_run(*args, **kwargs)

    monkeypatch.setattr(tuning, "train_run", spy)
    space = {**ONE_EPOCH, "training.batch_size": {"choices": [16]}}
    tune(load_tune_config(write(tmp_path / "t.yaml", search(tiny_encoder, train, None, **space))), tmp_path / "s", 2)
    assert len(expected) == 5 and seen == [expected, expected]


def test_a_directory_holding_another_search_or_a_run_is_refused(tiny_encoder: str, tmp_path: Path) -> None:
    out = tmp_path / "s"
    out.mkdir()
    write(out / "tune_config.yaml", load_tune_config(write(tmp_path / "a.yaml", search(tiny_encoder))).model_dump())
    changed = {"training.lr": {"choices": [1e-3]}, "training.weight_decay": {"choices": [0.0]}}
    other = load_tune_config(write(tmp_path / "b.yaml", search(tiny_encoder, **changed)))
    with pytest.raises(RelencError, match="holds a different search, so it cannot be resumed") as info:
        tune(other, out, 1, resume=True)
    assert "space.training.lr.choices is None in the search, [0.001] now" in str(info.value)
    assert "space.training.weight_decay.choices is 'absent' in the search, [0.0] now" in str(info.value)
    with pytest.raises(RelencError, match=r"--resume continues .* --overwrite deletes it"):
        tune(other, out, 1, resume=True, overwrite=True)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run_config.yaml").write_text("model: {}\n")
    with pytest.raises(RelencError, match=r"holds a training run .*not a search"):
        tune(other, tmp_path / "run", 1)


def test_overwrite_starts_again_and_a_running_search_is_refused(tiny_encoder: str, tmp_path: Path) -> None:
    config, out = load_tune_config(write(tmp_path / "t.yaml", search(tiny_encoder, **ONE_EPOCH))), tmp_path / "s"
    (out / "trials" / "7").mkdir(parents=True)
    write(out / "tune_config.yaml", {"stale": True})
    with (out / ".tune.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(RelencError, match="another relenc tune is running in this directory"):
            tune(config, out, 1, overwrite=True)
    tune(config, out, 1, overwrite=True)
    assert sorted(p.name for p in (out / "trials").iterdir()) == ["0"] and len(states(out)) == 1


def test_on_eval_sees_each_evaluation_of_the_final_model_only(tiny_encoder: str, tmp_path: Path) -> None:
    """The trainer's hook, in the full loop and the head-only loop (a hybrid, whose stages report nothing)."""
    calls: list[tuple[int, float, float]] = []
    training = {"train": str(FIXTURE), "dev": str(FIXTURE), "batch_size": 4, "precision": "fp32", "eval_every": 2}
    model = {"strategy": "ht", "encoder": tiny_encoder}
    full = RunConfig.parse({"model": model, "training": training | {"max_steps": 4}})
    train_run(full, tmp_path / "full", progress=False, on_eval=lambda s, e, d: calls.append((s, e, d["f1"])))
    log = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert calls == [(2, 1.0, log[0]["dev"]["f1"]), (4, 2.0, log[1]["dev"]["f1"])]
    calls.clear()
    model = {"strategy": "hybrid", "encoder": tiny_encoder, "entity_encoder": tiny_encoder}
    hybrid = RunConfig.parse({"model": model, "training": training | {"max_steps": 2, "head_epochs": 3}})
    train_run(hybrid, tmp_path / "hybrid", progress=False, on_eval=lambda s, e, d: calls.append((s, e, d["f1"])))
    assert [epoch for _, epoch, _ in calls] == [1, 2, 3]


@pytest.mark.parametrize(
    ("space", "problem"),
    [
        ({"training.seed": {"choices": [1, 2]}}, "space.training.seed: chooses the data, the dev split or the score"),
        ({"training.nope": {"low": 1, "high": 2}}, "space.training.nope: not a setting of the run config"),
        ({"model.input": {"choices": ["x"]}}, "space.model.input: not a setting of the run config"),
        ({"training.lr": {"low": 0.0, "high": 1.0}}, "space.training.lr: 0.0: Input should be greater than 0"),
        ({"training.lr": {"low": 1.0, "high": 0.1}}, "space.training.lr: low 1.0 is above high 0.1"),
        ({"training.lr": {"low": 0.0, "high": 1.0, "log": True}}, "a log scale needs low > 0"),
        ({"training.lr": {"choices": [0.1], "low": 0.1}}, "give either choices or a range"),
        ({"training.schedule": {"choices": ["linear", "steps"]}}, "'steps': Input should be 'linear', 'cosine' or"),
        ({"head_lr_multiplier": {"low": 0, "high": 2}}, "space.head_lr_multiplier: the multiplier must be a positive"),
        ({"training.head_lr": {"choices": [0.1]}}, "give head_lr_multiplier or training.head_lr, not both"),
    ],
)
def test_the_search_config_names_each_bad_setting(
    space: dict[str, Any], problem: str, tiny_encoder: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "bad.yaml", search(tiny_encoder, **space))
    with pytest.raises(RelencError) as info:
        load_tune_config(path)
    assert f"{path}: " in str(info.value) and problem in str(info.value)


def test_the_cli_prints_one_error_line_per_problem(tmp_path: Path, run_cli: RunCli) -> None:
    path = write(tmp_path / "bad.yaml", {"space": {"training.seed": {"choices": [1]}, "x.y": {"choices": [1]}}})
    code, _, stderr = run_cli(["tune", "--config", str(path), "--output", str(tmp_path / "o")])
    lines = stderr.splitlines()
    assert code == 2 and len(lines) == 2 and all(line.startswith(f"error: {path}: space.") for line in lines)
    assert not (tmp_path / "o").exists()


def test_the_documented_default_search_loads() -> None:
    config = load_tune_config(REPO / "configs" / "tune-semeval.yaml")
    assert config.run.training.format == "semeval" and config.run.training.dev is None
    assert config.run.training.seed == 13 and config.run.training.dev_fraction == 0.1
    middle = {name: p.choices[0] if p.choices else (p.low + p.high) / 2 for name, p in config.space.items()}  # type: ignore[operator]
    assert config.trial_run(middle).training.layer_decay == pytest.approx(0.85)


def test_a_search_without_dev_is_refused(tiny_encoder: str, tmp_path: Path) -> None:
    """``dev_fraction`` 0 (a final fit on all of train) leaves nothing to score trials on."""
    data = search(tiny_encoder, dev=None)
    data["run"]["training"]["dev_fraction"] = 0.0
    with pytest.raises(RelencError, match="scores every trial on dev"):
        tune(load_tune_config(write(tmp_path / "t.yaml", data)), tmp_path / "s", 1)
    assert not (tmp_path / "s").exists()
