"""``relenc mine-pairs`` and ``relenc pretrain``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from relenc.cli import app, check_output
from relenc.nlp import DEFAULT_SPACY_MODEL


@app.command("mine-pairs")
def mine_pairs_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders (walked in sorted order): WikiExtractor, plain text or JSONL, each also .xz, "
            ".gz or .bz2 (read as streams)."
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory of the shards and manifest.json; a rerun resumes it.")
    ],
    input_format: Annotated[
        str,
        typer.Option(
            help="auto (by suffix, else content), wiki, text (a document per blank-line-separated block) or jsonl."
        ),
    ] = "auto",
    workers: Annotated[int | None, typer.Option(help="Mining processes (default: one per CPU).")] = None,
    shard_size: Annotated[int, typer.Option(help="Documents per shard: the unit a killed run resumes from.")] = 1000,
    spacy_model: Annotated[str, typer.Option(help="spaCy pipeline for sentences and NER.")] = DEFAULT_SPACY_MODEL,
    require_agreement: Annotated[
        bool, typer.Option(help="Keep only chain links that the name rules and the pronoun rules agree on.")
    ] = False,
    max_pairs_per_entity_pair: Annotated[
        int, typer.Option(help="Cap per entity pair (per chain with --kind entity) and document.")
    ] = 10,
    max_hard_negatives: Annotated[
        int, typer.Option(help="Hard negatives kept per pair: sentences with the same head and another tail.")
    ] = 3,
    kind: Annotated[
        str,
        typer.Option(
            help="relation: sentence pairs about the same two entities; entity: two mentions of one entity chain "
            "(for an entity encoder, pre-trained with --variant h)."
        ),
    ] = "relation",
    max_documents: Annotated[int | None, typer.Option(help="Read only the first N documents.")] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Delete the shards and manifest in --output and mine afresh (needed for other inputs or settings)."
        ),
    ] = False,
    count: Annotated[
        bool, typer.Option(help="Count the documents first (one quick read) for a progress total and an ETA.")
    ] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Mine positive sentence pairs (same two entities) from raw text into shards; print the totals as JSON."""
    from relenc.errors import RelencError
    from relenc.pretraining.corpus import INPUT_FORMATS
    from relenc.pretraining.mining import MiningJob, mine_corpus
    from relenc.pretraining.pairs import KINDS, MiningSettings

    if input_format not in INPUT_FORMATS:
        raise RelencError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}, got {input_format!r}")
    if kind not in KINDS:
        raise RelencError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if max_hard_negatives < 0:
        raise RelencError(f"--max-hard-negatives must be at least 0, got {max_hard_negatives}")
    check_output(output, directory=True)
    settings = MiningSettings(
        spacy_model,
        require_agreement=require_agreement,
        max_pairs_per_entity_pair=max_pairs_per_entity_pair,
        max_hard_negatives=max_hard_negatives,
        kind=kind,
    )
    job = MiningJob(tuple(sources), input_format, settings, shard_size, max_documents)
    manifest = mine_corpus(job, output, workers=workers, overwrite=overwrite, progress=progress, count=count)
    _report_mining(manifest, output)


def _report_mining(manifest: dict[str, Any], output: Path) -> None:
    """The totals as JSON on stdout (for ``jq``), and a line for a person on stderr."""
    totals = manifest["totals"]
    print(json.dumps(totals))
    console = Console(stderr=True, soft_wrap=True)
    if skipped := manifest["job"]["skipped_files"]:
        console.print(
            f"skipped {len(skipped)} files of the folders that are not WikiExtractor, JSONL or .txt (first: "
            f"{skipped[0]}; all in {output / 'manifest.json'})"
        )
    console.print(
        f"wrote {totals['pairs']:,} pairs from {totals['documents']:,} documents to {output} "
        f"({totals['shards']} shard{'s' if totals['shards'] != 1 else ''}, {manifest['documents_per_second']} "
        "documents/s)"
    )


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
    blank_probability: Annotated[
        float, typer.Option(help="Chance that a head or tail is replaced by [BLANK] at each step (0: never).")
    ] = 0.7,
    hard_negatives: Annotated[int, typer.Option(help="Mined hard negatives per pair used in the loss.")] = 1,
    chunk_size: Annotated[
        int | None,
        typer.Option(help="Gradient caching: encode N sentences at a time, for large batches in little memory."),
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Save a checkpoint every N steps.")] = None,
    resume: Annotated[bool, typer.Option(help="Go on from the checkpoint in --output.")] = False,
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
            blank_probability=blank_probability,
            hard_negatives=hard_negatives,
            chunk_size=chunk_size,
            checkpoint_every=checkpoint_every,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RelencError(f"invalid pre-training options: {problems}") from exc
    results = pretrain(cfg, output, progress=progress, resume=resume)
    print(json.dumps(results))
