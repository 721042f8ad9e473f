"""``relenc score``: in-process through typer's CliRunner, and the error path through ``relenc.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from typer.testing import CliRunner

from relenc.cli import _register, app

if TYPE_CHECKING:
    from conftest import RunCli

try:
    import relenc.cli.score  # noqa: F401  (registers the command on ``app``)
    from relenc.data.readers import read_dataset  # noqa: F401
except ImportError as exc:  # the readers are written in parallel with this command
    pytest.skip(f"relenc score needs relenc.data.readers: {exc}", allow_module_level=True)

# With a single registered command typer runs it without its name; register them all, as ``main`` does.
_register()

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "evaluation"
GOLD, PRED = str(FIX / "gold.jsonl"), str(FIX / "pred_micro.jsonl")
SEMEVAL_GOLD, SEMEVAL_PRED = str(FIX / "gold_semeval.txt"), str(FIX / "pred_semeval.jsonl")
runner = CliRunner()


def invoke_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["score", *args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    return out


def test_micro_json() -> None:
    out = invoke_json(GOLD, PRED, "--format", "jsonl")
    # gold positives: 1, 2, 3, 6; predicted positives: 1, 3, 4; correct: 1, 3
    assert out["metric"] == "micro" and out["negative_label"] == "no_relation" and out["examples"] == 6
    assert out["precision"] == pytest.approx(200 / 3)
    assert out["recall"] == pytest.approx(50.0)
    assert out["f1"] == pytest.approx(2 * (200 / 3) * 50 / (200 / 3 + 50))
    assert "per_relation" not in out


def test_micro_report() -> None:
    out = invoke_json(GOLD, PRED, "--format", "jsonl", "--metric", "micro", "--report")
    rows = {row["label"]: row for row in out["per_relation"]}
    assert list(rows) == ["org:city_of_headquarters", "per:city_of_birth", "per:employee_of", "no_relation"]
    assert rows["per:employee_of"] == {
        "label": "per:employee_of",
        "precision": 50.0,
        "recall": 50.0,
        "f1": 50.0,
        "support": 2,
        "predicted": 2,
    }
    assert (rows["per:city_of_birth"]["support"], rows["per:city_of_birth"]["predicted"]) == (1, 0)
    assert rows["no_relation"]["precision"] == pytest.approx(100 / 3)


def test_negative_label_option_changes_what_counts() -> None:
    # with "per:employee_of" as the negative label, positives are the other three labels
    out = invoke_json(GOLD, PRED, "--format", "jsonl", "--negative-label", "per:employee_of")
    # predicted positives: 2, 3, 5, 6 (no_relation counts now); correct: 3, 5
    assert out["negative_label"] == "per:employee_of"
    assert (out["precision"], out["recall"]) == (50.0, 50.0)


def test_semeval_is_the_default_metric_for_semeval_data() -> None:
    out = invoke_json(SEMEVAL_GOLD, SEMEVAL_PRED, "--format", "semeval", "--report")
    # Cause-Effect P 1/(1+1 wrong direction) R 1/2; Component-Whole P 1/2 R 1/1; Member-Collection 0
    assert out["metric"] == "semeval" and out["examples"] == 6
    assert out["precision"] == pytest.approx(100 / 3)
    assert out["recall"] == pytest.approx(50.0)
    assert out["f1"] == pytest.approx((50 + 200 / 3 + 0) / 3)  # mean of the F1s, not 2PR/(P+R) = 40
    rows = out["per_relation"]
    assert [row["label"] for row in rows] == ["Cause-Effect", "Component-Whole", "Member-Collection", "Other"]


def test_semeval_data_scored_with_micro(tmp_path: Path, run_cli: RunCli) -> None:
    # micro only accepts labels of the gold label set: Component-Whole(e1,e2) (line 4) is not one
    code, _, err = run_cli(["score", SEMEVAL_GOLD, SEMEVAL_PRED, "--format", "semeval", "--metric", "micro"])
    assert code != 0 and "line 4 (id '4'): predicted labels not in the gold label set: Component-Whole(e1,e2)" in err
    path = tmp_path / "p.jsonl"
    path.write_text(Path(SEMEVAL_PRED).read_text().replace("Component-Whole(e1,e2)", "Other"))
    out = invoke_json(SEMEVAL_GOLD, str(path), "--format", "semeval", "--metric", "micro")
    # negative Other: predicted positives 1, 2, 3; gold positives 1, 2, 3, 5; correct 1, 3
    assert out["negative_label"] == "Other" and out["metric"] == "micro"
    assert (out["precision"], out["recall"]) == (pytest.approx(200 / 3), 50.0)


def test_tables_without_json() -> None:
    result = runner.invoke(app, ["score", GOLD, PRED, "--format", "jsonl", "--report"])
    assert result.exit_code == 0, result.output
    assert "66.67" in result.stdout and "57.14" in result.stdout
    assert "per relation" in result.stdout and "per:city_of_birth" in result.stdout


@pytest.mark.parametrize(
    ("preds", "message"),
    [
        ({"1": "per:employee_of"}, "gold.jsonl, record 2: no prediction for gold id '2'"),
        ({str(i): "per:spouse" for i in range(1, 7)}, "p.jsonl, line 1 (id '1'): predicted labels not in the gold"),
        ({**{str(i): "no_relation" for i in range(1, 7)}, "x": "no_relation"}, "line 7 (id 'x'): predicted id 'x'"),
    ],
)
def test_errors_are_one_line_on_stderr(tmp_path: Path, run_cli: RunCli, preds: dict[str, str], message: str) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"id": k, "label": v}) + "\n" for k, v in preds.items()))
    code, out, err = run_cli(["score", GOLD, str(path), "--format", "jsonl"])
    assert code != 0 and out == ""
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_semeval_rejects_labels_the_official_scorer_rejects(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "p.jsonl"
    lines = Path(SEMEVAL_PRED).read_text().replace("Cause-Effect(e1,e2)", "Cause-Effect", 1)
    path.write_text(lines)
    code, _, err = run_cli(["score", SEMEVAL_GOLD, str(path), "--format", "semeval"])
    assert code != 0
    assert err.startswith("error: ") and "line 1 (id '1'): predicted labels that are not SemEval-2010" in err


def test_unknown_metric_and_bad_prediction_file(tmp_path: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli(["score", GOLD, PRED, "--format", "jsonl", "--metric", "macro"])
    assert code != 0 and err.startswith("error: unknown metric 'macro'")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "label": "no_relation"}\n{"id": "2"\n')
    code, _, err = run_cli(["score", GOLD, str(bad), "--format", "jsonl"])
    assert code != 0 and err.startswith("error: ") and "bad.jsonl, line 2" in err and "invalid JSON" in err
