"""The whole of ``relenc analyze`` as one library call: :func:`analyze` reads the test set, types its mentions,
predicts with each model once, runs the analyses of :mod:`relenc.analysis.report`, summarises and plots grid
records (:func:`grid_summary`), and writes ``analysis.json`` beside the figures.

It lives here rather than in the CLI so that a notebook or a script gets exactly the numbers the command prints;
the command only parses options and draws tables. Progress and warnings go to ``notify`` (stderr by default):
they are for the person waiting, while everything they say is also in the returned dict.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from relenc.analysis.entity_types import EntityTyper, TypedExamples, TypePair
from relenc.analysis.plots import plot_scores
from relenc.analysis.probing import probe_embeddings
from relenc.analysis.report import ModelRun, analyze_models, model_name, raw_encoder_embeddings, run_model, type_data
from relenc.data.example import Example
from relenc.data.readers import read_dataset
from relenc.errors import RelencError
from relenc.evaluation.scorers import check_metric, default_metric
from relenc.experiments.records import load_records
from relenc.experiments.summary import summarize
from relenc.io import write_text_atomic
from relenc.nlp import DEFAULT_SPACY_MODEL

ANALYSIS_NAME = "analysis.json"
SCORES_FIGURE = "scores_by_strategy.png"
#: Above this share of untyped mentions, the type-based numbers describe only a minority: worth a warning.
UNTYPED_WARNING_PCT = 50.0

Notify = Callable[[str], None]


def to_stderr(message: str) -> None:
    """The default ``notify``: a library call is not silent about skipped files or untyped data either."""
    print(message, file=sys.stderr)


def analyze(
    output: Path,
    models: Sequence[Path] = (),
    *,
    data: str | None = None,
    fmt: str | None = None,
    train: str | None = None,
    records: Path | None = None,
    max_examples: int | None = None,
    metric: str | None = None,
    batch_size: int = 128,
    precision: str = "auto",
    seed: int = 13,
    tsne: bool = False,
    probe_examples: int = 5000,
    probe_min_examples: int = 20,
    probe_encoder: str | None = None,
    spacy_model: str = DEFAULT_SPACY_MODEL,
    notify: Notify = to_stderr,
) -> dict[str, Any]:
    """Analyse ``models`` (model or run directories) on the labelled file ``data`` and/or the grid records in
    ``records``; write ``output/analysis.json`` and the PNG figures, and return what the JSON file holds.

    ``max_examples`` analyses a seeded sample of the test set; ``train`` (same format) gives the relations' type
    signatures, else the test set does; ``metric`` defaults to the format's; ``probe_encoder`` also probes an
    encoder never trained on relations. Bad arguments are RelencErrors raised before any slow step.
    """
    check_inputs(models, data, fmt, records)
    analysis: dict[str, Any] = {"output": str(output)}
    if models and data is not None and fmt is not None:
        chosen = check_metric(metric) if metric else default_metric(fmt)
        examples, typed, signatures, test_set = read_test_set(data, fmt, train, max_examples, seed, spacy_model, notify)
        runs = predict(models, examples, batch_size, precision, data, notify)
        result = analyze_models(
            runs, examples, typed, signatures, chosen, output, seed, tsne, probe_examples, probe_min_examples
        )
        analysis.update({**test_set, **result})
        if probe_encoder is not None:
            notify(f"probing the raw encoder {probe_encoder}")
            analysis["raw_encoder"] = raw_encoder_probes(
                probe_encoder, examples, typed.pairs, batch_size, precision, seed, probe_examples, probe_min_examples
            )
    if records is not None:
        analysis["grid"] = grid_summary(records, output, notify)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / ANALYSIS_NAME, json.dumps(analysis, indent=2, ensure_ascii=False))
    return analysis


def check_inputs(models: Sequence[Path], data: str | None, fmt: str | None, records: Path | None) -> None:
    """Refuse what cannot work before minutes of reading, NER and prediction, not after."""
    if not models and records is None:
        raise RelencError("nothing to analyse: give model directories (with --data and --format), or --records")
    if models and (data is None or fmt is None):
        raise RelencError("analysing models needs --data and --format")
    if models:
        from relenc.models.extractor import model_root

        for path in models:
            if model_root(path) is None:
                raise RelencError(f"{path} is not a relenc model or run directory")


def read_test_set(
    data: str, fmt: str, train: str | None, max_examples: int | None, seed: int, spacy_model: str, notify: Notify
) -> tuple[list[Example], TypedExamples, dict[str, TypePair | None], dict[str, Any]]:
    """The (sampled) test examples, their entity types, the relations' type signatures (from ``train`` if given,
    else from the test set), and what the analysis reports about them; a warning when most mentions are untyped,
    since the type-based numbers then describe only the typed minority."""
    examples, total = sample_examples(data, fmt, max_examples, seed)
    typed, signatures, types_info = type_data(
        examples, read_dataset(train, fmt) if train is not None else None, EntityTyper(spacy_model)
    )
    if typed.unk_share_pct > UNTYPED_WARNING_PCT:
        notify(
            f"warning: {typed.unk_share_pct:.0f}% of the test mentions have no entity type (no gold type, no NER "
            "entity): the type-based numbers (same-signature share, probes) describe only the typed minority"
        )
    about = {
        "data": data,
        "format": fmt,
        "train": train,
        "examples": len(examples),
        "examples_in_file": total,
        "seed": seed,
        "entity_types": types_info,
    }
    return examples, typed, signatures, about


def sample_examples(data: str, fmt: str, max_examples: int | None, seed: int) -> tuple[list[Example], int]:
    """The test examples, a seeded sample of ``max_examples`` of them in file order when the file has more (so
    every model sees the same ones), and how many the file has."""
    examples = read_dataset(data, fmt)
    total = len(examples)
    if max_examples is not None and total > max_examples:
        keep = sorted(random.Random(seed).sample(range(total), max_examples))
        examples = [examples[i] for i in keep]
    return examples, total


def predict(
    models: Sequence[Path], examples: Sequence[Example], batch_size: int, precision: str, source: str, notify: Notify
) -> list[ModelRun]:
    """Each model's predictions and vectors on the examples, under a short unique name (its run directory's)."""
    taken: set[str] = set()
    runs: list[ModelRun] = []
    for path in models:
        name = model_name(path, taken)
        notify(f"predicting with {name} ({path}) on {len(examples)} examples")
        runs.append(run_model(path, name, examples, batch_size, precision, source=source))
    return runs


def raw_encoder_probes(
    encoder: str,
    examples: Sequence[Example],
    pairs: Sequence[TypePair],
    batch_size: int,
    precision: str,
    seed: int,
    probe_examples: int,
    probe_min_examples: int,
) -> dict[str, Any]:
    """Entity-type probes on an encoder never trained on relations: the baseline for what training added."""
    vectors = raw_encoder_embeddings(encoder, examples, batch_size, precision, seed)
    return {"encoder": encoder, "probes": probe_embeddings(vectors, pairs, seed, probe_examples, probe_min_examples)}


def grid_summary(directory: Path, output: Path, notify: Notify = to_stderr) -> dict[str, Any]:
    """Summarise the run records of ``directory`` (test F1 over seeds per cell, with the grid summary's one
    aggregation) and plot them to ``output``.

    Lenient: a records directory also holds failed runs and other JSON, so a file that is not a finished run's
    record is skipped, reported through ``notify`` and listed under ``skipped``, never an error.
    """
    if not directory.is_dir():
        raise RelencError(f"{directory}: not a directory of grid records")
    records, skipped = load_records(directory)
    finished = [record for record in records if record.ok]
    skipped += [
        (record.source or record.id, f"status {record.status!r}: {record.error or 'no error recorded'}")
        for record in records
        if not record.ok
    ]
    skipped.sort()  # by file, as they were read
    for path, reason in skipped:
        notify(f"warning: skipping {path}: {reason}")
    rows = summarize(finished)
    grid: dict[str, Any] = {
        "directory": str(directory),
        "records": len(finished),
        "skipped": [{"file": path, "reason": reason} for path, reason in skipped],
        "summary": [
            {
                "dataset": row.dataset,
                "encoder": row.encoder,
                "strategy": row.strategy,
                "tag": row.tag,
                "n": row.n,
                "seeds": sorted(str(seed) for seed in row.seeds),
                "f1_mean": row.f1.mean,
                "f1_std": row.f1.std,
            }
            for row in rows
        ],
    }
    if rows:
        grid["figure"] = str(plot_scores(rows, output / SCORES_FIGURE))
    else:
        notify(f"warning: no usable grid records in {directory}; no score plot")
    return grid
