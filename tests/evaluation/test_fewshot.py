"""Few-shot evaluation: seeded episodes, prototype classification, intervals, embedding once, the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.errors import DataError, RelencError
from relenc.evaluation.fewshot import (
    EmbeddingSource,
    Episodes,
    Setting,
    check_strategies,
    episode_accuracies,
    evaluate_fewshot,
    group_by_relation,
    mean_ci,
    parse_settings,
    sample_episodes,
)
from relenc.models.extractor import RelationExtractor
from relenc.models.strategies import get_strategy

if TYPE_CHECKING:
    from conftest import RunCli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fewshot" / "fewrel_tiny.json"


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return read_dataset(FIXTURE, "fewrel")


@pytest.fixture(scope="module")
def tiny_source(tiny_encoder: str) -> EmbeddingSource:
    """One loaded tiny encoder for the module (loading is the slow part); fp32 so values compare exactly."""
    return EmbeddingSource(tiny_encoder, precision="fp32", batch_size=8)


def synthetic_groups(relations: int, per_relation: int) -> dict[str, list[int]]:
    return {f"R{r:02d}": list(range(r * per_relation, (r + 1) * per_relation)) for r in range(relations)}


# ------------------------------------------------------------------------------------------------ sampling
def test_episodes_have_n_distinct_relations_k_support_and_disjoint_queries() -> None:
    groups = synthetic_groups(8, 12)
    label_of = {i: rel for rel, idx in groups.items() for i in idx}
    eps = sample_episodes(groups, Setting(5, 3, 4), episodes=200, seed=13)
    assert eps.support.shape == (200, 5, 3) and eps.query.shape == (200, 5, 4) and len(eps) == 200
    for e in range(len(eps)):
        relations = eps.relations[e]
        assert len(set(relations)) == 5
        assert not set(eps.support[e].ravel()) & set(eps.query[e].ravel())
        assert len(set(eps.support[e].ravel()) | set(eps.query[e].ravel())) == 5 * (3 + 4)
        for j, relation in enumerate(relations):
            assert {label_of[i] for i in eps.support[e, j]} == {relation}
            assert {label_of[i] for i in eps.query[e, j]} == {relation}
    # the sampler reaches every relation, in every class slot (no fixed order)
    assert {r for rels in eps.relations for r in rels} == set(groups)
    assert len({rels[0] for rels in eps.relations}) == len(groups)


def test_episodes_are_reproducible_from_the_seed_alone() -> None:
    groups = synthetic_groups(8, 12)
    a = sample_episodes(groups, Setting(5, 1, 2), 50, seed=13)
    b = sample_episodes(groups, Setting(5, 1, 2), 50, seed=13)
    c = sample_episodes(groups, Setting(5, 1, 2), 50, seed=14)
    assert a.relations == b.relations
    np.testing.assert_array_equal(a.support, b.support)
    np.testing.assert_array_equal(a.query, b.query)
    assert a.relations != c.relations
    # the first episodes do not depend on how many are drawn
    short = sample_episodes(groups, Setting(5, 1, 2), 10, seed=13)
    np.testing.assert_array_equal(short.support, a.support[:10])


def test_infeasible_settings_name_the_problem() -> None:
    groups = synthetic_groups(4, 10)
    with pytest.raises(RelencError, match=r"5x1: 5-way needs at least 5 relations, the data has 4 \(R00, R01"):
        sample_episodes(groups, Setting(5, 1, 1), 10, seed=0)
    groups["R02"] = groups["R02"][:6]
    with pytest.raises(RelencError, match=r"4x5: 5-shot with 2 queries per relation needs 7 instances .* R02 has 6"):
        sample_episodes(groups, Setting(4, 5, 2), 10, seed=0)
    sample_episodes(groups, Setting(4, 4, 2), 10, seed=0)  # exactly enough is enough


def test_settings_and_strategies_are_validated() -> None:
    assert [(s.n_way, s.k_shot, s.n_query) for s in parse_settings("5x1, 10X5,5x1", 3)] == [(5, 1, 3), (10, 5, 3)]
    with pytest.raises(RelencError, match="bad few-shot setting '5-1'"):
        parse_settings("5x1,5-1")
    with pytest.raises(RelencError, match="at least 2 relations"):
        Setting(1, 5)
    with pytest.raises(RelencError, match="0-shot"):
        Setting(5, 0)
    with pytest.raises(RelencError, match="unknown few-shot strategy 'hybrid'"):
        check_strategies(["ht", "hybrid"])


def test_unlabelled_or_duplicate_examples_are_data_errors(examples: list[Example]) -> None:
    with pytest.raises(DataError, match=r"id 'P26:0'.*needs a relation label"):
        group_by_relation([examples[0].with_label(None), *examples[1:]], "f.json")
    with pytest.raises(DataError, match=r"id 'P26:0'.*duplicate example id"):
        group_by_relation([*examples, examples[0]])


# ------------------------------------------------------------------------------------------------ classification
def hand_episode() -> tuple[np.ndarray, Episodes]:
    """Two relations, 2-shot, 2 queries each, in 2-D. Prototypes: A = (1, 0), B = (0, 2)."""
    x = np.array(
        [
            [1.0, 0.5],  # 0: A support
            [1.0, -0.5],  # 1: A support
            [0.0, 1.0],  # 2: B support
            [0.0, 3.0],  # 3: B support
            [3.0, 0.2],  # 4: A query, right by both measures
            [0.1, 0.4],  # 5: A query, cosine says B; nearer to A = (1, 0) than to B = (0, 2)
            [-0.2, 5.0],  # 6: B query, right by both
            [2.0, 1.9],  # 7: B query, cosine says A (angle 43.5° vs 46.5°); Euclidean says B
        ],
        dtype=np.float32,
    )
    support = np.array([[[0, 1], [2, 3]]])
    query = np.array([[[4, 5], [6, 7]]])
    return x, Episodes(Setting(2, 2, 2), (("A", "B"),), support, query)


def test_prototype_classification_on_hand_made_embeddings() -> None:
    x, eps = hand_episode()
    assert episode_accuracies(x, eps, "cosine").tolist() == [0.5]  # queries 4 and 6 right
    assert episode_accuracies(x, eps, "euclidean").tolist() == [1.0]
    # the class slot, not the relation name, is the gold label: swapping slots swaps nothing in the outcome
    swapped = Episodes(eps.setting, (("B", "A"),), eps.support[:, ::-1], eps.query[:, ::-1])
    assert episode_accuracies(x, swapped, "cosine").tolist() == [0.5]
    with pytest.raises(RelencError, match="unknown few-shot metric 'dot'"):
        episode_accuracies(x, eps, "dot")


def test_accuracy_per_episode_over_many_episodes() -> None:
    """Clustered embeddings (one direction per relation): every episode is right; shuffled rows: about chance."""
    groups = synthetic_groups(6, 10)
    rng = np.random.default_rng(0)
    directions = np.eye(6, 16, dtype=np.float32) * 10
    x = np.concatenate([directions[r] + rng.normal(0, 0.5, (10, 16)) for r in range(6)]).astype(np.float32)
    eps = sample_episodes(groups, Setting(5, 1, 3), 300, seed=1)
    assert episode_accuracies(x, eps, "cosine").tolist() == [1.0] * 300
    shuffled = x[rng.permutation(len(x))]
    chance = episode_accuracies(shuffled, eps, "cosine").mean()
    assert 0.1 < chance < 0.35


def test_mean_and_confidence_interval() -> None:
    mean, std, half = mean_ci([0.5, 1.0, 0.75, 0.25])
    assert mean == pytest.approx(0.625)
    assert std == pytest.approx(np.sqrt(((0.125**2) + (0.375**2) * 2 + (0.125**2)) / 3))
    assert half == pytest.approx(1.959963984540054 * std / 2)
    assert mean_ci([0.8, 0.8, 0.8]) == pytest.approx((0.8, 0.0, 0.0))
    with pytest.raises(RelencError, match="at least 2 episodes"):
        mean_ci([1.0])


# ------------------------------------------------------------------------------------------------ embeddings
def test_embeddings_per_strategy_and_one_pass_per_input(examples: list[Example], tiny_encoder: str) -> None:
    source = EmbeddingSource(tiny_encoder, precision="fp32", batch_size=4)
    ht_mask = source.embed("ht_mask", examples)
    assert ht_mask.shape == (36, 96) and source.encoded == 36
    mask = source.embed("mask", examples)  # same input as ht_mask: cached, no encoder run
    assert source.encoded == 36
    np.testing.assert_array_equal(mask, ht_mask[:, 64:])
    ht = source.embed("ht", examples)  # no prompt: a second pass, so h and t differ from ht_mask's
    assert ht.shape == (36, 64) and source.encoded == 72
    assert not np.allclose(ht, ht_mask[:, :64])
    # batching and length bucketing change nothing: one example alone gives the same vectors
    alone = EmbeddingSource(tiny_encoder, precision="fp32", batch_size=1)
    np.testing.assert_allclose(alone.embed("ht_mask", examples[7:8])[0], ht_mask[7], atol=1e-5)
    # the same as RelationExtractor.predict's vectors for a model of that strategy (same marker init seed)
    for strategy, matrix in (("ht", ht), ("ht_mask", ht_mask)):
        spec = get_strategy(strategy)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            extractor = RelationExtractor.build(
                strategy,
                LabelSet(("a", "b")),
                {"main": tiny_encoder},
                {"main": InputConfig(prompt=spec.needs_prompt("main"))},
            )
        vectors = extractor.predict(examples[:5], precision="fp32", return_embeddings=True)
        for row, pred in enumerate(vectors):
            expected = np.concatenate([pred.embeddings[v] for _, names in spec.reads for v in names])
            np.testing.assert_allclose(matrix[row], expected, atol=1e-5)


def test_hybrid_model_dir_takes_h_t_from_entity_and_m_from_relation(
    examples: list[Example], tiny_encoder: str, tmp_path: Path
) -> None:
    spec = get_strategy("hybrid")
    torch.manual_seed(1)
    extractor = RelationExtractor.build(
        "hybrid",
        LabelSet(("P26", "P19")),
        {role: tiny_encoder for role in spec.roles},
        {role: InputConfig(prompt=spec.needs_prompt(role)) for role in spec.roles},
    )
    with torch.no_grad():  # make the two encoders differ, as two trained ones would
        for p in extractor.model.encoders["relation"].parameters():
            p.add_(0.05 * torch.randn_like(p))
    extractor.save_pretrained(tmp_path / "run" / "model")
    expected = extractor.predict(examples[:6], precision="fp32", return_embeddings=True)
    source = EmbeddingSource(str(tmp_path / "run"), precision="fp32")  # a run dir: its model/ is used
    assert source.kind == "hybrid"
    got = source.embed("ht_mask", examples[:6])
    for row, pred in enumerate(expected):
        np.testing.assert_allclose(got[row], np.concatenate([pred.embeddings[v] for v in "htm"]), atol=1e-5)
    np.testing.assert_array_equal(source.embed("ht", examples[:6]), got[:, :64])  # same entity pass, no prompt
    np.testing.assert_array_equal(source.embed("mask", examples[:6]), got[:, 64:])


def test_one_encoder_model_dir_gives_its_own_parts(examples: list[Example], tiny_encoder: str, tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = RelationExtractor.build(
        "ht", LabelSet(("P26", "P19")), {"main": tiny_encoder}, {"main": InputConfig(prompt=False)}
    )
    model.save_pretrained(tmp_path / "ht")
    source = EmbeddingSource(str(tmp_path / "ht"), precision="fp32")
    assert source.kind == "ht" and source.strategies() == ["ht"]
    expected = model.embed(examples[:4], precision="fp32")
    np.testing.assert_array_equal(source.embed("ht", examples[:4]), np.concatenate([expected["h"], expected["t"]], 1))
    with pytest.raises(RelencError, match=r"this ht model gives no m vector for mask; .* \(model/encoders/<role>\)"):
        source.embed("mask", examples[:4])
    report = evaluate_fewshot(source, examples, settings="2x1", episodes=3, seed=1)
    assert [s.strategy for s in report.scores] == ["ht"]  # no strategy given: what the model gives


# ------------------------------------------------------------------------------------------------ end to end
def test_evaluate_fewshot_end_to_end(examples: list[Example], tiny_source: EmbeddingSource) -> None:
    settings = [Setting(5, 1, 5), Setting(3, 2, 2)]
    report = evaluate_fewshot(tiny_source, examples, ["ht", "ht_mask"], settings, episodes=60, seed=13)
    assert [(s.strategy, s.setting) for s in report.scores] == [
        ("ht", "5x1"),
        ("ht", "3x2"),
        ("ht_mask", "5x1"),
        ("ht_mask", "3x2"),
    ]
    assert report.relations == 6 and report.examples == 36 and report.episodes == 60
    # 60 episodes of 5x1 with 5 queries use 30 of the 36 examples each time: every example is embedded, once
    assert report.embedded == 36 and report.encoded == 2 * 36  # two inputs: without and with the prompt
    # the report equals a direct computation on every example's embedding with the original episode indices
    for strategy in ("ht", "ht_mask"):
        full = tiny_source.embed(strategy, examples)
        for setting in settings:
            eps = sample_episodes(group_by_relation(examples), setting, 60, seed=13)
            mean, _, half = mean_ci(episode_accuracies(full, eps, "cosine"))
            score = report.score(strategy, setting.name)
            assert score.accuracy == pytest.approx(100 * mean, abs=1e-3)
            assert score.ci95 == pytest.approx(100 * half, abs=1e-3)
    # every relation in the fixture has its own wording, so even random-weight embeddings beat chance by far
    assert report.score("ht_mask", "5x1").accuracy > 30  # chance: 20
    again = evaluate_fewshot(tiny_source, examples, ["ht", "ht_mask"], settings, episodes=60, seed=13)
    assert again.scores == report.scores and again.encoded == 0  # all cached
    # few episodes leave examples unused: only the used ones are embedded, and rows still map to the right examples
    few = evaluate_fewshot(tiny_source, examples, ["ht_mask"], [Setting(3, 1, 1)], episodes=4, seed=5)
    assert few.embedded <= 4 * 3 * 2 < 36
    eps = sample_episodes(group_by_relation(examples), Setting(3, 1, 1), 4, seed=5)
    direct = episode_accuracies(tiny_source.embed("ht_mask", examples), eps, "cosine")
    assert few.scores[0].accuracy == pytest.approx(100 * direct.mean(), abs=1e-3)
    assert 0 < direct.mean() < 1  # not a trivial all-right or all-wrong case that any row order would give


def test_evaluate_fewshot_checks_before_loading(examples: list[Example]) -> None:
    missing = "/nonexistent/encoder"  # never loaded: the settings are refused first
    with pytest.raises(RelencError, match="7-way needs at least 7 relations, the data has 6"):
        evaluate_fewshot(missing, examples, settings="5x1,7x1", episodes=10)
    with pytest.raises(RelencError, match=r"5-shot with 5 queries per relation needs 10 instances.*P108 has 6"):
        evaluate_fewshot(missing, examples, settings="5x5", episodes=10)
    with pytest.raises(RelencError, match="at least 2 episodes"):
        evaluate_fewshot(missing, examples, settings="5x1", episodes=1)
    with pytest.raises(RelencError, match="unknown few-shot metric"):
        evaluate_fewshot(missing, examples, settings="5x1", metric="manhattan")


def test_cli_table_json_and_errors(run_cli: RunCli, tiny_encoder: str, tmp_path: Path) -> None:
    out_file = tmp_path / "out" / "fewshot.json"
    args = ["fewshot", tiny_encoder, "--data", str(FIXTURE), "--settings", "5x1,3x2", "--queries", "2"]
    args += ["--episodes", "20", "--precision", "fp32", "--no-progress"]
    code, stdout, stderr = run_cli([*args, "--strategy", "mask,ht", "--json", "--output", str(out_file)])
    assert code == 0, stderr
    printed = json.loads(stdout)
    assert printed == json.loads(out_file.read_text())
    assert printed["queries"] == 2 and printed["format"] == "fewrel" and printed["episodes"] == 20
    assert [(s["strategy"], s["setting"]) for s in printed["scores"]] == [
        ("mask", "5x1"),
        ("mask", "3x2"),
        ("ht", "5x1"),
        ("ht", "3x2"),
    ]
    assert all(0 <= s["accuracy"] <= 100 and s["ci95"] >= 0 for s in printed["scores"])
    assert not list(out_file.parent.glob(".*tmp"))  # the atomic writer left no temp file

    code, stdout, stderr = run_cli([*args, "--strategy", "ht_mask"])
    assert code == 0, stderr
    assert "ht_mask" in stdout and "5x1" in stdout and "3x2" in stdout and "±" in stdout

    code, _, stderr = run_cli([*args[:4], "--settings", "5x5"])
    assert code == 2 and stderr.startswith("error: 5x5: 5-shot with 5 queries per relation needs 10 instances")
    code, _, stderr = run_cli([*args, "--strategy", "hybrid"])
    assert code == 2 and "unknown few-shot strategy 'hybrid'" in stderr
