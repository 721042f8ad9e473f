"""``relenc extract IN OUT --model DIR``: raw text in, triples with character offsets out."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from relenc.cli import app
from relenc.nlp import DEFAULT_SPACY_MODEL


@app.command("extract")
def extract_command(
    source: Annotated[Path, typer.Argument(help="Text (one document per line) or JSONL ({id, text, entities?}).")],
    output: Annotated[Path, typer.Argument(help="JSONL out: one line per document with its relations.")],
    model: Annotated[str, typer.Option("--model", "-m", help="A trained model (or run) directory.")],
    candidates: Annotated[
        str, typer.Option(help="entities (spaCy NER) or noun_chunks (heads of noun chunks, SemEval-style).")
    ] = "entities",
    threshold: Annotated[float, typer.Option(help="Positive predictions below this count as no relation.")] = 0.5,
    max_distance: Annotated[int, typer.Option(help="Largest token distance between head and tail.")] = 40,
    spacy_model: Annotated[str, typer.Option(help="spaCy pipeline for sentences and NER.")] = DEFAULT_SPACY_MODEL,
    chunk: Annotated[int, typer.Option(help="Documents classified together.")] = 32,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
    compile_model: Annotated[
        bool, typer.Option("--compile", help="torch.compile the model first: 20-50% faster after ~30 s; long jobs.")
    ] = False,
    engine: Annotated[str, typer.Option(help="local (this process) or ray (Ray Data workers; relenc[ray]).")] = "local",
    workers: Annotated[
        int | None, typer.Option(help="Ray workers, one model each (default: one per CPU of the Ray cluster).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster this machine belongs to (auto, host:6379); default: start one here.")
    ] = None,
) -> None:
    """Extract triples from documents; rerunning skips documents already in OUT."""
    from relenc.errors import RelencError
    from relenc.pipeline.batch import extract_file
    from relenc.pipeline.extract import ExtractionConfig, load_pipeline

    if candidates not in ("entities", "noun_chunks"):
        raise RelencError(f"--candidates must be entities or noun_chunks, got {candidates!r}")
    if engine not in ("local", "ray"):
        raise RelencError(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and (workers is not None or ray_address is not None):
        raise RelencError("--workers and --ray-address need --engine ray")
    config = ExtractionConfig(
        candidates=candidates,  # type: ignore[arg-type]
        threshold=threshold,
        max_distance=max_distance,
        spacy_model=spacy_model,
        compile=compile_model,
    )
    if engine == "ray":
        from relenc.pipeline.ray_backend import extract_file_ray

        stats = extract_file_ray(
            model, source, output, config, chunk=chunk, progress=progress, workers=workers, address=ray_address
        )
    else:
        stats = extract_file(load_pipeline(model, config), source, output, chunk=chunk, progress=progress)
    print(json.dumps(asdict(stats)))
    Console(stderr=True).print(f"wrote {stats.documents} documents ({stats.skipped} already done) to {output}")
