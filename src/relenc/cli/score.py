"""``relenc score GOLD PRED``: score a predictions file against a gold data file."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from relenc.cli import app


@app.command("score")
def score_command(
    gold: Annotated[str, typer.Argument(help="Gold data file.")],
    pred: Annotated[str, typer.Argument(help='Predictions: JSON lines {"id": ..., "label": ...}.')],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of the gold file.")],
    metric: Annotated[
        str | None,
        typer.Option(help="semeval (official macro-F1) or micro; default: semeval for semeval data."),
    ] = None,
    negative_label: Annotated[
        str | None, typer.Option(help="The no-relation label (default: detected from the gold labels).")
    ] = None,
    report: Annotated[bool, typer.Option(help="Add a per-relation report.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Precision, recall and F1 (percent) of predictions against gold labels, like the official scorers."""
    from relenc.data.labels import detect_negative_label
    from relenc.data.readers import read_dataset
    from relenc.errors import DataError
    from relenc.evaluation.predictions import align_predictions, read_predictions
    from relenc.evaluation.scorers import per_relation_report, score

    examples = read_dataset(gold, fmt)
    gold_labels, pred_labels = align_predictions(examples, read_predictions(pred), gold, pred)
    chosen = metric or ("semeval" if fmt == "semeval" else "micro")
    negative = negative_label or detect_negative_label(gold_labels)
    if chosen == "micro":
        known = set(gold_labels) | ({negative} if negative else set())
        unknown = sorted(set(pred_labels) - known)
        if unknown:
            raise DataError(f"predicted labels not in the gold label set: {', '.join(unknown[:5])}", pred)
    result = score(gold_labels, pred_labels, chosen, negative)
    rows = per_relation_report(gold_labels, pred_labels, negative)
    out = {
        "metric": chosen,
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
        "examples": len(examples),
        "negative_label": negative,
    }
    if report:
        out["per_relation"] = [row.to_dict() for row in rows]
    if as_json:
        print(json.dumps(out))
        return
    table = Table(title=f"{pred} against {gold} ({chosen})")
    for col in ("precision", "recall", "f1", "examples"):
        table.add_column(col, justify="right")
    table.add_row(f"{result.precision:.2f}", f"{result.recall:.2f}", f"{result.f1:.2f}", str(len(examples)))
    console = Console()
    console.print(table)
    if report:
        detail = Table(title="per relation")
        for col in ("label", "precision", "recall", "f1", "support", "predicted"):
            detail.add_column(col)
        for row in rows:
            detail.add_row(
                row.label,
                f"{row.precision:.2f}",
                f"{row.recall:.2f}",
                f"{row.f1:.2f}",
                str(row.support),
                str(row.predicted),
            )
        console.print(detail)
