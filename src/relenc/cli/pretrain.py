"""``relenc mine-pairs`` and ``relenc pretrain``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from relenc.cli import app
from relenc.nlp import DEFAULT_SPACY_MODEL


@app.command("mine-pairs")
def mine_pairs_command(
    source: Annotated[str, typer.Argument(help="Text, JSONL or WikiExtractor file, or a folder of them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the pairs (JSONL).")],
    spacy_model: Annotated[str, typer.Option(help="spaCy pipeline for sentences and NER.")] = DEFAULT_SPACY_MODEL,
    require_agreement: Annotated[
        bool, typer.Option(help="Keep only chain links that the name rules and the pronoun rules agree on.")
    ] = False,
    max_pairs_per_entity_pair: Annotated[int, typer.Option(help="Cap per entity pair and document.")] = 10,
    max_documents: Annotated[int | None, typer.Option(help="Read only the first N documents.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Mine positive sentence pairs (same two entities) from raw text; print the statistics as JSON."""
    from relenc.pretraining.pairs import mine_pairs, read_documents

    stats = mine_pairs(
        read_documents(source),
        output,
        spacy_model=spacy_model,
        require_agreement=require_agreement,
        max_pairs_per_entity_pair=max_pairs_per_entity_pair,
        max_documents=max_documents,
        progress=progress,
    )
    print(json.dumps(stats.to_dict()))
    Console(stderr=True).print(f"wrote {stats.pairs} pairs to {output}")


@app.command("pretrain")
def pretrain_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Encoder directory to write.")],
    pairs: Annotated[str | None, typer.Option(help="Mined pairs (self-supervised).")] = None,
    labelled: Annotated[str | None, typer.Option(help="Labelled data (supervised contrastive).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of --labelled.")] = "jsonl",
    encoder: Annotated[str, typer.Option(help="Encoder to start from.")] = "minilm",
    variant: Annotated[str, typer.Option(help="m, ht, both, htm or h (what is contrasted).")] = "m",
    negatives: Annotated[str, typer.Option(help="Supervised: the negative class is 'class' or 'exclude'.")] = "exclude",
    epochs: Annotated[float, typer.Option(help="Epochs.")] = 1.0,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps.")] = None,
    batch_size: Annotated[int, typer.Option(help="Pairs (or sentences) per batch.")] = 32,
    lr: Annotated[float, typer.Option(help="Learning rate.")] = 2e-5,
    temperature: Annotated[float, typer.Option(help="InfoNCE temperature.")] = 0.07,
    max_examples: Annotated[int | None, typer.Option(help="Use only the first N pairs or sentences.")] = None,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 13,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Contrastive (InfoNCE) pre-training; the encoder directory is what `relenc train --encoder DIR` takes."""
    from pydantic import ValidationError

    from relenc.errors import RelencError
    from relenc.pretraining.pretrain import PretrainConfig, pretrain

    try:
        cfg = PretrainConfig(
            encoder=encoder,
            pairs=pairs,
            labelled=labelled,
            format=fmt,
            variant=variant,
            negatives=negatives,
            epochs=epochs,
            max_steps=max_steps,
            batch_size=batch_size,
            lr=lr,
            temperature=temperature,
            max_examples=max_examples,
            precision=precision,
            seed=seed,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RelencError(f"invalid pre-training options: {problems}") from exc
    results = pretrain(cfg, output, progress=progress)
    print(json.dumps(results))
