"""RelationExtractor: every strategy builds, predicts, saves and loads back to identical outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from builders import LABELS, build

from relenc.data.example import Example, Span
from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor


def examples() -> list[Example]:
    return [
        Example("a", ("Alice", "works", "for", "Acme", "."), Span(0, 1, "Alice"), Span(3, 4, "Acme")),
        Example("b", ("Acme", "is", "in", "Paris"), Span(0, 1, "Acme"), Span(3, 4, "Paris")),
        Example("c", ("In", "Paris", ",", "Bob", "met", "Carol"), Span(3, 4, "Bob"), Span(1, 2, "Paris")),
    ]


@pytest.mark.parametrize("strategy", ["ht", "mask", "ht_mask", "hybrid"])
def test_predict_save_load_roundtrip(strategy: str, tiny_encoder: str, tmp_path: Path) -> None:
    extractor = build(strategy, tiny_encoder)
    preds = extractor.predict(examples(), precision="fp32", return_embeddings=True)
    assert [p.label in LABELS for p in preds] == [True] * 3
    for p in preds:
        assert sum(p.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert p.score == pytest.approx(max(p.probabilities.values()))
    wanted = {"ht": {"h", "t"}, "mask": {"m"}, "ht_mask": {"h", "t", "m"}, "hybrid": {"h", "t", "m"}}[strategy]
    assert set(preds[0].embeddings) == wanted
    assert preds[0].embeddings[next(iter(wanted))].shape == (32,)

    extractor.save_pretrained(tmp_path / "model")
    saved = {p.name for p in (tmp_path / "model").rglob("*") if p.is_file()}
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in saved), "no pickled weights"
    loaded = RelationExtractor.from_pretrained(tmp_path / "model")
    again = loaded.predict(examples(), precision="fp32")
    for before, after in zip(preds, again, strict=True):
        assert before.label == after.label
        np.testing.assert_allclose(list(before.probabilities.values()), list(after.probabilities.values()), atol=1e-5)


def test_features_dimension_follows_strategy(tiny_encoder: str) -> None:
    for strategy, k in (("ht", 2), ("mask", 1), ("ht_mask", 3), ("hybrid", 3)):
        model = build(strategy, tiny_encoder).model
        assert model.head.net[0].in_features == k * 32
        assert model.head.net[0].out_features == 32


def test_prediction_order_is_input_order_with_bucketing(tiny_encoder: str) -> None:
    extractor = build("ht", tiny_encoder)
    exs = examples() * 7
    batched = extractor.predict(exs, batch_size=4, precision="fp32")
    single = [extractor.predict([ex], precision="fp32")[0] for ex in exs[:3]]
    for a, b in zip(batched[:3], single, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)


def test_infer_one_sentence(tiny_encoder: str) -> None:
    extractor = build("ht_mask", tiny_encoder)
    label, score = extractor.infer({"text": "Alice works for Acme.", "h": {"pos": [0, 5]}, "t": {"pos": [16, 20]}})
    assert label in LABELS and 0.0 < score <= 1.0
    with pytest.raises(RelencError, match="expects text"):
        extractor.infer({"text": "Alice works for Acme."})


def test_not_a_model_dir(tmp_path: Path) -> None:
    with pytest.raises(RelencError, match="not a relenc model directory"):
        RelationExtractor.from_pretrained(tmp_path)


def test_frozen_encoder_has_no_gradient_and_stays_in_eval(tiny_encoder: str) -> None:
    extractor = build("hybrid", tiny_encoder, frozen=("entity",))
    model = extractor.model
    model.train()
    assert not model.encoders["entity"].training
    assert model.encoders["relation"].training
    assert all(not p.requires_grad for p in model.encoders["entity"].parameters())
    inputs = extractor.collate(extractor.encode(examples()))
    model(inputs).logits.sum().backward()
    assert all(p.grad is None for p in model.encoders["entity"].parameters())
    assert any(p.grad is not None for p in model.encoders["relation"].parameters())


@pytest.mark.integration  # compiling takes ~30 s
def test_compiled_predict_matches_eager_and_leaves_training_alone(tiny_encoder: str, tmp_path: Path) -> None:
    from torch._inductor.utils import run_and_get_code

    extractor = build("hybrid", tiny_encoder)
    eager = extractor.predict(examples(), precision="fp32")
    extractor.compile()
    _, code = run_and_get_code(lambda: extractor.predict(examples(), precision="fp32"))
    assert any("_frozen_param" in c for c in code), "the weights must be frozen into the compiled graph"
    for batch in (examples(), examples()[:1]):  # batches of several and of one compile separately
        compiled = extractor.predict(batch, precision="fp32")
        for before, after in zip(eager, compiled, strict=False):
            assert before.label == after.label
            want, got = list(before.probabilities.values()), list(after.probabilities.values())
            np.testing.assert_allclose(want, got, atol=1e-4)
    assert not hasattr(extractor.model, "_orig_mod")  # training and saving still see the plain module
    extractor.save_pretrained(tmp_path / "model")  # saving uses the eager model: same outputs after loading
    loaded = RelationExtractor.from_pretrained(tmp_path / "model").predict(examples(), precision="fp32")
    assert [p.label for p in loaded] == [p.label for p in eager]


@pytest.mark.integration  # compiling takes ~30 s
def test_two_compiled_extractors_keep_their_own_weights(tiny_encoder: str) -> None:
    """Frozen weights are constants of a graph: a second model of the same shape must not reuse the first's."""
    first, second = build("ht", tiny_encoder), build("ht", tiny_encoder)
    torch.manual_seed(1)
    with torch.no_grad():
        for param in second.model.parameters():
            param.add_(torch.randn_like(param) * 0.5)
    eager = [m.predict(examples(), precision="fp32") for m in (first, second)]
    assert [p.score for p in eager[0]] != pytest.approx([p.score for p in eager[1]], abs=1e-3)
    compiled = [m.compile().predict(examples(), precision="fp32") for m in (first, second)]
    for want, got in zip(eager, compiled, strict=True):
        np.testing.assert_allclose([p.score for p in want], [p.score for p in got], atol=1e-4)
