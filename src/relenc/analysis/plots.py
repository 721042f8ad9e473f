"""Figures of an analysis, as PNG files: confusion matrices, 2-D projections of embeddings, score bars.

Figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend, no display), so
they work headless, in threads and in tests. Each function writes one file and returns its path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from relenc.errors import RelencError
from relenc.models.strategies import STRATEGY_NAMES

if TYPE_CHECKING:
    from relenc.experiments.summary import SummaryRow

#: Bars of the library's strategies come in the paper's order; other grid variants follow, sorted.
STRATEGY_ORDER = STRATEGY_NAMES
#: 60 distinguishable colours: TACRED has 42 labels, and a repeated colour would merge two clusters.
_PALETTES = ("tab20", "tab20b", "tab20c")


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise RelencError("plots need matplotlib: pip install 'relenc[analysis]'") from exc
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", bbox_inches="tight")
    return target


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    colours: list[Any] = []
    for name in _PALETTES:
        cmap = colormaps[name]
        colours.extend(cmap(i) for i in range(cmap.N))
    return [colours[i % len(colours)] for i in range(n)]


def plot_confusion(
    gold: Sequence[str],
    pred: Sequence[str],
    path: str | Path,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> Path:
    """Gold labels as rows, predictions as columns; colour is the row-normalised share (so rare relations are as
    visible as frequent ones), and the counts are written in the cells when there are at most 20 labels."""
    from relenc.evaluation.scorers import confusion_matrix

    order, matrix = confusion_matrix(gold, pred, labels)
    n = len(order)
    totals = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)
    size = max(4.0, 0.35 * n + 2.5)
    figure = _figure(size + 1.0, size)
    ax = figure.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(n), order, rotation=90, fontsize=7)
    ax.set_yticks(range(n), order, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if matrix[i, j]:
                    colour = "white" if shares[i, j] > 0.5 else "black"
                    ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6, color=colour)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the gold row")
    ax.set_title(title or "confusion matrix", fontsize=9)
    return _save(figure, path)


def project(vectors: np.ndarray, method: str = "pca", seed: int = 13) -> np.ndarray:
    """2-D coordinates of ``vectors`` (n x d): PCA, or t-SNE (PCA-initialised, fixed seed, so reruns agree)."""
    try:
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE
    except ImportError as exc:
        raise RelencError("projections need scikit-learn: pip install 'relenc[analysis]'") from exc
    data = np.asarray(vectors, dtype=np.float64)
    if len(data) < 3:
        raise RelencError(f"a 2-D projection needs at least 3 vectors, got {len(data)}")
    if method == "pca":
        coords = PCA(n_components=2, random_state=seed).fit_transform(data)
    elif method == "tsne":
        perplexity = float(min(30.0, (len(data) - 1) / 3))
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(data)
    else:
        raise RelencError(f"unknown projection {method!r}; use pca or tsne")
    return np.asarray(coords)


def plot_projection(
    vectors: np.ndarray,
    labels: Sequence[str],
    path: str | Path,
    method: str = "pca",
    seed: int = 13,
    max_points: int = 3000,
    negative: str | None = None,
    title: str = "",
) -> Path:
    """A scatter of the vectors projected to 2-D, coloured by gold relation.

    At most ``max_points`` (a seeded sample: t-SNE is quadratic, and 15,000 TACRED points are one blot anyway).
    The ``negative`` class is drawn first, in light grey, so the relations' clusters stay visible on top of it.
    """
    if len(vectors) != len(labels):
        raise ValueError(f"{len(vectors)} vectors but {len(labels)} labels")
    keep = np.arange(len(labels))
    if len(keep) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(labels), size=max_points, replace=False))
    coords = project(np.asarray(vectors)[keep], method, seed)
    kept = [labels[int(i)] for i in keep]
    classes = sorted(set(kept), key=lambda label: (label != negative, label))
    colours = dict(zip([c for c in classes if c != negative], _colours(len(classes)), strict=False))
    figure = _figure(9.0, 7.0)
    ax = figure.add_subplot()
    for cls in classes:
        rows = [i for i, label in enumerate(kept) if label == cls]
        colour = (0.8, 0.8, 0.8, 0.6) if cls == negative else colours[cls]
        ax.scatter(coords[rows, 0], coords[rows, 1], s=6, color=colour, label=f"{cls} ({len(rows)})", linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{method.upper()} projection", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6, markerscale=2, frameon=False)
    return _save(figure, path)


def _bar_name(row: SummaryRow) -> str:
    """A bar's legend name: the strategy, with the grid cell's tag when it has one."""
    return f"{row.strategy} [{row.tag}]" if row.tag else row.strategy


def plot_scores(summary: Sequence[SummaryRow], path: str | Path, title: str = "") -> Path:
    """Grouped bars of mean test F1 per strategy, one group per (dataset, encoder), each bar labelled with its mean
    and its number of seeds; error bars are one sample standard deviation over seeds, and a single seed has none
    (it has no spread; its label says n=1). ``summary`` is :func:`relenc.experiments.summary.summarize`'s rows."""
    shown = [row for row in summary if row.f1.mean is not None]
    if not shown:
        raise RelencError("no grid records to plot")
    groups = sorted({(row.dataset, row.encoder) for row in shown})
    cell = {(r.dataset, r.encoder, _bar_name(r)): r for r in shown}
    found = {name for _, _, name in cell}
    strategies = [s for s in STRATEGY_ORDER if s in found] + sorted(found - set(STRATEGY_ORDER))
    width = 0.8 / len(strategies)
    figure = _figure(max(5.0, 1.2 * len(groups) * max(1, len(strategies)) / 2 + 2), 4.5)
    ax = figure.add_subplot()
    from matplotlib import colormaps

    tab10 = colormaps["tab10"]
    for k, strategy in enumerate(strategies):
        xs: list[float] = []
        means: list[float] = []
        rows: list[SummaryRow] = []
        for g, (dataset, encoder) in enumerate(groups):
            row = cell.get((dataset, encoder, strategy))
            if row is not None and row.f1.mean is not None:
                xs.append(g - 0.4 + width * (k + 0.5))
                means.append(row.f1.mean)
                rows.append(row)
        ax.bar(xs, means, width, color=tab10(k % tab10.N), label=strategy)
        for x, mean, row in zip(xs, means, rows, strict=True):
            top = mean
            if row.f1.std is not None:  # two or more seeds: a single seed has no spread, so no error bar
                ax.errorbar([x], [mean], yerr=[row.f1.std], fmt="none", ecolor="black", capsize=3)
                top += row.f1.std
            label = f"{mean:.1f}\nn={row.n}"
            ax.annotate(
                label, (x, top), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=6
            )
    ax.margins(y=0.12)  # room for the labels above the tallest bar
    ax.set_xticks(range(len(groups)), [f"{d}\n{e}" for d, e in groups], fontsize=8)
    ax.set_ylabel("test F1 (%)")
    ax.set_title(title or "test F1 by strategy (mean ± sd over seeds)", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(figure, path)
