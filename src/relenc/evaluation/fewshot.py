"""N-way K-shot evaluation of relation embeddings (FewRel style), with no training on the evaluated relations.

An *episode* draws N relations and, from each, K support and Q query instances (all distinct). Every query is
classified by its nearest *prototype*, the mean of the K support embeddings of a relation (Snell et al. 2017), by
cosine similarity (the default; raw sentence-encoder vectors are anisotropic, so their norms say more about the
sentence than about the relation) or by Euclidean distance. An episode's accuracy is the fraction of its N·Q queries
classified correctly; the report is the mean over episodes (percent) with a 95% confidence interval.

Q defaults to 5 queries per relation, as in FewRel's reference code (``train_demo.py --Q 5``, 1,000 validation
episodes): it gives N·Q queries per episode, so the interval over 1,000 episodes is tighter than with one query.

Episodes depend only on the labels, the setting and the seed, never on the strategy or the encoder, so every
strategy is scored on the same episodes (a paired comparison).

What is embedded (:class:`EmbeddingSource`, through :meth:`RelationExtractor.embed`):

- ``ht`` -> ``[h; t]`` (head and tail start markers), ``mask`` -> ``m`` (the prompt's mask token), ``ht_mask`` ->
  ``[h; t; m]``; the prompt is appended exactly when the strategy reads ``m`` from that encoder, as when the library
  builds a model of that strategy.
- a plain encoder (``minilm``, ``mpnet``, a ``relenc pretrain`` output, any Hugging Face directory): its last layer,
  with the default input (markers ``[E1] .. [/E1]``, ``[E2] .. [/E2]``; new marker embeddings are initialised with a
  fixed seed, so a raw encoder's ``h``/``t`` are reproducible).
- a trained model (or run) directory: the vectors its classifier reads, from its own encoders and inputs; the
  classifier is not used. A hybrid model's ``h``/``t`` come from the entity encoder and ``m`` from the relation
  encoder (so ``ht_mask`` is the hybrid's own feature vector); an ``ht`` model gives only ``ht``, a ``mask`` model
  only ``mask``. To read a trained encoder another way, give its directory (``model/encoders/<role>``).

Cost: all episodes are sampled first, and each example they use is embedded once (cached by example id), so 1,000
episodes cost one pass over the examples they touch, not 1,000. ``mask`` and ``ht_mask`` share that pass (the same
input: sentence + prompt); ``ht`` needs its own (no prompt).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from relenc.data.example import Example
from relenc.errors import DataError, RelencError
from relenc.models.strategies import SINGLE_ENCODER, get_strategy

#: The strategies that give one embedding per example (``hybrid`` is ``ht_mask`` of a hybrid model directory).
STRATEGIES: tuple[str, ...] = SINGLE_ENCODER
#: The vectors each strategy concatenates, in order.
STRATEGY_VECTORS: dict[str, tuple[str, ...]] = {name: get_strategy(name).parts for name in STRATEGIES}
DEFAULT_SETTINGS = "5x1,5x5,10x1,10x5"
DEFAULT_EPISODES = 1000
DEFAULT_QUERIES = 5
DEFAULT_SEED = 13
Metric = Literal["cosine", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "euclidean")
Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile
_EPISODE_CHUNK_FLOATS = 16_000_000  # query tensors are built this many floats at a time (64 MB)


# --------------------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Setting:
    """N-way K-shot with Q queries per relation."""

    n_way: int
    k_shot: int
    n_query: int = DEFAULT_QUERIES

    def __post_init__(self) -> None:
        if self.n_way < 2:
            raise RelencError(f"{self.n_way}-way: an episode needs at least 2 relations to choose between")
        if self.k_shot < 1:
            raise RelencError(f"{self.k_shot}-shot: an episode needs at least 1 support instance per relation")
        if self.n_query < 1:
            raise RelencError(f"{self.n_query} queries: an episode needs at least 1 query per relation")

    @property
    def name(self) -> str:
        return f"{self.n_way}x{self.k_shot}"


def parse_settings(text: str, n_query: int = DEFAULT_QUERIES) -> list[Setting]:
    """``"5x1,5x5,10x1"`` -> settings (N-way x K-shot), in the given order, duplicates dropped."""
    settings: list[Setting] = []
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+)\s*[xX]\s*(\d+)", part)
        if match is None:
            raise RelencError(f"bad few-shot setting {part!r}: write N-way x K-shot as NxK, e.g. 5x1,10x5")
        setting = Setting(int(match[1]), int(match[2]), n_query)
        if setting not in settings:
            settings.append(setting)
    return settings


def check_strategies(strategies: Sequence[str]) -> list[str]:
    """The strategies, validated, duplicates dropped (a RelencError names an unknown one)."""
    out: list[str] = []
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise RelencError(
                f"unknown few-shot strategy {strategy!r}; choose from {', '.join(STRATEGIES)} "
                "(for a hybrid model directory, ht_mask is the hybrid's [h; t; m])"
            )
        if strategy not in out:
            out.append(strategy)
    if not out:
        raise RelencError("no strategy to evaluate")
    return out


# --------------------------------------------------------------------------------------------- episodes
@dataclass(frozen=True)
class Episodes:
    """Episodes of one setting as index arrays into the example list.

    ``relations[e]`` holds the N relation names of episode ``e``; ``support[e, j]`` the K examples of relation
    ``relations[e][j]``, ``query[e, j]`` its Q queries. The gold class of ``query[e, j, q]`` is ``j``.
    """

    setting: Setting
    relations: tuple[tuple[str, ...], ...]
    support: np.ndarray  # [episodes, N, K] int
    query: np.ndarray  # [episodes, N, Q] int

    def __len__(self) -> int:
        return len(self.relations)

    def used(self) -> np.ndarray:
        """Every example index these episodes touch, sorted, each once."""
        return np.unique(np.concatenate([self.support.ravel(), self.query.ravel()]))


def group_by_relation(examples: Sequence[Example], source: str | Path | None = None) -> dict[str, list[int]]:
    """Example indices per relation, relations sorted by name, indices in file order.

    Ids must be unique (embeddings are cached by id) and every example labelled: a DataError names the first
    offender.
    """
    groups: dict[str, list[int]] = {}
    seen: set[str] = set()
    for i, ex in enumerate(examples):
        if ex.label is None:
            raise DataError("few-shot evaluation needs a relation label on every example", source, f"id {ex.id!r}")
        if ex.id in seen:
            raise DataError("duplicate example id (embeddings are cached by id)", source, f"id {ex.id!r}")
        seen.add(ex.id)
        groups.setdefault(ex.label, []).append(i)
    return {relation: groups[relation] for relation in sorted(groups)}


def check_feasible(groups: dict[str, list[int]], setting: Setting) -> None:
    """Raise a RelencError naming the problem if ``setting`` cannot be sampled from ``groups``."""
    if setting.n_way > len(groups):
        listed = ", ".join(list(groups)[:20]) + (", ..." if len(groups) > 20 else "")
        raise RelencError(
            f"{setting.name}: {setting.n_way}-way needs at least {setting.n_way} relations, the data has "
            f"{len(groups)} ({listed})"
        )
    need = setting.k_shot + setting.n_query
    short = {relation: len(idx) for relation, idx in groups.items() if len(idx) < need}
    if short:
        named = ", ".join(f"{relation} has {count}" for relation, count in list(short.items())[:10])
        more = f" and {len(short) - 10} more" if len(short) > 10 else ""
        raise RelencError(
            f"{setting.name}: {setting.k_shot}-shot with {setting.n_query} queries per relation needs {need} "
            f"instances of every relation; {named}{more} (lower --queries or K)"
        )


def sample_episodes(groups: dict[str, list[int]], setting: Setting, episodes: int, seed: int) -> Episodes:
    """``episodes`` episodes of ``setting``, reproducible from ``seed`` alone.

    Each setting draws from its own stream (``default_rng([seed, N, K, Q])``), so adding or reordering settings
    does not change another setting's episodes. Relations are drawn uniformly without replacement; the K + Q
    instances of a relation likewise, so support and queries never overlap.
    """
    if episodes < 1:
        raise RelencError(f"need at least 1 episode, got {episodes}")
    check_feasible(groups, setting)
    names = list(groups)
    members = [np.asarray(groups[name]) for name in names]
    rng = np.random.default_rng([seed, setting.n_way, setting.k_shot, setting.n_query])
    n, k, q = setting.n_way, setting.k_shot, setting.n_query
    support = np.empty((episodes, n, k), dtype=np.int64)
    query = np.empty((episodes, n, q), dtype=np.int64)
    relations = []
    for e in range(episodes):
        chosen = rng.choice(len(names), size=n, replace=False)
        relations.append(tuple(names[r] for r in chosen))
        for j, r in enumerate(chosen):
            picked = members[r][rng.choice(len(members[r]), size=k + q, replace=False)]
            support[e, j] = picked[:k]
            query[e, j] = picked[k:]
    return Episodes(setting, tuple(relations), support, query)


# --------------------------------------------------------------------------------------------- classification
def episode_accuracies(embeddings: np.ndarray, episodes: Episodes, metric: str = "cosine") -> np.ndarray:
    """Accuracy (0..1) of nearest-prototype classification in each episode.

    ``embeddings`` has one row per example index used by ``episodes``. Prototypes are the means of the support
    embeddings; ``cosine`` compares directions, ``euclidean`` squared distances. Ties go to the first relation of
    the episode (they need exactly equal scores, which real embeddings do not give).
    """
    if metric not in METRICS:
        raise RelencError(f"unknown few-shot metric {metric!r}; choose from {', '.join(METRICS)}")
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be a matrix, got shape {x.shape}")
    n, q = episodes.setting.n_way, episodes.setting.n_query
    gold = np.arange(n)[None, :, None]
    per_episode = max(1, _EPISODE_CHUNK_FLOATS // max(1, n * (q + episodes.setting.k_shot) * x.shape[1]))
    out = np.empty(len(episodes), dtype=np.float64)
    for start in range(0, len(episodes), per_episode):
        stop = start + per_episode
        prototypes = x[episodes.support[start:stop]].mean(axis=2)  # [E, N, d]
        queries = x[episodes.query[start:stop]]  # [E, N, Q, d]
        if metric == "cosine":
            prototypes = _unit(prototypes)
            scores = np.einsum("ejqd,emd->ejqm", _unit(queries), prototypes)
        else:  # argmax of -|q - p|^2 = argmax of 2 q.p - |p|^2 (|q|^2 is the same for every prototype)
            scores = 2 * np.einsum("ejqd,emd->ejqm", queries, prototypes)
            scores -= np.square(prototypes).sum(-1)[:, None, None, :]
        predicted = scores.argmax(-1)  # [E, N, Q]
        out[start:stop] = (predicted == gold).mean(axis=(1, 2))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero (similarity 0 to everything) instead of NaN."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def mean_ci(values: Sequence[float] | np.ndarray, z: float = Z_95) -> tuple[float, float, float]:
    """Mean, sample standard deviation and the half-width ``z·s/√n`` of the normal-approximation 95% interval.

    Over 1,000 episodes the normal approximation is exact to three digits (Student's t at 999 degrees of freedom is
    1.9623 against 1.9600). With one value there is no spread to estimate: a RelencError.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        raise RelencError(f"a confidence interval needs at least 2 episodes, got {arr.size}")
    std = float(arr.std(ddof=1))
    return float(arr.mean()), std, z * std / math.sqrt(arr.size)


