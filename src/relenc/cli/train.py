"""``relenc train``, ``relenc evaluate`` and ``relenc predict``: thin calls into the library."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relenc.cli import FORMATS_HELP, app, check_output
from relenc.errors import RelencError
from relenc.io import write_errors_named
from relenc.models.strategies import STRATEGIES

if TYPE_CHECKING:
    from relenc.data.example import Example
    from relenc.data.sentence import Sentence
    from relenc.models.extractor import Prediction, RelationExtractor

FormatOpt = Annotated[str, typer.Option("--format", "-f", help=FORMATS_HELP)]


FreezeEntity = Annotated[
    bool | None,
    typer.Option("--freeze-entity-encoder/--tune-entity-encoder", help="Hybrid: keep the entity encoder fixed."),
]
FreezeRelation = Annotated[
    bool | None,
    typer.Option(
        "--freeze-relation-encoder/--tune-relation-encoder",
        help="Hybrid: keep the relation encoder fixed while the joint classifier trains.",
    ),
]

Resume = Annotated[
    bool, typer.Option(help="Continue the run in OUTPUT (same config); a finished run is only reported.")
]
Overwrite = Annotated[bool, typer.Option(help="Delete the run already in OUTPUT, then train a new one.")]

# The options of a training run, shared by `relenc train` and `relenc distill`.
RunOutput = Annotated[Path, typer.Option("--output", "-o", help="Run directory (model, log, checkpoints).")]
TrainFile = Annotated[
    list[str] | None,
    typer.Option("--train", help="Training data file; give it again to train on several as one (train and dev)."),
]
DevFile = Annotated[str | None, typer.Option("--dev", help="Dev file; default: a seeded 10% of train.")]
DevFraction = Annotated[
    float | None,
    typer.Option(help="Share of train carved as dev without --dev (default 0.1); 0: a final fit, the last model."),
]
DataFormat = Annotated[str | None, typer.Option("--format", "-f", help="Data format.")]
StrategyOpt = Annotated[
    str | None,
    typer.Option(
        help=escape("; ".join(f"{s.name}: {s.description} (the paper's {s.paper_name})" for s in STRATEGIES.values()))
    ),
]
Encoder = Annotated[
    str | None, typer.Option(help="Encoder: minilm (default, offline), mpnet, a directory or a HF name.")
]
EntityEncoder = Annotated[
    str | None,
    typer.Option(help="Hybrid: entity encoder (a trained ht model dir, or any encoder). Default: train one."),
]
Epochs = Annotated[float | None, typer.Option(help="Epochs (fractions allowed).")]
MaxSteps = Annotated[int | None, typer.Option(help="Stop after N optimiser steps.")]
BatchSize = Annotated[int | None, typer.Option(help="Training batch size.")]
LearningRate = Annotated[float | None, typer.Option(help="Encoder learning rate.")]
MlmWeight = Annotated[float | None, typer.Option(help="Auxiliary masked-LM loss weight (0: off).")]
MaxTrainExamples = Annotated[int | None, typer.Option(help="Use only the first N training examples.")]
PrecisionOpt = Annotated[str | None, typer.Option(help="auto, bf16 or fp32.")]
Seed = Annotated[int | None, typer.Option(help="Random seed (of both models of an end-to-end run).")]
ConfigFile = Annotated[Path | None, typer.Option("--config", "-c", help="YAML run config; flags override it.")]
ShowProgress = Annotated[bool, typer.Option(help="Show progress bars.")]

#: What to do when a predictions or scores file cannot be written (a full disk, a read-only directory).
_WRITE_ADVICE = "choose another path or free some space"

#: Each shared option's parameter name and the run-config field it sets.
RUN_FLAGS = {
    "train": "training.train",
    "dev": "training.dev",
    "dev_fraction": "training.dev_fraction",
    "fmt": "training.format",
    "epochs": "training.epochs",
    "max_steps": "training.max_steps",
    "batch_size": "training.batch_size",
    "lr": "training.lr",
    "mlm_weight": "training.mlm_weight",
    "max_train_examples": "training.max_train_examples",
    "precision": "training.precision",
    "seed": "training.seed",
    "strategy": "model.strategy",
    "encoder": "model.encoder",
    "entity_encoder": "model.entity_encoder",
    "freeze_entity_encoder": "model.freeze_entity_encoder",
    "freeze_relation_encoder": "model.freeze_relation_encoder",
}


def run_flags(values: dict[str, Any]) -> dict[str, Any]:
    """The run-config overrides (dotted paths, None: not given) of a command's parameter ``values``, which hold
    every name of :data:`RUN_FLAGS`."""
    return {path: values[name] for name, path in RUN_FLAGS.items()}


@app.command("train")
def train_command(
    output: RunOutput,
    train: TrainFile = None,
    dev: DevFile = None,
    dev_fraction: DevFraction = None,
    fmt: DataFormat = None,
    strategy: StrategyOpt = None,
    encoder: Encoder = None,
    entity_encoder: EntityEncoder = None,
    freeze_entity_encoder: FreezeEntity = None,
    freeze_relation_encoder: FreezeRelation = None,
    epochs: Epochs = None,
    max_steps: MaxSteps = None,
    batch_size: BatchSize = None,
    lr: LearningRate = None,
    mlm_weight: MlmWeight = None,
    max_train_examples: MaxTrainExamples = None,
    precision: PrecisionOpt = None,
    seed: Seed = None,
    config: ConfigFile = None,
    resume: Resume = False,
    overwrite: Overwrite = False,
    progress: ShowProgress = True,
) -> None:
    """Train a relation extractor; the best model on dev is saved to OUTPUT/model.

    With whole sentences (--format spert: tokens, typed entities, relations) it trains the whole extractor for raw
    text: an entity recognizer, the relation classifier, and the decisions (threshold, argument types) tuned on dev.

    OUTPUT must hold no run, unless --resume continues the run in it or --overwrite replaces it.
    """
    from relenc.training.config import RunConfig
    from relenc.training.defaults import apply_recipe
    from relenc.training.run import train_run

    flags = run_flags(locals())
    check_output(output, directory=True)
    base = RunConfig.from_yaml(config) if config is not None else RunConfig()
    run_config = base.override(**apply_recipe(base, flags))  # what a plain command needs to be the best known run
    print_done(train_run(run_config, output, resume=resume, progress=progress, overwrite=overwrite), output)


def print_done(results: dict[str, Any], output: Path) -> None:
    """The run's best dev score and where its model is: for a finished run that --resume found, all it does."""
    best: dict[str, float] = results["best_dev"]
    scored = (
        f"best dev {results['metric']} F1 {best['f1']:.2f} at step {results['best_step']}"
        if best
        else f"no dev, the model after step {results['best_step']}"
    )
    Console(stderr=True).print(f"done: {scored}; model in {output / 'model'}")


