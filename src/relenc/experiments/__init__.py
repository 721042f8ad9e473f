"""Experiment grids: many training runs from one YAML file, resumable, each recorded, then summarised.

- :mod:`.grid`: the YAML schema (:class:`GridConfig`) and its expansion into runs with stable ids (:class:`GridPlan`).
- :mod:`.records`: one JSON record per run, and whether a run is done.
- :mod:`.summary`: ``results.jsonl`` and mean ± std over seeds as Markdown, CSV and a rich table.
- :mod:`.runner`: training and testing the runs (not imported here because it needs torch).

``relenc experiment CONFIG`` is the command; ``configs/experiment-*.yaml`` are examples.
"""

from relenc.experiments.grid import (
    BUILTIN_STRATEGIES,
    GridConfig,
    GridPlan,
    Run,
    default_results_dir,
    default_runs_dir,
    load_grid,
    plan_grid,
    resolve_data_dir,
)
from relenc.experiments.records import read_record, run_status
from relenc.experiments.summary import GridResults, SummaryRow, collect, write_results

__all__ = [
    "BUILTIN_STRATEGIES",
    "GridConfig",
    "GridPlan",
    "GridResults",
    "Run",
    "SummaryRow",
    "collect",
    "default_results_dir",
    "default_runs_dir",
    "load_grid",
    "plan_grid",
    "read_record",
    "resolve_data_dir",
    "run_status",
    "write_results",
]
