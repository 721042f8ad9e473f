"""The command-line contract: JSON outputs, error lines, exit codes."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from relenc.cli import _register, app, main

if TYPE_CHECKING:
    from conftest import RunCli

FIX = Path(__file__).resolve().parent / "fixtures"
_register()
runner = CliRunner()


def test_data_stats_json() -> None:
    result = runner.invoke(app, ["data", "stats", str(FIX / "tiny_train.jsonl"), "--format", "jsonl", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["examples"] == 8
    assert stats["labels"] == {"per:employee_of": 3, "org:city_of_headquarters": 3, "no_relation": 2}
    assert stats["negative_label"] == "no_relation"
    assert stats["entity_type_pairs"]["per:employee_of"] == {"PERSON-ORG": 3}


def test_data_convert_then_stats(tmp_path: Path) -> None:
    out = tmp_path / "semeval.jsonl"
    result = runner.invoke(app, ["data", "convert", str(FIX / "data" / "semeval.txt"), str(out), "--format", "semeval"])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    result = runner.invoke(app, ["data", "stats", str(out), "--format", "jsonl", "--json"])
    assert json.loads(result.stdout)["labels"] == {"Product-Producer(e2,e1)": 1, "Other": 1}


def write_predictions(path: Path, labels: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "label": v, "score": 0.9}) + "\n" for k, v in labels.items()))
    return path


def test_score_semeval_json(tmp_path: Path) -> None:
    pred = write_predictions(tmp_path / "p.jsonl", {"1": "Product-Producer(e1,e2)", "2": "Other"})
    result = runner.invoke(
        app, ["score", str(FIX / "data" / "semeval.txt"), str(pred), "--format", "semeval", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["metric"] == "semeval"
    assert (out["precision"], out["recall"], out["f1"]) == (0.0, 0.0, 0.0)  # wrong direction


def test_score_micro_with_report(tmp_path: Path) -> None:
    labels = {str(i): lab for i, lab in enumerate(["per:employee_of"] * 3 + ["no_relation"] * 5, start=1)}
    pred = write_predictions(tmp_path / "p.jsonl", labels)
    result = runner.invoke(
        app,
        [
            "score",
            str(FIX / "tiny_train.jsonl"),
            str(pred),
            "--format",
            "jsonl",
            "--metric",
            "micro",
            "--json",
            "--report",
        ],
    )
    out = json.loads(result.stdout)
    # gold positives 6, predicted positives 3, of which ids 1, 2 are per:employee_of in gold, id 3 is not
    assert out["precision"] == pytest.approx(200 / 3) and out["recall"] == pytest.approx(100 / 3)
    assert {row["label"] for row in out["per_relation"]} >= {"per:employee_of", "no_relation"}


def test_errors_are_one_line_with_nonzero_exit(tmp_path: Path, run_cli: RunCli) -> None:
    code, out, err = run_cli(["data", "stats", str(tmp_path / "missing.txt"), "--format", "kbp37"])
    assert code != 0 and out == ""
    assert err.startswith("error: ") and "missing.txt: file not found" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["extract"], "error: Missing argument 'source'. (see relenc extract --help)"),
        (["extract", "a.txt", "b.jsonl", "--bogus"], "error: No such option: --bogus (see relenc extract --help)"),
        (["no-such-command"], "error: No such command 'no-such-command'. (see relenc --help)"),
    ],
)
def test_usage_errors_are_one_line_with_the_help_to_read(args: list[str], expected: str, run_cli: RunCli) -> None:
    code, out, err = run_cli(args)
    assert (code, out, err.strip()) == (2, "", expected)


def test_score_errors(tmp_path: Path, run_cli: RunCli) -> None:
    gold = str(FIX / "tiny_train.jsonl")
    pred = write_predictions(tmp_path / "p.jsonl", {"1": "per:employee_of"})
    code, _, err = run_cli(["score", gold, str(pred), "--format", "jsonl"])
    assert code != 0 and "no prediction for gold id '2'" in err
    labels = {str(i): "per:spouse" for i in range(1, 9)}
    pred = write_predictions(tmp_path / "p2.jsonl", labels)
    code, _, err = run_cli(["score", gold, str(pred), "--format", "jsonl"])
    assert code != 0 and "predicted labels not in the gold label set: per:spouse" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "label": "x"}\n{"id": "1", "label": "y"}\n')
    code, _, err = run_cli(["score", gold, str(bad), "--format", "jsonl"])
    assert code != 0 and "bad.jsonl, line 2: id '1' is predicted twice" in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from relenc.errors import DataError

    with pytest.raises(DataError):
        main(["--debug", "data", "stats", str(tmp_path / "missing.txt"), "--format", "kbp37"])


def test_train_evaluate_predict(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    data = str(FIX / "tiny_train.jsonl")
    common = ["--format", "jsonl", "--encoder", tiny_encoder, "--precision", "fp32", "--no-progress"]
    code, _, err = run_cli(
        [
            "train",
            "--train",
            data,
            "--dev",
            data,
            "--strategy",
            "ht",
            "--max-steps",
            "3",
            "--output",
            str(tmp_path / "run"),
            *common,
        ]
    )
    assert code == 0, err
    code, out, err = run_cli(["evaluate", str(tmp_path / "run"), data, "--format", "jsonl", "--json"])
    assert code == 0, err
    scores = json.loads(out)
    assert set(scores) >= {"precision", "recall", "f1"} and 0.0 <= scores["f1"] <= 100.0
    code, out, err = run_cli(["predict", str(tmp_path / "run"), data, "--format", "jsonl"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 9)]
    assert all(set(r) == {"id", "label", "score"} for r in rows)


@pytest.fixture(scope="module")
def small_model(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained ``ht`` model for tiny_train's labels with max_length 48, saved: what the inference commands'
    error paths need, without the cost of training."""
    from relenc.data.labels import LabelSet
    from relenc.data.readers import read_dataset
    from relenc.encoding.builder import InputConfig
    from relenc.models.extractor import RelationExtractor

    labels = LabelSet.from_labels(ex.label for ex in read_dataset(FIX / "tiny_train.jsonl", "jsonl"))
    inputs = {"main": InputConfig(max_length=48)}
    out = tmp_path_factory.mktemp("small-model")
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, inputs).save_pretrained(out)
    return out


