"""Training end to end on a tiny encoder: the loss falls, runs resume to the same result, the hybrid stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from interrupt import interrupt_after_evaluations
from tiny_runs import FIXTURE, tiny_config

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.nlp import EntityTyper
from relenc.training.config import RunConfig
from relenc.training.run import load_training_data, train_run


def test_training_fits_the_tiny_set(tiny_encoder: str, tmp_path: Path) -> None:
    results = train_run(tiny_config(tiny_encoder, "ht_mask", max_steps=40, eval_every=20), tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [20, 40]
    assert log[-1]["train_loss"] < 0.5  # started near ln(3) = 1.10
    assert results["best_dev"]["f1"] >= 80.0  # dev == train here: the model must have fitted it
    model = RelationExtractor.from_pretrained(tmp_path)
    assert model.spec.name == "ht_mask"
    assert (tmp_path / "run_config.yaml").is_file()


def test_mlm_auxiliary_loss_trains(tiny_encoder: str, tmp_path: Path) -> None:
    results = train_run(tiny_config(tiny_encoder, "mask", max_steps=4, mlm_weight=1.0), tmp_path, progress=False)
    assert results["steps"] == 4


def test_resume_continues_to_the_same_result(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tiny_config(tiny_encoder, "ht", max_steps=6, eval_every=2)
    train_run(cfg, tmp_path / "straight", progress=False)
    straight = RelationExtractor.from_pretrained(tmp_path / "straight")

    interrupt_after_evaluations(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.undo()
    train_run(cfg, tmp_path / "resumed", resume=True, progress=False)
    resumed = RelationExtractor.from_pretrained(tmp_path / "resumed")

    log = [json.loads(line)["step"] for line in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()]
    assert log == [2, 4, 6]
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name


def test_hybrid_trains_its_encoders_then_the_joint_head(tiny_encoder: str, tmp_path: Path) -> None:
    results = train_run(tiny_config(tiny_encoder, "hybrid", max_steps=4, head_epochs=3), tmp_path, progress=False)
    assert set(results["stages"]) == {"ht", "mask"}
    assert (tmp_path / "stages" / "entity" / "model").is_dir()
    assert (tmp_path / "stages" / "relation" / "model").is_dir()
    hybrid = RelationExtractor.from_pretrained(tmp_path)
    entity = RelationExtractor.from_pretrained(tmp_path / "stages" / "entity")
    for (name, a), (_, b) in zip(
        hybrid.model.encoders["entity"].state_dict().items(),
        entity.model.encoders["main"].state_dict().items(),
        strict=True,
    ):
        assert torch.equal(a, b), f"frozen entity encoder changed: {name}"
    examples = read_dataset(FIXTURE, "jsonl")
    assert len(hybrid.predict(examples)) == len(examples)


def test_hybrid_with_a_never_trained_entity_encoder(tiny_encoder: str, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_encoder, "hybrid", max_steps=4, head_epochs=2)
    cfg = cfg.override(**{"model.entity_encoder": tiny_encoder})
    results = train_run(cfg, tmp_path, progress=False)
    assert set(results["stages"]) == {"mask"}


def test_typed_markers_train_save_and_reload(tiny_encoder: str, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_encoder, "ht", max_steps=2).override(**{"model.input.markers": "typed"})
    train_run(cfg, tmp_path, progress=False)
    model = RelationExtractor.from_pretrained(tmp_path)
    tokenizer = model.parts["main"].tokenizer
    assert "[E1:PERSON]" in tokenizer.get_vocab() and "[/E2:GPE]" in tokenizer.get_vocab()
    example = read_dataset(FIXTURE, "jsonl")[0]
    encoded = model.parts["main"].builder.encode(example)
    assert tokenizer.convert_ids_to_tokens(encoded.input_ids[encoded.head_pos]) == "[E1:PERSON]"


def test_spacy_types_feed_typed_markers_in_training_and_inference(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data without types (SemEval, KBP37, raw text) gets its types from spaCy NER when the model asks for them:
    every NER label has its marker from the start, and a saved model types new input the same way. NER reads the
    training and the dev sentences once each, however many evaluations there are."""
    pytest.importorskip("spacy")
    nlp = EntityTyper().nlp  # the pipeline every typer of the process shares
    batches: list[int] = []
    pipe = nlp.pipe

    def counting_pipe(texts: Any, **kwargs: Any) -> Any:
        texts = list(texts)
        batches.append(len(texts))
        return pipe(texts, **kwargs)

    monkeypatch.setattr(nlp, "pipe", counting_pipe)
    untyped = tmp_path / "untyped.jsonl"
    lines = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    for record in lines:
        record["h"].pop("type", None)
        record["t"].pop("type", None)
    untyped.write_text("".join(json.dumps(record) + "\n" for record in lines))
    cfg = tiny_config(tiny_encoder, "ht", max_steps=2, eval_every=1, train=str(untyped), dev=str(untyped))
    cfg = cfg.override(**{"model.input.markers": "typed", "model.input.entity_types": "spacy"})
    train_run(cfg, tmp_path / "model", progress=False)
    assert batches == [len(lines), len(lines)]  # train once, dev once, for two evaluations
    model = RelationExtractor.from_pretrained(tmp_path / "model")
    vocab = model.parts["main"].tokenizer.get_vocab()
    assert {"[E1:PERSON]", "[/E2:GPE]", "[E1:DATE]", "[E2:NORP]"} <= set(vocab)  # every NER label, seen or not
    example = Example(
        "x", ("Barack", "Obama", "visited", "the", "old", "cup", "."), Span(0, 2, "Barack Obama"), Span(5, 6, "cup")
    )
    encoded = model.encode([example])[0]["main"]
    tokens = model.parts["main"].tokenizer.convert_ids_to_tokens(encoded.input_ids)
    assert tokens[encoded.head_pos] == "[E1:PERSON]"
    assert tokens[encoded.tail_pos] == "[E2]"  # no named entity: the untyped marker
    assert model.predict([example])[0].label in model.labels.labels


