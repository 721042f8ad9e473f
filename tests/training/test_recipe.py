"""The recipe switches of the run config: layer-wise learning-rate decay, the schedule, label smoothing, R-Drop,
checkpoint averaging (and mean pooling, tests/models/test_pooling.py); their defaults leave training exactly as it
was."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from interrupt import interrupt_after_evaluations
from safetensors.torch import load_file
from torch import nn
from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel, get_linear_schedule_with_warmup

from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.models.model import RelationModel
from relenc.training import trainer
from relenc.training.averaging import AVERAGING_DIR, EpochWeights
from relenc.training.config import RunConfig, TrainConfig
from relenc.training.losses import rdrop_loss, relation_loss
from relenc.training.run import train_run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


def build(strategy: str, encoder: str) -> RelationExtractor:
    """A fresh one-encoder extractor (``ht`` or ``ht_mask``, with the masked-LM head) over three labels."""
    labels = LabelSet.from_labels(["no_relation", "per:employee_of", "org:city_of_headquarters"])
    inputs = {"main": InputConfig(prompt=strategy != "ht")}
    return RelationExtractor.build(strategy, labels, {"main": encoder}, inputs, mlm=strategy != "ht")


def rates_by_name(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, float]:
    by_id = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return {name: by_id[id(p)] for name, p in model.named_parameters() if id(p) in by_id}


def test_the_default_config_keeps_the_parameter_groups_of_before(tiny_encoder: str) -> None:
    """The groups adamw built before layer decay existed: encoder at lr, new weights at head_lr, no decay for biases
    and norms, in the order the parameters come."""
    model = build("ht_mask", tiny_encoder).model
    cfg = TrainConfig()
    before: dict[tuple[float, float], list[int]] = {}
    for name, param in model.named_parameters():
        rate = cfg.head_lr if name.startswith(("head.", "mlm_heads.")) else cfg.lr
        decay = 0.0 if param.ndim < 2 or "norm" in name.lower() else cfg.weight_decay
        before.setdefault((rate, decay), []).append(id(param))
    now = trainer._optimizer(model, cfg).param_groups
    assert [((g["lr"], g["weight_decay"]), [id(p) for p in g["params"]]) for g in now] == list(before.items())


def test_the_default_schedule_and_loss_are_the_ones_of_before() -> None:
    param = nn.Parameter(torch.zeros(1))
    ours = trainer.make_scheduler(torch.optim.SGD([param], lr=1.0), TrainConfig(), 50)
    old = get_linear_schedule_with_warmup(torch.optim.SGD([param], lr=1.0), 5, 50)
    assert [ours.lr_lambdas[0](s) for s in range(51)] == [old.lr_lambdas[0](s) for s in range(51)]
    logits, targets = torch.randn(6, 4, dtype=torch.bfloat16), torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.equal(relation_loss(logits, targets), nn.functional.cross_entropy(logits.float(), targets))


def test_layer_decay_lowers_the_rates_layer_by_layer(tiny_encoder: str) -> None:
    model = build("ht", tiny_encoder).model  # 2 layers
    cfg = TrainConfig(lr=1e-4, head_lr=1e-3, layer_decay=0.5)
    rates = rates_by_name(model, trainer._optimizer(model, cfg))
    expected = {
        "encoders.main.encoder.layer.1.": 1e-4,  # the top layer: lr
        "encoders.main.encoder.layer.0.": 5e-5,
        "encoders.main.embeddings.": 2.5e-5,  # the bottom: lr * decay ** layers
        "head.": 1e-3,  # new weights keep head_lr
    }
    for name, rate in rates.items():
        prefix = next((p for p in expected if name.startswith(p)), None)
        assert rate == pytest.approx(expected[prefix] if prefix else 1e-4), name  # the rest (pooler): lr
    assert {prefix for prefix in expected if any(name.startswith(prefix) for name in rates)} == set(expected)


def tiny(kind: type[Any], config: type[Any], layers: int) -> nn.Module:
    return kind(
        config(vocab_size=50, hidden_size=8, num_hidden_layers=layers, num_attention_heads=2, intermediate_size=16)
    )


def test_each_encoder_counts_its_own_layers_bert_and_mpnet() -> None:
    """A hybrid may pair encoders of different depths; MPNet's shared relative-attention bias stays at lr."""
    model = nn.Module()
    model.encoders = nn.ModuleDict(
        {"entity": tiny(BertModel, BertConfig, 3), "relation": tiny(MPNetModel, MPNetConfig, 2)}
    )
    rates = trainer.layer_rates([name for name, _ in model.named_parameters()], 1.0, 0.5)
    assert rates["encoders.entity.encoder.layer.2.output.dense.weight"] == 1.0
    assert rates["encoders.entity.encoder.layer.0.output.dense.weight"] == 0.25
    assert rates["encoders.entity.embeddings.word_embeddings.weight"] == 0.125
    assert rates["encoders.relation.encoder.layer.1.attention.attn.q.weight"] == 1.0
    assert rates["encoders.relation.encoder.layer.0.attention.attn.q.weight"] == 0.5
    assert rates["encoders.relation.embeddings.word_embeddings.weight"] == 0.25
    assert rates["encoders.relation.encoder.relative_attention_bias.weight"] == 1.0
    assert rates["encoders.relation.pooler.dense.weight"] == 1.0


