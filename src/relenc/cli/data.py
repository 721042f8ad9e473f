"""``relenc data stats`` and ``relenc data convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from relenc.cli import app

data_app = typer.Typer(help="Look at and convert datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("stats")
def stats_command(
    path: Annotated[str, typer.Argument(help="A data file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="tacred, semeval, kbp37, fewrel or jsonl.")],
    encoder: Annotated[
        str | None, typer.Option(help="Also count word pieces with this encoder's tokenizer (e.g. minilm).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Counts, label distribution, negative share, lengths and entity-type pairs of a data file."""
    from relenc.data.readers import read_dataset
    from relenc.data.stats import dataset_stats

    examples = read_dataset(path, fmt)
    tokenizer = None
    if encoder is not None:
        from transformers import AutoTokenizer

        from relenc.models.extractor import encoder_dir

        tokenizer = AutoTokenizer.from_pretrained(encoder_dir(encoder))
    stats = dataset_stats(examples, tokenizer)
    if as_json:
        print(json.dumps(stats))
        return
    console = Console()
    summary = Table(title=f"{path} ({fmt})", show_header=False)
    summary.add_row("examples", str(stats["examples"]))
    summary.add_row("negative label", str(stats["negative_label"]))
    summary.add_row("negative share", f"{100 * stats['negative_share']:.1f}%")
    for key in ("token_length", "wordpiece_length"):
        if key in stats:
            summary.add_row(key.replace("_", " "), ", ".join(f"{k} {v}" for k, v in stats[key].items()))
    console.print(summary)
    labels = Table(title="labels")
    labels.add_column("label")
    labels.add_column("count", justify="right")
    labels.add_column("share", justify="right")
    for label, count in stats["labels"].items():
        labels.add_row(label, str(count), f"{100 * count / max(stats['examples'], 1):.1f}%")
    console.print(labels)
    if "entity_type_pairs" in stats:
        pairs = Table(title="entity-type pairs per relation")
        pairs.add_column("relation")
        pairs.add_column("head-tail types (count)")
        for label, counts in stats["entity_type_pairs"].items():
            pairs.add_row(label, ", ".join(f"{k} ({v})" for k, v in list(counts.items())[:5]))
        console.print(pairs)


@data_app.command("convert")
def convert_command(
    source: Annotated[str, typer.Argument(help="Input data file.")],
    target: Annotated[Path, typer.Argument(help="Output file (generic JSONL).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of the input.")],
) -> None:
    """Convert any supported format to relenc's generic JSONL (written atomically)."""
    from relenc.data.readers import read_dataset
    from relenc.data.readers.jsonl import write_jsonl

    count = write_jsonl(read_dataset(source, fmt), target)
    Console(stderr=True).print(f"wrote {count} examples to {target}")
