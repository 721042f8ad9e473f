"""``relenc extract IN OUT --model DIR``: raw text in, triples with character offsets out.

The files, resuming and refusals are :mod:`relenc.pipeline.batch`'s; this module only parses the options.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from relenc.cli import app, check_output
from relenc.nlp import DEFAULT_SPACY_MODEL

if TYPE_CHECKING:
    from relenc.pipeline.batch import BatchStats
    from relenc.pipeline.extract import ExtractionConfig


@app.command("extract")
def extract_command(
    source: Annotated[Path, typer.Argument(help="Text (one document per line) or JSONL ({id, text, entities?}).")],
    output: Annotated[
        Path, typer.Argument(help="JSONL out: one line per document with its relations, written when the job ends.")
    ],
    model: Annotated[str, typer.Option("--model", "-m", help="A trained model (or run) directory.")],
    candidates: Annotated[
        str,
        typer.Option(
            help="entities (the model's own entity recognizer if it has one, else spaCy NER) or noun_chunks "
            "(heads of noun chunks, SemEval-style)."
        ),
    ] = "entities",
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Positive predictions below this count as no relation (default: the model's tuned one, or 0.5)."
        ),
    ] = None,
    type_constraints: Annotated[
        bool,
        typer.Option(help="Allow each relation only between the entity types it linked in training (if stored)."),
    ] = True,
    max_distance: Annotated[int, typer.Option(help="Largest token distance between head and tail.")] = 40,
    type_map: Annotated[
        str | None,
        typer.Option(
            help="Rename spaCy's entity labels to the model's types, e.g. PERSON=Peop,ORG=Org,GPE=Loc (models "
            "without their own recognizer)."
        ),
    ] = None,
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
    overwrite: Annotated[
        bool,
        typer.Option(
            help="Replace an OUT this job did not write (another file, or the output of another input, model or "
            "settings), once the new output is complete."
        ),
    ] = False,
) -> None:
    """Extract triples from documents; rerunning the same job goes on where it stopped (after a crash too)."""
    from relenc.errors import RelencError
    from relenc.pipeline.extract import ExtractionConfig

    if candidates not in ("entities", "noun_chunks"):
        raise RelencError(f"--candidates must be entities or noun_chunks, got {candidates!r}")
    if engine not in ("local", "ray"):
        raise RelencError(f"--engine must be local or ray, got {engine!r}")
    if engine == "local" and (workers is not None or ray_address is not None):
        raise RelencError("--workers and --ray-address need --engine ray")
    check_output(output)  # a directory or an unwritable place is refused now, not when the first chunk is done
    config = ExtractionConfig(
        candidates=candidates,  # type: ignore[arg-type]
        threshold=threshold,
        type_constraints=type_constraints,
        max_distance=max_distance,
        type_map=parse_type_map(type_map),
        spacy_model=spacy_model,
        compile=compile_model,
    )
    stats = _run(engine, model, source, output, config, chunk, progress, overwrite, workers, ray_address)
    print(json.dumps(asdict(stats)))
    Console(stderr=True).print(f"wrote {stats.documents} documents ({stats.skipped} already done) to {output}")


def _run(
    engine: str,
    model: str,
    source: Path,
    output: Path,
    config: ExtractionConfig,
    chunk: int,
    progress: bool,
    overwrite: bool,
    workers: int | None,
    ray_address: str | None,
) -> BatchStats:
    """The job on the chosen engine; both record the same job settings, so either can resume the other's output."""
    if engine == "ray":
        from relenc.pipeline.ray_backend import extract_file_ray

        return extract_file_ray(
            model,
            source,
            output,
            config,
            chunk=chunk,
            progress=progress,
            workers=workers,
            address=ray_address,
            overwrite=overwrite,
        )
    from relenc.pipeline.batch import extract_file, job_settings
    from relenc.pipeline.extract import load_pipeline

    load = functools.partial(load_pipeline, model, config)  # called once OUT is known to be writable
    job = job_settings(model, config)
    return extract_file(load, source, output, chunk=chunk, progress=progress, overwrite=overwrite, job=job)


def parse_type_map(text: str | None) -> dict[str, str]:
    """``PERSON=Peop,GPE=Loc`` as a dict; a malformed entry is a RelencError that shows it."""
    from relenc.errors import RelencError

    mapping: dict[str, str] = {}
    for entry in (text or "").split(","):
        if not entry.strip():
            continue
        label, sep, target = (part.strip() for part in entry.partition("="))
        if not sep or not label or not target:
            raise RelencError(f"--type-map: {entry.strip()!r} is not LABEL=TYPE (e.g. PERSON=Peop,GPE=Loc)")
        mapping[label] = target
    return mapping
