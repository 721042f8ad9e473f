"""Linear probes: how well do h, t, [h; t] and m predict the entity types of the head and the tail?

The paper argues that [H,T] embeddings mostly encode entity types and that the [MASK] embedding captures them
poorly. A linear probe makes that a number: a logistic regression trained on one part of the examples' embeddings
to predict a type, scored on the rest, next to the majority baseline (always the most frequent type of the
training part). High accuracy over the baseline means the type is linearly readable from the vector.

Choices, so that numbers are comparable between models:

- the same seeded subsample (at most ``max_examples``) and the same seeded, stratified 70/30 split for every model
  and every vector (the split depends only on the targets and the seed, never on the embeddings);
- mentions typed ``UNK`` are left out of a type probe (they are "no NER entity", not a type), and a probe with
  fewer than ``min_examples`` typed examples is skipped, with the reason;
- features are standardised, then ``LogisticRegression`` (lbfgs, L2, ``C=1``) is fit; whether it converged is
  recorded rather than hidden.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from relenc.analysis.entity_types import UNK, TypePair
from relenc.errors import RelencError

#: target -> the views probed for it; a view is a vector name or ``ht`` for ``[h; t]``.
PROBE_VIEWS: dict[str, tuple[str, ...]] = {
    "head_type": ("ht", "h", "m"),
    "tail_type": ("ht", "t", "m"),
    "type_pair": ("ht", "m"),
}


@dataclass(frozen=True)
class ProbeResult:
    """Accuracy (percent) of a linear probe and of the majority baseline on the held-out part.

    ``skipped`` says why a probe could not be run (too few examples, a single class); the numbers are then ``None``.
    """

    accuracy_pct: float | None
    majority_baseline_pct: float | None
    n_train: int
    n_test: int
    classes: int
    dims: int
    converged: bool | None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _sklearn() -> tuple[Any, Any, Any, Any]:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
    except ImportError as exc:
        raise RelencError("probing needs scikit-learn: pip install 'relenc[analysis]'") from exc
    return ConvergenceWarning, LogisticRegression, make_pipeline, StandardScaler


def split_indices(targets: Sequence[str], seed: int, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train/test positions, stratified by target when every class has at least two examples and both parts
    can hold every class; a plain seeded shuffle split otherwise (rare types in a small sample)."""
    n = len(targets)
    n_test = max(1, round(test_fraction * n))
    counts = Counter(targets)
    rng = np.random.default_rng(seed)
    if min(counts.values()) >= 2 and n_test >= len(counts) and n - n_test >= len(counts):
        test: list[int] = []
        by_class: dict[str, list[int]] = {}
        for i, target in enumerate(targets):
            by_class.setdefault(target, []).append(i)
        # each class's share of the test part as close to test_fraction as whole examples allow, at least one
        for cls in sorted(by_class):
            members = np.array(by_class[cls])
            take = min(max(1, round(test_fraction * len(members))), len(members) - 1)
            test.extend(rng.permutation(members)[:take].tolist())
        test_idx = np.sort(np.array(test))
    else:
        test_idx = np.sort(rng.permutation(n)[:n_test])
    train_mask = np.ones(n, dtype=bool)
    train_mask[test_idx] = False
    return np.flatnonzero(train_mask), test_idx


def probe(
    features: np.ndarray,
    targets: Sequence[str],
    seed: int = 13,
    test_fraction: float = 0.3,
    min_examples: int = 20,
) -> ProbeResult:
    """Fit a logistic-regression probe from ``features`` (n x d) to ``targets`` on a seeded split; score it.

    Fewer than ``min_examples`` (at least 4) typed examples are skipped: a test part of a handful of examples gives
    an accuracy that is mostly noise.
    """
    if len(features) != len(targets):
        raise ValueError(f"{len(features)} feature rows but {len(targets)} targets")
    dims = int(features.shape[1]) if features.ndim == 2 else 0
    n_classes = len(set(targets))
    if len(targets) < max(4, min_examples) or n_classes < 2:
        why = f"{len(targets)} examples" if len(targets) < max(4, min_examples) else "a single class"
        return ProbeResult(None, None, 0, 0, n_classes, dims, None, skipped=f"too little to probe: {why}")
    train_idx, test_idx = split_indices(targets, seed, test_fraction)
    y = np.asarray(targets, dtype=object)
    y_train, y_test = y[train_idx], y[test_idx]
    majority = Counter(y_train.tolist()).most_common(1)[0][0]
    baseline = 100.0 * float(np.mean(y_test == majority))
    if len(set(y_train.tolist())) < 2:
        return ProbeResult(
            None, baseline, len(train_idx), len(test_idx), n_classes, dims, None, "one class in the training part"
        )
    convergence_warning, logistic_regression, make_pipeline, standard_scaler = _sklearn()
    # 300 L-BFGS iterations: enough for the accuracy to settle on standardised features; separable high-dimensional
    # probes would otherwise iterate for minutes towards a margin that no longer changes a prediction. Whether the
    # fit converged is recorded either way.
    model = make_pipeline(standard_scaler(), logistic_regression(max_iter=300, random_state=seed))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", convergence_warning)
        model.fit(features[train_idx].astype(np.float64), y_train)
    converged = not any(issubclass(w.category, convergence_warning) for w in caught)
    accuracy = 100.0 * float(np.mean(model.predict(features[test_idx].astype(np.float64)) == y_test))
    return ProbeResult(accuracy, baseline, len(train_idx), len(test_idx), n_classes, dims, converged)


def probe_subsample(n: int, max_examples: int, seed: int) -> np.ndarray:
    """The positions probed: all ``n`` when there are at most ``max_examples``, else a seeded sample (sorted), the
    same for every model of an analysis because it depends on ``n`` and ``seed`` alone."""
    if n <= max_examples:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_examples, replace=False))


def probe_embeddings(
    embeddings: Mapping[str, np.ndarray],
    pairs: Sequence[TypePair],
    seed: int = 13,
    max_examples: int = 5000,
    min_examples: int = 20,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every probe of :data:`PROBE_VIEWS` that the model's vectors allow: target -> view -> result dict.

    ``embeddings`` maps ``h``, ``t``, ``m`` (whichever the strategy has) to ``n x d`` arrays aligned with
    ``pairs``. An ``ht`` model gets no ``m`` probes and a ``mask`` model no ``h``/``t``/``ht`` ones.
    """
    views: dict[str, np.ndarray] = {name: np.asarray(vec) for name, vec in embeddings.items()}
    if "h" in views and "t" in views:
        views["ht"] = np.concatenate([views["h"], views["t"]], axis=1)
    for name, array in views.items():
        if len(array) != len(pairs):
            raise ValueError(f"{name}: {len(array)} rows but {len(pairs)} type pairs")
    keep = probe_subsample(len(pairs), max_examples, seed)
    targets_of: dict[str, list[str]] = {
        "head_type": [pairs[i][0] for i in keep],
        "tail_type": [pairs[i][1] for i in keep],
        "type_pair": [f"{pairs[i][0]}-{pairs[i][1]}" for i in keep],
    }
    typed_of = {
        "head_type": [pairs[i][0] != UNK for i in keep],
        "tail_type": [pairs[i][1] != UNK for i in keep],
        "type_pair": [UNK not in pairs[i] for i in keep],
    }
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for target, wanted in PROBE_VIEWS.items():
        rows = np.flatnonzero(typed_of[target])
        targets = [targets_of[target][i] for i in rows]
        for view in wanted:
            if view in views:
                result = probe(views[view][keep][rows], targets, seed, min_examples=min_examples)
                out.setdefault(target, {})[view] = result.to_dict()
    return out
