"""The scorers on hand-computed cases; the numbers in the comments are worked out by hand."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from relenc.data.readers import FORMATS
from relenc.errors import DataError, RelencError
from relenc.evaluation.scorers import (
    SEMEVAL_LABELS,
    RelationRow,
    Scores,
    SemEvalScores,
    check_metric,
    confusion_matrix,
    default_metric,
    micro_prf,
    per_relation_report,
    score,
    semeval_official,
    undirected,
)

CE12, CE21 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
CW12, CW21 = "Component-Whole(e1,e2)", "Component-Whole(e2,e1)"
MC12 = "Member-Collection(e1,e2)"
OTHER = "Other"


def prf(scores: Scores | RelationRow) -> tuple[float, float, float]:
    return (scores.precision, scores.recall, scores.f1)


# --- micro (TACRED) ---------------------------------------------------------------------------------------------


def test_micro_excludes_the_negative_label() -> None:
    gold = ["a", "a", "b", "no", "no"]
    pred = ["a", "b", "b", "a", "no"]
    # correct positives: ids 0 and 2 = 2; predicted positives 4; gold positives 3
    p, r = 50.0, 200 / 3
    assert prf(micro_prf(gold, pred, negative="no")) == pytest.approx((p, r, 2 * p * r / (p + r)))


def test_micro_correct_negative_predictions_do_not_count() -> None:
    # the one correct answer is "no": nothing positive is right
    assert prf(micro_prf(["no", "a"], ["no", "no"], negative="no")) == (0.0, 0.0, 0.0)


def test_micro_zero_denominators_give_zero() -> None:
    assert prf(micro_prf(["no", "no"], ["no", "no"], negative="no")) == (0.0, 0.0, 0.0)
    assert prf(micro_prf([], [], negative="no")) == (0.0, 0.0, 0.0)


def test_micro_without_negative_label_is_accuracy() -> None:
    assert prf(micro_prf(["a", "b", "c", "a"], ["a", "b", "a", "c"], negative=None)) == (50.0, 50.0, 50.0)


def test_lists_of_different_lengths_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        micro_prf(["a", "b"], ["a"], None)
    with pytest.raises(ValueError, match="1 gold labels but 0 predictions"):
        semeval_official([CE12], [])


# --- SemEval-2010 Task 8, official ------------------------------------------------------------------------------


def test_semeval_labels_are_the_nineteen_of_the_task() -> None:
    assert len(SEMEVAL_LABELS) == 19 and OTHER in SEMEVAL_LABELS and CW21 in SEMEVAL_LABELS
    assert undirected(CE21) == "Cause-Effect" and undirected(OTHER) == OTHER


def test_semeval_all_correct() -> None:
    gold = [CE12, CE21, CW12, OTHER]
    result = semeval_official(gold, gold)
    assert prf(result) == (100.0, 100.0, 100.0)
    assert prf(result.micro) == (100.0, 100.0, 100.0)
    assert result.official.accuracy == 100.0 and result.official.coverage == 100.0


def test_semeval_all_wrong() -> None:
    result = semeval_official([CE12, CW12, OTHER], [OTHER, CE21, CE12])
    assert prf(result) == (0.0, 0.0, 0.0)
    assert prf(result.micro) == (0.0, 0.0, 0.0)
    assert result.official.accuracy == 0.0


def test_semeval_wrong_direction_lowers_precision_and_recall() -> None:
    # Cause-Effect: 2 gold; one right, one in the wrong direction (xDIRx).
    # P = 1 / (1 predicted + 1 wrong direction) = 50; R = 1 / 2 = 50
    result = semeval_official([CE12, CE12], [CE12, CE21])
    assert prf(result) == (50.0, 50.0, 50.0)
    assert [(row.label, row.support, row.predicted) for row in result.per_relation] == [("Cause-Effect", 2, 2)]
    assert result.macro_undirected.f1 == 100.0  # ignoring direction both are right
    # 2*9+1-way: CE(e2,e1) is a class of its own, absent from the gold labels, so it is not averaged;
    # CE(e1,e2) gets P 1/1, R 1/2
    assert prf(result.macro_18_way) == pytest.approx((100.0, 50.0, 200 / 3))


def test_semeval_other_is_excluded_and_macro_f1_is_the_mean_of_the_f1s() -> None:
    gold = [CE12, CE21, CW21, OTHER, MC12, OTHER]
    pred = [CE12, CE12, CW21, CW12, OTHER, OTHER]
    result = semeval_official(gold, pred)
    # Cause-Effect: correct 1, predicted 1 + 1 wrong direction, gold 2 -> P 50, R 50, F1 50
    # Component-Whole: correct 1, predicted 2 (one on an Other), gold 1 -> P 50, R 100, F1 66.67
    # Member-Collection: predicted as Other -> 0, 0, 0; Other (4 -> CW, 6 -> Other): P 1/2, R 1/2, not averaged
    rows = {row.label: row for row in result.per_relation}
    assert list(rows) == ["Cause-Effect", "Component-Whole", "Member-Collection", OTHER]
    assert prf(rows["Component-Whole"]) == pytest.approx((50.0, 100.0, 200 / 3))
    assert prf(rows[OTHER]) == (50.0, 50.0, 50.0)
    assert prf(result) == pytest.approx((100 / 3, 50.0, (50 + 200 / 3) / 3))
    assert result.f1 != pytest.approx(2 * result.precision * result.recall / (result.precision + result.recall))
    # micro pools the relations: correct 2, predicted 2 + 2 + 0, gold 2 + 1 + 1
    assert prf(result.micro) == (50.0, 50.0, 50.0)
    # direction ignored, Cause-Effect is perfect: mean F1 (100 + 66.67 + 0) / 3
    assert result.macro_undirected.f1 == pytest.approx((100 + 200 / 3) / 3)
    # 2*9+1-way: CE(e1,e2) P 1/2 R 1/1; CE(e2,e1) 0; CW(e2,e1) 100; MC(e1,e2) 0
    assert result.macro_18_way.f1 == pytest.approx((200 / 3 + 100) / 4)


def test_semeval_predicting_other_for_everything_scores_zero() -> None:
    result = semeval_official([CE12, OTHER, OTHER], [OTHER, OTHER, OTHER])
    assert prf(result) == (0.0, 0.0, 0.0)
    assert result.official.accuracy == pytest.approx(200 / 3)  # accuracy counts Other; the score does not


def test_semeval_relation_absent_from_gold_is_not_averaged_and_counts_as_other() -> None:
    # the Component-Whole prediction is wrong, but the scorer has no Component-Whole row to charge it to
    result = semeval_official([CE12, OTHER], [CE12, CW12])
    assert [row.label for row in result.per_relation] == ["Cause-Effect", OTHER]
    assert prf(result) == (100.0, 100.0, 100.0)
    assert result.micro.precision == 100.0
    assert result.official.accuracy == 50.0


def test_semeval_skipped_examples_lower_recall_only() -> None:
    result = semeval_official([CE12, CE12, OTHER, OTHER], [CE12, None, OTHER, None])
    assert prf(result) == pytest.approx((100.0, 50.0, 200 / 3))
    official = result.official
    assert (official.coverage, official.accuracy) == (50.0, 100.0)
    assert (official.accuracy_skipped_wrong, official.accuracy_skipped_other) == (50.0, 75.0)


def test_semeval_without_relations_in_gold_scores_zero() -> None:
    assert prf(semeval_official([OTHER], [CE12])) == (0.0, 0.0, 0.0)
    assert prf(semeval_official([], [])) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", ["Cause-Effect", "Cause-Effect(e1, e2)", "Message-Topc(e1,e2)", "other", ""])
def test_semeval_rejects_labels_the_official_scorer_rejects(bad: str) -> None:
    with pytest.raises(DataError, match=r"predicted label 2: .* is not a SemEval-2010 Task 8 label"):
        semeval_official([CE12, CE12], [CE12, bad])
    with pytest.raises(DataError, match=r"gold label 1: .* is not a SemEval-2010 Task 8 label"):
        semeval_official([bad], [CE12])


def test_semeval_to_dict_nests_every_evaluation() -> None:
    out = asdict(semeval_official([CE12, OTHER], [CE12, OTHER]))
    assert out["f1"] == 100.0
    assert set(out) == {"precision", "recall", "f1", "official", "way_18_plus_1", "undirected"}
    assert out["official"]["per_relation"][0] == {
        "label": "Cause-Effect",
        "precision": 100.0,
        "recall": 100.0,
        "f1": 100.0,
        "support": 1,
        "predicted": 1,
    }


# --- dispatch, reports ------------------------------------------------------------------------------------------


def test_score_dispatches_by_metric() -> None:
    gold, pred = [CE12, CE12, OTHER], [CE12, CE21, OTHER]
    semeval = score(gold, pred, "semeval", None)
    assert isinstance(semeval, SemEvalScores) and semeval.f1 == 50.0
    # micro: CE(e2,e1) is simply a wrong label; correct 1, predicted positives 2, gold positives 2
    assert prf(score(gold, pred, "micro", OTHER)) == (50.0, 50.0, 50.0)
    with pytest.raises(RelencError, match="unknown metric 'macro'; choose one of semeval, micro"):
        score(gold, pred, "macro", None)  # type: ignore[arg-type]


def test_check_metric() -> None:
    assert check_metric("micro") == "micro" and check_metric("semeval") == "semeval"
    with pytest.raises(RelencError, match="unknown metric 'f1'"):
        check_metric("f1")


def test_default_metric_is_semevals_official_score_for_semeval_only() -> None:
    assert default_metric("semeval") == "semeval"
    for fmt in FORMATS:
        if fmt != "semeval":
            assert default_metric(fmt) == "micro", fmt


def test_per_relation_report() -> None:
    gold = ["a", "a", "b", "no"]
    pred = ["a", "b", "b", "b"]
    rows = per_relation_report(gold, pred, negative="no")
    assert [row.label for row in rows] == ["a", "b", "no"]  # negative last
    by_label = {row.label: row for row in rows}
    assert prf(by_label["a"]) == pytest.approx((100.0, 50.0, 200 / 3))
    assert prf(by_label["b"]) == pytest.approx((100 / 3, 100.0, 50.0))
    assert (by_label["b"].support, by_label["b"].predicted) == (1, 3)
    assert (by_label["no"].support, by_label["no"].predicted, by_label["no"].f1) == (1, 0, 0.0)
    assert asdict(by_label["a"])["support"] == 2


def test_confusion_matrix_rows_are_gold_columns_are_predictions() -> None:
    gold = ["a", "a", "b", "no"]
    pred = ["a", "b", "b", "b"]
    labels, matrix = confusion_matrix(gold, pred, ["no", "a", "b"])
    assert labels == ["no", "a", "b"]
    np.testing.assert_array_equal(matrix, [[0, 0, 1], [0, 1, 1], [0, 0, 1]])
    assert matrix.dtype.kind == "i" and int(matrix.sum()) == len(gold)
    labels, _ = confusion_matrix(gold, pred)
    assert labels == ["a", "b", "no"]
    with pytest.raises(DataError, match="label 'no' is not one of the confusion matrix's labels"):
        confusion_matrix(gold, pred, ["a", "b"])
