"""End-to-end training from SpERT-style sentences, through the CLI: one plain ``relenc train --format spert`` gives
a model that finds its entities and decides its triples, which ``evaluate``, ``predict`` and ``score`` judge alike.

One tiny run (two relation steps, one recognizer epoch, a 32-wide random encoder) is trained once for the module;
its scores mean nothing, only the files and the agreement between the commands are checked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch
import yaml
from snapshots import snapshot

from relenc.cli import main
from relenc.data.readers import read_sentences
from relenc.data.readers.spert import NEGATIVE
from relenc.errors import DataError
from relenc.models.decisions import DEFAULT_THRESHOLD, Decisions
from relenc.models.encoders import ALIASES, alias_of, resolve_encoder
from relenc.models.extractor import ENTITIES_DIR, RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.training.config import RunConfig
from relenc.training.defaults import END_TO_END, HT_MINILM, HT_MINILM_KBP37, recipe_defaults
from relenc.training.end2end import ENTITIES_STAGE, load_sentences, recognizer_stage
from relenc.training.entities import fit_entities

if TYPE_CHECKING:
    from conftest import RunCli

SPERT = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "spert_e2e.json"
#: Only what keeps the run short; everything else is the end-to-end defaults
QUICK = {"training": {"max_steps": 2, "eval_batch_size": 64}, "entities": {"epochs": 1}}


def train_args(encoder: str, run: Path, config: Path) -> list[str]:
    """``relenc train`` as a user types it for SpERT data, with the tiny encoder and the quick config."""
    data = ["--format", "spert", "--train", str(SPERT), "--dev", str(SPERT)]
    return ["train", *data, "-o", str(run), "--encoder", encoder, "--config", str(config), "--no-progress"]


@pytest.fixture(scope="module")
def quick_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "quick.yaml"
    path.write_text(yaml.safe_dump(QUICK))
    return path


@pytest.fixture(scope="module")
def e2e_run(tiny_encoder: str, quick_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished end-to-end run, trained once through the CLI (``run_cli`` is per test: it captures output)."""
    run = tmp_path_factory.mktemp("e2e") / "run"
    with pytest.raises(SystemExit) as info:
        main(train_args(tiny_encoder, run, quick_config))
        raise SystemExit(0)
    assert not info.value.code, "relenc train --format spert failed"
    return run


def test_end_to_end_defaults_yield_to_flags_and_the_config(tmp_path: Path) -> None:
    """The defaults make a plain command a good run, but never replace what the user chose: a flag, or a field
    the YAML config sets (even to the library default); a sibling field set in the YAML does not count."""
    spert = {"training.format": "spert"}

    def defaults(base: RunConfig, flags: dict[str, object]) -> dict[str, object]:
        recipe, values = recipe_defaults(base, flags)
        assert recipe is END_TO_END
        return values

    assert defaults(RunConfig(), spert) == END_TO_END.values
    assert defaults(RunConfig(), spert | {"model.strategy": None}) == END_TO_END.values  # flag not given
    flags = spert | {"model.strategy": "ht_mask", "training.epochs": 2.0}
    assert defaults(RunConfig(), flags) == {"model.input.markers": "punct", "training.lr": 1e-4}
    config = tmp_path / "run.yaml"
    config.write_text("model:\n  strategy: hybrid\n  input:\n    max_length: 128\ntraining:\n  epochs: 3\n")
    assert defaults(RunConfig.from_yaml(config), spert) == {"model.input.markers": "punct", "training.lr": 1e-4}
    config.write_text("training:\n  format: spert\n  lr: 3.0e-5\n")
    assert defaults(RunConfig.from_yaml(config), {}) == {
        "model.strategy": "ht",
        "model.input.markers": "punct",
        "training.epochs": 8.0,
    }


