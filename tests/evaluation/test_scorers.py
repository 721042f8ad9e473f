"""Scorers pinned to hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from relenc.errors import RelencError
from relenc.evaluation.scorers import confusion_matrix, micro_prf, per_relation_report, score, semeval_official

CE12, CE21 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
CW12 = "Component-Whole(e1,e2)"
OTHER = "Other"


def test_micro_excludes_the_negative_label() -> None:
    gold = ["a", "a", "b", "no", "no"]
    pred = ["a", "b", "b", "a", "no"]
    s = micro_prf(gold, pred, negative="no")
    # correct positives: a, b = 2; predicted positives: 4; gold positives: 3
    assert (s.precision, s.recall) == pytest.approx((50.0, 200 / 3))
    assert s.f1 == pytest.approx(2 * 50 * (200 / 3) / (50 + 200 / 3))


def test_micro_zero_denominators() -> None:
    s = micro_prf(["no", "no"], ["no", "no"], negative="no")
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_semeval_all_correct() -> None:
    gold = [CE12, CE21, CW12, OTHER]
    assert semeval_official(gold, gold).f1 == pytest.approx(100.0)


def test_semeval_wrong_direction_counts_against_precision_and_recall() -> None:
    # Cause-Effect: gold 2, one right, one with the wrong direction.
    s = semeval_official([CE12, CE12], [CE12, CE21])
    # P = 1 / (1 predicted + 1 wrong direction) = 50, R = 1/2 = 50
    assert (s.precision, s.recall, s.f1) == pytest.approx((50.0, 50.0, 50.0))
    # ignoring direction both are right
    assert s.macro_undirected.f1 == pytest.approx(100.0)


def test_semeval_other_is_excluded_and_macro_f1_is_the_mean_of_f1s() -> None:
    gold = [CE12, CE12, CW12, OTHER, OTHER]
    pred = [CE12, OTHER, CE12, OTHER, CW12]
    s = semeval_official(gold, pred)
    # Cause-Effect: correct 1, predicted 2, gold 2 -> P 50, R 50, F1 50
    # Component-Whole: correct 0, predicted 1, gold 1 -> 0
    assert [(r.label, r.f1) for r in s.per_relation] == [("Cause-Effect", 50.0), ("Component-Whole", 0.0)]
    assert s.f1 == pytest.approx(25.0)
    assert s.precision == pytest.approx(25.0) and s.recall == pytest.approx(25.0)


def test_semeval_relations_absent_from_gold_are_not_averaged() -> None:
    s = semeval_official([CE12, OTHER], [CE12, CW12])
    assert [r.label for r in s.per_relation] == ["Cause-Effect"]
    assert s.f1 == pytest.approx(100.0)
    assert s.micro.precision == pytest.approx(100.0)  # the Component-Whole prediction counts as Other


def test_semeval_all_wrong() -> None:
    assert semeval_official([CE12, CW12], [OTHER, OTHER]).f1 == 0.0


def test_semeval_rejects_labels_it_does_not_know() -> None:
    with pytest.raises(RelencError, match="not SemEval-2010 Task 8 labels: Cause-Effect"):
        semeval_official([CE12], ["Cause-Effect"])


def test_dispatch_and_length_check() -> None:
    assert score(["x"], ["x"], "micro", None).f1 == 100.0
    with pytest.raises(RelencError, match="unknown metric"):
        score(["x"], ["x"], "macro", None)
    with pytest.raises(RelencError, match="2 gold labels but 1 predictions"):
        micro_prf(["a", "b"], ["a"], None)


def test_per_relation_report_and_confusion_matrix() -> None:
    gold = ["a", "a", "b", "no"]
    pred = ["a", "b", "b", "b"]
    rows = {r.label: r for r in per_relation_report(gold, pred, negative="no")}
    assert rows["b"].precision == pytest.approx(100 / 3) and rows["b"].recall == 100.0
    assert rows["a"].support == 2 and rows["b"].predicted == 3
    labels, matrix = confusion_matrix(gold, pred, ["no", "a", "b"])
    assert labels == ["no", "a", "b"]
    np.testing.assert_array_equal(matrix, [[0, 0, 1], [0, 1, 1], [0, 0, 1]])
