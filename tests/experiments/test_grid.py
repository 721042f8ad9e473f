"""Experiment grids: expansion and ids, validation errors, and real mini grids on the tiny encoder (records, summary,
skipping finished runs, a failing run, an interrupted grid)."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from relenc.errors import RelencError
from relenc.evaluation.predictions import read_predictions
from relenc.experiments import BUILTIN_VARIANTS, GridConfig, GridPlan, Run, collect, load_grid, plan_grid
from relenc.experiments import runner as runner_module
from relenc.experiments.grid import resolve_data_dir
from relenc.experiments.records import RecordError, RunRecord, load_records, read_record, run_status
from relenc.experiments.summary import Stat, csv_text, markdown, summarize
from relenc.models.strategies import STRATEGY_NAMES

if TYPE_CHECKING:
    from conftest import RunCli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TINY = "tiny_train.jsonl"
BAD_TRAIN = "experiments/bad_train.jsonl"  # line 2 is cut off: reading it fails

# A budget of two optimiser steps: enough to exercise training, evaluation, saving and the records.
TINY_BUDGET = {
    "batch_size": 4,
    "eval_batch_size": 8,
    "max_steps": 2,
    "lr": 1e-3,
    "head_lr": 1e-2,
    "head_epochs": 2,
    "warmup_ratio": 0.0,
    "precision": "fp32",
}


def grid_data(encoder: str = "minilm", **changes: Any) -> dict[str, Any]:
    """A grid over the tiny fixture set: train, dev and test are the same 8 sentences."""
    data: dict[str, Any] = {
        "name": "tiny",
        "data_dir": str(FIXTURES),
        "training": dict(TINY_BUDGET),
        "datasets": [
            {"name": "tiny", "format": "jsonl", "train": TINY, "dev": TINY, "test": TINY, "metric": "micro"},
            {
                "name": "broken",
                "format": "jsonl",
                "train": BAD_TRAIN,
                "dev": TINY,
                "test": TINY,
                "metric": "micro",
            },
        ],
        "encoders": [{"name": "tiny_bert", "source": encoder}],
        "grids": [{"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht", "hybrid"], "seeds": [13, 42]}],
    }
    data.update(changes)
    return data


def write_grid(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def plan_of(data: dict[str, Any], data_dir: Path = FIXTURES) -> GridPlan:
    return plan_grid(GridConfig.parse(data, source="grid.yaml"), "grid.yaml", data_dir)


def record_data(results: Path, run_id: str) -> dict[str, Any]:
    """A run's record as the JSON object written to disk, read through the one record type."""
    record = read_record(results, run_id)
    assert record is not None, f"no record for {run_id}"
    return dict(record.data)


# --- expansion, ids, hashes ---------------------------------------------------------------------------------------


def test_expansion_ids_order_and_dependencies() -> None:
    data = grid_data()
    data["grids"].append({"datasets": ["tiny"], "encoders": ["mpnet"], "strategies": ["ht", "hybrid"], "seeds": [13]})
    data["grids"].append({"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht"], "seeds": [13]})
    plan = plan_of(data)
    ids = [run.id for run in plan.runs]
    assert ids == [
        "tiny-tiny_bert-ht-s13",
        "tiny-tiny_bert-mask-s13",  # not listed: the hybrid needs it, so it comes first
        "tiny-tiny_bert-hybrid-s13",
        "tiny-tiny_bert-ht-s42",
        "tiny-tiny_bert-mask-s42",
        "tiny-tiny_bert-hybrid-s42",
        "tiny-mpnet-ht-s13",
        "tiny-mpnet-mask-s13",
        "tiny-mpnet-hybrid-s13",
    ]  # the third grid entry names a run the first one has: it is the same run, listed once
    runs = plan.by_id()
    assert not runs["tiny-tiny_bert-mask-s13"].listed and runs["tiny-tiny_bert-ht-s13"].listed
    hybrid = runs["tiny-tiny_bert-hybrid-s42"]
    assert hybrid.deps == {"entity": "tiny-tiny_bert-ht-s42", "relation": "tiny-tiny_bert-mask-s42"}
    resolved = hybrid.resolved_config(Path("/runs"))
    assert resolved.model.entity_encoder == str(Path("/runs/tiny-tiny_bert-ht-s42/model").resolve())
    assert resolved.model.encoder == str(Path("/runs/tiny-tiny_bert-mask-s42/model").resolve())
    assert resolved.training.seed == 42
    assert resolved.training.train == str(FIXTURES / TINY)
    assert runs["tiny-mpnet-ht-s13"].config.model.encoder == "mpnet"  # an undeclared plain name is its own source


