"""Knowledge distillation: the loss by hand, alpha 0 as plain training, unlabelled sentences, the teacher's logits
(label order, examples it cannot read, the cache), the student's defaults, and a hybrid student."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from interrupt import interrupt_after_evaluations
from safetensors.torch import load_file
from tiny_runs import FIXTURE, tiny_config
from torch import nn
from transformers import AutoTokenizer, MPNetConfig, MPNetModel

from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import example_to_dict
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.encoders import resolve_encoder
from relenc.models.extractor import RelationExtractor
from relenc.training import distill, trainer
from relenc.training.config import DistillConfig, RunConfig, TrainConfig
from relenc.training.defaults import HT_MINILM
from relenc.training.distill import (
    CACHE_NAME,
    IGNORE,
    SoftTargets,
    check_teacher,
    distillation_loss,
    read_unlabelled,
    student_config,
)
from relenc.training.losses import rdrop_loss, relation_loss
from relenc.training.run import train_run

EXAMPLES = read_dataset(FIXTURE, "jsonl")
LABELS = LabelSet.from_labels(ex.label for ex in EXAMPLES)


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A teacher run of another architecture than the student's: a tiny MPNet (MiniLM's tokenizer), ``ht_mask``
    with max_length 64, trained 6 steps on the tiny fixture."""
    encoder = tmp_path_factory.mktemp("tiny-mpnet")
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder("minilm"))
    config = MPNetConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(1)
    MPNetModel(config).save_pretrained(encoder, safe_serialization=True)
    tokenizer.save_pretrained(encoder)
    run = tmp_path_factory.mktemp("teacher")
    cfg = tiny_config(str(encoder), "ht_mask", max_steps=6, eval_every=6).override(**{"model.input.max_length": 64})
    train_run(cfg, run, progress=False)
    return run


def with_teacher(cfg: RunConfig, teacher: Path, **settings: Any) -> RunConfig:
    return cfg.override(distill={"teacher": str(teacher), **settings})