# --------------------------------------------------------------------------------------------- embeddings
class EmbeddingSource:
    """A model directory or a plain encoder, loaded once, embedding examples per strategy through
    :meth:`RelationExtractor.embed`.

    Vectors are cached per input (the sentence alone, or with the prompt) and example id, so strategies that read
    the same input share one pass and repeated calls cost nothing. A plain encoder is one extractor per input
    (``ht`` reads the sentence alone, ``mask`` and ``ht_mask`` the sentence with the prompt) sharing one set of
    weights; a model directory is read as the model reads its inputs, so it gives the parts its strategy has.
    """

    def __init__(self, source: str, precision: str = "auto", batch_size: int = 64, progress: bool = False) -> None:
        from relenc.models.extractor import RelationExtractor, model_root
        from relenc.runtime import resolve_precision

        if batch_size < 1:
            raise RelencError(f"batch size must be positive, got {batch_size}")
        self.source = source
        self.precision = resolve_precision(precision)
        self.batch_size = batch_size
        self.progress = progress
        self.seconds = 0.0  # time spent in encoder passes
        self.encoded = 0  # examples run through an encoder (each pass counts)
        path = Path(source).expanduser()
        self.is_model = model_root(path) is not None
        if self.is_model:
            model = RelationExtractor.from_pretrained(path)
            self.kind = model.spec.name
            self._views = {"model": model}
        else:
            prompted = RelationExtractor.from_encoder(source, "ht_mask")
            self.kind = "encoder"
            self._views = {"prompt": prompted, "plain": prompted.with_strategy("ht")}
        self._cache: dict[str, dict[str, dict[str, np.ndarray]]] = {view: {} for view in self._views}

    def strategies(self) -> list[str]:
        """The strategies this source gives: all three for an encoder; for a model, those its parts cover."""
        if not self.is_model:
            return list(STRATEGIES)
        parts = self._views["model"].spec.parts
        return [name for name in STRATEGIES if set(STRATEGY_VECTORS[name]) <= set(parts)]

    def view(self, strategy: str) -> str:
        """Which input gives ``strategy``'s vectors: the model's own, or (an encoder) the sentence with or without
        the prompt."""
        vectors = STRATEGY_VECTORS[check_strategies([strategy])[0]]
        if not self.is_model:
            return "prompt" if "m" in vectors else "plain"
        missing = [v for v in vectors if v not in self._views["model"].spec.parts]
        if missing:
            raise RelencError(
                f"{self.source}: this {self.kind} model gives no {', '.join(missing)} vector for {strategy}; "
                f"to read its encoder another way, give the encoder directory (model/encoders/<role>) instead"
            )
        return "model"

    def embed(self, strategy: str, examples: Sequence[Example]) -> np.ndarray:
        """One row per example: the strategy's vectors concatenated (float32)."""
        view = self.view(strategy)
        extractor = self._views[view]
        cache = self._cache[view]
        todo = list({ex.id: ex for ex in examples if ex.id not in cache}.values())
        if todo:
            start = time.perf_counter()
            vectors = extractor.embed(
                todo, precision=self.precision, batch_size=self.batch_size, progress=self.progress
            )
            for row, ex in enumerate(todo):
                cache[ex.id] = {part: matrix[row] for part, matrix in vectors.items()}
            self.seconds += time.perf_counter() - start
            self.encoded += len(todo) * len({extractor.spec.role_of(part) for part in vectors})
        names = STRATEGY_VECTORS[strategy]
        if not examples:
            width = sum(extractor.model.hidden_size(extractor.spec.role_of(v)) for v in names)
            return np.zeros((0, width), dtype=np.float32)
        return np.stack([np.concatenate([cache[ex.id][v] for v in names]) for ex in examples])