def test_frozen_entity_hybrid_uses_the_encoder_as_released() -> None:
    cell = {"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["hybrid_frozen_entity"], "seeds": [1]}
    plan = plan_of(grid_data("enc/dir", grids=[cell]))
    assert [run.id for run in plan.runs] == ["tiny-tiny_bert-mask-s1", "tiny-tiny_bert-hybrid_frozen_entity-s1"]
    hybrid = plan.runs[1]
    assert hybrid.deps == {"relation": "tiny-tiny_bert-mask-s1"}
    config = hybrid.resolved_config(Path("/runs"))
    assert config.model.entity_encoder == "enc/dir"
    assert config.model.freeze_entity_encoder
    assert config.model.encoder.endswith("tiny-tiny_bert-mask-s1/model")


def test_budget_merge_order_and_what_the_hash_covers(tmp_path: Path) -> None:
    data = grid_data(
        strategies={
            "hybrid_tuned": {
                "strategy": "hybrid",
                "model": {"freeze_entity_encoder": False},
                "training": {"max_steps": 1, "lr": 2e-5},
            }
        }
    )
    data["datasets"][0]["training"] = {"batch_size": 2}
    data["datasets"][0]["max_train_examples"] = 6
    data["grids"] = [
        {
            "datasets": ["tiny"],
            "encoders": ["tiny_bert"],
            "strategies": ["ht", "hybrid_tuned"],
            "seeds": [13],
            "training": {"max_steps": 3},
        }
    ]
    plan = plan_of(data)
    runs = plan.by_id()
    ht, mask = runs["tiny-tiny_bert-ht-s13"], runs["tiny-tiny_bert-mask-s13"]
    tuned = runs["tiny-tiny_bert-hybrid_tuned-s13"]
    assert (ht.config.training.batch_size, ht.config.training.max_train_examples) == (2, 6)  # the dataset's budget
    assert ht.config.training.max_steps == mask.config.training.max_steps == 3  # the entry's budget
    assert (tuned.config.training.max_steps, tuned.config.training.lr) == (1, 2e-5)  # the variant's: joint step only
    assert ht.config.training.lr == TINY_BUDGET["lr"]
    assert not tuned.config.model.freeze_entity_encoder

    moved = plan_of(data, data_dir=tmp_path / "elsewhere").by_id()
    assert {k: r.config_hash for k, r in moved.items()} == {k: r.config_hash for k, r in runs.items()}
    data["strategies"]["hybrid_tuned"]["training"]["lr"] = 3e-5
    changed = plan_of(data).by_id()
    assert changed["tiny-tiny_bert-hybrid_tuned-s13"].config_hash != tuned.config_hash
    assert changed["tiny-tiny_bert-ht-s13"].config_hash == ht.config_hash
    data["grids"][0]["training"]["max_steps"] = 4  # the dependencies change, so the hybrid built on them does too
    changed = plan_of(data).by_id()
    assert changed["tiny-tiny_bert-ht-s13"].config_hash != ht.config_hash
    assert changed["tiny-tiny_bert-hybrid_tuned-s13"].config_hash != tuned.config_hash


def test_one_id_with_two_settings_needs_a_tag() -> None:
    data = grid_data()
    data["grids"].append(
        {"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht"], "seeds": [13], "training": {"lr": 1}}
    )
    with pytest.raises(RelencError, match=r"grid\.yaml: run tiny-tiny_bert-ht-s13 is defined twice .*tag"):
        plan_of(data)
    data["grids"][-1]["tag"] = "lr1"
    ids = [run.id for run in plan_of(data).runs]
    assert "tiny-tiny_bert-ht-s13-lr1" in ids and "tiny-tiny_bert-ht-s13" in ids


def test_only_selects_by_glob_or_substring_with_dependencies() -> None:
    plan = plan_of(grid_data())
    assert [r.id for r in plan.select(["*-hybrid-s42"])] == [
        "tiny-tiny_bert-ht-s42",
        "tiny-tiny_bert-mask-s42",
        "tiny-tiny_bert-hybrid-s42",
    ]
    assert [r.id for r in plan.select(["ht-s13"])] == ["tiny-tiny_bert-ht-s13"]
    assert len(plan.select([])) == len(plan.runs) == 6
    with pytest.raises(RelencError, match="--only 'nope' matches no run of grid 'tiny'"):
        plan.select(["nope"])