def test_the_ht_minilm_recipe_applies_to_pair_data_only() -> None:
    """A plain `relenc train --strategy ht` gets the measured budget; sentence data takes the end-to-end recipe
    (whose strategy is ht too), another encoder or strategy none, and --epochs wins over the recipe."""
    assert recipe_defaults(RunConfig(), {"model.strategy": "ht"}) == (HT_MINILM, {"training.epochs": 6.0})
    assert recipe_defaults(RunConfig(), {"model.strategy": "ht", "training.epochs": 2.0}) == (HT_MINILM, {})
    assert recipe_defaults(RunConfig(), {"model.strategy": "ht", "training.format": "spert"})[0] is END_TO_END
    assert recipe_defaults(RunConfig(), {"model.strategy": "ht", "model.encoder": "mpnet"}) == (None, {})
    assert recipe_defaults(RunConfig(), {}) == (None, {})  # the hybrid: not measured yet


def test_kbp37_takes_its_own_measured_budget() -> None:
    """KBP37's training set is twice SemEval's: 4 epochs beat both 2 and 6 there, so its format picks that budget,
    for MiniLM's ``ht`` only, and --epochs still wins."""
    kbp37 = {"model.strategy": "ht", "training.format": "kbp37"}
    assert recipe_defaults(RunConfig(), kbp37) == (HT_MINILM_KBP37, {"training.epochs": 4.0})
    assert recipe_defaults(RunConfig(), kbp37 | {"training.epochs": 2.0}) == (HT_MINILM_KBP37, {})
    assert recipe_defaults(RunConfig(), kbp37 | {"model.encoder": "mpnet"}) == (None, {})
    assert recipe_defaults(RunConfig(), {"model.strategy": "ht", "training.format": "semeval"})[0] is HT_MINILM


def test_the_ht_minilm_recipe_knows_minilm_by_any_of_its_names() -> None:
    """The recipe was measured on MiniLM's weights, which a user may name by alias, hub id or local directory."""
    for name in ("minilm", ALIASES["minilm"], resolve_encoder("minilm")):
        flags = {"model.strategy": "ht", "model.encoder": name}
        assert recipe_defaults(RunConfig(), flags) == (HT_MINILM, {"training.epochs": 6.0}), name
    assert alias_of(ALIASES["mpnet"]) == "mpnet"
    assert alias_of("bert-base-uncased") is None


def test_without_dev_a_seeded_share_of_the_sentences_is_dev() -> None:
    """Without --dev the threshold is tuned on sentences the models did not train on, the same ones for a seed."""
    every = read_sentences(SPERT, "spert")
    config = RunConfig.parse({"training": {"train": str(SPERT), "format": "spert", "dev_fraction": 0.25}})
    train, dev = load_sentences(config)
    assert len(dev) == 2 and sorted(s.id for s in train + dev) == sorted(s.id for s in every)
    assert not {s.id for s in train} & {s.id for s in dev}
    assert load_sentences(config) == (train, dev)
    other_seed = config.override(**{"training.seed": 7})
    assert {s.id for s in load_sentences(other_seed)[1]} != {s.id for s in dev}
    few = config.override(**{"training.max_train_examples": 1})
    with pytest.raises(DataError, match="too few to carve a dev share"):
        load_sentences(few)


def test_the_recognizer_takes_the_run_seed_unless_its_own_is_set(tiny_encoder: str, tmp_path: Path) -> None:
    """`relenc train --seed` must vary both models of an end-to-end run: seeds whose recognizers were all trained
    with one fixed seed would report the relation classifier's spread as the whole extractor's."""
    config = RunConfig().override(**{"training.seed": 7})
    assert config.entities.seed is None and config.entities.for_run(config.training.seed).seed == 7
    own = config.override(**{"entities.seed": 5})
    assert own.entities.for_run(own.training.seed).seed == 5
    sentences = read_sentences(SPERT, "spert")
    recognizer = EntityRecognizer.build(tiny_encoder, ["Loc", "Org", "Peop"], max_width=3)
    with pytest.raises(ValueError, match="seed is not set"):
        fit_entities(recognizer, sentences, sentences, config.entities, tmp_path / "ner", progress=False)


