"""``relenc tune``: a hyperparameter search over training runs (Optuna, resumable). Thin: the work is in
:mod:`relenc.training.tune`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from relenc.cli import app, check_output

if TYPE_CHECKING:
    from relenc.training.tune import TuneResult


@app.command("tune")
def tune_command(
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="Search config (YAML): base run, space, search; see configs/tune-*.yaml."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Search directory (study, trials, best.yaml).")],
    trials: Annotated[
        int, typer.Option(min=1, help="Finish this many trials (completed or pruned), those in OUTPUT included.")
    ] = 20,
    train: Annotated[str | None, typer.Option("--train", help="Training data file (overrides the config's).")] = None,
    max_train_examples: Annotated[int | None, typer.Option(help="Use only the first N training examples.")] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the search in OUTPUT (same config) until --trials have finished.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Delete the search already in OUTPUT, then start anew.")] = False,
    progress: Annotated[bool, typer.Option(help="Show training progress bars.")] = True,
) -> None:
    """Search the training hyperparameters; the best trial's run config goes to OUTPUT/best.yaml.

    OUTPUT must hold no search, unless --resume continues the one in it or --overwrite replaces it.
    """
    from relenc.training.tune import load_tune_config, tune

    check_output(output, directory=True)
    search = load_tune_config(config).override(
        **{"training.train": train, "training.max_train_examples": max_train_examples}
    )
    _print_best(tune(search, output, trials, resume=resume, overwrite=overwrite, progress=progress))


def _print_best(result: TuneResult) -> None:
    """The best trial's settings as a table, how the trials ended, and where its config and model are."""
    from relenc.training.tune import HEAD_LR_MULTIPLIER

    table = Table(title=f"best trial {result.best_trial}: dev F1 {result.best_f1:.2f}")
    table.add_column("setting")
    table.add_column("value", justify="right")
    for name, value in result.params.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    if HEAD_LR_MULTIPLIER in result.params:
        table.add_row("training.head_lr", f"{result.run.training.head_lr:.4g}")
    console = Console()
    console.print(table)
    states = result.states
    console.print(
        f"{states['COMPLETE']} completed, {states['PRUNED']} pruned, {states['FAIL']} failed; "
        f"run config {result.best_config} (relenc train --config), model {result.best_model}"
    )