# --- validation -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["grids"][0].update(strategies=["ht", "htt"]),
            r"grids\[0\]\.strategies: unknown strategy 'htt'; choose from ht, mask, ht_mask, hybrid, "
            r"hybrid_frozen_entity$",
        ),
        (lambda d: d["grids"][0].update(datasets=["semeval"]), r"grids\[0\]\.datasets: unknown dataset 'semeval'"),
        (lambda d: d["training"].update(epoch=2), r"training: epoch: Extra inputs are not permitted"),
        (lambda d: d["training"].update(seed=1), r"training: seed cannot be set in training: the grid sets it"),
        (lambda d: d["datasets"][0].update(format="csv"), r"datasets\[0\]\.format: unknown format 'csv'"),
        (lambda d: d["datasets"][0].update(name="tiny-set"), r"dataset name 'tiny-set' may only use letters"),
        (lambda d: d["grids"][0].update(seeds=[]), r"grids\[0\]\.seeds: List should have at least 1 item"),
        (
            lambda d: d.update(strategies={"h2": {"strategy": "hybrid", "relation": "pretrained"}}),
            r"strategies\.h2: relation: 'pretrained' is not supported",
        ),
        (
            lambda d: d.update(strategies={"h2": {"strategy": "hybrid", "entity": "hybrid"}}),
            r"strategies\.h2\.entity: 'hybrid' is a hybrid",
        ),
        (lambda d: d.update(strategies={"ht": {"strategy": "mask"}}), r"strategies\.ht: 'ht' is a built-in name"),
        (
            lambda d: d["grids"][0].update(encoders=["org/model"]),
            r"grids\[0\]\.encoders: 'org/model' is not a plain name; declare it under encoders",
        ),
    ],
)
def test_invalid_grid_files_name_the_file_and_the_problem(tmp_path: Path, change: Any, message: str) -> None:
    data = grid_data()
    change(data)
    path = write_grid(tmp_path / "bad.yaml", data)
    with pytest.raises(RelencError, match=message) as info:
        load_grid(path)
    assert str(info.value).startswith(f"{path}: invalid experiment config: ")


def test_bad_strategy_on_the_command_line(tmp_path: Path, run_cli: RunCli) -> None:
    data = grid_data()
    data["grids"][0]["strategies"] = ["hybird"]
    path = write_grid(tmp_path / "typo.yaml", data)
    code, out, err = run_cli(["experiment", str(path), "--dry-run"])
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: invalid experiment config: grids[0].strategies: unknown strategy 'hybird'")
    code, _, err = run_cli(["experiment", str(tmp_path / "missing.yaml")])
    assert code == 2 and f"{tmp_path / 'missing.yaml'}: file not found" in err


def test_the_shipped_configs_expand(tmp_path: Path) -> None:
    repo = FIXTURES.parents[1]
    paper = plan_grid(load_grid(repo / "configs/experiment-paper.yaml"), "paper.yaml", tmp_path)
    ids = {run.id for run in paper.runs}
    assert len(ids) == 2 * 5 * 3 + 3  # + the MPNet cell's ht, hybrid and the mask run its hybrid needs
    assert {"semeval-minilm-hybrid_frozen_entity-s87", "kbp37-minilm-ht_mask-s42", "semeval-mpnet-mask-s13"} <= ids
    kbp = paper.by_id()["kbp37-minilm-ht-s13"].config.training
    assert (kbp.epochs, kbp.max_train_examples, kbp.metric) == (2, 8000, "micro")
    assert kbp.dev == str(tmp_path / "kbp37/dev.txt")
    semeval = paper.by_id()["semeval-minilm-ht-s13"].config.training
    assert (semeval.epochs, semeval.dev, semeval.metric) == (3, None, "semeval")
    smoke = plan_grid(load_grid(repo / "configs/experiment-smoke.yaml"), "smoke.yaml", tmp_path)
    assert len(smoke.runs) == 6
    pretrained = plan_grid(load_grid(repo / "configs/experiment-pretrained.yaml"), "pretrained.yaml", tmp_path)
    cross = pretrained.by_id()["semeval-wikirel-hybrid_minilm_entity-s42"]
    assert cross.deps == {"entity": "semeval-minilm-ht-s42", "relation": "semeval-wikirel-mask-s42"}
    frozen = pretrained.by_id()["semeval-wikirel-hybrid_wiki_entity-s13"].config.model
    assert (frozen.entity_encoder, frozen.encoder, frozen.freeze_entity_encoder) == (
        "runs/enc-wiki-entity",
        "runs/enc-wiki-relation",
        True,
    )
    assert pretrained.by_id()["kbp37-wikirel-mask-s87"].config.training.max_train_examples is None  # all 15,917
    recipe = plan_grid(load_grid(repo / "configs/experiment-recipe.yaml"), "recipe.yaml", tmp_path).by_id()
    assert recipe["semeval-minilm-ht_mean-s13"].config.model.pooling == "mean"
    assert recipe["kbp37-minilm-ht_rdrop-s87"].config.training.rdrop_alpha == 1.0


# --- status and summary on synthetic records ------------------------------------------------------------------------


def synthetic_record(run: Any, f1: float, status: str = "ok", config_hash: str | None = None) -> RunRecord:
    """A record of ``run`` with the fields the summary reads, as ``relenc experiment`` names them."""
    return RunRecord.from_dict(
        {
            "id": run.id,
            "status": status,
            "config_hash": config_hash or run.config_hash,
            "dataset": run.dataset.name,
            "encoder": run.encoder,
            "strategy": run.strategy,
            "seed": run.seed,
            "tag": run.tag,
            "metric": run.metric,
            "test": {"precision": f1 - 1, "recall": f1 + 1, "f1": f1},
            "dev": {"f1": f1 - 5},
            "timings": {"train_seconds": 10.0},
        }
    )


