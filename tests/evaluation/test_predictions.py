"""Prediction files: reading, atomic writing, and alignment with gold examples by id."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.errors import DataError
from relenc.evaluation.predictions import Predictions, align_predictions, read_predictions, write_predictions

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "evaluation"


def example(id_: str, label: str | None) -> Example:
    return Example(id_, ("A", "likes", "B"), Span(0, 1, "A"), Span(2, 3, "B"), label)


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- read_predictions -------------------------------------------------------------------------------------------


def test_read_predictions_fixture() -> None:
    preds = read_predictions(FIX / "pred_micro.jsonl")
    assert preds == {
        "1": "per:employee_of",
        "2": "no_relation",
        "3": "org:city_of_headquarters",  # an integer id is compared as a string
        "4": "per:employee_of",
        "5": "no_relation",
        "6": "no_relation",
    }
    assert isinstance(preds, Predictions) and preds.source == str(FIX / "pred_micro.jsonl")
    assert preds.location("5") == "line 6 (id '5')"  # the blank line 5 is skipped but counted


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": "1", "label": "a"}', '{"id": "2", "label": '], r"p\.jsonl, line 2, column \d+: invalid JSON"),
        (['{"id": "1"}'], r"p\.jsonl, line 1: missing key 'label'"),
        (["", '{"label": "a"}'], r"p\.jsonl, line 2: missing key 'id'"),
        (['["1", "a"]'], r"p\.jsonl, line 1: expected an object"),
        (['{"id": 1.5, "label": "a"}'], r"p\.jsonl, line 1: 'id' must be a string or an integer, got 1\.5"),
        (['{"id": true, "label": "a"}'], r"p\.jsonl, line 1: 'id' must be a string or an integer, got True"),
        (['{"id": "1", "label": 3}'], r"p\.jsonl, line 1: 'label' must be a string, got 3"),
        (
            ['{"id": "1", "label": "a"}', '{"id": "2", "label": "a"}', '{"id": 1, "label": "b"}'],
            r"p\.jsonl, line 3: id '1' is predicted twice \(first on line 1\)",
        ),
    ],
)
def test_read_predictions_errors_name_file_and_line(tmp_path: Path, lines: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_predictions(write(tmp_path / "p.jsonl", *lines))


def test_read_predictions_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.jsonl: file not found"):
        read_predictions(tmp_path / "nope.jsonl")


# --- write_predictions ------------------------------------------------------------------------------------------


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    rows = [{"id": "a", "label": "x", "score": 0.5}, {"id": 7, "label": "Ünïcode"}]
    path = tmp_path / "sub" / "preds.jsonl"
    assert write_predictions(rows, path) == 2
    assert read_predictions(path) == {"a": "x", "7": "Ünïcode"}
    assert json.loads(path.read_text(encoding="utf-8").splitlines()[0]) == rows[0]
    assert os.stat(path).st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["preds.jsonl"]  # no temporary file left


def test_write_predictions_is_atomic(tmp_path: Path) -> None:
    path = write(tmp_path / "preds.jsonl", '{"id": "old", "label": "x"}')

    def rows() -> Iterator[dict[str, str]]:
        yield {"id": "new", "label": "y"}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_predictions(rows(), path)
    assert read_predictions(path) == {"old": "x"}  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["preds.jsonl"]


def test_write_predictions_rejects_rows_without_id_or_label(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="prediction row 2 needs 'id' and 'label'"):
        write_predictions([{"id": "1", "label": "a"}, {"id": "2"}], tmp_path / "p.jsonl")
    assert not (tmp_path / "p.jsonl").exists()


# --- align_predictions ------------------------------------------------------------------------------------------


def test_align_by_id_in_gold_order() -> None:
    gold = read_dataset(FIX / "gold.jsonl", "jsonl")
    preds = read_predictions(FIX / "pred_micro.jsonl")
    gold_labels, pred_labels = align_predictions(list(reversed(gold)), preds)
    assert gold_labels[0] == "per:city_of_birth" and pred_labels[0] == "no_relation"
    assert len(gold_labels) == len(pred_labels) == 6


def test_align_accepts_a_plain_dict_and_the_negative_label() -> None:
    gold = [example("1", "a"), example("2", "a")]
    assert align_predictions(gold, {"2": "a", "1": "none"}, negative="none") == (["a", "a"], ["none", "a"])


def test_prediction_id_missing_from_gold(tmp_path: Path) -> None:
    preds = read_predictions(write(tmp_path / "p.jsonl", '{"id": "1", "label": "a"}', '{"id": "9", "label": "a"}'))
    with pytest.raises(DataError, match=r"p\.jsonl, line 2 \(id '9'\): predicted id '9' is not in the gold data in g"):
        align_predictions([example("1", "a")], preds, gold_source="g.jsonl")


def test_gold_id_without_prediction(tmp_path: Path) -> None:
    preds = read_predictions(write(tmp_path / "p.jsonl", '{"id": "1", "label": "a"}'))
    gold = [example("1", "a"), example("2", "a"), example("3", "b")]
    with pytest.raises(
        DataError, match=r"g\.jsonl, record 2: no prediction for gold id '2' in .*p\.jsonl \(2 gold ids have none\)"
    ):
        align_predictions(gold, preds, gold_source="g.jsonl")


def test_duplicate_prediction_id_in_a_file_given_to_align(tmp_path: Path) -> None:
    # a dict cannot hold a duplicate: it is caught when the file is read, at its line
    path = write(tmp_path / "p.jsonl", '{"id": "1", "label": "a"}', '{"id": "1", "label": "a"}')
    with pytest.raises(DataError, match=r"p\.jsonl, line 2: id '1' is predicted twice"):
        align_predictions([example("1", "a")], read_predictions(path))


def test_gold_example_without_label() -> None:
    with pytest.raises(DataError, match=r"g\.txt, record 2 \(id 'b'\): gold example has no label"):
        align_predictions([example("a", "x"), example("b", None)], {"a": "x", "b": "x"}, "p", gold_source="g.txt")


def test_duplicate_gold_id() -> None:
    with pytest.raises(DataError, match=r"g\.txt, record 2 \(id 'a'\): gold id 'a' occurs twice"):
        align_predictions([example("a", "x"), example("a", "x")], {"a": "x"}, gold_source="g.txt")


def test_micro_predicted_label_unknown_to_the_gold_label_set(tmp_path: Path) -> None:
    path = write(tmp_path / "p.jsonl", '{"id": "1", "label": "a"}', '{"id": "2", "label": "zzz"}')
    gold = [example("1", "a"), example("2", "b")]
    message = r"p\.jsonl, line 2 \(id '2'\): predicted labels not in the gold label set: zzz"
    with pytest.raises(DataError, match=message):
        align_predictions(gold, read_predictions(path), metric="micro", negative="no_relation")


def test_semeval_predicted_label_outside_the_nineteen(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.jsonl",
        '{"id": "1", "label": "Cause-Effect(e1,e2)"}',
        '{"id": "2", "label": "Cause-Effect(e1, e2)"}',
    )
    # a valid SemEval label absent from the gold labels is allowed (the official scorer only warns)
    gold = [example("1", "Other"), example("2", "Other")]
    with pytest.raises(
        DataError, match=r"line 2 \(id '2'\): predicted labels that are not SemEval-2010 Task 8 labels: Cause-Effect"
    ):
        align_predictions(gold, read_predictions(path), metric="semeval")
    assert align_predictions(gold, {"1": "Cause-Effect(e1,e2)", "2": "Other"}, metric="semeval")[1][0] == (
        "Cause-Effect(e1,e2)"
    )


def test_semeval_gold_label_outside_the_nineteen() -> None:
    with pytest.raises(DataError, match=r"g, record 1 \(id '1'\): gold label 'per:x' is not a SemEval-2010 Task 8"):
        align_predictions([example("1", "per:x")], {"1": "Other"}, gold_source="g", metric="semeval")
