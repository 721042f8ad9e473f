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
    workers: Annotated[
        int | None,
        typer.Option(
            help="Mining processes (default: one per CPU); with --engine ray, chunks mined at a time (default: one "
            "per CPU of the Ray cluster)."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="process (spawned processes on this machine) or ray (Ray tasks, for a cluster; needs the ray "
            "extra). Both write the same shards, and either resumes the other's run."
        ),
    ] = "process",
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster this machine belongs to (auto, host:6379); default: start one here.")
    ] = None,
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
    types: Annotated[
        str | None,
        typer.Option(help="spaCy entity types that are entities, comma-separated; default: PERSON,ORG,GPE,LOC,FAC."),
    ] = None,
    max_entity_distance: Annotated[
        int, typer.Option(help="Most words between head and tail in a relation pair's sentences (-1: any).")
    ] = 15,
    drop_lists: Annotated[
        bool, typer.Option(help="Drop a relation example whose head and tail are items of one list ('A, B and C').")
    ] = True,
    drop_fragments: Annotated[
        bool,
        typer.Option(
            help="Drop a relation example whose head or tail is a piece of a longer name ('St.' of 'St. James "
            "Seminary', 'Highway' of 'Highway 2'). Off by default: it did not raise the precision of labelled samples."
        ),
    ] = False,
    arguments: Annotated[
        str,
        typer.Option(
            help="Mentions that may be a relation pair's head or tail: all (but possessive pronouns), names (no "
            "pronouns) or full-names (the chain's full name only). Every mention still links its chain."
        ),
    ] = "all",
    near_duplicate: Annotated[
        float,
        typer.Option(help="Drop two sentences sharing this fraction of their words (Jaccard; above 1: keep all)."),
    ] = 0.8,
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
    from relenc.pretraining.mining import ENGINES, MiningJob, mine_corpus
    from relenc.pretraining.pairs import ARGUMENTS, DEFAULT_TYPES, KINDS, MiningSettings

    if input_format not in INPUT_FORMATS:
        raise RelencError(f"--input-format must be one of {', '.join(INPUT_FORMATS)}, got {input_format!r}")
    if kind not in KINDS:
        raise RelencError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if arguments not in ARGUMENTS:
        raise RelencError(f"--arguments must be one of {', '.join(ARGUMENTS)}, got {arguments!r}")
    if max_hard_negatives < 0:
        raise RelencError(f"--max-hard-negatives must be at least 0, got {max_hard_negatives}")
    if engine not in ENGINES:
        raise RelencError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine != "ray" and ray_address is not None:
        raise RelencError("--ray-address needs --engine ray")
    if near_duplicate <= 0:
        raise RelencError(f"--near-duplicate must be above 0, got {near_duplicate}")
    if max_entity_distance < -1:
        raise RelencError(f"--max-entity-distance must be -1 (any) or at least 0, got {max_entity_distance}")
    entity_types = _entity_types(types) if types is not None else DEFAULT_TYPES
    check_output(output, directory=True)
    settings = MiningSettings(
        spacy_model,
        types=entity_types,
        max_entity_distance=None if max_entity_distance == -1 else max_entity_distance,
        near_duplicate=near_duplicate,
        drop_lists=drop_lists,
        drop_fragments=drop_fragments,
        arguments=arguments,
        require_agreement=require_agreement,
        max_pairs_per_entity_pair=max_pairs_per_entity_pair,
        max_hard_negatives=max_hard_negatives,
        kind=kind,
    )
    job = MiningJob(tuple(sources), input_format, settings, shard_size, max_documents)
    manifest = mine_corpus(
        job,
        output,
        workers=workers,
        overwrite=overwrite,
        progress=progress,
        count=count,
        engine=engine,
        ray_address=ray_address,
    )
    _report_mining(manifest, output)


def _entity_types(text: str) -> frozenset[str]:
    """``--types`` as a set of spaCy labels: upper case, comma-separated, at least one."""
    from relenc.errors import RelencError

    found = frozenset(t.strip().upper() for t in text.split(",") if t.strip())
    if not found:
        raise RelencError(f"--types needs at least one spaCy entity label (e.g. PERSON,ORG), got {text!r}")
    return found


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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="YAML pre-training config (its keys are the options' names with _); flags given override it. "
            "Relative paths in it are from the working directory.",
        ),
    ] = None,
    pairs: Annotated[str | None, typer.Option(help="Mined pairs (self-supervised).")] = None,
    labelled: Annotated[str | None, typer.Option(help="Labelled data (supervised contrastive).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="Format of --labelled (default: jsonl).")] = None,
    encoder: Annotated[str | None, typer.Option(help="Encoder to start from (default: minilm).")] = None,
    variant: Annotated[str | None, typer.Option(help="What is contrasted: m, ht, both, htm or h (default: m).")] = None,
    negatives: Annotated[
        str | None, typer.Option(help="Supervised: the negative class is 'class' or 'exclude' (default: exclude).")
    ] = None,
    epochs: Annotated[float | None, typer.Option(help="Epochs (default: 1).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after N steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Pairs (or sentences) per batch (default: 32).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: 2e-5).")] = None,
    temperature: Annotated[float | None, typer.Option(help="InfoNCE temperature (default: 0.07).")] = None,
    max_examples: Annotated[int | None, typer.Option(help="Use only the first N pairs or sentences.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto, bf16 or fp32 (default: auto).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: 13).")] = None,
    blank_probability: Annotated[
        float | None,
        typer.Option(help="Chance that a head or tail is replaced by [BLANK] at each step (0: never) (default: 0.7)."),
    ] = None,
    hard_negatives: Annotated[
        int | None, typer.Option(help="Mined hard negatives per pair used in the loss (default: 1).")
    ] = None,
    chunk_size: Annotated[
        int | None,
        typer.Option(help="Gradient caching: encode N sentences at a time, for large batches in little memory."),
    ] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Save a checkpoint every N steps.")] = None,
    probe: Annotated[
        str | None,
        typer.Option(
            help="A FewRel JSON file: 5-way 1-shot accuracy of the encoder at step 0, every --probe-every steps and "
            "at the end, shown and logged to OUTPUT/pretrain_log.jsonl."
        ),
    ] = None,
    probe_every: Annotated[int | None, typer.Option(help="Probe every N steps (needs --probe).")] = None,
    probe_episodes: Annotated[
        int | None, typer.Option(help="Episodes per probe, the same each time (default: 200).")
    ] = None,
    resume: Annotated[bool, typer.Option(help="Go on from the checkpoint in --output.")] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Contrastive (InfoNCE) pre-training; the encoder directory is what `relenc train --encoder DIR` takes."""
    from relenc.pretraining.pretrain import PretrainConfig, pretrain

    check_output(output, directory=True)
    base = PretrainConfig.from_yaml(config) if config is not None else PretrainConfig()
    cfg = base.override(
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
        probe=probe,
        probe_every=probe_every,
        probe_episodes=probe_episodes,
    )
    results = pretrain(cfg, output, progress=progress, resume=resume)
    print(json.dumps(results))