def test_early_stopping_and_grad_accumulation(tiny_encoder: str, tmp_path: Path) -> None:
    # lr 0: the dev score can never improve after the first evaluation, so patience 2 stops at the third
    cfg = tiny_config(
        tiny_encoder, "mask", max_steps=40, eval_every=1, lr=1e-12, head_lr=1e-12, patience=2, grad_accum=2
    )
    results = train_run(cfg, tmp_path, progress=False)
    assert results["stopped_early"] and results["steps"] == 3


def test_a_run_says_which_precision_auto_chose(
    tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a CPU without native bf16, "auto" trains in fp32: the run says so and why, and results.json records it."""
    monkeypatch.setattr("relenc.runtime.bf16_native", lambda: False)
    results = train_run(tiny_config(tiny_encoder, max_steps=2, precision="auto"), tmp_path, progress=False)
    assert results["precision"] == "fp32"
    assert json.loads((tmp_path / "results.json").read_text())["precision"] == "fp32"
    assert "fp32 (this CPU has no native bf16" in capsys.readouterr().err


def test_training_leaves_out_examples_that_cannot_fit(
    tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An example whose entities are further apart than max_length is left out of training, named in a warning;
    at evaluation time the same example is an error (dropping it would change the score)."""
    from relenc.encoding.builder import TooLongError

    far = "Alice " + "and then some more words " * 20 + "Acme"
    record = {
        "id": "far-1",
        "text": far,
        "h": {"start": 0, "end": 5},
        "t": {"start": len(far) - 4, "end": len(far)},
        "label": "per:employee_of",
    }
    train = tmp_path / "train.jsonl"
    train.write_text(FIXTURE.read_text() + json.dumps(record) + "\n")
    cfg = RunConfig.parse(
        {
            "model": {"strategy": "ht", "encoder": tiny_encoder, "input": {"max_length": 48}},
            "training": {
                "train": str(train),
                "dev": str(FIXTURE),
                "format": "jsonl",
                "max_steps": 2,
                "batch_size": 4,
                "precision": "fp32",
            },
        }
    )
    train_run(cfg, tmp_path / "run", progress=False)
    out = capsys.readouterr().out
    assert "1 of 9 training examples left out" in out and "'far-1'" in out
    model = RelationExtractor.from_pretrained(tmp_path / "run")
    with pytest.raises(TooLongError, match="far-1"):
        model.predict(read_dataset(train, "jsonl"))


@pytest.mark.parametrize("strategy", ["ht", "hybrid"])
def test_without_dev_every_example_trains_and_the_last_model_is_kept(
    tiny_encoder: str, tmp_path: Path, strategy: str
) -> None:
    """``dev_fraction`` 0 and no dev file: a final fit on all of train, in the full loop and the head-only loop."""
    cfg = tiny_config(tiny_encoder, strategy, dev=None, dev_fraction=0.0, max_steps=4, eval_every=2, head_epochs=2)
    results = train_run(cfg, tmp_path, progress=False)
    assert results["train_examples"] == len(read_dataset(FIXTURE, "jsonl"))
    assert results["dev_examples"] == 0
    assert results["best_dev"] == {}
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["dev"] for entry in log] == [None] * len(log)
    assert results["best_step"] == log[-1]["step"]  # the last model, not the first
    final = RelationExtractor.from_pretrained(tmp_path)
    assert len(final.predict(read_dataset(FIXTURE, "jsonl"))) == results["train_examples"]


def test_several_training_files_are_read_as_one(tmp_path: Path) -> None:
    """``training.train`` may list files (train and dev for a final fit): their examples in order; an empty list
    is refused, and an error in one file names the files."""
    one = read_dataset(FIXTURE, "jsonl")
    config = RunConfig.parse({"training": {"train": [str(FIXTURE), str(FIXTURE)], "dev_fraction": 0.0}})
    assert [ex.label for ex in load_training_data(config)[0]] == [ex.label for ex in one + one]
    assert config.training.train_source == f"{FIXTURE} + {FIXTURE}"
    with pytest.raises(RelencError, match="empty list"):
        RunConfig.parse({"training": {"train": []}})
    assert RunConfig.parse({"training": {"train": [str(FIXTURE)]}}).training.train == str(FIXTURE)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(RelencError, match=r"empty\.jsonl"):
        load_training_data(config.override(**{"training.train": [str(FIXTURE), str(empty)]}))


@pytest.mark.parametrize(
    ("training", "problem"),
    [
        ({"patience": 2}, "patience compare models on dev"),
        ({"average_last": 2}, "average_last compare models on dev"),
    ],
)
def test_without_dev_what_needs_dev_is_refused(training: dict[str, Any], problem: str) -> None:
    data = {"train": str(FIXTURE), "dev_fraction": 0.0, **training}
    with pytest.raises(RelencError, match=problem):
        RunConfig.parse({"training": data})
    RunConfig.parse({"training": {**data, "dev": str(FIXTURE)}})  # with a dev file the same settings are fine