def test_status_and_summary_statistics() -> None:
    plan = plan_of(grid_data())
    runs = plan.by_id()
    ht13, ht42, mask13 = runs["tiny-tiny_bert-ht-s13"], runs["tiny-tiny_bert-ht-s42"], runs["tiny-tiny_bert-mask-s13"]
    assert run_status(ht13, None) == "todo"
    assert run_status(ht13, synthetic_record(ht13, 80)) == "done"
    assert run_status(ht13, synthetic_record(ht13, 80, status="failed")) == "failed"
    assert run_status(ht13, synthetic_record(ht13, 80, config_hash="0" * 16)) == "stale"
    finished = [synthetic_record(ht13, 80.0), synthetic_record(ht42, 84.0), synthetic_record(mask13, 70.0)]
    rows = summarize([*finished, synthetic_record(ht42, 99.0, status="failed")], plan.runs)
    assert [(r.strategy, r.metric) for r in rows] == [("ht", "micro"), ("mask", "micro"), ("hybrid", "micro")]
    ht_row, mask_row, hybrid_row = rows
    assert (ht_row.n, ht_row.seeds, ht_row.missing) == (2, (13, 42), ())
    assert ht_row.f1.mean == 82.0
    assert ht_row.f1.std == pytest.approx(2 * 2**0.5)  # sample std: sqrt(((-2)^2 + 2^2) / (2 - 1))
    assert ht_row.dev_f1.mean == 77.0
    # one seed: a mean and no spread (None, not 0.0), in the files too
    assert (mask_row.n, mask_row.missing, mask_row.f1) == (1, (42,), Stat(70.0, None))
    assert "| tiny | micro | tiny_bert | `mask` | 1 | 69.00 | 71.00 | **70.00** | - | 65.00 | 10 | s42 |" in markdown(
        rows, "t"
    )
    assert (
        csv_text(rows).splitlines()[2] == "tiny,micro,tiny_bert,mask,,1,13,42,69.0000,,71.0000,,70.0000,,65.0000,,10.0"
    )
    assert (hybrid_row.n, hybrid_row.missing, hybrid_row.f1) == (0, (13, 42), Stat(None, None))
    assert Stat.of([70.0]) == Stat(70.0, None)
    assert Stat.of([]) == Stat(None, None)
    assert Stat.of([70.0, None]) == Stat(None, None)  # a mean over fewer seeds than n would be mislabelled


def test_summary_without_a_plan_sorts_the_cells_of_the_records() -> None:
    plan = plan_of(grid_data())
    runs = plan.by_id()
    records = [synthetic_record(runs[f"tiny-tiny_bert-{name}-s13"], 80.0) for name in ("mask", "ht", "hybrid")]
    rows = summarize(records)
    assert [(r.strategy, r.missing, r.metric, r.f1.std) for r in rows] == [
        ("ht", (), "micro", None),
        ("hybrid", (), "micro", None),
        ("mask", (), "micro", None),
    ]


# --- the paper grid's records on disk -------------------------------------------------------------------------------

PAPER_RESULTS = FIXTURES.parents[1] / "benchmarks/results/grid/paper"


def test_a_paper_record_loads_as_the_one_record_type() -> None:
    record = read_record(PAPER_RESULTS, "semeval-minilm-hybrid-s13")
    assert record is not None
    assert (record.id, record.status, record.dataset, record.encoder, record.strategy, record.seed, record.tag) == (
        "semeval-minilm-hybrid-s13",
        "ok",
        "semeval",
        "minilm",
        "hybrid",
        13,
        None,
    )
    assert (record.metric, record.config_hash, record.error) == ("semeval", "e69c0acb5990b720", None)
    assert record.test_f1 == pytest.approx(84.25107643914161) and record.dev_f1 == pytest.approx(82.19845448806609)
    assert record.train_seconds == 52.65 and record.ok and record.cell == ("semeval", "minilm", "hybrid", None)
    on_disk = json.loads((PAPER_RESULTS / "semeval-minilm-hybrid-s13.json").read_text(encoding="utf-8"))
    assert list(record.data) == list(on_disk) and record.data == on_disk  # kept as written, key order included
    records, skipped = load_records(PAPER_RESULTS)
    assert len(records) == 33 and skipped == [] and all(r.ok for r in records)


def test_the_paper_summary_rebuilds_identically_and_its_runs_are_done(tmp_path: Path) -> None:
    repo = FIXTURES.parents[1]
    plan = plan_grid(load_grid(repo / "configs/experiment-paper.yaml"), "configs/experiment-paper.yaml", tmp_path)
    results = collect(plan, PAPER_RESULTS)
    assert set(results.statuses.values()) == {"done"}  # ids and config hashes of the finished runs unchanged
    title = "grid paper: test scores, mean ± std over seeds"
    assert markdown(results.rows, title) == (PAPER_RESULTS / "summary.md").read_text(encoding="utf-8")
    assert csv_text(results.rows) == (PAPER_RESULTS / "summary.csv").read_text(encoding="utf-8")
    mpnet = next(r for r in results.rows if r.encoder == "mpnet")
    assert mpnet.n == 1 and mpnet.f1.std is None