def test_the_recognizer_depends_on_its_seed_alone(tiny_encoder: str, tmp_path: Path) -> None:
    """Whatever the relation stage left in torch's random state (a resumed run skips that stage), the recognizer
    of a seed is the same, and another seed gives another one."""
    config = RunConfig.parse(
        {"model": {"encoder": tiny_encoder}, "training": {"train": str(SPERT), "format": "spert", "dev": str(SPERT)}}
    ).override(**{"entities.epochs": 1, "entities.precision": "fp32"})
    sentences = read_sentences(SPERT, "spert")

    def head(run_seed: int, noise: int, out: str) -> bytes:
        torch.manual_seed(noise)  # stands for the relation stage's use of the global generator
        recognizer_stage(config.override(**{"training.seed": run_seed}), tmp_path / out, sentences, sentences, False)
        return (tmp_path / out / ENTITIES_STAGE / "span_head.safetensors").read_bytes()

    assert head(7, 0, "a") == head(7, 1, "b") != head(8, 0, "c")


def test_a_plain_spert_run_trains_the_whole_extractor(e2e_run: Path) -> None:
    """The run takes the end-to-end defaults (only the YAML's step limits are the user's), and its model holds
    the recognizer and the decisions tuned on dev, which results.json reports."""
    config = RunConfig.from_yaml(e2e_run / "run_config.yaml")
    fields = ("model.strategy", "model.input.markers", "training.lr", "training.epochs")
    expected = tuple(END_TO_END.values[k] for k in fields)
    assert (config.model.strategy, config.model.input.markers, config.training.lr, config.training.epochs) == expected
    assert (config.training.max_steps, config.entities.epochs) == (2, 1)
    model = e2e_run / "model"
    assert (model / ENTITIES_DIR).is_dir() and (e2e_run / "stages" / "entities").is_dir()
    results = json.loads((e2e_run / "results.json").read_text())
    end_to_end = results["end_to_end"]
    assert end_to_end["argument_types"] == {"Live_In": [["Peop", "Loc"]], "Work_For": [["Peop", "Org"]]}
    assert set(end_to_end["entities_dev"]) >= {"precision", "recall", "f1"}
    assert config.entities.seed is None and end_to_end["entities_dev"]["seed"] == config.training.seed
    decisions = Decisions.load(model)
    assert decisions is not None and decisions.tuned == end_to_end["decisions"]
    assert decisions.tuned["data"] == "dev" and decisions.tuned["sentences"] == 8
    assert 0.0 <= decisions.threshold <= 1.0
    extractor = RelationExtractor.from_pretrained(model)
    assert extractor.recognizer is not None and extractor.recognizer.config.types == ("Loc", "Org", "Peop")
    span_config = extractor.recognizer.config  # word shapes and spaCy's NER tags by default, the labels stored
    assert (span_config.shape_dim, span_config.ner_dim) == (16, 16) and {"ORG", "PERSON"} <= set(span_config.ner_labels)
    assert extractor.decisions == decisions


def test_a_final_fit_trains_both_models_on_every_sentence(tiny_encoder: str, run_cli: RunCli, tmp_path: Path) -> None:
    """Without dev (``dev_fraction`` 0, no --dev: SpERT's final model, trained on train and dev given as two --train
    files) both models train on every sentence and keep their last epochs; the decisions take the default threshold,
    untuned."""
    config = tmp_path / "final.yaml"
    config.write_text(yaml.safe_dump(QUICK))
    args = train_args(tiny_encoder, tmp_path / "run", config)
    dev_at = args.index("--dev")
    args[dev_at] = "--train"  # train and dev as one training set, as SpERT's final model
    code, _, stderr = run_cli([*args, "--dev-fraction", "0"])
    assert code == 0, stderr
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    twice = 2 * len(pair_examples())
    assert (results["train_examples"], results["dev_examples"], results["best_dev"]) == (twice, 0, {})
    entities = results["end_to_end"]["entities_dev"]
    assert (entities["epoch"], entities["dev"]) == (QUICK["entities"]["epochs"], None)
    assert results["end_to_end"]["decisions"] == {"data": None}
    assert "no dev to tune on" in stderr
    extractor = RelationExtractor.from_pretrained(tmp_path / "run" / "model")
    assert extractor.decisions is not None and extractor.decisions.threshold == DEFAULT_THRESHOLD
    assert extractor.recognizer is not None


