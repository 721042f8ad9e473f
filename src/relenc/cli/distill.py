"""``relenc distill``: train a student on a teacher's soft labels. Thin: the options are ``relenc train``'s, the run
is :func:`relenc.training.run.train_run` with a ``distill`` section (:mod:`relenc.training.distill`)."""

from __future__ import annotations

from typing import Annotated

import typer

from relenc.cli import app, check_output
from relenc.cli.train import (
    BatchSize,
    ConfigFile,
    DataFormat,
    DevFile,
    DevFraction,
    Encoder,
    EntityEncoder,
    Epochs,
    FreezeEntity,
    FreezeRelation,
    LearningRate,
    MaxSteps,
    MaxTrainExamples,
    MlmWeight,
    Overwrite,
    PrecisionOpt,
    Resume,
    RunOutput,
    Seed,
    ShowProgress,
    StrategyOpt,
    TrainFile,
    print_done,
    run_flags,
)


@app.command("distill")
def distill_command(
    output: RunOutput,
    teacher: Annotated[
        str | None,
        typer.Option(
            help="The teacher: a trained relenc model (or run) directory whose labels are the data's. Default: "
            "distill.teacher of --config."
        ),
    ] = None,
    train: TrainFile = None,
    dev: DevFile = None,
    dev_fraction: DevFraction = None,
    fmt: DataFormat = None,
    temperature: Annotated[
        float | None, typer.Option(help="Temperature T of both models' softmax (default 2.0).")
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(help="Weight of the distillation term; 1 - alpha weighs the gold cross-entropy (default 0.5)."),
    ] = None,
    unlabelled: Annotated[
        str | None,
        typer.Option(
            help="Mined pairs (a relenc mine-pairs directory or a JSONL file of 'a'/'b' records): their sentences "
            "train on the teacher's soft labels alone."
        ),
    ] = None,
    max_unlabelled: Annotated[
        int | None, typer.Option(help="Read the first N pairs of --unlabelled and keep at most N distinct sentences.")
    ] = None,
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
    """Train a student on a teacher's soft labels (knowledge distillation); the best model on dev is saved to
    OUTPUT/model.

    The loss is alpha * T^2 * KL(teacher || student, both at temperature T) + (1 - alpha) * cross-entropy on the gold
    label; --unlabelled sentences have the first term only. The teacher runs once, before training, and its logits
    are kept in OUTPUT/teacher_logits.safetensors, so --resume does not run it again. The student is minilm with the
    teacher's strategy and input settings, unless flags or --config say otherwise.

    OUTPUT must hold no run, unless --resume continues the run in it or --overwrite replaces it.
    """
    from relenc.training.config import RunConfig
    from relenc.training.distill import student_config
    from relenc.training.run import train_run

    flags = run_flags(locals())
    check_output(output, directory=True)
    base = RunConfig.from_yaml(config) if config is not None else RunConfig()
    distill = {
        "teacher": teacher,
        "temperature": temperature,
        "alpha": alpha,
        "unlabelled": unlabelled,
        "max_unlabelled": max_unlabelled,
    }
    run_config = student_config(base, flags, distill)
    print_done(train_run(run_config, output, resume=resume, progress=progress, overwrite=overwrite), output)
