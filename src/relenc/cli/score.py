"""``relenc score GOLD PRED``: score a prediction file against a gold data file with the official metrics."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relenc.cli import app

if TYPE_CHECKING:
    from relenc.evaluation.scorers import RelationRow


@app.command("score")
def score_command(
    gold: Annotated[str, typer.Argument(help="Gold data file.")],
    pred: Annotated[
        str,
        typer.Argument(help='Predictions: JSON lines {"id": ..., "label": ...}; for --format spert, SpERT JSON.'),
    ],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of the gold file: tacred, semeval, kbp37, ...")],
    metric: Annotated[
        str | None,
        typer.Option(
            help="semeval (official SemEval-2010 macro-F1) or micro (TACRED); default: semeval for "
            "--format semeval, else micro."
        ),
    ] = None,
    negative_label: Annotated[
        str | None, typer.Option(help="The no-relation label for micro (default: detected from the gold labels).")
    ] = None,
    report: Annotated[bool, typer.Option("--report", help="Add a per-relation report.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Precision, recall and F1 (percent) of predictions against gold labels, as the official scorers compute them.

    For sentence data (--format spert) PRED holds predicted sentences in the same format (what `relenc predict`
    writes for an end-to-end model), scored end to end: strict and boundaries relation F1, entity F1, per type.
    """
    from relenc.data.labels import detect_negative_label
    from relenc.data.readers import is_end_to_end, read_dataset, read_sentences
    from relenc.evaluation.predictions import align_predictions, read_predictions
    from relenc.evaluation.scorers import SemEvalScores, check_metric, default_metric, per_relation_report, score

    if is_end_to_end(fmt):
        from relenc.cli.train import print_end_to_end
        from relenc.evaluation.end2end import score_end2end

        scores = score_end2end(read_sentences(gold, fmt), read_sentences(pred, fmt))
        print_end_to_end(scores, f"{pred} against {gold}", report, as_json)
        return
    chosen = check_metric(metric) if metric else default_metric(fmt)
    examples = read_dataset(gold, fmt)
    predictions = read_predictions(pred)
    negative = negative_label or detect_negative_label(ex.label for ex in examples if ex.label is not None)
    gold_labels, pred_labels = align_predictions(
        examples, predictions, pred, gold_source=gold, metric=chosen, negative=negative
    )
    result = score(gold_labels, pred_labels, chosen, negative)
    # for semeval, the official per-relation rows: the official F1 is the mean of their F1s (Other excluded)
    rows = (
        list(result.per_relation)
        if isinstance(result, SemEvalScores)
        else per_relation_report(gold_labels, pred_labels, negative)
    )
    out: dict[str, Any] = {
        "metric": chosen,
        "precision": result.precision,
        "recall": result.recall,
        "f1": result.f1,
        "examples": len(examples),
        "negative_label": "Other" if chosen == "semeval" else negative,
    }
    if report:
        out["per_relation"] = [asdict(row) for row in rows]
    if as_json:
        typer.echo(json.dumps(out))
        return
    _print_tables(out, f"{pred} against {gold}", rows if report else None)


def _print_tables(out: dict[str, Any], title: str, rows: Sequence[RelationRow] | None) -> None:
    """The scores as a rich table, and the per-relation rows as a second one."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=f"{title} ({out['metric']})")
    for column in ("precision", "recall", "f1", "examples", "negative label"):
        summary.add_column(column, justify="right")
    summary.add_row(
        f"{out['precision']:.2f}",
        f"{out['recall']:.2f}",
        f"{out['f1']:.2f}",
        str(out["examples"]),
        str(out["negative_label"]),
    )
    console.print(summary)
    if rows is None:
        return
    caption = "official F1 = mean of the relations' F1s, Other excluded" if out["metric"] == "semeval" else None
    detail = Table(title="per relation", caption=caption)
    detail.add_column("label")
    for column in ("precision", "recall", "f1", "support", "predicted"):
        detail.add_column(column, justify="right")
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