@app.command("evaluate")
def evaluate_command(
    model_dir: Annotated[Path, typer.Argument(help="A model directory (or a run directory).")],
    data: Annotated[str, typer.Argument(help="Labelled data file.")],
    fmt: FormatOpt,
    metric: Annotated[str | None, typer.Option(help="semeval (official macro-F1) or micro; default by format.")] = None,
    batch_size: Annotated[int, typer.Option(help="Inference batch size.")] = 128,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    report: Annotated[bool, typer.Option(help="Add a per-relation report.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    predictions: Annotated[Path | None, typer.Option(help="Also write predictions (JSONL) here.")] = None,
) -> None:
    """Score a trained model on a labelled file (precision, recall, F1 in percent).

    A model trained end to end on sentence data (--format spert) is scored end to end: it finds the entities itself,
    and the report gives strict and boundaries relation F1 (micro and macro), entity F1, and a row per type.
    """
    from relenc.evaluation.evaluate import evaluate
    from relenc.evaluation.scorers import check_metric, default_metric

    if predictions is not None:
        check_output(predictions)
    chosen = check_metric(metric) if metric else default_metric(fmt)
    extractor, sentences, examples = _model_and_data(model_dir, data, fmt)
    if sentences is not None:
        _evaluate_end_to_end(extractor, sentences, report, as_json, predictions, f"{model_dir} on {data}")
        return
    result = evaluate(extractor, examples, chosen, batch_size, precision, source=data)
    if predictions is not None:
        _write_predictions(predictions, examples, result.predictions)
    if as_json:
        print(json.dumps(result.to_dict(report=report)))
        return
    table = Table(title=f"{model_dir} on {data} ({chosen})")
    for col in ("precision", "recall", "f1", "examples"):
        table.add_column(col, justify="right")
    table.add_row(f"{result.precision:.2f}", f"{result.recall:.2f}", f"{result.f1:.2f}", str(result.examples))
    console = Console()
    console.print(table)
    if report:
        rows = Table(title="per relation")
        for col in ("label", "precision", "recall", "f1", "support"):
            rows.add_column(col)
        for row in result.per_relation:
            rows.add_row(
                row["label"],
                f"{row['precision']:.2f}",
                f"{row['recall']:.2f}",
                f"{row['f1']:.2f}",
                str(row["support"]),
            )
        console.print(rows)


@app.command("predict")
def predict_command(
    model_dir: Annotated[Path, typer.Argument(help="A model directory (or a run directory).")],
    data: Annotated[str, typer.Argument(help="Data file (labels, if any, are ignored).")],
    fmt: FormatOpt,
    batch_size: Annotated[int, typer.Option(help="Inference batch size.")] = 128,
    precision: Annotated[str, typer.Option(help="auto, bf16 or fp32.")] = "auto",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write JSONL here, not stdout.")] = None,
    compile_model: Annotated[
        bool, typer.Option("--compile", help="torch.compile the model first: 20-50% faster after ~30 s; long jobs.")
    ] = False,
) -> None:
    """Predict a relation for every example: JSONL lines with id, label and score.

    A model trained end to end on sentence data (--format spert) predicts whole sentences: the entities it finds and
    the relations between them, written as SpERT JSON (a relation also has its score), which `relenc score` reads.
    """
    from relenc.evaluation.evaluate import encode_located
    from relenc.pipeline.sentences import spert_records

    if output is not None:
        check_output(output)
        if output.exists() and Path(data).exists() and output.samefile(data):
            raise RelencError(f"{output}: the output is the input file {data}; write the predictions elsewhere")
    extractor, sentences, examples = _model_and_data(model_dir, data, fmt)
    if compile_model:
        extractor.compile()
    if sentences is not None:
        _write_json_file(output, spert_records(_predict_sentences(extractor, sentences)))
        return
    items = encode_located(extractor, examples, data)
    preds = extractor.predict(examples, batch_size=batch_size, precision=precision, encoded=items)
    if output is not None:
        _write_predictions(output, examples, preds)
        return
    for ex, pred in zip(examples, preds, strict=True):
        sys.stdout.write(json.dumps({"id": ex.id, "label": pred.label, "score": round(pred.score, 6)}) + "\n")


def _model_and_data(
    model_dir: Path, data: str, fmt: str
) -> tuple[RelationExtractor, list[Sentence] | None, list[Example]]:
    """The data, read (and so checked) before the model loads, then the model. Whole sentences come back when an
    end-to-end model meets sentence data (``--format spert``); otherwise the pair examples (a pair model on
    sentence data gets its gold pairs)."""
    from relenc.data.readers import is_end_to_end, read_dataset, read_sentences
    from relenc.models.extractor import RelationExtractor

    sentences = read_sentences(data, fmt) if is_end_to_end(fmt) else None
    examples = read_dataset(data, fmt, allow_empty=False) if sentences is None else []
    extractor = RelationExtractor.from_pretrained(model_dir)
    if sentences is not None and extractor.recognizer is None:
        return extractor, None, read_dataset(data, fmt, allow_empty=False)
    return extractor, sentences, examples


def _write_predictions(path: Path, examples: Sequence[Example], preds: Sequence[Prediction]) -> None:
    """Write the predictions atomically (a failure leaves no file, or the old one, never a part of the new one)."""
    from relenc.evaluation.predictions import write_predictions

    rows = [{"id": ex.id, "label": p.label, "score": round(p.score, 6)} for ex, p in zip(examples, preds, strict=True)]
    with write_errors_named(path, _WRITE_ADVICE):
        write_predictions(rows, path)


def _predict_sentences(extractor: Any, sentences: Sequence[Any]) -> list[Any]:
    """The model's whole pipeline on tokenised sentences, with its own decisions."""
    from relenc.pipeline.extract import Pipeline
    from relenc.pipeline.sentences import predict_sentences

    return predict_sentences(Pipeline(extractor), sentences)


def _evaluate_end_to_end(
    extractor: Any, gold: Sequence[Any], report: bool, as_json: bool, predictions: Path | None, title: str
) -> None:
    """Predict the ``gold`` sentences end to end, score them, print the scores (and write the predictions)."""
    from relenc.evaluation.end2end import score_end2end
    from relenc.pipeline.sentences import at_threshold, spert_records

    scored = _predict_sentences(extractor, gold)
    scores = score_end2end(gold, at_threshold(scored, 0.0))
    if predictions is not None:
        _write_json_file(predictions, spert_records(scored))
    print_end_to_end(scores, title, report, as_json)


def print_end_to_end(scores: Any, title: str, report: bool, as_json: bool) -> None:
    """The end-to-end scores as one JSON object or as tables (per-type rows with ``report``)."""
    if as_json:
        print(
            json.dumps(scores.to_dict() if report else {k: v for k, v in scores.to_dict().items() if "types" not in k})
        )
        return
    table = Table(title=f"{title} (end to end)")
    for col in ("score", "precision", "recall", "f1"):
        table.add_column(col, justify="right")
    table.add_row("strict micro", *_prf(scores.strict_micro))
    table.add_row("strict macro", "", "", f"{scores.strict_macro_f1:.2f}")
    table.add_row("boundaries micro", *_prf(scores.boundaries_micro))
    table.add_row("boundaries macro", "", "", f"{scores.boundaries_macro_f1:.2f}")
    table.add_row("entities", *_prf(scores.entities))
    console = Console()
    console.print(table)
    if report:
        for name, rows in (("relation type (strict)", scores.relation_types), ("entity type", scores.entity_types)):
            typed = Table(title=f"per {name}")
            for col in ("type", "precision", "recall", "f1", "support"):
                typed.add_column(col, justify="right")
            for row in rows:
                typed.add_row(row.label, *_prf(row), str(row.support))
            console.print(typed)


def _prf(row: Any) -> tuple[str, str, str]:
    return f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}"


def _write_json_file(path: Path | None, data: Any) -> None:
    """JSON to ``path`` atomically (a file-system failure names it), or to stdout."""
    from relenc.io import write_text_atomic

    text = json.dumps(data, ensure_ascii=False)
    if path is None:
        sys.stdout.write(text + "\n")
        return
    with write_errors_named(path, _WRITE_ADVICE):
        write_text_atomic(path, text)
