"""The command-line contract: JSON outputs, error lines, exit codes."""

from __future__ import annotations

import json
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


def test_evaluate_unknown_label(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    data = str(FIX / "tiny_train.jsonl")
    run_cli(
        [
            "train",
            "--train",
            data,
            "--dev",
            data,
            "--strategy",
            "mask",
            "--max-steps",
            "1",
            "--format",
            "jsonl",
            "--encoder",
            tiny_encoder,
            "--output",
            str(tmp_path / "run"),
            "--no-progress",
        ]
    )
    other = tmp_path / "other.jsonl"
    other.write_text(
        '{"id": "z", "tokens": ["a", "b"], "h": {"start": 0, "end": 1}, "t": {"start": 1, "end": 2},'
        ' "label": "per:spouse"}\n'
    )
    code, _, err = run_cli(["evaluate", str(tmp_path / "run"), str(other), "--format", "jsonl"])
    assert code != 0
    assert "other.jsonl, record 1 (id 'z'): unknown label 'per:spouse'" in err