def test_records_are_read_leniently_and_the_reason_is_kept(tmp_path: Path) -> None:
    minimal = {"dataset": "d", "encoder": "e", "strategy": "ht", "seed": "a", "test": {"f1": 70}}
    (tmp_path / "x-1.json").write_text(json.dumps(minimal))
    (tmp_path / "bad.json").write_text(json.dumps({**minimal, "dev": {"f1": "high"}}))
    (tmp_path / "fail.json").write_text(json.dumps({**minimal, "test": None, "status": "failed", "error": "oom"}))
    records, skipped = load_records(tmp_path)
    assert skipped == [(str(tmp_path / "bad.json"), "'dev.f1' is not a number: 'high'")]
    failed, ok = records
    assert (failed.status, failed.error, failed.test_f1, failed.source) == (
        "failed",
        "oom",
        None,
        str(tmp_path / "fail.json"),
    )
    assert (ok.id, ok.seed, ok.test_f1, ok.test_precision, ok.config_hash) == ("x-1", "a", 70.0, None, None)
    with pytest.raises(RecordError, match="missing keys: id"):
        RunRecord.from_dict(minimal)
    with pytest.raises(RelencError, match=r"bad\.json: unreadable run record \('dev\.f1' is not a number"):
        read_record(tmp_path, "bad")


def test_builtin_variants_are_the_library_strategies_and_the_frozen_entity_hybrid() -> None:
    assert list(BUILTIN_VARIANTS) == [*STRATEGY_NAMES, "hybrid_frozen_entity"]
    assert all(BUILTIN_VARIANTS[name].strategy == name for name in STRATEGY_NAMES)
    hybrid, frozen = BUILTIN_VARIANTS["hybrid"], BUILTIN_VARIANTS["hybrid_frozen_entity"]
    assert (hybrid.entity, hybrid.relation) == ("ht", "mask")
    assert (frozen.strategy, frozen.entity, frozen.relation) == ("hybrid", "pretrained", "mask")


# --- real mini grids on the tiny encoder ----------------------------------------------------------------------------


def assert_complete_record(record: dict[str, Any], run: Run, runs: Path) -> None:
    """A finished run's record holds its scores, timings, provenance and a prediction file `relenc score` reads."""
    assert record["status"] == "ok", record
    assert record["id"] == run.id and record["config_hash"] == run.config_hash
    assert set(record["test"]) >= {"precision", "recall", "f1", "examples"} and record["test"]["examples"] == 8
    assert len(record["test"]["labels"]) == 8 and "predictions" not in record["test"]  # labels only: records stay small
    assert set(record["dev"]) == {"precision", "recall", "f1"}
    assert record["timings"]["train_seconds"] > 0 and record["timings"]["test_sentences_per_second"] > 0
    assert record["git"]["revision"] is None or len(record["git"]["revision"]) == 40
    assert record["machine"]["cpus"] and isinstance(record["machine"]["bf16_native"], bool)
    assert record["config"]["training"]["seed"] == record["seed"]
    predictions = Path(record["predictions"])
    assert predictions.parent == runs / run.id
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [set(row) for row in rows] == [{"id", "gold", "pred", "label", "score"}] * 8
    assert len(read_predictions(predictions)) == 8  # readable by `relenc score` as it is
    assert not (runs / run.id / "checkpoint").exists()  # only needed to resume; removed once finished


def assert_summary_files(results: Path, ids: list[str], records: dict[str, dict[str, Any]]) -> None:
    """results.jsonl repeats the records in plan order; the summary's means and sample stds are the records'."""
    lines = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ids
    with (results / "summary.csv").open() as fh:
        table = {row["strategy"]: row for row in csv.DictReader(fh)}
    assert set(table) == {"ht", "mask", "hybrid"}
    for strategy, row in table.items():
        f1s = [records[f"tiny-tiny_bert-{strategy}-s{seed}"]["test"]["f1"] for seed in (13, 42)]
        assert row["n"] == "2" and row["seeds"] == "13 42" and row["missing_seeds"] == ""
        assert float(row["f1_mean"]) == pytest.approx(statistics.fmean(f1s), abs=1e-4)
        assert float(row["f1_std"]) == pytest.approx(statistics.stdev(f1s), abs=1e-4)
    summary_md = (results / "summary.md").read_text()
    assert "| tiny | micro | tiny_bert | `hybrid` | 2 |" in summary_md


