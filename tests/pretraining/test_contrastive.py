"""Gradient caching gives the gradients of the whole batch: dropout replayed per chunk, fp32 and bf16."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from relenc.data.readers import read_dataset
from relenc.encoding.builder import Encoded
from relenc.models.extractor import RelationExtractor
from relenc.pretraining.contrastive import ContrastiveModel, Reducer, cached_backward
from relenc.runtime import autocast

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"
CPU = torch.device("cpu")
GROUPS = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 0, 2])  # four pairs, then a hard negative of pairs 0 and 2
HARD = torch.tensor([False] * 8 + [True] * 2)
Items = list[dict[str, Encoded]]
Setup = tuple[ContrastiveModel, RelationExtractor, Items]


@pytest.fixture
def setup(tiny_encoder: str) -> Setup:
    extractor = RelationExtractor.from_encoder(tiny_encoder, "ht_mask", seed=0)
    torch.manual_seed(0)
    contrastive = ContrastiveModel(extractor.model, Reducer("both", extractor.model.hidden_size("main")), 0.07)
    examples = read_dataset(FIXTURE, "jsonl")
    return contrastive, extractor, extractor.encode([*examples, *examples[:2]])


def gradients(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    out = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out


def chunked_with_graph(
    contrastive: ContrastiveModel, extractor: RelationExtractor, items: Items, chunk: int, precision: str = "fp32"
) -> torch.Tensor:
    """The same chunks, each kept with its graph, and one backward: the plain gradient, in the same RNG order."""
    parts = []
    for k in range(0, len(items), chunk):
        with autocast(precision, CPU):
            parts.append(contrastive.model.vectors(extractor.collate(items[k : k + chunk])))
    vectors = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
    loss = contrastive.loss(vectors, GROUPS, HARD)
    loss.backward()
    return loss.detach()


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], atol: float) -> None:
    assert a.keys() == b.keys() and any(name.startswith("reducer.") for name in a)
    for name in a:
        assert torch.allclose(a[name], b[name], rtol=1e-4, atol=atol), name


@pytest.mark.parametrize(("precision", "atol"), [("fp32", 1e-6), ("bf16", 1e-5)])
def test_cached_gradients_equal_the_plain_ones_with_dropout_on(setup: Setup, precision: str, atol: float) -> None:
    contrastive, extractor, items = setup
    contrastive.train()
    torch.manual_seed(5)
    loss = cached_backward(contrastive, extractor, items, GROUPS, HARD, 3, precision, CPU)
    cached = gradients(contrastive)
    assert all(torch.isfinite(g).all() for g in cached.values())
    torch.manual_seed(5)
    reference = chunked_with_graph(contrastive, extractor, items, 3, precision)
    assert reference.item() == pytest.approx(loss.item(), rel=1e-6)
    assert_same(cached, gradients(contrastive), atol)
    torch.manual_seed(6)  # other dropout masks give other gradients: the test would see a replay that failed
    cached_backward(contrastive, extractor, items, GROUPS, HARD, 3, precision, CPU)
    other = gradients(contrastive)
    assert not torch.allclose(other["reducer.ht.weight"], cached["reducer.ht.weight"], atol=atol)


def test_cached_gradients_equal_one_pass_over_the_whole_batch(setup: Setup) -> None:
    contrastive, extractor, items = setup
    contrastive.eval()  # no dropout: one pass over the whole (differently padded) batch gives the same numbers
    loss = cached_backward(contrastive, extractor, items, GROUPS, HARD, 4, "fp32", CPU)
    cached = gradients(contrastive)
    whole = contrastive(extractor.collate(items), GROUPS, HARD)
    whole.backward()
    assert whole.item() == pytest.approx(loss.item(), rel=1e-5)
    assert_same(cached, gradients(contrastive), 1e-5)