# --------------------------------------------------------------------------------------------- the whole run
@dataclass(frozen=True)
class FewShotScore:
    """One strategy in one setting: accuracy and the half-width of its 95% interval, in percent."""

    strategy: str
    setting: str
    n_way: int
    k_shot: int
    n_query: int
    episodes: int
    accuracy: float
    ci95: float
    std: float


@dataclass
class FewShotReport:
    """Everything a few-shot run measured, JSON-ready through :meth:`to_dict`."""

    source: str
    source_kind: str
    metric: str
    seed: int
    episodes: int
    precision: str
    relations: int
    examples: int
    embedded: int  # distinct examples the episodes use
    encoded: int  # examples run through an encoder in this call, each pass counted (0 when all were cached)
    scores: list[FewShotScore]
    seconds: dict[str, float]

    def score(self, strategy: str, setting: str) -> FewShotScore:
        for s in self.scores:
            if s.strategy == strategy and s.setting == setting:
                return s
        raise KeyError((strategy, setting))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"] = [asdict(s) for s in self.scores]
        return out


def evaluate_fewshot(
    source: str | EmbeddingSource,
    examples: Sequence[Example],
    strategies: Sequence[str] | None = None,
    settings: Sequence[Setting] | str = DEFAULT_SETTINGS,
    episodes: int = DEFAULT_EPISODES,
    seed: int = DEFAULT_SEED,
    metric: str = "cosine",
    precision: str = "auto",
    batch_size: int = 64,
    progress: bool = False,
    data_source: str | Path | None = None,
) -> FewShotReport:
    """Score each strategy (default: every one the source gives) in each setting on the same seeded episodes;
    embed every used example once.

    Everything that can be checked without the encoder (strategies, metric, settings against the data) is checked
    before it is loaded, so a bad option fails in a second, not after a model load.
    """
    started = time.perf_counter()
    chosen = check_strategies(strategies) if strategies is not None else None
    if metric not in METRICS:
        raise RelencError(f"unknown few-shot metric {metric!r}; choose from {', '.join(METRICS)}")
    wanted = parse_settings(settings) if isinstance(settings, str) else list(settings)
    if not wanted:
        raise RelencError("no few-shot setting to evaluate")
    if episodes < 2:
        raise RelencError(f"need at least 2 episodes for a confidence interval, got {episodes}")
    groups = group_by_relation(examples, data_source)
    for setting in wanted:
        check_feasible(groups, setting)
    sampled = [sample_episodes(groups, setting, episodes, seed) for setting in wanted]
    used = np.unique(np.concatenate([ep.used() for ep in sampled]))
    row_of = np.full(len(examples), -1, dtype=np.int64)
    row_of[used] = np.arange(len(used))
    subset = [examples[i] for i in used]
    sampling_seconds = time.perf_counter() - started

    if isinstance(source, EmbeddingSource):
        embedder = source
    else:
        embedder = EmbeddingSource(source, precision, batch_size, progress)
    chosen = chosen or embedder.strategies()
    seconds: dict[str, float] = {"sampling": round(sampling_seconds, 3)}
    scores: list[FewShotScore] = []
    encoded_before = embedder.encoded
    for strategy in chosen:
        before = embedder.seconds
        matrix = embedder.embed(strategy, subset)
        seconds[f"embed_{strategy}"] = round(embedder.seconds - before, 3)
        start = time.perf_counter()
        for eps in sampled:
            remapped = Episodes(eps.setting, eps.relations, row_of[eps.support], row_of[eps.query])
            scores.append(_score(strategy, remapped, matrix, metric))
        seconds[f"classify_{strategy}"] = round(time.perf_counter() - start, 3)
    seconds["total"] = round(time.perf_counter() - started, 3)
    return FewShotReport(
        source=embedder.source,
        source_kind=embedder.kind,
        metric=metric,
        seed=seed,
        episodes=episodes,
        precision=embedder.precision,
        relations=len(groups),
        examples=len(examples),
        embedded=len(used),
        encoded=embedder.encoded - encoded_before,
        scores=scores,
        seconds=seconds,
    )


def _score(strategy: str, episodes: Episodes, matrix: np.ndarray, metric: str) -> FewShotScore:
    """Nearest-prototype accuracy of one strategy's embeddings over one setting's episodes, in percent."""
    setting = episodes.setting
    mean, std, half = mean_ci(episode_accuracies(matrix, episodes, metric))
    return FewShotScore(
        strategy,
        setting.name,
        setting.n_way,
        setting.k_shot,
        setting.n_query,
        len(episodes),
        round(100 * mean, 4),
        round(100 * half, 4),
        round(100 * std, 4),
    )


def iter_rows(report: FewShotReport) -> Iterator[tuple[str, list[FewShotScore]]]:
    """The report's scores grouped by strategy, in run order (a table's rows)."""
    order = list(dict.fromkeys(s.strategy for s in report.scores))
    for strategy in order:
        yield strategy, [s for s in report.scores if s.strategy == strategy]
