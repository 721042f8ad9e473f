"""``relenc analyze``: the paper's claims about [H,T] and [MASK], measured on trained models and a test set.

Thin: :func:`relenc.analysis.analyze.analyze` does the work and writes the files; this module parses the options
and prints the result as tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relenc.cli import FORMATS_HELP, app
from relenc.nlp import DEFAULT_SPACY_MODEL

# the options whose declarations take several lines, named so that the command's signature stays readable
ModelsArg = Annotated[
    list[Path] | None,
    typer.Argument(metavar="MODEL_DIR", help="Model or run directories (none: only plot --records)."),
]
TrainOpt = Annotated[
    str | None,
    typer.Option("--train", help="Training file (same format) for the type signatures; default: --data."),
]
RecordsOpt = Annotated[
    Path | None, typer.Option("--records", help="Directory of grid records (*.json) to plot test F1 per strategy.")
]
MaxExamplesOpt = Annotated[int | None, typer.Option(help="Analyse a seeded sample of at most N test examples.", min=1)]
ProbeMinOpt = Annotated[int, typer.Option(help="Skip a probe with fewer typed examples than this.", min=4)]
ProbeEncoderOpt = Annotated[
    str | None,
    typer.Option(help="Also probe an encoder never trained on relations (e.g. minilm) with the default input."),
]


@app.command("analyze")
def analyze_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for analysis.json and the PNG figures.")],
    models: ModelsArg = None,
    data: Annotated[str | None, typer.Option("--data", help="Labelled test file the models are analysed on.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=FORMATS_HELP)] = None,
    train: TrainOpt = None,
    records: RecordsOpt = None,
    max_examples: MaxExamplesOpt = None,
    metric: Annotated[str | None, typer.Option(help="semeval or micro; default: semeval for --format semeval.")] = None,
    batch_size: Annotated[int, typer.Option(help="Inference batch size.")] = 128,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the sample, the probe split and the projections.")] = 13,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="Also draw t-SNE projections (slower).")] = False,
    probe_examples: Annotated[int, typer.Option(help="Probe on a seeded sample of at most N examples.", min=4)] = 5000,
    probe_min_examples: ProbeMinOpt = 20,
    probe_encoder: ProbeEncoderOpt = None,
    spacy_model: Annotated[
        str, typer.Option(help="spaCy pipeline typing mentions that have no gold type.")
    ] = DEFAULT_SPACY_MODEL,
    as_json: Annotated[bool, typer.Option("--json", help="Print analysis.json instead of tables.")] = False,
) -> None:
    """Error analysis, entity-type probes, complementarity and figures for one or more trained models.

    Writes OUTPUT/analysis.json (every number) and PNG figures: a confusion matrix and PCA projections per model,
    and test-F1 bars per strategy from --records.
    """
    from relenc.analysis.analyze import ANALYSIS_NAME, analyze

    err = Console(stderr=True)
    analysis = analyze(
        output,
        list(models or []),
        data=data,
        fmt=fmt,
        train=train,
        records=records,
        max_examples=max_examples,
        metric=metric,
        batch_size=batch_size,
        precision=precision,
        seed=seed,
        tsne=tsne,
        probe_examples=probe_examples,
        probe_min_examples=probe_min_examples,
        probe_encoder=probe_encoder,
        spacy_model=spacy_model,
        notify=lambda message: err.print(message, markup=False),
    )
    if as_json:
        print(json.dumps(analysis, ensure_ascii=False))
    else:
        _print_tables(analysis)
    err.print(f"wrote {escape(str(output / ANALYSIS_NAME))}")


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _probe_cell(probes: dict[str, Any], target: str, view: str) -> str:
    result = probes.get(target, {}).get(view)
    if result is None or result["accuracy_pct"] is None:
        return "-"
    return f"{result['accuracy_pct']:.1f}/{result['majority_baseline_pct']:.1f}"


def _print_tables(analysis: dict[str, Any]) -> None:
    """Each part of the analysis that is present, as a table: models, probes, complementarity, grid records."""
    console = Console()
    models: dict[str, Any] = analysis.get("models", {})
    if models:
        console.print(_models_table(analysis, models))
        probes = [(escape(name), entry["probes"]) for name, entry in models.items()]
        raw = analysis.get("raw_encoder")
        if raw:
            probes.append((escape(f"raw {Path(raw['encoder']).name}"), raw["probes"]))
        _print_probes(console, probes)
    pairs: list[dict[str, Any]] = analysis.get("complementarity", [])
    if pairs:
        console.print(_complementarity_table(pairs))
    grid = analysis.get("grid")
    if grid and grid["summary"]:
        console.print(_grid_table(grid))


def _models_table(analysis: dict[str, Any], models: dict[str, Any]) -> Table:
    """One row per model: its F1 and how its errors relate to entity types."""
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
    return table


def _complementarity_table(pairs: list[dict[str, Any]]) -> Table:
    """One row per pair of models: where each is right alone, and what an oracle choosing between them scores."""
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
    return table


def _grid_table(grid: dict[str, Any]) -> Table:
    """Test F1 over seeds per grid cell; a single seed's sd is "-" (no spread)."""
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
    return table


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
