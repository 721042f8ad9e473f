"""``relenc data stats`` and ``relenc data convert``: look at a dataset, or turn it into generic JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relenc.cli import app
from relenc.data.readers import FORMATS

data_app = typer.Typer(help="Look at and convert datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

FORMAT_HELP = f"Input format: {', '.join(FORMATS)}."


@data_app.command("stats")
def stats_command(
    path: Annotated[Path, typer.Argument(help="A data file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)],
    encoder: Annotated[
        str | None, typer.Option(help="Also measure word-piece lengths with this encoder's tokenizer (e.g. minilm).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Size, label distribution, negative share, lengths and entity-type pairs of a data file."""
    from relenc.data.readers import read_dataset
    from relenc.data.stats import dataset_stats

    examples = read_dataset(path, fmt)
    stats = dataset_stats(examples, _tokenizer(encoder) if encoder else None)
    if as_json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        _print_tables(stats, f"{path} ({fmt})")


@data_app.command("convert")
def convert_command(
    source: Annotated[Path, typer.Argument(help="Input data file.")],
    target: Annotated[Path, typer.Argument(help="Output file (generic JSONL), written atomically.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)],
) -> None:
    """Convert a data file of any supported format to relenc's generic JSONL."""
    from relenc.data.readers import read_dataset
    from relenc.data.readers.jsonl import write_jsonl

    count = write_jsonl(read_dataset(source, fmt), target)
    print(f"wrote {count} examples to {target}")


def _tokenizer(encoder: str) -> Any:
    """The encoder's Hugging Face tokenizer (imported lazily: transformers is slow to import)."""
    from transformers import AutoTokenizer

    from relenc.models.encoders import resolve_encoder

    return AutoTokenizer.from_pretrained(resolve_encoder(encoder))


def _print_tables(stats: dict[str, Any], title: str) -> None:
    console = Console()
    summary = Table(title=escape(title), show_header=False)
    summary.add_row("examples", str(stats["examples"]))
    summary.add_row("unlabelled", str(stats["unlabelled"]))
    summary.add_row("negative label", str(stats["negative_label"]))
    summary.add_row("negative share", f"{100 * stats['negative_share']:.1f}%")
    for key in ("token_length", "wordpiece_length"):
        if stats.get(key):
            summary.add_row(key.replace("_", " "), ", ".join(f"{k} {v}" for k, v in stats[key].items()))
    console.print(summary)
    labelled = max(stats["examples"] - stats["unlabelled"], 1)
    labels = Table(title="labels")
    labels.add_column("label")
    labels.add_column("count", justify="right")
    labels.add_column("share", justify="right")
    for label, count in stats["labels"].items():
        labels.add_row(escape(label), str(count), f"{100 * count / labelled:.1f}%")
    console.print(labels)
    if "entity_type_pairs" in stats:
        pairs = Table(title="entity-type pairs per relation (top 5)")
        pairs.add_column("relation")
        pairs.add_column("head-tail types (count)")
        for label, counts in stats["entity_type_pairs"].items():
            pairs.add_row(escape(label), escape(", ".join(f"{k} ({v})" for k, v in list(counts.items())[:5])))
        console.print(pairs)
