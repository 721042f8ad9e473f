"""semeval_official reproduces what the official Perl scorer (v1.2) printed for its own example files.

The task's release ships ``answer_key{1,2,3,5}.txt``, ``proposed_answer{1..5}.txt`` and the scorer's outputs
``result_scores{1,2,3,5}.txt``; its README pairs ``proposed_answerN`` with ``answer_keyN``. Every percentage the
scorer printed (per-class P/R/F1, micro and macro P/R/F1, coverage and the three accuracies, in all three
evaluations) must come out the same to the two decimals printed, and so must the counts behind them.
``proposed_answer4.txt`` is the format checker's bad example: the scorer refuses it, and so do we.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relenc.errors import DataError
from relenc.evaluation.scorers import SEMEVAL_OTHER, SemEvalEvaluation, semeval_official

SCORER_DIR = "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_scorer-v1.2"
PAIRS = [1, 2, 3, 5]

_SECTION = re.compile(r"^<<< \((?:2\*9\+1|9\+1)\)-WAY EVALUATION.*$", re.M)
_NUM = r"\s*([\d.]+)%"
_ROW = re.compile(
    r"^\s*(\S+) :\s+P =\s*(\d+)/(?:\(\s*(\d+) \+\s*(\d+)\)|\s*(\d+)) ="
    + _NUM
    + r"\s+R =\s*(\d+)/\s*(\d+) ="
    + _NUM
    + r"\s+F1 ="
    + _NUM,
    re.M,
)
_MICRO = re.compile(
    r"Micro-averaged.*\nP =\s*\d+/\s*(\d+) =" + _NUM + r"\s+R =\s*\d+/\s*(\d+) =" + _NUM + r"\s+F1 =" + _NUM
)
_MACRO = re.compile(r"MACRO-averaged.*\nP =" + _NUM + r"\s+R =" + _NUM + r"\s+F1 =" + _NUM)
_RATIO = r"\s*\d+/\d+ =" + _NUM
_COVERAGE = re.compile(r"^Coverage =" + _RATIO, re.M)
_ACCURACY = re.compile(r"^Accuracy \((.*?)\) =" + _RATIO, re.M)
_OFFICIAL = re.compile(r"The official score is .* macro-averaged F1 =" + _NUM)


def scorer_dir(real_data: Path) -> Path:
    root = real_data / SCORER_DIR
    if not root.is_dir():
        pytest.skip(f"the SemEval-2010 Task 8 scorer folder is not at {root}")
    return root


def read_answers(path: Path) -> dict[str, str]:
    """An official answer file: ``<id>TAB<label>`` lines."""
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            sid, label = line.split("\t")
            assert sid not in pairs, f"{path}: id {sid} repeated"
            pairs[sid] = label
    return pairs


def printed(value: float) -> str:
    """A percentage as the Perl scorer prints it (``%6.2f``, stripped)."""
    return f"{value:.2f}"


def check_section(section: str, ours: SemEvalEvaluation, where: str) -> int:
    """Compare one printed evaluation with ours; return how many numbers were compared."""
    rows = {("Other" if m[0] == "_Other" else m[0]): m for m in _ROW.findall(section)}
    assert list(rows) == [row.label for row in ours.per_relation], where
    checked = 0
    for row in ours.per_relation:
        label, _, predicted, wrong_dir, predicted_18, p, _, support, r, f1 = rows[row.label]
        n_predicted = int(predicted) + int(wrong_dir) if wrong_dir else int(predicted_18)
        assert (row.predicted, row.support) == (n_predicted, int(support)), f"{where} {label} counts"
        assert (printed(row.precision), printed(row.recall), printed(row.f1)) == (p, r, f1), f"{where} {label}"
        checked += 3
    micro = _MICRO.search(section)
    assert micro, f"{where}: no micro-averaged line"
    relations = [row for row in ours.per_relation if row.label != SEMEVAL_OTHER]
    assert sum(row.predicted for row in relations) == int(micro[1]), f"{where} micro predicted"
    assert sum(row.support for row in relations) == int(micro[3]), f"{where} micro gold"
    assert (printed(ours.micro.precision), printed(ours.micro.recall), printed(ours.micro.f1)) == (
        micro[2],
        micro[4],
        micro[5],
    ), f"{where} micro"
    macro = _MACRO.search(section)
    assert macro, f"{where}: no macro-averaged line"
    assert (printed(ours.macro.precision), printed(ours.macro.recall), printed(ours.macro.f1)) == macro.groups(), (
        f"{where} macro"
    )
    coverage = _COVERAGE.search(section)
    assert coverage and printed(ours.coverage) == coverage[1], f"{where} coverage"
    accuracies = [value for _, value in _ACCURACY.findall(section)]
    assert [
        printed(ours.accuracy),
        printed(ours.accuracy_skipped_wrong),
        printed(ours.accuracy_skipped_other),
    ] == accuracies, f"{where} accuracy"
    return checked + 6 + 1 + 3


@pytest.mark.integration
@pytest.mark.parametrize("n", PAIRS)
def test_reproduces_every_printed_number(real_data: Path, n: int) -> None:
    root = scorer_dir(real_data)
    gold_pairs = read_answers(root / f"answer_key{n}.txt")
    pred_pairs = read_answers(root / f"proposed_answer{n}.txt")
    assert set(pred_pairs) <= set(gold_pairs)  # the scorer would stop on an unknown id
    ids = list(gold_pairs)
    result = semeval_official([gold_pairs[i] for i in ids], [pred_pairs.get(i) for i in ids])  # missing: skipped
    text = (root / f"result_scores{n}.txt").read_text(encoding="utf-8")
    sections = _SECTION.split(text)[1:]
    assert len(sections) == 3
    checked = 0
    for section, ours in zip(sections, (result.way_18_plus_1, result.undirected, result.official), strict=True):
        checked += check_section(section, ours, f"result_scores{n}.txt, {ours.name}")
    official = _OFFICIAL.search(text)
    assert official and printed(result.f1) == official[1]
    assert checked > 40


@pytest.mark.integration
def test_the_official_score_is_the_mean_of_the_per_relation_f1s(real_data: Path) -> None:
    """On the full training key (8000 examples, proposed_answer2), with the printed official score."""
    root = scorer_dir(real_data)
    gold_pairs = read_answers(root / "answer_key2.txt")
    pred_pairs = read_answers(root / "proposed_answer2.txt")
    result = semeval_official(list(gold_pairs.values()), [pred_pairs.get(i) for i in gold_pairs])
    f1s = [row.f1 for row in result.per_relation if row.label != SEMEVAL_OTHER]
    assert len(f1s) == 9 and result.f1 == pytest.approx(sum(f1s) / 9)
    assert "macro-averaged F1 = " + printed(result.f1) in (root / "result_scores2.txt").read_text()


@pytest.mark.integration
def test_refuses_the_bad_proposed_answer_like_the_scorer(real_data: Path) -> None:
    """proposed_answer4.txt has misspelt labels (``Message-Topc``, ``Cause-Effect(e1, e2)``, ...); the official
    scorer stops at the first one ("Bad file format on line 2"), so do we, naming the label."""
    root = scorer_dir(real_data)
    pairs = [line.split("\t") for line in (root / "proposed_answer4.txt").read_text().splitlines()]
    pred = [label for _, label in pairs]
    with pytest.raises(DataError, match=r"predicted label 2: 'Message-Topc\(e1,e2\)' is not a SemEval-2010 Task 8"):
        semeval_official(["Other"] * len(pred), pred)