def log_lines(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def write_pairs(path: Path, pairs: list[tuple[int, int]]) -> Path:
    """A pairs file of fixture examples (labels kept: the reader must drop them)."""
    lines = [
        {"id": f"p{k}", "a": example_to_dict(EXAMPLES[a]), "b": example_to_dict(EXAMPLES[b])}
        for k, (a, b) in enumerate(pairs)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


# ------------------------------------------------------------------------------------------------ the loss
def softmax(row: list[float], t: float) -> list[float]:
    exps = [math.exp(v / t) for v in row]
    return [e / sum(exps) for e in exps]


def test_the_distillation_loss_by_hand() -> None:
    """Two labelled rows and an unlabelled one (KL term only), T 2, alpha 0.25, averaged over the three rows."""
    student = [[1.0, 0.0, -1.0], [0.5, 0.5, 0.0], [0.0, 2.0, 0.0]]
    teacher = [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 3.0]]
    gold = [0, 2, IGNORE]
    t, alpha = 2.0, 0.25
    kl = [
        sum(p * math.log(p / q) for p, q in zip(softmax(te, t), softmax(st, t), strict=True))
        for st, te in zip(student, teacher, strict=True)
    ]
    ce = [-math.log(softmax(student[0], 1.0)[0]), -math.log(softmax(student[1], 1.0)[2])]
    expected = (alpha * t * t * sum(kl) + (1 - alpha) * sum(ce)) / 3
    loss = distillation_loss(torch.tensor(student), torch.tensor(teacher), torch.tensor(gold), t, alpha)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # a batch of unlabelled rows: the KL term alone, still with a gradient path
    logits = torch.tensor(student, requires_grad=True)
    alone = distillation_loss(logits, torch.tensor(teacher), torch.full((3,), IGNORE), t, alpha)
    assert alone.item() == pytest.approx(alpha * t * t * sum(kl) / 3, rel=1e-6)
    alone.backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    bf16 = distillation_loss(torch.tensor(student).bfloat16(), torch.tensor(teacher), torch.tensor(gold), t, alpha)
    assert bf16.dtype == torch.float32


def test_alpha_zero_is_the_cross_entropy_and_alpha_one_the_scaled_kl() -> None:
    torch.manual_seed(0)
    student, teacher, gold = torch.randn(6, 4), torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.equal(distillation_loss(student, teacher, gold, 2.0, 0.0, 0.1), relation_loss(student, gold, 0.1))
    kl = nn.functional.kl_div(
        (student / 3).log_softmax(-1), (teacher / 3).log_softmax(-1), log_target=True, reduction="batchmean"
    )
    assert distillation_loss(student, teacher, gold, 3.0, 1.0).item() == pytest.approx(9 * kl.item(), rel=1e-5)
    assert distillation_loss(student, student, gold, 3.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)


def test_rdrop_pairs_each_copy_with_its_soft_targets() -> None:
    torch.manual_seed(0)
    logits, teacher, gold = torch.randn(6, 3), torch.randn(3, 3), torch.tensor([0, IGNORE, 2])
    soft = SoftTargets(teacher, 2.0, 0.5)
    plain = trainer.relation_objective(logits[:3], gold, TrainConfig(), soft)
    assert plain.item() == pytest.approx(distillation_loss(logits[:3], teacher, gold, 2.0, 0.5).item())
    both = distillation_loss(logits, torch.cat([teacher, teacher]), torch.cat([gold, gold]), 2.0, 0.5)
    expected = both + 0.7 * rdrop_loss(logits[:3], logits[3:])
    on = trainer.relation_objective(logits, gold, TrainConfig(rdrop_alpha=0.7), soft)
    assert on.item() == pytest.approx(expected.item(), rel=1e-6)


# ----------------------------------------------------------------------------------------- training runs
def test_alpha_zero_trains_exactly_as_plain_training(tiny_encoder: str, teacher: Path, tmp_path: Path) -> None:
    """The teacher runs and its logits are cached, but with alpha 0 the losses and weights are those of a run
    without distillation."""
    plain = tiny_config(tiny_encoder, "ht", max_steps=4)
    results = train_run(plain, tmp_path / "plain", progress=False)
    distilled = train_run(with_teacher(plain, teacher, alpha=0.0), tmp_path / "kd", progress=False)
    assert (tmp_path / "kd" / CACHE_NAME).is_file() and not (tmp_path / "plain" / CACHE_NAME).exists()
    assert [line["train_loss"] for line in log_lines(tmp_path / "kd")] == [
        line["train_loss"] for line in log_lines(tmp_path / "plain")
    ]
    assert distilled["best_dev"] == results["best_dev"]
    a, b = RelationExtractor.from_pretrained(tmp_path / "plain"), RelationExtractor.from_pretrained(tmp_path / "kd")
    for (name, x), (_, y) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert torch.equal(x, y), name


def test_the_student_learns_the_teachers_distribution(tiny_encoder: str, teacher: Path, tmp_path: Path) -> None:
    """alpha 1 and no gold term: after training, the student's predictions have moved towards the teacher's."""
    cfg = with_teacher(tiny_config(tiny_encoder, "ht", max_steps=30, eval_every=30), teacher, alpha=1.0)
    train_run(cfg, tmp_path, progress=False)
    target = load_file(tmp_path / CACHE_NAME)["logits"].log_softmax(-1)
    torch.manual_seed(cfg.training.seed)  # the student as it started
    before = RelationExtractor.build("ht", LABELS, {"main": tiny_encoder}, {"main": InputConfig(prompt=False)})
    after = RelationExtractor.from_pretrained(tmp_path)

    def kl(model: RelationExtractor) -> float:
        """KL(teacher || model) at temperature 1, summed over the examples."""
        probs = torch.tensor([[p.probabilities[label] for label in LABELS.labels] for p in model.predict(EXAMPLES)])
        return float((target.exp() * (target - probs.log())).sum())

    assert kl(after) < kl(before) / 2


def test_unlabelled_sentences_train_on_the_soft_targets_alone(
    tiny_encoder: str, teacher: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three pairs give five distinct sentences, of which --max-unlabelled keeps 4: with the 8 labelled examples,
    one epoch of 3 batches sees 12 rows, 4 of them without a gold label."""
    pairs = write_pairs(tmp_path / "pairs.jsonl", [(0, 2), (4, 0), (5, 6)])
    seen: list[torch.Tensor] = []
    real = distill.distillation_loss

    def spy(student: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor, *args: Any) -> torch.Tensor:
        assert not teacher_logits.isnan().any()
        seen.append(targets.clone())
        return real(student, teacher_logits, targets, *args)

    monkeypatch.setattr(distill, "distillation_loss", spy)
    cfg = with_teacher(tiny_config(tiny_encoder, "ht", max_steps=3), teacher, unlabelled=str(pairs), max_unlabelled=4)
    results = train_run(cfg, tmp_path / "run", progress=False)
    assert results["steps"] == 3 and results["train_examples"] == 8
    targets = torch.cat(seen)
    assert len(targets) == 12 and int((targets == IGNORE).sum()) == 4
    assert load_file(tmp_path / "run" / CACHE_NAME)["logits"].shape == (12, 3)


def test_reading_unlabelled_sentences(tmp_path: Path) -> None:
    """Each pair's two sentences, each once, in order, without their labels; the limit reads that many pairs."""
    pairs = write_pairs(tmp_path / "pairs.jsonl", [(0, 2), (4, 0), (5, 6)])
    sentences = read_unlabelled(str(pairs))
    assert [ex.id for ex in sentences] == ["1", "3", "5", "6", "7"]
    assert all(ex.label is None for ex in sentences)
    assert [ex.id for ex in read_unlabelled(str(pairs), 2)] == ["1", "3"]  # two pairs: 1, 3, 5, 1 -> at most two


def test_a_hybrid_student_distils_its_stages_and_its_head(
    tiny_encoder: str, teacher: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The teacher runs once for the whole run: the stages are handed its soft targets, and the joint head's loop
    (frozen encoders) uses them too."""
    calls: list[int] = []
    real_logits = distill._teacher_logits

    def count(*args: Any) -> torch.Tensor:
        calls.append(1)
        return real_logits(*args)

    rows: list[int] = []
    real_loss = distill.distillation_loss

    def spy(student: torch.Tensor, *args: Any) -> torch.Tensor:
        rows.append(len(student))
        return real_loss(student, *args)

    monkeypatch.setattr(distill, "_teacher_logits", count)
    monkeypatch.setattr(distill, "distillation_loss", spy)
    cfg = with_teacher(tiny_config(tiny_encoder, "hybrid", max_steps=2, head_epochs=2), teacher)
    results = train_run(cfg, tmp_path, progress=False)
    assert calls == [1] and set(results["stages"]) == {"ht", "mask"}
    assert len(rows) == 2 + 2 + 2 * 2  # 2 steps per stage, 2 head epochs of 2 batches
    assert not list((tmp_path / "stages").rglob(CACHE_NAME))
    assert RunConfig.from_yaml(tmp_path / "stages" / "entity" / "run_config.yaml").distill is not None
    assert RelationExtractor.from_pretrained(tmp_path).spec.name == "hybrid"


# ------------------------------------------------------------------------------------- the teacher's logits
def test_teacher_logits_follow_the_students_label_order_and_skip_what_it_cannot_read(
    tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A teacher whose labels are in another order, max_length 24: its logits are permuted into the student's order
    (the same probabilities as its own predictions), and an example it cannot read gets a NaN row, a warning, and
    no place in training."""
    order = LabelSet(("per:employee_of", "no_relation", "org:city_of_headquarters"), "no_relation")
    torch.manual_seed(0)
    model = RelationExtractor.build(
        "ht", order, {"main": tiny_encoder}, {"main": InputConfig(prompt=False, max_length=24)}
    )
    model.save_pretrained(tmp_path / "teacher")
    far = json.dumps(
        {
            "id": "far",
            "tokens": ["Alice", *["more"] * 40, "Acme"],
            "h": {"start": 0, "end": 1},
            "t": {"start": 41, "end": 42},
            "label": "per:employee_of",
        }
    )
    data = tmp_path / "train.jsonl"
    data.write_text(FIXTURE.read_text() + far + "\n")
    train = read_dataset(data, "jsonl")
    found = check_teacher(DistillConfig(teacher=str(tmp_path / "teacher")), LABELS, str(data))
    result = found.distillation(train, tmp_path, TrainConfig(precision="fp32"), progress=False)
    err = " ".join(capsys.readouterr().err.split())
    assert "warning: 1 of 9 examples are left out of training" in err and "max_length 24 ('far')" in err
    logits = result.targets.logits
    assert logits[:8].isfinite().all() and logits[8].isnan().all()
    probs = logits[:8].softmax(-1)
    own = model.predict(train[:8], precision="fp32")
    for row, pred in zip(probs, own, strict=True):
        assert row.tolist() == pytest.approx([pred.probabilities[label] for label in LABELS.labels], abs=1e-5)
    kept, gold, soft = result.training_set(train, torch.arange(9) % 3)
    assert [ex.id for ex in kept] == [ex.id for ex in train[:8]] and len(gold) == len(soft.logits) == 8


def test_a_cache_made_for_other_examples_stops_the_resume(
    tiny_encoder: str, teacher: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(FIXTURE.read_text())
    cfg = with_teacher(tiny_config(tiny_encoder, "ht", max_steps=4), teacher).override(
        **{"training.train": str(data), "training.dev": str(data)}
    )
    interrupt_after_evaluations(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path / "run", progress=False)
    monkeypatch.undo()
    data.write_text(FIXTURE.read_text().replace("Alice works for Acme", "Alice works for Umbrella"))
    with pytest.raises(RelencError, match=rf"{CACHE_NAME}: the teacher's logits were computed for other examples"):
        train_run(cfg, tmp_path / "run", resume=True, progress=False)


# ------------------------------------------------------------------------------------- the student's config
def test_the_student_takes_the_teachers_strategy_and_input_unless_told(teacher: Path, tmp_path: Path) -> None:
    flags = {"model.strategy": None, "training.epochs": None}
    cfg = student_config(RunConfig(), flags, {"teacher": str(teacher), "alpha": None})
    assert cfg.model.strategy == "ht_mask" and cfg.model.encoder == "minilm"
    assert cfg.model.input.max_length == 64 and cfg.model.input.prompt
    assert cfg.distill == DistillConfig(teacher=str(teacher), temperature=2.0, alpha=0.5)
    assert cfg.training.epochs == RunConfig().training.epochs  # no measured recipe for ht_mask
    ht = student_config(RunConfig(), {"model.strategy": "ht"}, {"teacher": str(teacher)})
    assert ht.model.strategy == "ht" and ht.training.epochs == HT_MINILM.values["training.epochs"]  # as relenc train
    told = student_config(RunConfig(), {"model.strategy": "ht", "training.epochs": 2.0}, {"teacher": str(teacher)})
    assert told.training.epochs == 2.0
    yaml = tmp_path / "run.yaml"
    yaml.write_text("model:\n  input:\n    max_length: 100\ndistill:\n  teacher: elsewhere\n  temperature: 3.0\n")
    mixed = student_config(RunConfig.from_yaml(yaml), {}, {"teacher": str(teacher), "alpha": 0.8})
    assert mixed.model.strategy == "ht_mask" and mixed.model.input.max_length == 100  # the file's input wins
    assert mixed.distill == DistillConfig(teacher=str(teacher), temperature=3.0, alpha=0.8)
    with pytest.raises(RelencError, match="no teacher: give --teacher"):
        student_config(RunConfig(), {}, {"teacher": None})


def test_distillation_refuses_end_to_end_data(teacher: Path) -> None:
    with pytest.raises(RelencError, match="distillation trains a classifier of given pairs; format spert"):
        RunConfig.parse({"training": {"format": "spert"}, "distill": {"teacher": str(teacher)}})
