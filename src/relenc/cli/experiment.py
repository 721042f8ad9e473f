"""``relenc experiment CONFIG``: run a grid of training runs (resumable), then summarise it. Thin: the work is in
:mod:`relenc.experiments`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from relenc.cli import app
from relenc.errors import RelencError

if TYPE_CHECKING:
    from relenc.experiments.grid import GridPlan, Run


@app.command("experiment")
def experiment_command(
    config: Annotated[Path, typer.Argument(help="Grid file (YAML), e.g. configs/experiment-paper.yaml.")],
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Only runs whose id matches PATTERN (a glob such as '*-hybrid-*', or else a substring such as "
            "kbp37), and the runs they need. Repeatable.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the runs and which are done; train nothing.")
    ] = False,
    summarize_only: Annotated[
        bool, typer.Option("--summarize-only", help="Train nothing; rebuild results.jsonl and the summary.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data files are relative to it (default: the file's data_dir, $RELENC_DATA_DIR)."),
    ] = None,
    results_dir: Annotated[
        Path | None, typer.Option(help="Records and summary (default: benchmarks/results/grid/NAME).")
    ] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Trained models (default: runs/experiments/NAME).")] = None,
    progress: Annotated[bool, typer.Option(help="Show training progress bars.")] = True,
) -> None:
    """Train every run of a grid that is not done yet, record each, and summarise them (mean ± std over seeds)."""
    from relenc.experiments import default_results_dir, default_runs_dir, load_grid, plan_grid, resolve_data_dir

    if dry_run and summarize_only:
        raise RelencError("--dry-run and --summarize-only exclude each other")
    grid = load_grid(config)
    plan = plan_grid(grid, config, resolve_data_dir(data_dir, grid, config))
    results_path = results_dir or default_results_dir(plan.name)
    runs_path = runs_dir or default_runs_dir(plan.name)
    selected = plan.select(only or [])
    if dry_run:
        _show_plan(plan, selected, results_path, runs_path)
    else:
        _run_and_summarize(plan, selected, results_path, runs_path, train=not summarize_only, progress=progress)


def _show_plan(plan: GridPlan, selected: list[Run], results_path: Path, runs_path: Path) -> None:
    """``--dry-run``: each selected run's status, and a warning for missing data files before anyone waits."""
    from relenc.experiments import collect
    from relenc.experiments.summary import status_table

    console, err = Console(), Console(stderr=True)
    results = collect(plan, results_path)
    console.print(status_table(plan, selected, results))
    counts = Counter(results.statuses[run.id] for run in selected)
    console.print(
        f"{counts['done']} done, {counts['failed']} failed, {counts['stale']} stale, {counts['todo']} not run; "
        f"records in {results_path}, models in {runs_path}"
    )
    missing = plan.missing_files(run for run in selected if results.statuses[run.id] != "done")
    if missing:
        err.print(f"[yellow]warning[/yellow]: data files not found: {', '.join(map(str, missing))}")


def _run_and_summarize(
    plan: GridPlan, selected: list[Run], results_path: Path, runs_path: Path, *, train: bool, progress: bool
) -> None:
    """Run what is not done (unless ``train`` is off), then rebuild the summary from every record of the grid;
    a failed run makes the exit status non-zero once the summary is written."""
    from relenc.experiments import collect, write_results
    from relenc.experiments.summary import summary_table

    console, err = Console(), Console(stderr=True)
    failed: dict[str, str] = {}
    if train:
        from relenc.experiments.runner import run_grid

        outcome = run_grid(plan, selected, results_path, runs_path, progress=progress)
        failed = outcome.failed
        err.print(
            f"{len(outcome.skipped)} runs were done already, {len(outcome.finished)} finished now, {len(failed)} failed"
        )
    results = collect(plan, results_path)
    title = f"grid {plan.name}: test scores, mean ± std over seeds"
    paths = write_results(results, results_path, title)
    console.print(summary_table(results.rows, title))
    err.print("wrote " + ", ".join(str(p) for p in paths))
    if failed:
        for run_id, error in failed.items():
            err.print(f"failed {run_id}: {error}", markup=False, highlight=False)
        # the command's exit status tells scripts that the grid is incomplete; the records hold the errors
        raise RelencError(f"{len(failed)} of {len(selected)} runs failed: {', '.join(failed)}")
