"""The recipe switches of TrainConfig: layer-wise learning-rate decay, the schedule, label smoothing; their defaults
leave training exactly as it was."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertModel, MPNetConfig, MPNetModel, get_linear_schedule_with_warmup

from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.training import trainer
from relenc.training.config import RunConfig, TrainConfig
from relenc.training.losses import relation_loss
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


def test_a_run_trains_with_every_switch_on(tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float] = []

    def spy(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        seen.append(label_smoothing)
        return relation_loss(logits, targets, label_smoothing)

    monkeypatch.setattr(trainer, "relation_loss", spy)
    training = {"train": str(FIXTURE), "dev": str(FIXTURE), "batch_size": 4, "max_steps": 2, "precision": "fp32"}
    switches = {"schedule": "cosine", "layer_decay": 0.8, "label_smoothing": 0.1}
    cfg = RunConfig.parse({"model": {"strategy": "ht", "encoder": tiny_encoder}, "training": training | switches})
    results = train_run(cfg, tmp_path, progress=False)
    assert results["steps"] == 2 and seen == [0.1, 0.1]
    assert RunConfig.from_yaml(tmp_path / "run_config.yaml").training.schedule == "cosine"
