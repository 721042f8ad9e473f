"""``relenc distill``: a whole run through the command line (resumed, the teacher's logits reused) and its errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torch

from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor
from relenc.training import distill, trainer
from relenc.training.config import RunConfig
from relenc.training.distill import CACHE_NAME

if TYPE_CHECKING:
    from conftest import RunCli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"
LINES = FIXTURE.read_text().splitlines()


def save_teacher(encoder: str, labels: LabelSet, out: Path) -> Path:
    """An untrained ``ht_mask`` model over ``labels`` with max_length 48, saved: a teacher built from a config."""
    torch.manual_seed(3)
    model = RelationExtractor.build("ht_mask", labels, {"main": encoder}, {"main": InputConfig(max_length=48)})
    return model.save_pretrained(out)


@pytest.fixture(scope="module")
def teacher(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = LabelSet.from_labels(ex.label for ex in read_dataset(FIXTURE, "jsonl"))
    return save_teacher(tiny_encoder, labels, tmp_path_factory.mktemp("teacher") / "model")


def pairs_file(path: Path, records: list[str]) -> Path:
    path.write_text("".join(record + "\n" for record in records))
    return path


def pair(a: int, b: int) -> str:
    return json.dumps({"id": f"{a}-{b}", "a": json.loads(LINES[a]), "b": json.loads(LINES[b])})


def distill_args(teacher: Path | str, output: Path, *extra: str) -> list[str]:
    data = str(FIXTURE)
    common = ["--train", data, "--dev", data, "--format", "jsonl", "--output", str(output), "--no-progress"]
    return ["distill", "--teacher", str(teacher), *common, *extra]


def test_a_distilled_run_resumes_with_the_cached_teacher_logits_and_predicts(
    tiny_encoder: str, teacher: Path, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = distill._teacher_logits

    def count(*args: Any) -> torch.Tensor:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(distill, "_teacher_logits", count)
    config = tmp_path / "run.yaml"
    config.write_text(
        "training:\n  eval_every: 2\n  lr: 0.001\n  head_lr: 0.01\n  warmup_ratio: 0.0\n  batch_size: 4\n"
    )
    pairs = pairs_file(tmp_path / "pairs.jsonl", [pair(0, 2), pair(4, 6)])
    run = tmp_path / "run"
    args = distill_args(teacher, run, "--encoder", tiny_encoder, "--config", str(config), "--max-steps", "4")
    args += ["--precision", "fp32", "--unlabelled", str(pairs), "--temperature", "3", "--alpha", "0.7"]

    with monkeypatch.context() as patch:  # killed after the first evaluation (and its checkpoint)
        evaluate = trainer._evaluate_and_checkpoint

        def interrupt(*a: Any) -> bool:
            evaluate(*a)
            raise KeyboardInterrupt

        patch.setattr(trainer, "_evaluate_and_checkpoint", interrupt)
        code, _, err = run_cli(args)
    assert code == 130 and "error: aborted" in err
    assert calls == [1] and (run / CACHE_NAME).is_file()

    code, _, err = run_cli([*args, "--resume"])
    assert code == 0, err
    assert calls == [1] and f"teacherlogits:readfrom{run / CACHE_NAME}" in "".join(err.split())  # rich wraps paths
    assert [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()] == [2, 4]
    results = json.loads((run / "results.json").read_text())
    assert results["steps"] == 4 and results["strategy"] == "ht_mask"
    saved = RunConfig.from_yaml(run / "run_config.yaml")
    assert saved.model.strategy == "ht_mask" and saved.model.input.max_length == 48  # the teacher's
    assert saved.distill is not None and (saved.distill.temperature, saved.distill.alpha) == (3.0, 0.7)
    assert saved.distill.unlabelled == str(pairs) and saved.distill.teacher == str(teacher)

    student = RelationExtractor.from_pretrained(run / "model")
    assert student.parts["main"].source != str(teacher / "encoders" / "main")
    code, out, err = run_cli(["predict", str(run), str(FIXTURE), "--format", "jsonl"])
    assert code == 0, err
    assert [json.loads(line)["id"] for line in out.splitlines()] == [str(i) for i in range(1, 9)]
    code, _, err = run_cli([*args, "--resume"])  # finished: reported, nothing run again
    assert code == 0 and "already finished" in err and calls == [1]


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return " ".join(lines[0].split())


def test_a_missing_teacher_or_not_a_model(tmp_path: Path, run_cli: RunCli) -> None:
    missing = tmp_path / "nowhere"
    code, _, err = run_cli(distill_args(missing, tmp_path / "run"))
    assert code == 2 and one_error(err) == f"error: {missing}: the teacher does not exist; give a trained relenc " + (
        "model (or run) directory"
    )
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(distill_args(tmp_path / "empty", tmp_path / "run"))
    assert code == 2 and f"{tmp_path / 'empty'}: not a trained relenc model (no relenc_config.json" in one_error(err)
    code, _, err = run_cli(["distill", "--train", str(FIXTURE), "--output", str(tmp_path / "run")])
    assert (
        code == 2 and one_error(err) == "error: no teacher: give --teacher MODEL_DIR (or distill.teacher in the config)"
    )
    assert not (tmp_path / "run").exists()


def test_a_teacher_with_other_labels(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    other = save_teacher(tiny_encoder, LabelSet.from_labels(["no_relation", "founded_by"]), tmp_path / "other")
    code, _, err = run_cli(distill_args(other, tmp_path / "run"))
    assert code == 2
    assert one_error(err) == (
        f"error: {other / 'relenc_config.json'}: the teacher's labels differ from the training data's ({FIXTURE}): "
        "only the teacher has founded_by; only the training data has org:city_of_headquarters, per:employee_of; "
        "a student learns the teacher's labels, so distil on data with the same label set"
    )
    assert not (tmp_path / "run").exists()  # nothing was written


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        (['{"id": "x", "a": {}', "{}"], "pairs.jsonl, line 1, column 20: invalid JSON"),
        ([pair(0, 1), '{"id": "y", "a": {}}'], "pairs.jsonl, line 2: each line needs 'a' and 'b' examples"),
        ([pair(0, 1), json.dumps({"a": json.loads(LINES[0]), "b": {"tokens": ["x"]}})], "pairs.jsonl, line 2, 'b'"),
        ([], "pairs.jsonl: holds no pairs; give a relenc mine-pairs output or a JSONL file of 'a'/'b' records"),
    ],
)
def test_a_malformed_unlabelled_file(
    records: list[str], expected: str, teacher: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    pairs = pairs_file(tmp_path / "pairs.jsonl", records)
    code, _, err = run_cli(distill_args(teacher, tmp_path / "run", "--unlabelled", str(pairs)))
    assert code == 2 and one_error(err).startswith(f"error: {tmp_path / expected}"), err
    assert not (tmp_path / "run").exists()


def test_bad_settings_and_sentence_data(teacher: Path, tmp_path: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli(distill_args(teacher, tmp_path / "run", "--alpha", "1.5"))
    assert code == 2 and one_error(err) == (
        "error: command-line flags: distill.alpha: Input should be less than or equal to 1"
    )
    code, _, err = run_cli(distill_args(teacher, tmp_path / "run", "--max-unlabelled", "5"))
    assert code == 2 and one_error(err) == (
        "error: command-line flags: distill: max_unlabelled limits the unlabelled sentences, but no unlabelled file "
        "is given"
    )
    code, _, err = run_cli(distill_args(teacher, tmp_path / "run", "--unlabelled", str(tmp_path / "none.jsonl")))
    assert code == 2 and one_error(err) == f"error: {tmp_path / 'none.jsonl'}: file not found"
    args = distill_args(teacher, tmp_path / "run")
    args[args.index("jsonl")] = "spert"
    code, _, err = run_cli(args)
    assert code == 2 and "distillation trains a classifier of given pairs; format spert" in one_error(err)
    assert not (tmp_path / "run").exists()