def one_error(err: str) -> str:
    """The single ``error:`` line of a failed command, which shows no traceback (transformers may have drawn a
    progress bar while loading the model)."""
    lines = [line for line in err.splitlines() if "error" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def jsonl_record(id_: str, label: str | None = "per:employee_of", words: int = 0) -> str:
    """One generic-JSONL example; ``words`` filler words put head and tail that far apart."""
    tokens = ["Alice", *(["more"] * words), "Acme"]
    record: dict[str, object] = {"id": id_, "tokens": tokens, "h": {"start": 0, "end": 1}}
    record["t"] = {"start": len(tokens) - 1, "end": len(tokens)}
    if label is not None:
        record["label"] = label
    return json.dumps(record) + "\n"


def test_evaluate_scores_unknown_labels_as_misses(small_model: Path, tmp_path: Path, run_cli: RunCli) -> None:
    """A test label the model never saw counts in recall as a miss, and a warning names it with its count."""
    from relenc.evaluation.scorers import micro_prf

    data = tmp_path / "test.jsonl"
    data.write_text((FIX / "tiny_train.jsonl").read_text() + jsonl_record("u1", "P1366") + jsonl_record("u2", "P1366"))
    preds = tmp_path / "preds.jsonl"
    args = ["evaluate", str(small_model), str(data), "--format", "jsonl", "--json", "--predictions", str(preds)]
    code, out, err = run_cli(args)
    assert code == 0, err
    assert "warning: " in err and "2 of 10 examples have gold labels the model was never trained on" in err
    assert "'P1366' (2)" in err
    scores = json.loads(out)
    assert scores["examples"] == 10 and scores["unknown_labels"] == {"P1366": 2}
    predicted = {row["id"]: row["label"] for row in map(json.loads, preds.read_text().splitlines())}
    gold = [json.loads(line).get("label") for line in data.read_text().splitlines()]
    ids = [json.loads(line)["id"] for line in data.read_text().splitlines()]
    assert "P1366" not in predicted.values()
    expected = micro_prf(gold, [predicted[i] for i in ids], "no_relation")  # the two misses are in its denominator
    assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx(
        (expected.precision, expected.recall, expected.f1)
    )


def test_predict_names_the_file_and_record_of_a_too_long_example(
    small_model: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    """The entities of record 2 are further apart than max_length 48: the error names the file and the record, and
    neither a new prediction file nor a change to an existing one is left behind."""
    data = tmp_path / "far.jsonl"
    data.write_text(jsonl_record("near") + jsonl_record("far-1", words=80))
    fresh, kept = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    kept.write_text("earlier predictions\n")
    for command, option, target in (("predict", "--output", fresh), ("evaluate", "--predictions", kept)):
        code, _, err = run_cli([command, str(small_model), str(data), "--format", "jsonl", option, str(target)])
        line = one_error(err)
        assert code == 2 and f"error: {data}, record 2 (id 'far-1'): too long to encode" in line
    assert not fresh.exists() and kept.read_text() == "earlier predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["far.jsonl", "old.jsonl"]  # no temp files either


def test_a_failed_evaluation_writes_no_prediction_file(small_model: Path, tmp_path: Path, run_cli: RunCli) -> None:
    data = tmp_path / "unlabelled.jsonl"
    data.write_text(jsonl_record("1") + jsonl_record("2", label=None))
    preds = tmp_path / "preds.jsonl"
    code, _, err = run_cli(["evaluate", str(small_model), str(data), "-f", "jsonl", "--predictions", str(preds)])
    assert code == 2 and "record 2 (id '2'): example has no gold label" in one_error(err)
    assert not preds.exists()


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_an_empty_input_file_is_an_error(command: str, tmp_path: Path, run_cli: RunCli) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    if command == "train":
        args = ["train", "--train", str(empty), "--format", "jsonl", "--output", str(tmp_path / "run")]
    else:  # the data is read before the model is loaded, so no model is needed to see the error
        args = [command, str(tmp_path / "no-model"), str(empty), "--format", "jsonl"]
    code, out, err = run_cli(args)
    assert code == 2 and out == ""
    assert one_error(err) == f"error: {empty}: holds no examples (read as jsonl); check the file and its format"
    assert not (tmp_path / "run").exists()


def test_non_utf8_input_names_the_file_and_the_line(tmp_path: Path, run_cli: RunCli) -> None:
    data = tmp_path / "latin1.jsonl"
    data.write_bytes(jsonl_record("1").encode() + b'{"id": "caf\xe9"}\n')
    code, _, err = run_cli(["predict", str(tmp_path / "no-model"), str(data), "--format", "jsonl"])
    assert code == 2
    assert one_error(err).startswith(f"error: {data}, line 2: not UTF-8 text (invalid continuation byte at byte")


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_config_validation_errors_are_one_line_per_field(tmp_path: Path, run_cli: RunCli) -> None:
    config = write_config(tmp_path / "run.yaml", "training:\n  lr: -1\n  epochs: 0\n  batch: 4\n")
    code, out, err = run_cli(["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.splitlines() == [
        f"error: {config}: training.epochs: Input should be greater than 0",
        f"error: {config}: training.lr: Input should be greater than 0",
        f"error: {config}: training.batch: Extra inputs are not permitted",
    ]
    code, _, err = run_cli(["train", "--lr", "0", "--output", str(tmp_path / "run")])
    assert err.splitlines() == ["error: command-line flags: training.lr: Input should be greater than 0"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"training:\n  train: caf\xe9\n", ", line 2: not UTF-8 text (invalid continuation byte at byte 22)"),
        (b"training: [1,\n", ", line 2, column 1: not valid YAML: expected the node content, but found"),
        (b"- 1\n- 2\n", ": expected a mapping with 'model' and 'training' sections, got list"),
        (b"model:\n  strategy: ht\n  entity_encoder: x\n", ": entity_encoder is only used by the hybrid strategy"),
    ],
)
def test_unreadable_configs_name_the_file(tmp_path: Path, run_cli: RunCli, content: bytes, expected: str) -> None:
    config = tmp_path / "run.yaml"
    config.write_bytes(content)
    code, _, err = run_cli(["train", "--config", str(config), "--output", str(tmp_path / "run")])
    assert code == 2 and one_error(err).startswith(f"error: {config}{expected}")


def test_unwritable_output_paths_are_refused_before_any_work(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file where a directory must go, a directory where a file must go, a directory below a file, and a
    read-only directory (simulated: the tests may run as root, whom permissions do not stop)."""
    data = str(FIX / "tiny_train.jsonl")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    train = ["train", "--train", data, "--format", "jsonl", "--output"]
    code, _, err = run_cli([*train, str(a_file)])
    assert code == 2 and one_error(err) == f"error: {a_file}: is a file; give a directory for this output"
    predict = ["predict", "no-model", data, "--format", "jsonl", "--output"]
    code, _, err = run_cli([*predict, str(tmp_path)])
    assert one_error(err) == f"error: {tmp_path}: is a directory; give a file path for this output"
    below = a_file / "sub" / "p.jsonl"
    code, _, err = run_cli(["evaluate", "no-model", data, "--format", "jsonl", "--predictions", str(below)])
    assert one_error(err) == f"error: {below}: cannot be created because {a_file} is a file; choose another path"
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real_access(p, mode))
    for args in ([*predict, str(locked / "p.jsonl")], [*train, str(locked / "run")]):
        code, _, err = run_cli(args)
        assert code == 2 and one_error(err).startswith(f"error: {locked}/")
        assert f"cannot write in {locked} (permission denied or read-only); choose another path or make" in err
    assert list(locked.iterdir()) == []


def test_an_os_error_anywhere_is_one_error_line(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort at the CLI's edge: a file-system error no command explains itself still names the path."""
    import relenc.data.readers

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.jsonl"))

    monkeypatch.setattr(relenc.data.readers, "read_dataset", full_disk)
    code, _, err = run_cli(["predict", "no-model", "data.jsonl", "--format", "jsonl"])
    assert code == 2
    assert one_error(err) == (
        f"error: {tmp_path / 'x.jsonl'}: No space left on device; check the path, its permissions and the free "
        "disk space"
    )
    with pytest.raises(OSError, match="No space left"):
        main(["--debug", "predict", "no-model", "data.jsonl", "--format", "jsonl"])


def test_train_into_a_directory_holding_a_run(tmp_path: Path, run_cli: RunCli) -> None:
    """Refused before any data is read, with what to do; --resume with --overwrite is a contradiction."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_config.yaml").write_text("model: {strategy: ht}\n")
    args = ["train", "--train", str(FIX / "tiny_train.jsonl"), "--format", "jsonl", "--output", str(run)]
    code, _, err = run_cli(args)
    assert code == 2 and one_error(err) == (
        f"error: {run} already holds a run (run_config.yaml); continue it with --resume, replace it with "
        "--overwrite, or choose another output directory"
    )
    code, _, err = run_cli([*args, "--resume", "--overwrite"])
    assert code == 2 and "--resume continues the run in the output directory and --overwrite deletes it" in err
    assert [p.name for p in run.iterdir()] == ["run_config.yaml"]


def test_predict_refuses_to_write_over_its_input(tmp_path: Path, run_cli: RunCli, tiny_encoder: str) -> None:
    from relenc.data.labels import LabelSet
    from relenc.encoding.builder import InputConfig
    from relenc.models.extractor import RelationExtractor

    model = tmp_path / "model"
    labels = LabelSet.from_labels(["no_relation", "per:employee_of"])
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()}).save_pretrained(model)
    data = tmp_path / "data.jsonl"
    original = (Path(__file__).parent / "fixtures" / "tiny_train.jsonl").read_text()
    data.write_text(original)
    code, _, err = run_cli(["predict", str(model), str(data), "--format", "jsonl", "-o", str(data)])
    assert code == 2 and "the output is the input file" in err
    assert data.read_text() == original


def test_train_help_names_each_strategy_as_the_paper_does() -> None:
    """The strategies' paper names have brackets, which rich would read as markup and drop."""
    from relenc.models.strategies import STRATEGIES

    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "600"})
    assert result.exit_code == 0, result.output
    for strategy in STRATEGIES.values():
        assert f"{strategy.name}: {strategy.description} (the paper's {strategy.paper_name})" in result.stdout
