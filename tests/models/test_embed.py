"""Relation embeddings as an API: ``RelationExtractor.embed``, ``from_encoder`` and the one inference engine."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest
import torch
from builders import build

from relenc.data.example import Example, Span
from relenc.errors import RelencError
from relenc.models.engine import InferenceEngine, in_order
from relenc.models.extractor import RelationExtractor
from relenc.models.strategies import SINGLE_ENCODER, STRATEGIES, STRATEGY_NAMES, StrategyName, get_strategy


def examples() -> list[Example]:
    words = [
        "In",
        "the",
        "spring",
        "of",
        "that",
        "year",
        ",",
        "Bob",
        ",",
        "who",
        "had",
        "long",
        "worked",
        "there",
        ",",
        "met",
        "Carol",
        "in",
        "Paris",
    ]
    return [
        Example("a", ("Alice", "works", "for", "Acme", "."), Span(0, 1, "Alice"), Span(3, 4, "Acme")),
        Example("b", ("Acme", "is", "in", "Paris"), Span(0, 1, "Acme"), Span(3, 4, "Paris")),
        Example("c", tuple(words), Span(7, 8, "Bob"), Span(17, 18, "Paris")),
        Example("d", ("Carol", "met", "Bob"), Span(0, 1, "Carol"), Span(2, 3, "Bob")),
    ]


def test_the_strategy_list_is_the_one_the_config_accepts() -> None:
    assert get_args(StrategyName) == STRATEGY_NAMES == tuple(STRATEGIES)
    assert SINGLE_ENCODER == ("ht", "mask", "ht_mask")
    hybrid = get_strategy("hybrid")
    assert hybrid.parts == ("h", "t", "m") and hybrid.role_of("m") == "relation" and hybrid.role_of("h") == "entity"
    assert [get_strategy(name).needs_prompt(get_strategy(name).roles[-1]) for name in STRATEGY_NAMES] == [
        False,
        True,
        True,
        True,
    ]
    with pytest.raises(RelencError, match="unknown strategy 'x'; choose one of ht, mask, ht_mask, hybrid"):
        get_strategy("x")


@pytest.mark.parametrize("strategy", STRATEGY_NAMES)
def test_embed_gives_the_vectors_the_classifier_reads(strategy: str, tiny_encoder: str) -> None:
    extractor = build(strategy, tiny_encoder)
    preds = extractor.predict(examples(), precision="fp32", batch_size=2, return_embeddings=True)
    vectors = extractor.embed(examples(), precision="fp32", batch_size=2)
    assert tuple(vectors) == get_strategy(strategy).parts
    for part, matrix in vectors.items():
        assert matrix.dtype == np.float32 and matrix.shape == (4, 32)
        # the same numbers; a hybrid's encoders are batched each by its own input lengths, so allow rounding
        np.testing.assert_allclose(matrix, np.stack([p.embeddings[part] for p in preds]), rtol=1e-5, atol=1e-6)


def test_embed_keeps_input_order_whatever_the_batching(tiny_encoder: str) -> None:
    extractor = build("ht_mask", tiny_encoder)
    whole = extractor.embed(examples(), precision="fp32", batch_size=64)
    one_by_one = extractor.embed(examples(), precision="fp32", batch_size=1)
    reversed_ = extractor.embed(examples()[::-1], precision="fp32", batch_size=3)
    for part in "htm":
        np.testing.assert_allclose(one_by_one[part], whole[part], atol=1e-5)
        np.testing.assert_allclose(reversed_[part][::-1], whole[part], atol=1e-5)


def test_embed_parts_normalisation_and_empty_input(tiny_encoder: str) -> None:
    extractor = build("hybrid", tiny_encoder)
    entity = extractor.model.encoders["entity"]

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the entity encoder ran although only m was asked for")

    entity.forward = fail  # type: ignore[method-assign,assignment]
    only_m = extractor.embed(examples(), parts=["m"], normalize=True, precision="fp32")
    assert list(only_m) == ["m"]
    np.testing.assert_allclose(np.linalg.norm(only_m["m"], axis=1), 1.0, rtol=1e-5)
    empty = extractor.embed([], parts=("m",), precision="fp32")
    assert empty["m"].shape == (0, 32)


def test_embed_says_which_parts_there_are(tiny_encoder: str) -> None:
    ht = build("ht", tiny_encoder)
    with pytest.raises(RelencError, match=r"this ht model gives the parts h, t, not 'm'"):
        ht.embed(examples(), parts=["m"])
    with pytest.raises(RelencError, match=r"unknown part 'x'; parts are h \(head\), t \(tail\) and m \(mask\)"):
        ht.embed(examples(), parts=["x"])


def test_from_encoder_builds_no_classifier(tiny_encoder: str) -> None:
    encoder = RelationExtractor.from_encoder(tiny_encoder, "ht_mask")
    assert not encoder.has_classifier and encoder.model.head is None
    assert not any(name.startswith("head.") for name, _ in encoder.model.named_parameters())
    with pytest.raises(RelencError, match="no classifier"):
        encoder.predict(examples())
    vectors = encoder.embed(examples(), precision="fp32")
    assert set(vectors) == {"h", "t", "m"}
    # the new marker embeddings are drawn under the seed, without touching the global random state
    state = torch.random.get_rng_state()
    again = RelationExtractor.from_encoder(tiny_encoder, "ht_mask").embed(examples(), precision="fp32")
    assert torch.equal(state, torch.random.get_rng_state())
    for part in "htm":
        np.testing.assert_array_equal(again[part], vectors[part])
    other_seed = RelationExtractor.from_encoder(tiny_encoder, "ht_mask", seed=1).embed(examples(), precision="fp32")
    assert not np.allclose(other_seed["h"], vectors["h"])


def test_with_strategy_shares_the_weights_and_changes_the_input(tiny_encoder: str) -> None:
    prompted = RelationExtractor.from_encoder(tiny_encoder, "ht_mask")
    plain = prompted.with_strategy("ht")
    assert plain.model.encoders["main"] is prompted.model.encoders["main"]
    assert plain.encode(examples()[:1])[0]["main"].mask_pos == -1
    assert prompted.encode(examples()[:1])[0]["main"].mask_pos > 0
    assert set(plain.embed(examples(), precision="fp32")) == {"h", "t"}
    # a hybrid is two encoders: it has no one-encoder view
    with pytest.raises(RelencError, match="one-encoder strategies"):
        build("hybrid", tiny_encoder).with_strategy("ht")


def test_the_engine_batches_restores_the_mode_and_reports_progress(tiny_encoder: str) -> None:
    extractor = build("ht", tiny_encoder)
    items = extractor.encode(examples())
    engine = extractor.engine
    extractor.model.train()
    seen: list[int] = []
    results = engine.run(items, lambda inputs: inputs["main"]["input_ids"].shape[0], batch_size=3, progress=seen.append)
    assert extractor.model.training  # put back as it was
    assert sum(seen) == 4 and sorted(i for idx, _ in results for i in idx) == [0, 1, 2, 3]
    assert [n for _, n in results] == [len(idx) for idx, _ in results]
    lengths = [len(item["main"].input_ids) for item in items]
    first_batch = results[0][0]
    assert max(lengths[i] for i in first_batch) <= min(lengths[i] for idx, _ in results[1:] for i in idx)
    ordered = in_order(results, 4, lambda n: [n] * n)
    assert len(ordered) == 4 and None not in ordered
    with pytest.raises(RelencError, match="batch size must be positive"):
        engine.run(items, lambda inputs: 0, batch_size=0)
    with pytest.raises(RuntimeError, match="no torch model"):
        InferenceEngine({"main": 0}).forward({})