def test_mini_grid_records_summary_and_rerun(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = grid_data(tiny_encoder)
    del data["data_dir"]  # given on the command line instead
    path = write_grid(tmp_path / "tiny.yaml", data)
    results, runs = tmp_path / "results", tmp_path / "runs"
    args = ["experiment", str(path), "--data-dir", str(FIXTURES)]
    args += ["--results-dir", str(results), "--runs-dir", str(runs)]
    code, out, err = run_cli([*args, "--no-progress"])
    assert code == 0, err

    plan = plan_grid(load_grid(path), path, FIXTURES)
    ids = [run.id for run in plan.runs]
    assert len(ids) == 6  # ht and hybrid, listed, and the mask runs the hybrids need, for 2 seeds
    records = {run_id: record_data(results, run_id) for run_id in ids}
    for run_id, record in records.items():
        assert_complete_record(record, plan.by_id()[run_id], runs)
    hybrid = records["tiny-tiny_bert-hybrid-s42"]
    assert hybrid["depends_on"] == {"entity": "tiny-tiny_bert-ht-s42", "relation": "tiny-tiny_bert-mask-s42"}
    assert hybrid["config"]["model"]["entity_encoder"] == str((runs / "tiny-tiny_bert-ht-s42" / "model").resolve())
    assert hybrid["listed"] and not records["tiny-tiny_bert-mask-s42"]["listed"]
    typed = read_record(results, "tiny-tiny_bert-hybrid-s42")
    assert typed is not None and (typed.ok, typed.strategy, typed.seed) == (True, "hybrid", 42)
    assert (typed.test_f1, typed.dev_f1) == (hybrid["test"]["f1"], hybrid["dev"]["f1"])

    assert_summary_files(results, ids, records)
    assert "hybrid" in out and "test F1" in out  # the rich table on stdout

    # a second invocation trains nothing: the records, their timings and the models stay as they were
    stamps = {p: p.stat().st_mtime_ns for p in [*results.glob("tiny-*.json"), *runs.glob("*/model/relenc_config.json")]}
    assert len(stamps) == 12

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner_module, "train_run", no_training)
    code, out, err = run_cli([*args, "--no-progress"])
    assert code == 0, err
    assert "6 runs were done already, 0 finished now, 0 failed" in err
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {run_id: record_data(results, run_id) for run_id in ids} == records

    code, out, _ = run_cli([*args, "--dry-run"])
    assert code == 0 and "6 done, 0 failed, 0 stale, 0 not run" in out
    (results / "summary.csv").unlink()
    code, _, err = run_cli([*args, "--summarize-only"])
    assert code == 0 and (results / "summary.csv").is_file()

    data["training"]["max_steps"] = 3  # the grid file changed: every run is stale now
    write_grid(path, data)
    code, out, _ = run_cli([*args, "--dry-run", "--only", "ht-s13"])
    assert code == 0 and "0 done, 0 failed, 1 stale, 0 not run" in out


