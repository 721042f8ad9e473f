"""``relenc data stats`` and ``relenc data convert``, in-process through typer and through ``relenc.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

import relenc.cli.data  # noqa: F401  (adds the "data" sub-app to the app)
from relenc.cli import app
from relenc.data.readers import read_dataset

if TYPE_CHECKING:
    from conftest import RunCli

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"
runner = CliRunner()


def test_stats_json_is_one_object() -> None:
    result = runner.invoke(app, ["data", "stats", str(FIX / "tacred.json"), "--format", "tacred", "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["examples"] == 2
    assert stats["labels"] == {"no_relation": 1, "org:city_of_headquarters": 1}
    assert stats["negative_label"] == "no_relation"
    assert stats["entity_type_pairs"]["org:city_of_headquarters"] == {"ORGANIZATION-CITY": 1}
    assert "wordpiece_length" not in stats


def test_stats_tables() -> None:
    result = runner.invoke(app, ["data", "stats", str(FIX / "kbp37.txt"), "-f", "kbp37"])
    assert result.exit_code == 0, result.output
    for expected in (
        "examples",
        "per:employee_of(e1,e2)",
        "org:country_of_headquarters(e1,e2)",
        "no_relation",
        "33.3%",
    ):
        assert expected in result.stdout


def test_convert_writes_generic_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "kbp37.jsonl"
    result = runner.invoke(app, ["data", "convert", str(FIX / "kbp37.txt"), str(out), "--format", "kbp37"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote 3 examples to {out}"
    assert read_dataset(out, "jsonl") == read_dataset(FIX / "kbp37.txt", "kbp37")


def test_bad_record_is_one_error_line(tmp_path: Path, run_cli: RunCli) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text('1\t"The <e1>author</e1> of the book."\nOther\n')
    code, out, err = run_cli(["data", "stats", str(bad), "--format", "semeval"])
    assert code == 2 and out == ""
    assert err == f"error: {bad}, line 1 (id '1'): expected exactly one <e2> tag, found 0\n"


def test_unknown_format_is_an_error(run_cli: RunCli) -> None:
    code, _, err = run_cli(["data", "stats", str(FIX / "kbp37.txt"), "--format", "csv"])
    assert code == 2
    assert err.startswith("error: unknown format 'csv'; choose one of tacred, semeval, kbp37, fewrel, jsonl")


def test_convert_of_a_missing_file_writes_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(["data", "convert", str(tmp_path / "missing.json"), str(out), "-f", "tacred"])
    assert code == 2 and "missing.json: file not found" in err
    assert not out.exists()


@pytest.mark.integration
def test_stats_with_the_minilm_tokenizer() -> None:
    result = runner.invoke(
        app, ["data", "stats", str(FIX / "semeval.txt"), "--format", "semeval", "--encoder", "minilm", "--json"]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    # MiniLM's uncased word pieces: "the author of the book spoke ." is 7, "a cup ' s handle broke ." is 7
    assert stats["wordpiece_length"] == {"p50": 7, "p90": 7, "p95": 7, "p99": 7, "max": 7}
