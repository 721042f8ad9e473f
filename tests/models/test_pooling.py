"""``model.pooling``: h and t read at the entity-start markers (the paper's, the default) or as the mean of the
mention's word pieces; the mode is saved with the model and used by predict, embed and the ONNX export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from relenc.data.example import Example, Span
from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.models.model import RelationModel, gather_positions, mean_over_spans
from relenc.models.strategies import get_strategy

LABELS = LabelSet.from_labels(["no_relation", "per:employee_of"])
SENTENCES = [
    Example("one", ("Alice", "lives", "in", "Paris", "."), Span(0, 1, "Alice"), Span(3, 4, "Paris")),
    Example("two", ("Chunghwa", "Telecom", "owns", "Acme"), Span(0, 2, "Chunghwa Telecom"), Span(3, 4, "Acme")),
]


def build(encoder: str, pooling: str, markers: str = "entity", strategy: str = "ht") -> RelationExtractor:
    spec = get_strategy(strategy)
    torch.manual_seed(0)
    inputs = {role: InputConfig(markers=markers, prompt=spec.needs_prompt(role)) for role in spec.roles}  # type: ignore[arg-type]
    sources = dict.fromkeys(spec.roles, encoder)
    return RelationExtractor.build(strategy, LABELS, sources, inputs, pooling=pooling)  # type: ignore[arg-type]


def test_mean_over_spans_on_tiny_tensors() -> None:
    hidden = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3) / 7
    spans = torch.tensor([[1, 2], [0, 3]])
    pooled = mean_over_spans(hidden, spans)
    assert torch.equal(pooled[0], hidden[0, 1])  # one piece: exactly its vector
    assert torch.allclose(pooled[1], hidden[1, :3].mean(0))
    assert torch.equal(pooled[0], gather_positions(hidden, torch.tensor([1, 0]))[0])


def test_one_piece_mentions_pool_to_the_start_piece(tiny_encoder: str) -> None:
    """Without markers the start position is the mention's first piece: for one-piece mentions (Alice, Paris) both
    modes give the same vectors bit for bit; for longer ones (Chunghwa Telecom, Acme) the mean differs."""
    start = build(tiny_encoder, "start", markers="none").embed(SENTENCES, precision="fp32")
    mean = build(tiny_encoder, "mean", markers="none").embed(SENTENCES, precision="fp32")
    assert (start["h"][0] == mean["h"][0]).all() and (start["t"][0] == mean["t"][0]).all()
    assert not (start["h"][1] == mean["h"][1]).all() and not (start["t"][1] == mean["t"][1]).all()


def test_start_pooling_reads_the_marker_positions_as_before(tiny_encoder: str) -> None:
    extractor = build(tiny_encoder, "start")
    assert extractor.model.pooling == "start" and extractor.settings["pooling"] == "start"
    batch = extractor.collate(extractor.encode(SENTENCES))
    with torch.inference_mode():
        hidden = extractor.model.encode("main", batch["main"])
        vectors = extractor.model.vectors(batch)
    assert torch.equal(vectors["h"], hidden[torch.arange(2), batch["main"]["head_pos"]])
    assert torch.equal(vectors["t"], hidden[torch.arange(2), batch["main"]["tail_pos"]])


def test_mean_pooling_averages_the_mention_and_reads_m_at_the_mask(tiny_encoder: str) -> None:
    extractor = build(tiny_encoder, "mean", strategy="ht_mask")
    batch = extractor.collate(extractor.encode(SENTENCES))["main"]
    with torch.inference_mode():
        hidden = extractor.model.encode("main", batch)
        vectors = extractor.model.vectors({"main": batch})
    lo, hi = batch["head_span"][1].tolist()
    assert hi - lo >= 2
    assert torch.allclose(vectors["h"][1], hidden[1, lo:hi].mean(0), atol=1e-6)
    assert torch.equal(vectors["m"], hidden[torch.arange(2), batch["mask_pos"]])


def test_save_and_load_keep_the_pooling(tiny_encoder: str, tmp_path: Path) -> None:
    extractor = build(tiny_encoder, "mean", strategy="hybrid")
    expected = extractor.predict(SENTENCES, precision="fp32")
    extractor.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "relenc_config.json").read_text())["pooling"] == "mean"
    loaded = RelationExtractor.from_pretrained(tmp_path)
    assert loaded.model.pooling == "mean" and loaded.settings["pooling"] == "mean"
    for before, after in zip(expected, loaded.predict(SENTENCES, precision="fp32"), strict=True):
        assert after.probabilities == pytest.approx(before.probabilities, abs=1e-6)


def test_a_model_saved_before_the_switch_reads_at_the_start(tiny_encoder: str, tmp_path: Path) -> None:
    build(tiny_encoder, "start").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "relenc_config.json").read_text())
    del config["pooling"]
    (tmp_path / "relenc_config.json").write_text(json.dumps(config))
    assert RelationExtractor.from_pretrained(tmp_path).model.pooling == "start"
    config["pooling"] = "max"
    (tmp_path / "relenc_config.json").write_text(json.dumps(config))
    with pytest.raises(RelencError, match="pooling must be one of start, mean, not 'max'"):
        RelationExtractor.from_pretrained(tmp_path)


def test_with_strategy_keeps_the_pooling(tiny_encoder: str) -> None:
    assert RelationExtractor.from_encoder(tiny_encoder, "ht").model.pooling == "start"
    extractor = build(tiny_encoder, "mean")
    assert extractor.with_strategy("ht_mask").model.pooling == "mean"
    with pytest.raises(ValueError, match="pooling must be one of start, mean"):
        RelationModel(get_strategy("ht"), dict(extractor.model.encoders), 0, pooling="max")  # type: ignore[arg-type]