def test_a_failing_run_is_recorded_and_the_grid_goes_on(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    data = grid_data(
        tiny_encoder,
        grids=[
            {
                "datasets": ["broken", "tiny"],
                "encoders": ["tiny_bert"],
                "strategies": ["hybrid_frozen_entity"],
                "seeds": [13],
            }
        ],
    )
    path = write_grid(tmp_path / "broken.yaml", data)
    results, runs = tmp_path / "results", tmp_path / "runs"
    code, _, err = run_cli(
        ["experiment", str(path), "--results-dir", str(results), "--runs-dir", str(runs), "--no-progress"]
    )
    assert code == 2
    assert "2 finished now, 2 failed" in err
    assert err.rstrip().endswith(
        "error: 2 of 4 runs failed: broken-tiny_bert-mask-s13, broken-tiny_bert-hybrid_frozen_entity-s13"
    )
    failed = record_data(results, "broken-tiny_bert-mask-s13")
    assert failed["status"] == "failed"
    assert failed["error"].startswith(f"{FIXTURES / BAD_TRAIN}, line 2, column 130: invalid JSON")
    assert "Traceback" in failed["traceback"] and "test" not in failed
    assert failed["config"]["model"]["strategy"] == "mask" and failed["git"] and failed["machine"]
    dependent = record_data(results, "broken-tiny_bert-hybrid_frozen_entity-s13")
    assert dependent["status"] == "failed"
    assert dependent["error"].startswith("the relation encoder comes from run broken-tiny_bert-mask-s13, which failed")
    for run_id in ("tiny-tiny_bert-mask-s13", "tiny-tiny_bert-hybrid_frozen_entity-s13"):
        assert record_data(results, run_id)["status"] == "ok"
    summary = collect(plan_grid(load_grid(path), path, FIXTURES), results)
    assert [record.status for record in summary.records] == ["failed", "failed", "ok", "ok"]
    assert summary.records[0].error == failed["error"] and summary.records[0].test_f1 is None
    broken_row = next(r for r in summary.rows if r.dataset == "broken")
    assert (broken_row.n, broken_row.missing, broken_row.f1) == (0, (13,), Stat(None, None))
    assert "failed broken-tiny_bert-mask-s13: " in err


def test_an_interrupted_grid_keeps_finished_records(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = grid_data(
        tiny_encoder, grids=[{"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht"], "seeds": [1, 2]}]
    )
    plan = plan_grid(GridConfig.parse(data), "grid.yaml", FIXTURES)
    results, runs = tmp_path / "results", tmp_path / "runs"
    real = runner_module.train_run
    calls: list[Path] = []

    def interrupt_the_second(config: Any, output: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(Path(output))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(config, output, **kwargs)

    monkeypatch.setattr(runner_module, "train_run", interrupt_the_second)
    with pytest.raises(KeyboardInterrupt):
        runner_module.run_grid(plan, list(plan.runs), results, runs, progress=False)
    first = read_record(results, "tiny-tiny_bert-ht-s1")
    assert first is not None and first.ok
    assert read_record(results, "tiny-tiny_bert-ht-s2") is None
    assert sorted(p.name for p in results.iterdir()) == ["tiny-tiny_bert-ht-s1.json"]  # no temporary files left

    monkeypatch.setattr(runner_module, "train_run", real)
    outcome = runner_module.run_grid(plan, list(plan.runs), results, runs, progress=False)
    assert outcome.skipped == ["tiny-tiny_bert-ht-s1"]
    assert (outcome.finished, outcome.failed) == (["tiny-tiny_bert-ht-s2"], {})
    assert read_record(results, "tiny-tiny_bert-ht-s1") == first


def test_hybrid_takes_its_entity_side_from_another_encoder_of_the_grid() -> None:
    data = grid_data(
        "enc/pre",
        encoders=[{"name": "pre", "source": "enc/pre"}],
        strategies={
            "cross": {"strategy": "hybrid", "entity": "ht", "entity_encoder": "tiny_raw"},
            "cross_frozen": {"strategy": "hybrid", "entity": "pretrained", "entity_encoder": "tiny_raw"},
        },
        grids=[{"datasets": ["tiny"], "encoders": ["pre"], "strategies": ["cross", "cross_frozen"], "seeds": [5]}],
    )
    plan = plan_of(data)
    assert [run.id for run in plan.runs] == [
        "tiny-tiny_raw-ht-s5",  # the entity side: trained from the other encoder, same dataset, seed and budget
        "tiny-pre-mask-s5",
        "tiny-pre-cross-s5",
        "tiny-pre-cross_frozen-s5",
    ]
    runs = plan.by_id()
    assert runs["tiny-tiny_raw-ht-s5"].config.model.encoder == "tiny_raw"
    assert runs["tiny-pre-cross-s5"].deps == {"entity": "tiny-tiny_raw-ht-s5", "relation": "tiny-pre-mask-s5"}
    frozen = runs["tiny-pre-cross_frozen-s5"].resolved_config(Path("/runs"))
    assert frozen.model.entity_encoder == "tiny_raw"
    assert frozen.model.encoder.endswith("tiny-pre-mask-s5/model")


@pytest.mark.parametrize(
    ("variant", "problem"),
    [
        ({"strategy": "ht", "entity_encoder": "minilm"}, "for the hybrid strategy only"),
        ({"strategy": "hybrid", "entity_encoder": "runs/x"}, "entity_encoder: 'runs/x' is not a plain name"),
    ],
)
def test_entity_encoder_of_a_variant_is_checked(variant: dict[str, Any], problem: str) -> None:
    data = grid_data(strategies={"odd": variant})
    with pytest.raises(RelencError, match=problem):
        GridConfig.parse(data, source="grid.yaml")


# --- distillation ------------------------------------------------------------------------------------------------


def test_a_distilled_variant_depends_on_its_teacher_run() -> None:
    """The teacher is the run of its variant with the same dataset, seed and budget, on ``teacher_encoder``; its
    model becomes distill.teacher once the runs dir is known, and the variant's distill settings are kept."""
    data = grid_data(
        "enc/student",
        strategies={"ht_kd": {"strategy": "ht", "teacher": "ht", "teacher_encoder": "big", "distill": {"alpha": 0.7}}},
        grids=[{"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht", "ht_kd"], "seeds": [5]}],
    )
    plan = plan_of(data)
    assert [run.id for run in plan.runs] == ["tiny-tiny_bert-ht-s5", "tiny-big-ht-s5", "tiny-tiny_bert-ht_kd-s5"]
    runs = plan.by_id()
    student = runs["tiny-tiny_bert-ht_kd-s5"]
    assert student.deps == {"teacher": "tiny-big-ht-s5"} and not runs["tiny-big-ht-s5"].listed
    assert runs["tiny-big-ht-s5"].config.distill is None and runs["tiny-big-ht-s5"].config.model.encoder == "big"
    config = student.resolved_config(Path("/runs"))
    assert config.distill is not None and config.distill.teacher == str(Path("/runs/tiny-big-ht-s5/model").resolve())
    assert (config.distill.alpha, config.distill.temperature) == (0.7, 2.0)
    assert config.model.encoder == "enc/student" and config.training.seed == 5
    assert student.spec["distill"] == {"alpha": 0.7, "teacher": "tiny-big-ht-s5"}
    assert "distill" not in runs["tiny-tiny_bert-ht-s5"].spec  # runs without a teacher hash as before


@pytest.mark.parametrize(
    ("variant", "problem"),
    [
        ({"strategy": "ht", "distill": {"alpha": 0.5}}, "teacher_encoder and distill are for a distilled variant"),
        ({"strategy": "ht", "teacher": "nope"}, "strategies.odd.teacher: unknown strategy 'nope'"),
        ({"strategy": "ht", "teacher": "ht", "distill": {"teacher": "x"}}, "distill.teacher is set by the grid"),
        ({"strategy": "ht", "teacher": "ht", "distill": {"alpha": 2}}, "alpha: Input should be less than or equal"),
        ({"strategy": "ht", "teacher": "ht", "teacher_encoder": "a/b"}, "teacher_encoder: 'a/b' is not a plain"),
        ({"strategy": "ht", "teacher": "odd"}, "strategies.odd.teacher: 'odd' is distilled itself"),
    ],
)
def test_a_distilled_variant_is_checked(variant: dict[str, Any], problem: str) -> None:
    data = grid_data(strategies={"odd": variant})
    with pytest.raises(RelencError, match=problem):
        GridConfig.parse(data, source="grid.yaml")


def test_a_mini_grid_distils_a_student_from_its_teacher_run(tiny_encoder: str, tmp_path: Path) -> None:
    data = grid_data(
        tiny_encoder,
        strategies={"ht_kd": {"strategy": "ht", "teacher": "ht", "distill": {"temperature": 3.0}}},
        grids=[{"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht_kd"], "seeds": [13]}],
    )
    plan = plan_of(data)
    results, runs = tmp_path / "results", tmp_path / "runs"
    outcome = runner_module.run_grid(plan, list(plan.runs), results, runs, progress=False)
    assert outcome.finished == ["tiny-tiny_bert-ht-s13", "tiny-tiny_bert-ht_kd-s13"] and not outcome.failed
    student = record_data(results, "tiny-tiny_bert-ht_kd-s13")
    assert student["depends_on"] == {"teacher": "tiny-tiny_bert-ht-s13"}
    teacher_model = str((runs / "tiny-tiny_bert-ht-s13" / "model").resolve())
    assert student["config"]["distill"] == {
        "teacher": teacher_model,
        "temperature": 3.0,
        "alpha": 0.5,
        "unlabelled": None,
        "max_unlabelled": None,
    }
    assert (runs / "tiny-tiny_bert-ht_kd-s13" / "teacher_logits.safetensors").is_file()  # it did learn from the teacher