def pair_examples() -> list[object]:
    """The ordered pairs of gold mentions of every fixture sentence: what the relation classifier trains on."""
    return [ex for s in read_sentences(SPERT, "spert") for ex in s.pair_examples(NEGATIVE)]


def test_resuming_a_finished_run_changes_nothing(
    e2e_run: Path, tiny_encoder: str, quick_config: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    """--resume of a finished end-to-end run trains no stage again and rewrites no file (the recognizer and the
    tuning included)."""
    run = Path(shutil.copytree(e2e_run, tmp_path / "run"))
    before = snapshot(run)
    code, _, stderr = run_cli([*train_args(tiny_encoder, run, quick_config), "--resume"])
    assert code == 0, stderr
    assert "already finished" in stderr
    assert snapshot(run) == before


def test_evaluate_predict_and_score_agree(e2e_run: Path, run_cli: RunCli, tmp_path: Path) -> None:
    """``evaluate`` scores the model end to end; ``predict`` writes the same predictions as evaluate's
    --predictions, as SpERT JSON with scores; ``score`` on them gives evaluate's numbers, per type with --report."""
    model, data = str(e2e_run / "model"), str(SPERT)
    evaluated = tmp_path / "evaluated.json"
    code, out, err = run_cli(["evaluate", model, data, "--format", "spert", "--json", "--predictions", str(evaluated)])
    assert code == 0, err
    scores = json.loads(out)
    assert set(scores) == {"strict_micro", "strict_macro_f1", "boundaries_micro", "boundaries_macro_f1", "entities"}
    assert scores["strict_micro"]["support"] == 9  # every gold relation of the file
    assert scores["entities"]["support"] == 19

    predicted = tmp_path / "predicted.json"
    code, _, err = run_cli(["predict", model, data, "--format", "spert", "-o", str(predicted)])
    assert code == 0, err
    records = json.loads(predicted.read_text())
    assert records == json.loads(evaluated.read_text())
    assert [r["orig_id"] for r in records] == [s.id for s in read_sentences(SPERT, "spert")]
    assert all(0.0 <= r["score"] <= 1.0 for record in records for r in record["relations"])
    assert read_sentences(predicted, "spert")  # what score reads

    code, out, err = run_cli(["score", data, str(predicted), "--format", "spert", "--json"])
    assert code == 0, err
    assert json.loads(out) == scores
    report = ["--report", "--json"]
    _, evaluated_report, _ = run_cli(["evaluate", model, data, "--format", "spert", *report])
    _, scored_report, _ = run_cli(["score", data, str(predicted), "--format", "spert", *report])
    assert json.loads(evaluated_report) == json.loads(scored_report)
    rows = json.loads(scored_report)
    assert [r["label"] for r in rows["relation_types"]] == ["Live_In", "Work_For"]
    assert [r["label"] for r in rows["entity_types"]] == ["Loc", "Org", "Peop"]


def test_evaluate_prints_the_end_to_end_tables(e2e_run: Path, run_cli: RunCli) -> None:
    """Without --json the scores are tables: strict and boundaries (micro and macro), entities, and with --report
    a row per relation type and per entity type."""
    code, out, err = run_cli(["evaluate", str(e2e_run / "model"), str(SPERT), "--format", "spert", "--report"])
    assert code == 0, err
    for row in ("strict micro", "strict macro", "boundaries micro", "boundaries macro", "entities"):
        assert row in out
    assert "per relation type (strict)" in out and "per entity type" in out
    assert "Work_For" in out and "Peop" in out


def test_a_model_without_a_recognizer_is_evaluated_on_the_gold_pairs(
    e2e_run: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    """A relation classifier without a recognizer cannot find entities: on SpERT data it is scored on every
    ordered pair of gold mentions, as before end-to-end training existed."""
    model = Path(shutil.copytree(e2e_run / "model", tmp_path / "model"))
    shutil.rmtree(model / ENTITIES_DIR)  # its decisions stay: they do not make it end to end
    code, out, err = run_cli(["evaluate", str(model), str(SPERT), "--format", "spert", "--json"])
    assert code == 0, err
    result = json.loads(out)
    assert result["examples"] == 28 and {"precision", "recall", "f1"} <= set(result)
    assert "strict_micro" not in result
