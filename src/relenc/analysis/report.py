"""One analysis of trained models on one labelled test set: what ``relenc analyze`` runs.

Each model predicts the test set once (with its h, t, m vectors, in the library's precision: bf16 where native);
everything else is computed from those predictions by the pure functions of this package, and the result is one
JSON-ready dict plus PNG figures in an output directory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from relenc.analysis.compare import complementarity, oracle_predictions
from relenc.analysis.entity_types import EntityTyper, TypedExamples, TypePair, signature_report, type_examples
from relenc.analysis.errors import error_analysis, same_signature_pairs
from relenc.analysis.probing import probe_embeddings
from relenc.data.example import Example


@dataclass
class ModelRun:
    """One model's predictions on the test set: labels, and the vectors its classifier reads, in input order."""

    name: str
    source: str
    strategy: str
    negative: str | None
    labels: list[str]
    embeddings: dict[str, np.ndarray]
    feature_order: tuple[str, ...]

    @property
    def features(self) -> np.ndarray:
        """The classifier's input, ``[h; t]``, ``m``, ``[h; t; m]``: the model's relation representation."""
        return np.concatenate([self.embeddings[name] for name in self.feature_order], axis=1)


def model_name(path: str | Path, taken: set[str]) -> str:
    """A short unique name for a model directory: the run directory's name rather than ``model``."""
    p = Path(path).resolve()
    base = p.parent.name if p.name == "model" else p.name
    base = re.sub(r"[^\w.-]+", "_", base) or "model"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}-{k}", k + 1
    taken.add(name)
    return name


def run_model(
    path: str | Path,
    name: str,
    examples: Sequence[Example],
    batch_size: int = 128,
    precision: str = "auto",
    source: str | None = None,
) -> ModelRun:
    """Load a model (or run) directory and predict ``examples`` once, keeping the labels and the h, t, m vectors."""
    from relenc.evaluation.evaluate import check_labels
    from relenc.models.extractor import RelationExtractor

    extractor = RelationExtractor.from_pretrained(path)
    check_labels(extractor, examples, source)
    preds = extractor.predict(examples, batch_size=batch_size, precision=precision, return_embeddings=True)
    order: tuple[str, ...] = extractor.spec.parts
    embeddings = {v: np.stack([p.embeddings[v] for p in preds]).astype(np.float32) for v in order}
    return ModelRun(
        name, str(path), extractor.spec.name, extractor.labels.negative, [p.label for p in preds], embeddings, order
    )


def raw_encoder_embeddings(
    encoder: str, examples: Sequence[Example], batch_size: int = 128, precision: str = "auto", seed: int = 13
) -> dict[str, np.ndarray]:
    """h, t and m of an encoder that was never trained on relations, with the default input (markers and prompt).

    The new marker tokens get embeddings initialised under ``seed``, so the vectors are reproducible.
    """
    from relenc.models.extractor import RelationExtractor

    extractor = RelationExtractor.from_encoder(encoder, "ht_mask", seed=seed)
    return extractor.embed(examples, batch_size=batch_size, precision=precision)


def type_data(
    test: Sequence[Example], train: Sequence[Example] | None, typer: EntityTyper
) -> tuple[TypedExamples, dict[str, TypePair | None], dict[str, Any]]:
    """Types of the test examples, the relations' signatures (from ``train`` if given, else from the test set's
    gold labels), and a JSON-ready summary of both."""
    typed = type_examples(typer, test)
    info: dict[str, Any] = {"test": typed.to_dict()}
    if train is not None:
        typed_train = type_examples(typer, train)
        report = signature_report([ex.label for ex in train], typed_train.pairs)
        info["train"] = typed_train.to_dict()
        info["signatures_from"] = "train"
    else:
        report = signature_report([ex.label for ex in test], typed.pairs)
        info["signatures_from"] = "test"
    signatures: dict[str, TypePair | None] = {label: row["signature"] for label, row in report.items()}
    info["signatures"] = {
        label: {**row, "signature": f"{row['signature'][0]}-{row['signature'][1]}" if row["signature"] else None}
        for label, row in report.items()
    }
    return typed, signatures, info


def analyze_models(
    runs: Sequence[ModelRun],
    examples: Sequence[Example],
    typed: TypedExamples,
    signatures: dict[str, TypePair | None],
    metric: str,
    output: str | Path,
    seed: int = 13,
    tsne: bool = False,
    probe_max_examples: int = 5000,
    probe_min_examples: int = 20,
) -> dict[str, Any]:
    """Scores, error analysis, probes and figures per model, and complementarity for every pair of models."""
    from relenc.evaluation.scorers import Metric, check_metric, score

    chosen: Metric = check_metric(metric)
    gold = [ex.label or "" for ex in examples]
    models: dict[str, Any] = {}
    for run in runs:
        result = score(gold, run.labels, chosen, run.negative)
        models[run.name] = {
            "path": run.source,
            "strategy": run.strategy,
            "vectors": list(run.feature_order),
            "scores": {"precision": result.precision, "recall": result.recall, "f1": result.f1},
            "errors": error_analysis(gold, run.labels, run.negative, signatures, typed.pairs),
            "probes": probe_embeddings(run.embeddings, typed.pairs, seed, probe_max_examples, probe_min_examples),
            "figures": [str(f) for f in model_figures(run, gold, Path(output), seed, tsne)],
        }
    pairs = []
    for a, b in combinations(runs, 2):
        oracle = score(gold, oracle_predictions(gold, a.labels, b.labels), chosen, a.negative)
        pairs.append(
            {"a": a.name, "b": b.name, **complementarity(gold, a.labels, b.labels, a.negative), "oracle_f1": oracle.f1}
        )
    negative = runs[0].negative if runs else None
    return {
        "metric": chosen,
        "models": models,
        "complementarity": pairs,
        "same_signature_baseline": same_signature_pairs(signatures, negative),
    }


def model_figures(run: ModelRun, gold: Sequence[str], out_dir: Path, seed: int, tsne: bool) -> list[Path]:
    """A model's confusion matrix, and 2-D projections of its relation representation (and of m when that is
    only part of it) coloured by gold relation: where [H,T] and [MASK] put the relations, side by side."""
    from relenc.analysis import plots

    order = sorted(set(gold) | set(run.labels), key=lambda label: (label == run.negative, label))
    figures = [
        plots.plot_confusion(
            gold, run.labels, out_dir / f"confusion_{run.name}.png", order, f"{run.name} ({run.strategy})"
        )
    ]
    views = {"features": run.features}
    if "m" in run.embeddings and run.feature_order != ("m",):
        views["m"] = run.embeddings["m"]
    if len(gold) < 3:
        views = {}  # nothing to project: a 2-D projection needs at least 3 points
    for view, vectors in views.items():
        for method in ("pca", "tsne") if tsne else ("pca",):
            figures.append(
                plots.plot_projection(
                    vectors,
                    gold,
                    out_dir / f"projection_{run.name}_{view}_{method}.png",
                    method=method,
                    seed=seed,
                    negative=run.negative,
                    title=f"{run.name} ({run.strategy}): {view}, {method.upper()}, coloured by gold relation",
                )
            )
    return figures
