"""relenc.analysis: error analysis, type signatures, probes, complementarity, grid records, plots, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from relenc.analysis import (
    UNK,
    EntityTyper,
    complementarity,
    error_analysis,
    false_positive_stats,
    oracle_predictions,
    probe,
    probe_embeddings,
    same_signature_pairs,
    signature_confusions,
    type_signatures,
)
from relenc.analysis.analyze import ANALYSIS_NAME, analyze, grid_summary
from relenc.analysis.entity_types import signature_report, type_examples
from relenc.analysis.plots import plot_confusion, plot_projection, plot_scores
from relenc.analysis.probing import split_indices
from relenc.data.example import Example, Span
from relenc.data.readers.jsonl import example_from_dict
from relenc.errors import RelencError
from relenc.experiments.summary import Stat, SummaryRow
from relenc.nlp import best_overlap, sentence_and_offsets

if TYPE_CHECKING:
    from conftest import RunCli

FIX = Path(__file__).resolve().parents[1] / "fixtures"
NEG = "no_relation"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# three relations: two share the signature PERSON-GPE, one is PERSON-ORG
SIGNATURES = {
    "per:city_of_birth": ("PERSON", "GPE"),
    "per:city_of_death": ("PERSON", "GPE"),
    "per:employee_of": ("PERSON", "ORG"),
    "per:title": None,  # its examples were never fully typed
    NEG: ("PERSON", "PERSON"),
}


# ----------------------------------------------------------------------------------------- false positives
def test_false_positive_stats_counts_and_rates() -> None:
    gold = [NEG, NEG, NEG, NEG, "per:employee_of", "per:employee_of"]
    pred = [NEG, "per:employee_of", "per:city_of_birth", NEG, NEG, "per:employee_of"]
    stats = false_positive_stats(gold, pred, NEG)
    assert stats["negatives"] == 4 and stats["false_positives"] == 2
    assert stats["false_positive_rate_pct"] == pytest.approx(50.0)
    # 3 positive predictions, 2 of them on gold negatives
    assert stats["false_positive_share_of_positive_predictions_pct"] == pytest.approx(200 / 3)
    assert stats["false_negatives"] == 1 and stats["false_negative_rate_pct"] == pytest.approx(50.0)


def test_false_positive_stats_without_a_negative_class_is_all_none() -> None:
    stats = false_positive_stats(["a", "b"], ["b", "b"], None)
    assert stats["false_positives"] is None and stats["false_positive_rate_pct"] is None


def test_false_positive_rate_is_none_when_there_are_no_negatives() -> None:
    stats = false_positive_stats(["a", "b"], ["a", "b"], NEG)
    assert stats["false_positives"] == 0 and stats["false_positive_rate_pct"] is None


# ----------------------------------------------------------------------------------------- signatures
def test_same_signature_confusions_and_type_plausible_false_positives() -> None:
    gold = [
        "per:city_of_birth",  # -> city_of_death: same signature
        "per:city_of_birth",  # -> city_of_death: same signature
        "per:city_of_death",  # -> employee_of: different signature
        "per:title",  # -> employee_of: no signature for gold, not typed
        "per:employee_of",  # -> no_relation: not a positive prediction
        NEG,  # -> city_of_birth on a PERSON-GPE pair: type-plausible false positive
        NEG,  # -> employee_of on a PERSON-GPE pair: not plausible
        NEG,  # -> employee_of on an UNK pair: false positive, not typed
        "per:employee_of",  # right
    ]
    pred = [
        "per:city_of_death",
        "per:city_of_death",
        "per:employee_of",
        "per:employee_of",
        NEG,
        "per:city_of_birth",
        "per:employee_of",
        "per:employee_of",
        "per:employee_of",
    ]
    pairs = [("PERSON", "GPE")] * 7 + [("PERSON", UNK), ("PERSON", "ORG")]
    out = signature_confusions(gold, pred, NEG, SIGNATURES, pairs)
    assert out["wrong_positive_predictions"] == 7
    assert out["relation_confusions"] == 4 and out["typed_relation_confusions"] == 3
    assert out["same_signature_confusions"] == 2
    assert out["same_signature_share_pct"] == pytest.approx(200 / 3)
    assert out["false_positives_typed"] == 2 and out["type_plausible_false_positives"] == 1
    assert out["type_plausible_false_positives_share_pct"] == pytest.approx(50.0)
    # two pairs occur twice: ties are ordered by name, so no_relation comes first
    assert out["top_confusions"][:2] == [
        {"gold": NEG, "predicted": "per:employee_of", "count": 2, "same_signature": None},
        {"gold": "per:city_of_birth", "predicted": "per:city_of_death", "count": 2, "same_signature": True},
    ]
    by_pair = {(c["gold"], c["predicted"]): c["same_signature"] for c in out["top_confusions"]}
    assert by_pair[(NEG, "per:employee_of")] is None and by_pair[("per:title", "per:employee_of")] is None
    assert by_pair[("per:city_of_death", "per:employee_of")] is False
    full = error_analysis(gold, pred, NEG, SIGNATURES, pairs)
    assert full["accuracy_pct"] == pytest.approx(100 / 9) and full["false_positives"] == 3


def test_no_typed_confusions_gives_none_not_zero() -> None:
    out = signature_confusions(["per:title"], ["per:employee_of"], NEG, SIGNATURES, [(UNK, UNK)])
    assert out["relation_confusions"] == 1 and out["same_signature_share_pct"] is None


def test_same_signature_pairs_baseline() -> None:
    # typed positives: birth, death (PERSON-GPE), employee_of (PERSON-ORG): 6 ordered pairs, 2 share
    base = same_signature_pairs(SIGNATURES, NEG)
    assert base["relation_pairs"] == 6 and base["same_signature_pairs"] == 2


def test_type_signatures_most_frequent_fully_typed_pair() -> None:
    labels = ["a", "a", "a", "a", "b", "b", None, "c", "d", "d"]
    pairs = [
        ("PERSON", "ORG"),
        ("PERSON", "ORG"),
        (UNK, UNK),
        (UNK, UNK),  # UNK pairs never win, however frequent
        ("ORG", "GPE"),
        ("GPE", "ORG"),  # a tie: the smaller pair wins
        ("X", "Y"),  # unlabelled: ignored
        ("PERSON", UNK),
        ("DATE", "PERSON"),
        ("DATE", "PERSON"),
    ]
    assert type_signatures(labels, pairs) == {
        "a": ("PERSON", "ORG"),
        "b": ("GPE", "ORG"),
        "c": None,
        "d": ("DATE", "PERSON"),
    }


def test_a_signature_needs_half_of_the_relation_typed() -> None:
    labels = ["e"] * 5
    pairs = [("ORG", "DATE")] + [(UNK, UNK)] * 4  # SemEval through NER: one typed example in five
    assert type_signatures(labels, pairs) == {"e": None}
    assert type_signatures(labels, pairs, min_typed_share=0.2) == {"e": ("ORG", "DATE")}
    report = signature_report([*labels, "f", "f"], [*pairs, ("PERSON", "ORG"), ("PERSON", "GPE")])
    assert report["e"] == {"examples": 5, "typed": 1, "signature": None, "signature_examples": 0}
    assert report["f"] == {"examples": 2, "typed": 2, "signature": ("PERSON", "GPE"), "signature_examples": 1}


def test_best_overlap_and_token_offsets() -> None:
    entities = [(0, 5, "PERSON"), (10, 20, "ORG"), (12, 30, "GPE")]
    assert best_overlap(entities, 0, 3) == "PERSON"
    assert best_overlap(entities, 11, 20) == "ORG"  # 9 characters vs 8
    assert best_overlap(entities, 6, 9) == UNK
    example = Example("1", ("Thom", "Yorke", "of", "Radiohead"), Span(0, 2, "Thom Yorke"), Span(3, 4, "Radiohead"))
    text, spans = sentence_and_offsets(example)
    assert text[slice(*spans["head"])] == "Thom Yorke" and text[slice(*spans["tail"])] == "Radiohead"


def test_entity_typer_prefers_gold_then_spacy_then_unk() -> None:
    gold_typed = example_from_dict(
        {
            "id": "1",
            "text": "Alice works for Acme.",
            "h": {"start": 0, "end": 5, "type": "PER"},
            "t": {"start": 16, "end": 20, "type": "COMPANY"},
        },
        "test",
        "record 1",
    )
    from_text = example_from_dict(
        {
            "id": "2",
            "text": "Alice works for Acme in Paris.",
            "h": {"start": 0, "end": 5},
            "t": {"start": 24, "end": 29},
        },
        "test",
        "record 2",
    )
    nominal = example_from_dict(
        {"id": "3", "text": "The cup contained tea.", "h": {"start": 4, "end": 7}, "t": {"start": 18, "end": 21}},
        "test",
        "record 3",
    )
    tokens = Example("4", ("Barack", "Obama", "visited", "Paris", "."), Span(0, 2, "Barack Obama"), Span(3, 4, "Paris"))
    typed = type_examples(EntityTyper(), [gold_typed, from_text, nominal, tokens])
    assert typed.pairs == [("PER", "COMPANY"), ("PERSON", "GPE"), (UNK, UNK), ("PERSON", "GPE")]
    assert typed.sources == {"gold": 2, "ner": 4, "unk": 2}


# ----------------------------------------------------------------------------------------- complementarity
def test_complementarity_counts_and_oracle() -> None:
    gold = ["a", "a", "b", "b", NEG, NEG, "c", "c"]
    pred_a = ["a", "a", "a", "b", NEG, "a", "a", "a"]  # right on 0, 1, 3, 4
    pred_b = ["a", "b", "b", "a", NEG, NEG, "a", "b"]  # right on 0, 2, 4, 5
    out = complementarity(gold, pred_a, pred_b, NEG)
    assert (out["both_right"], out["only_a_right"], out["only_b_right"], out["both_wrong"]) == (2, 2, 2, 2)
    assert out["both_right_pct"] == pytest.approx(25.0)
    assert out["accuracy_a_pct"] == pytest.approx(50.0) and out["oracle_accuracy_pct"] == pytest.approx(75.0)
    positive = out["positive_only"]  # positions 0-3, 6, 7
    assert positive["examples"] == 6
    assert (positive["both_right"], positive["only_a_right"], positive["only_b_right"], positive["both_wrong"]) == (
        1,
        2,
        1,
        2,
    )
    assert oracle_predictions(gold, pred_a, pred_b) == ["a", "a", "b", "b", NEG, NEG, "a", "a"]


def test_complementarity_rejects_misaligned_lists() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        complementarity(["a"], ["a", "b"], ["a"])


# ----------------------------------------------------------------------------------------- probes
def test_probe_reads_separable_types_and_not_random_ones() -> None:
    rng = np.random.default_rng(0)
    classes = np.array(["PERSON"] * 240 + ["ORG"] * 100 + ["GPE"] * 60)
    centres = {"PERSON": rng.normal(size=16) * 3, "ORG": rng.normal(size=16) * 3, "GPE": rng.normal(size=16) * 3}
    separable = np.stack([centres[c] for c in classes]) + rng.normal(size=(len(classes), 16))
    good = probe(separable, classes.tolist(), seed=1)
    assert good.skipped is None and good.n_train + good.n_test == 400 and good.classes == 3
    assert good.majority_baseline_pct == pytest.approx(60.0, abs=1.0)  # stratified: PERSON is 60% of the test part
    assert good.accuracy_pct is not None and good.accuracy_pct > 95.0

    noise = rng.normal(size=(len(classes), 16))
    bad = probe(noise, classes.tolist(), seed=1)
    assert bad.accuracy_pct is not None and bad.majority_baseline_pct is not None
    assert bad.accuracy_pct < bad.majority_baseline_pct + 10.0  # nothing to read beyond always saying PERSON


def test_probe_skips_what_cannot_be_probed() -> None:
    assert probe(np.zeros((30, 4)), ["PERSON"] * 30).skipped == "too little to probe: a single class"
    assert probe(np.zeros((19, 4)), ["A", "B"] * 9 + ["A"]).skipped == "too little to probe: 19 examples"
    assert probe(np.zeros((3, 4)), ["A", "B", "A"], min_examples=1).skipped == "too little to probe: 3 examples"


def test_split_is_seeded_stratified_and_disjoint() -> None:
    targets = ["A"] * 20 + ["B"] * 10
    train, test = split_indices(targets, seed=3)
    assert sorted(train.tolist() + test.tolist()) == list(range(30))
    assert sum(targets[i] == "A" for i in test) == 6 and sum(targets[i] == "B" for i in test) == 3
    again_train, again_test = split_indices(targets, seed=3)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)


def test_probe_embeddings_uses_only_the_vectors_a_model_has() -> None:
    rng = np.random.default_rng(0)
    pairs = [("PERSON", "ORG"), ("ORG", "GPE"), (UNK, "GPE")] * 20
    vec = rng.normal(size=(len(pairs), 8)).astype(np.float32)
    mask_only = probe_embeddings({"m": vec}, pairs, seed=0)
    assert set(mask_only) == {"head_type", "tail_type", "type_pair"}
    assert all(set(views) == {"m"} for views in mask_only.values())
    assert mask_only["head_type"]["m"]["n_train"] + mask_only["head_type"]["m"]["n_test"] == 40  # UNK heads left out
    assert mask_only["tail_type"]["m"]["n_train"] + mask_only["tail_type"]["m"]["n_test"] == 60
    ht_only = probe_embeddings({"h": vec, "t": vec}, pairs, seed=0)
    assert set(ht_only["head_type"]) == {"ht", "h"} and set(ht_only["tail_type"]) == {"ht", "t"}
    assert ht_only["head_type"]["ht"]["dims"] == 16
    capped = probe_embeddings({"m": vec}, pairs, seed=0, max_examples=30)
    assert capped["tail_type"]["m"]["n_train"] + capped["tail_type"]["m"]["n_test"] == 30


# ----------------------------------------------------------------------------------------- grid records
def write_record(directory: Path, name: str, strategy: str, seed: int, f1: float) -> None:
    record = {"dataset": "semeval", "encoder": "minilm", "strategy": strategy, "seed": seed, "test": {"f1": f1}}
    (directory / name).write_text(json.dumps(record))


def test_grid_records_are_read_leniently_and_summarised(tmp_path: Path) -> None:
    write_record(tmp_path, "a.json", "ht", 1, 80.0)
    write_record(tmp_path, "b.json", "ht", 2, 84.0)
    write_record(tmp_path, "c.json", "mask", 1, 82.0)
    (tmp_path / "d.json").write_text('{"dataset": "semeval", "strategy": "ht"}')
    (tmp_path / "e.json").write_text("{not json")
    (tmp_path / "f.json").write_text(
        json.dumps({"dataset": "x", "encoder": "y", "strategy": "z", "seed": 1, "test": {"f1": "n/a"}})
    )
    failed = {"dataset": "semeval", "encoder": "minilm", "strategy": "ht", "seed": 3, "status": "failed"}
    (tmp_path / "g.json").write_text(json.dumps({**failed, "error": "out of memory"}))
    tagged = {"dataset": "semeval", "encoder": "minilm", "strategy": "mask", "seed": 1, "tag": "mlm", "test": {"f1": 1}}
    (tmp_path / "h.json").write_text(json.dumps({**tagged, "status": "ok"}))
    (tmp_path / "notes.txt").write_text("ignored: not *.json")
    warnings: list[str] = []
    grid = grid_summary(tmp_path, tmp_path / "out", warnings.append)
    reasons = {entry["file"]: entry["reason"] for entry in grid["skipped"]}
    assert list(reasons) == [str(tmp_path / n) for n in ("d.json", "e.json", "f.json", "g.json")]  # by file
    assert reasons[str(tmp_path / "g.json")] == "status 'failed': out of memory"
    assert reasons[str(tmp_path / "d.json")] == "missing keys: encoder, seed, test"
    assert "cannot read it as JSON" in reasons[str(tmp_path / "e.json")]
    assert "not a number" in reasons[str(tmp_path / "f.json")]
    assert warnings == [f"warning: skipping {file}: {reason}" for file, reason in reasons.items()]
    assert grid["records"] == 4
    summary = {row["strategy"]: row for row in grid["summary"] if row["tag"] is None}
    assert [(row["strategy"], row["tag"]) for row in grid["summary"]] == [("ht", None), ("mask", None), ("mask", "mlm")]
    assert summary["ht"]["n"] == 2 and summary["ht"]["f1_mean"] == pytest.approx(82.0)
    assert summary["ht"]["f1_std"] == pytest.approx(np.std([80.0, 84.0], ddof=1))
    # a single seed has no spread: None (drawn without an error bar), the convention of `relenc experiment` too
    assert summary["mask"]["f1_std"] is None and summary["mask"]["seeds"] == ["1"]
    assert_png(Path(grid["figure"]))


# ----------------------------------------------------------------------------------------- plots
def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC)


def summary_row(strategy: str, f1: Stat, n: int, dataset: str = "semeval", tag: str | None = None) -> SummaryRow:
    unknown = Stat(None, None)
    seeds = tuple(range(n))
    return SummaryRow(dataset, "semeval", "minilm", strategy, tag, seeds, (), unknown, unknown, f1, unknown, unknown)


def test_plots_write_png_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = ["a"] * 20 + ["b"] * 20 + [NEG] * 20
    vectors = rng.normal(size=(60, 12)) + np.repeat(np.eye(3, 12) * 4, 20, axis=0)
    pred = labels[5:] + labels[:5]
    assert_png(plot_confusion(labels, pred, tmp_path / "confusion.png", title="model"))
    assert_png(plot_projection(vectors, labels, tmp_path / "pca.png", method="pca", negative=NEG))
    assert_png(plot_projection(vectors, labels, tmp_path / "sub" / "tsne.png", method="tsne", max_points=40))
    summary = [summary_row(s, Stat(m, 0.5), 3) for s, m in (("ht", 84.0), ("mask", 83.0), ("hybrid", 85.5))]
    summary.append(summary_row("ht", Stat(84.0, 0.5), 3, dataset="tacred", tag="mlm"))
    assert_png(plot_scores(summary, tmp_path / "scores.png"))


def test_score_bars_of_a_single_seed_have_no_error_bar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.axes import Axes

    drawn: list[tuple[list[float], list[float]]] = []
    real = Axes.errorbar

    def recording(self: Axes, x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        drawn.append((list(y), list(kwargs["yerr"])))
        return real(self, x, y, *args, **kwargs)

    monkeypatch.setattr(Axes, "errorbar", recording)
    summary = [summary_row("ht", Stat(84.0, 0.5), 3), summary_row("mask", Stat(80.0, None), 1)]
    assert_png(plot_scores(summary, tmp_path / "scores.png"))
    assert drawn == [([84.0], [0.5])]  # the ht bar only
    with pytest.raises(RelencError, match="no grid records to plot"):
        plot_scores([summary_row("ht", Stat(None, None), 0)], tmp_path / "none.png")


# ----------------------------------------------------------------------------------------- the CLI
def train_tiny(run_cli: RunCli, encoder: str, strategy: str, output: Path) -> None:
    data = str(FIX / "tiny_train.jsonl")
    args = ["train", "--train", data, "--dev", data, "--format", "jsonl", "--strategy", strategy]
    args += ["--encoder", encoder, "--max-steps", "2", "--precision", "fp32", "--no-progress", "--output", str(output)]
    code, _, err = run_cli(args)
    assert code == 0, err


def test_analyze_cli_end_to_end(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    train_tiny(run_cli, tiny_encoder, "ht", tmp_path / "run-ht")
    train_tiny(run_cli, tiny_encoder, "mask", tmp_path / "run-mask")
    grid = tmp_path / "grid"
    grid.mkdir()
    write_record(grid, "ht-1.json", "ht", 1, 70.0)
    (grid / "broken.json").write_text("[]")
    out = tmp_path / "analysis"
    data = str(FIX / "tiny_train.jsonl")
    args = ["analyze", str(tmp_path / "run-ht"), str(tmp_path / "run-mask" / "model"), "--data", data]
    args += ["--format", "jsonl", "--output", str(out), "--records", str(grid), "--probe-encoder", tiny_encoder]
    code, stdout, err = run_cli([*args, "--precision", "fp32", "--probe-min-examples", "4"])
    assert code == 0, err
    assert "run-ht" in stdout and "run-mask" in stdout and "complementarity" in stdout
    assert "warning: skipping" in err and "broken.json" in err

    analysis = json.loads((out / "analysis.json").read_text())
    assert analysis["examples"] == 8 and analysis["metric"] == "micro"
    signature = analysis["entity_types"]["signatures"]["per:employee_of"]
    assert signature == {"examples": 3, "typed": 3, "signature": "PERSON-ORG", "signature_examples": 3}
    assert analysis["entity_types"]["test"]["mentions_by_source"] == {"gold": 16}  # no NER needed
    ht, mask = analysis["models"]["run-ht"], analysis["models"]["run-mask"]
    assert ht["strategy"] == "ht" and mask["strategy"] == "mask"
    assert set(ht["probes"]["head_type"]) == {"ht", "h"} and set(mask["probes"]["head_type"]) == {"m"}
    assert ht["probes"]["head_type"]["ht"]["n_train"] + ht["probes"]["head_type"]["ht"]["n_test"] == 8
    assert ht["errors"]["negatives"] == 2 and 0 <= ht["errors"]["false_positives"] <= 2
    assert set(analysis["raw_encoder"]["probes"]["head_type"]) == {"ht", "h", "m"}
    (pair,) = analysis["complementarity"]
    cells = ("both_right", "only_a_right", "only_b_right", "both_wrong")
    assert (pair["a"], pair["b"]) == ("run-ht", "run-mask") and sum(pair[c] for c in cells) == 8
    assert analysis["grid"]["records"] == 1 and analysis["grid"]["skipped"][0]["reason"].startswith("expected")
    figures = [Path(f) for entry in analysis["models"].values() for f in entry["figures"]]
    figures.append(Path(analysis["grid"]["figure"]))
    assert {f.name for f in figures} >= {"confusion_run-ht.png", "projection_run-mask_features_pca.png"}
    for figure in figures:
        assert figure.parent == out
        assert_png(figure)


def test_analyze_cli_needs_something_to_analyse(tmp_path: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli(["analyze", "--output", str(tmp_path / "out")])
    assert code != 0 and "nothing to analyse" in err
    code, _, err = run_cli(["analyze", str(tmp_path), "--output", str(tmp_path / "out")])
    assert code != 0 and "needs --data and --format" in err
    data = ["--data", str(FIX / "tiny_train.jsonl"), "--format", "jsonl"]
    code, _, err = run_cli(["analyze", str(tmp_path), *data, "--output", str(tmp_path / "out")])
    assert code != 0 and "is not a relenc model or run directory" in err
    code, _, err = run_cli(["analyze", "--records", str(tmp_path / "missing"), "--output", str(tmp_path / "out")])
    assert code != 0 and "not a directory of grid records" in err


def test_analyze_library_call_writes_and_returns_the_same_analysis(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    grid.mkdir()
    write_record(grid, "ht-1.json", "ht", 1, 70.0)
    messages: list[str] = []
    analysis = analyze(tmp_path / "out", records=grid, notify=messages.append)
    assert json.loads((tmp_path / "out" / ANALYSIS_NAME).read_text()) == analysis
    assert analysis["grid"]["summary"][0]["f1_std"] is None and messages == []
    with pytest.raises(RelencError, match="nothing to analyse"):
        analyze(tmp_path / "out")


def test_analyze_cli_with_only_grid_records(tmp_path: Path, run_cli: RunCli) -> None:
    grid = tmp_path / "grid"
    grid.mkdir()
    for seed, (ht, mask) in enumerate([(84.0, 83.0), (85.0, 82.0)]):
        write_record(grid, f"ht-{seed}.json", "ht", seed, ht)
        write_record(grid, f"mask-{seed}.json", "mask", seed, mask)
    code, out, err = run_cli(["analyze", "--records", str(grid), "--output", str(tmp_path / "out"), "--json"])
    assert code == 0, err
    analysis = json.loads(out)
    assert "models" not in analysis and analysis["grid"]["records"] == 4 and analysis["grid"]["skipped"] == []
    assert [(row["strategy"], row["f1_mean"]) for row in analysis["grid"]["summary"]] == [("ht", 84.5), ("mask", 82.5)]
    assert json.loads((tmp_path / "out" / "analysis.json").read_text()) == analysis
    assert_png(Path(analysis["grid"]["figure"]))
