"""The SemEval scorer reproduces the official Perl scorer's printed numbers on its own example files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from relenc.evaluation.scorers import semeval_official

SCORER_DIR = "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_scorer-v1.2"
CASES = [(1, 1), (2, 2), (3, 3), (5, 5)]  # (proposed_answer N, answer_key N), as in the scorer's README


def read_pairs(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip():
            sid, label = line.split("\t")
            pairs[sid.strip()] = label.strip()
    return pairs


def official_numbers(path: Path) -> dict[str, tuple[float, float, float]]:
    """Micro and macro P/R/F1 of each of the three evaluations, as printed by the official scorer."""
    text = path.read_text()
    sections = re.split(r"<<< \((?:2\*9\+1|9\+1)\)-WAY EVALUATION", text)[1:]
    names = ["18way", "undirected", "directed"]
    out = {}
    for name, section in zip(names, sections, strict=True):
        micro = re.search(
            r"Micro-averaged.*?\nP =.*?=\s*([\d.]+)%.*?R =.*?=\s*([\d.]+)%.*?F1 =\s*([\d.]+)%", section, re.S
        )
        macro = re.search(r"MACRO-averaged.*?\nP =\s*([\d.]+)%\s*R =\s*([\d.]+)%\s*F1 =\s*([\d.]+)%", section, re.S)
        assert micro and macro, f"cannot parse {path} section {name}"
        out[f"{name}_micro"] = tuple(float(x) for x in micro.groups())
        out[f"{name}_macro"] = tuple(float(x) for x in macro.groups())
    return out


@pytest.mark.integration
@pytest.mark.parametrize(("proposed", "key"), CASES)
def test_matches_official_scorer_outputs(real_data: Path, proposed: int, key: int) -> None:
    root = real_data / SCORER_DIR
    gold_pairs = read_pairs(root / f"answer_key{key}.txt")
    pred_pairs = read_pairs(root / f"proposed_answer{proposed}.txt")
    ids = list(gold_pairs)
    gold = [gold_pairs[i] for i in ids]
    pred = [pred_pairs.get(i) for i in ids]  # ids the proposal skipped count as skipped
    result = semeval_official(gold, pred)
    expected = official_numbers(root / f"result_scores{proposed}.txt")
    ours = {
        "directed_macro": (result.precision, result.recall, result.f1),
        "directed_micro": (result.micro.precision, result.micro.recall, result.micro.f1),
        "18way_macro": (result.macro_18_way.precision, result.macro_18_way.recall, result.macro_18_way.f1),
        "undirected_macro": (
            result.macro_undirected.precision,
            result.macro_undirected.recall,
            result.macro_undirected.f1,
        ),
    }
    for name, values in ours.items():
        assert tuple(round(v, 2) for v in values) == pytest.approx(expected[name], abs=0.006), name