def test_layer_decay_refuses_a_model_without_named_layers() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    assert trainer.adamw(model, 1e-4, 1e-3, 0.0, lambda name: False).param_groups[0]["lr"] == 1e-4
    with pytest.raises(RelencError, match=r"layer_decay needs an encoder whose layers are named encoder\.layer\.N"):
        trainer.adamw(model, 1e-4, 1e-3, 0.0, lambda name: False, layer_decay=0.9)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # warm-up over 10 of 110 steps, then: cosine is half-way down at the middle of the other 100
        ("cosine", {0: 0.0, 5: 0.5, 10: 1.0, 60: 0.5, 110: 0.0}),
        ("linear", {0: 0.0, 5: 0.5, 10: 1.0, 60: 0.5, 85: 0.25, 110: 0.0}),
        ("constant", {0: 0.0, 5: 0.5, 10: 1.0, 60: 1.0, 110: 1.0}),
    ],
)
def test_schedules_after_the_warm_up(schedule: str, expected: dict[int, float]) -> None:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    cfg = TrainConfig(schedule=schedule, warmup_ratio=1 / 11)  # type: ignore[arg-type]
    factor = trainer.make_scheduler(optimizer, cfg, 110).lr_lambdas[0]
    assert {step: factor(step) for step in expected} == pytest.approx(expected, abs=1e-9)
    if schedule == "cosine":  # a quarter of the way: 0.5 * (1 + cos(pi / 4))
        assert factor(35) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_label_smoothing_mixes_in_the_mean_over_labels() -> None:
    torch.manual_seed(0)
    logits, targets = torch.randn(5, 4), torch.tensor([0, 1, 2, 3, 1])
    log_p = logits.log_softmax(-1)
    plain = -log_p[torch.arange(5), targets].mean()
    uniform = -log_p.mean(-1).mean()
    assert relation_loss(logits, targets, 0.2) == pytest.approx(float(0.8 * plain + 0.2 * uniform), rel=1e-6)
    confident = torch.tensor([[10.0, 0.0, 0.0]])
    # a confident right answer costs more when smoothed: the target is no longer all on one label
    assert relation_loss(confident, torch.tensor([0]), 0.1) > relation_loss(confident, torch.tensor([0]))


def run_config(encoder: str, model: dict[str, Any] | None = None, **training: Any) -> RunConfig:
    """A tiny ``ht`` run on the 8-example fixture (dev = train): 2 steps an epoch at batch size 4."""
    base = {"train": str(FIXTURE), "dev": str(FIXTURE), "batch_size": 4, "precision": "fp32"}
    return RunConfig.parse(
        {"model": {"strategy": "ht", "encoder": encoder} | (model or {}), "training": base | training}
    )


def test_a_run_trains_with_every_switch_on(tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def spy(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        seen.append(label_smoothing)
        return relation_loss(logits, targets, label_smoothing)

    monkeypatch.setattr(trainer, "relation_loss", spy)
    switches = {"schedule": "cosine", "layer_decay": 0.8, "label_smoothing": 0.1, "rdrop_alpha": 0.5, "average_last": 2}
    cfg = run_config(tiny_encoder, {"pooling": "mean"}, max_steps=4, **switches)
    results = train_run(cfg, tmp_path, progress=False)
    assert results["steps"] == 4 and seen == [0.1] * 4
    assert results["averaging"]["epochs"] == [1.0, 2.0] and not (tmp_path / AVERAGING_DIR).exists()
    saved = RunConfig.from_yaml(tmp_path / "run_config.yaml")
    assert saved.training.schedule == "cosine" and saved.training.average_last == 2 and saved.model.pooling == "mean"
    assert RelationExtractor.from_pretrained(tmp_path).model.pooling == "mean"


# ------------------------------------------------------------------------------------------------ R-Drop
def test_rdrop_loss_is_the_symmetric_kl_divergence() -> None:
    torch.manual_seed(0)
    first, second = torch.randn(5, 4), torch.randn(5, 4)
    kl = nn.functional.kl_div  # kl_div(log q, p) = KL(p || q)
    forward = kl(second.log_softmax(-1), first.log_softmax(-1), log_target=True, reduction="batchmean")
    backward = kl(first.log_softmax(-1), second.log_softmax(-1), log_target=True, reduction="batchmean")
    assert rdrop_loss(first, second) == pytest.approx(float((forward + backward) / 2), rel=1e-5)
    assert rdrop_loss(first, second) == pytest.approx(float(rdrop_loss(second, first)), rel=1e-6)
    assert rdrop_loss(first, first) == 0.0 and rdrop_loss(first, second) > 0
    # two labels: p = (1/2, 1/2) against q = (e/(1+e), 1/(1+e)), by hand
    p, q = torch.tensor([0.5, 0.5]), torch.tensor([math.e / (1 + math.e), 1 / (1 + math.e)])
    by_hand = ((p * (p / q).log()).sum() + (q * (q / p).log()).sum()) / 2
    assert rdrop_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])) == pytest.approx(float(by_hand), rel=1e-6)
    assert rdrop_loss(first.bfloat16(), second.bfloat16()).dtype == torch.float32


