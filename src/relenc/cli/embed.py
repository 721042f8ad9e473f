"""``relenc embed SOURCE INPUT --output DIR``: relation embeddings (h, t, m) of a data file, as .npy or Parquet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from relenc.cli import FORMATS_HELP, app
from relenc.models.strategies import STRATEGY_NAMES


@app.command("embed")
def embed_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A trained model (or run) directory, or an encoder: minilm, mpnet, a `relenc pretrain` output, a "
            "Hugging Face name or directory."
        ),
    ],
    data: Annotated[str, typer.Argument(metavar="INPUT", help="A data file with head and tail marked.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory for the vectors and embeddings.json.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMATS_HELP)] = "jsonl",
    parts: Annotated[
        str | None, typer.Option(help="Comma-separated parts among h, t, m. Default: every part SOURCE gives.")
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"For an encoder: read it as {', '.join(STRATEGY_NAMES)} (the prompt is added when m is read). "
            "Default: ht_mask. A model is read as trained."
        ),
    ] = None,
    normalize: Annotated[bool, typer.Option("--normalize", help="L2-normalise every vector.")] = False,
    out_format: Annotated[str, typer.Option("--format-out", help="npy (one file per part) or parquet.")] = "npy",
    batch_size: Annotated[int, typer.Option(help="Examples per forward pass.", min=1)] = 64,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    progress: Annotated[bool, typer.Option(help="Show a progress bar (stderr).")] = True,
) -> None:
    """Write the relation embeddings of every example in INPUT to OUTPUT; print what was written as JSON."""
    from dataclasses import asdict

    from relenc.pipeline.embed import embed_file

    wanted = [p.strip() for p in parts.split(",") if p.strip()] if parts is not None else None
    info = embed_file(
        source,
        data,
        fmt,
        output,
        parts=wanted,
        strategy=strategy,
        normalize=normalize,
        out_format=out_format,
        batch_size=batch_size,
        precision=precision,
        progress=progress,
    )
    print(json.dumps({"output": str(output), **asdict(info)}))