def test_a_final_fit_without_dev_is_recorded_with_no_dev_score(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli
) -> None:
    """``training.dev_fraction: 0`` on a dataset without a dev file: the run trains on all of train, its record has
    a test score and no dev score, and the summary's dev column stays empty rather than failing."""
    data = grid_data(
        tiny_encoder,
        datasets=[{"name": "tiny", "format": "jsonl", "train": TINY, "test": TINY, "metric": "micro"}],
        strategies={"ht_final_fit": {"strategy": "ht", "training": {"dev_fraction": 0.0}}},
        grids=[{"datasets": ["tiny"], "encoders": ["tiny_bert"], "strategies": ["ht_final_fit"], "seeds": [13]}],
    )
    path = write_grid(tmp_path / "final-fit.yaml", data)
    results, runs = tmp_path / "results", tmp_path / "runs"
    code, out, err = run_cli(
        ["experiment", str(path), "--results-dir", str(results), "--runs-dir", str(runs), "--no-progress"]
    )
    assert code == 0, err
    assert "tiny-tiny_bert-ht_final_fit-s13: test micro F1" in out + err and "(no dev)" in out + err
    record = record_data(results, "tiny-tiny_bert-ht_final_fit-s13")
    assert record["status"] == "ok" and record["dev"] == {} and record["training"]["dev_examples"] == 0
    assert 0.0 <= record["test"]["f1"] <= 100.0
    summary = collect(plan_grid(load_grid(path), path, FIXTURES), results)
    (row,) = summary.rows
    assert row.n == 1 and row.f1.mean == record["test"]["f1"] and row.dev_f1 == Stat(None, None)


def test_without_a_data_dir_the_grid_reads_relenc_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RELENC_DATA_DIR", str(tmp_path))
    data = grid_data()
    del data["data_dir"]
    config = GridConfig.parse(data, source="grid.yaml")
    assert resolve_data_dir(None, config, "grid.yaml") == tmp_path
    assert resolve_data_dir(tmp_path / "flag", config, "grid.yaml") == tmp_path / "flag"