def test_the_objective_adds_alpha_times_the_kl_of_the_two_copies() -> None:
    torch.manual_seed(0)
    logits, targets = torch.randn(6, 3), torch.tensor([0, 1, 2])
    off = TrainConfig(label_smoothing=0.1)
    assert torch.equal(trainer.relation_objective(logits[:3], targets, off), relation_loss(logits[:3], targets, 0.1))
    on = TrainConfig(label_smoothing=0.1, rdrop_alpha=0.7)
    mean_ce = (relation_loss(logits[:3], targets, 0.1) + relation_loss(logits[3:], targets, 0.1)) / 2
    expected = mean_ce + 0.7 * rdrop_loss(logits[:3], logits[3:])
    assert trainer.relation_objective(logits, targets, on) == pytest.approx(float(expected), rel=1e-6)


def training_rows(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows each training forward pass of the relation model sees (evaluation runs without grad)."""
    rows: list[int] = []
    forward = RelationModel.forward

    def spy(self: RelationModel, inputs: Any, mlm_positions: Any = None) -> Any:
        if torch.is_grad_enabled():
            rows.append(int(inputs["main"]["input_ids"].shape[0]))
        return forward(self, inputs, mlm_positions)

    monkeypatch.setattr(RelationModel, "forward", spy)
    return rows


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_rdrop_runs_each_batch_twice_in_one_pass(
    alpha: float, tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """alpha 0 (the default): one pass over the batch as before, no KL term; alpha > 0: the batch twice in one
    pass, whose two copies differ only by their dropout masks (and, with the masked-LM loss, share the corruption)."""
    rows = training_rows(monkeypatch)
    pairs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def spy(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        pairs.append((first.detach(), second.detach()))
        return rdrop_loss(first, second)

    monkeypatch.setattr(trainer, "rdrop_loss", spy)
    cfg = run_config(tiny_encoder, {"strategy": "ht_mask"}, max_steps=2, rdrop_alpha=alpha, mlm_weight=1.0)
    train_run(cfg, tmp_path, progress=False)
    assert rows == ([4, 4] if alpha == 0 else [8, 8])
    assert len(pairs) == (0 if alpha == 0 else 2)
    for first, second in pairs:
        assert first.shape == second.shape == (4, 3) and not torch.equal(first, second)


# ------------------------------------------------------------------------------------------ averaging
def fake_dev_scores(monkeypatch: pytest.MonkeyPatch, name: str, f1s: list[float]) -> None:
    """Replace the trainer's dev evaluation ``name`` by one that gives these F1 scores in turn."""
    scores: Iterator[float] = iter(f1s)
    monkeypatch.setattr(trainer, name, lambda *args: {"precision": 0.0, "recall": 0.0, "f1": next(scores)})


def kept_heads(root: Path) -> dict[int, dict[str, torch.Tensor]]:
    """The head weights of each epoch the run kept, by step (the trainer's cleanup turned off by the caller)."""
    files = {int(p.stem.removeprefix("step_")): load_file(p) for p in (root / AVERAGING_DIR).glob("step_*")}
    return {
        step: {k.removeprefix("head."): v for k, v in w.items() if k.startswith("head.")} for step, w in files.items()
    }


@pytest.mark.parametrize(("averaged_f1", "kept"), [(70.0, "averaged"), (60.0, "averaged"), (40.0, "best")])
def test_averaging_the_last_two_epochs(
    averaged_f1: float, kept: str, tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three epochs of 2 steps, the best at epoch 2 (F1 60): the average of epochs 2 and 3 replaces it when its F1
    is at least as high (a tie included), else the best stays; results.json records both and the choice."""
    fake_dev_scores(monkeypatch, "_dev_scores", [50.0, 60.0, 55.0, averaged_f1])
    monkeypatch.setattr(EpochWeights, "remove", lambda self: None)
    results = train_run(run_config(tiny_encoder, epochs=3, average_last=2), tmp_path, progress=False)
    record = results["averaging"]
    assert record["steps"] == [4, 6] and record["epochs"] == [2.0, 3.0] and record["model"] == kept
    assert record["best_dev"]["f1"] == 60.0 and record["averaged_dev"]["f1"] == averaged_f1
    assert json.loads((tmp_path / "results.json").read_text())["averaging"] == record
    heads = kept_heads(tmp_path)
    assert set(heads) == {4, 6}  # the first epoch's weights were let go
    saved = load_file(tmp_path / "model" / "head.safetensors")
    for name, tensor in saved.items():
        expected = (heads[4][name] + heads[6][name]) / 2 if kept == "averaged" else heads[4][name]
        torch.testing.assert_close(tensor, expected, rtol=0, atol=1e-7)
    assert not torch.equal(heads[4]["net.3.weight"], heads[6]["net.3.weight"])  # the epochs did differ


def test_a_run_stopped_before_its_first_epoch_ended_keeps_the_best(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dev_scores(monkeypatch, "_dev_scores", [50.0, 40.0])  # 4 steps an epoch; patience runs out at step 2
    cfg = run_config(tiny_encoder, batch_size=2, eval_every=1, patience=1, average_last=2)
    results = train_run(cfg, tmp_path, progress=False)
    assert results["stopped_early"] and results["steps"] == 2
    assert results["averaging"] == {
        "epochs": [],
        "steps": [],
        "best_dev": results["best_dev"],
        "averaged_dev": None,
        "model": "best",
    }


def test_averaging_in_the_head_only_loop(tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frozen encoders (the hybrid's joint classifier): the head's last epochs are averaged the same way."""
    fake_dev_scores(monkeypatch, "_head_dev_scores", [10.0, 20.0, 30.0, 30.0])
    monkeypatch.setattr(EpochWeights, "remove", lambda self: None)
    extractor = build("ht", tiny_encoder)
    extractor.model.encoders["main"].requires_grad_(False)
    extractor.model.frozen = frozenset({"main"})
    examples = read_dataset(FIXTURE, "jsonl")
    cfg = TrainConfig(head_epochs=3, batch_size=4, average_last=2, precision="fp32")
    result = trainer.fit(extractor, examples, examples, cfg, tmp_path, "micro", progress=False)
    assert result.averaging is not None and result.averaging["model"] == "averaged"
    assert result.averaging["epochs"] == [2.0, 3.0]
    heads = kept_heads(tmp_path)
    assert set(heads) == {4, 6} and all(
        set(w) == {"net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias"} for w in heads.values()
    )
    for name, tensor in load_file(tmp_path / "model" / "head.safetensors").items():
        torch.testing.assert_close(tensor, (heads[4][name] + heads[6][name]) / 2, rtol=0, atol=1e-7)


def test_an_interrupted_run_averages_the_same_epochs(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The epochs' weights are files: a run killed after epoch 2 and resumed averages epochs 2 and 3 as an
    uninterrupted run does; a finished run resumed again reports the same record."""
    cfg = run_config(tiny_encoder, epochs=3, average_last=2, lr=1e-3, head_lr=1e-2)
    straight = train_run(cfg, tmp_path / "straight", progress=False)
    interrupt_after_evaluations(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, tmp_path / "resumed", progress=False)
    assert sorted(p.name for p in (tmp_path / "resumed" / AVERAGING_DIR).iterdir()) == [
        "step_2.safetensors",
        "step_4.safetensors",
    ]
    monkeypatch.undo()
    resumed = train_run(cfg, tmp_path / "resumed", resume=True, progress=False)
    assert resumed["averaging"] == straight["averaging"] and straight["averaging"]["steps"] == [4, 6]
    a = load_file(tmp_path / "straight" / "model" / "head.safetensors")
    b = load_file(tmp_path / "resumed" / "model" / "head.safetensors")
    assert all(torch.allclose(a[name], b[name], atol=1e-6) for name in a)
    (tmp_path / "resumed" / "results.json").unlink()  # as if killed after the trainer finished, before the record
    assert train_run(cfg, tmp_path / "resumed", resume=True, progress=False)["averaging"] == resumed["averaging"]


def test_the_default_switches_leave_a_run_as_it_was(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooling at the start markers, one pass per batch, no averaging: no new file, no new results key."""
    rows = training_rows(monkeypatch)
    defaults = TrainConfig()
    assert (defaults.rdrop_alpha, defaults.average_last, RunConfig().model.pooling) == (0.0, 0, "start")
    results = train_run(run_config(tiny_encoder, max_steps=2), tmp_path, progress=False)
    assert rows == [4, 4] and "averaging" not in results and not (tmp_path / AVERAGING_DIR).exists()
    assert RelationExtractor.from_pretrained(tmp_path).model.pooling == "start"
