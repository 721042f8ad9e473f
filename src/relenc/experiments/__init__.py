"""Experiment grids: many training runs from one YAML file, resumable, each recorded, then summarised.

- :mod:`.grid`: the YAML schema (:class:`GridConfig`, its strategy :class:`Variant` s) and its expansion into runs
  with stable ids (:class:`GridPlan`).
- :mod:`.records`: :class:`RunRecord`, the one JSON record per run, read by everything that reads results, and
  whether a run is done.
- :mod:`.summary`: the one aggregation of records over seeds (:func:`summarize`: mean, and sample std or None for a
  single seed), written as ``results.jsonl``, Markdown, CSV and a rich table.
- :mod:`.runner`: training and testing the runs (not imported here because it needs torch).

``relenc experiment CONFIG`` is the command; ``configs/experiment-*.yaml`` are examples.

Imports: relenc.data, relenc.training, relenc.evaluation and relenc.models (its strategy table; the runner also the
extractor); never relenc.analysis (which reads these records) and never the CLI.
"""

from relenc.experiments.grid import (
    BUILTIN_VARIANTS,
    GridConfig,
    GridPlan,
    Run,
    Variant,
    default_results_dir,
    default_runs_dir,
    load_grid,
    plan_grid,
    resolve_data_dir,
)
from relenc.experiments.records import RecordError, RunRecord, load_records, read_record, run_status
from relenc.experiments.summary import GridResults, Stat, SummaryRow, collect, summarize, write_results

__all__ = [
    "BUILTIN_VARIANTS",
    "GridConfig",
    "GridPlan",
    "GridResults",
    "RecordError",
    "Run",
    "RunRecord",
    "Stat",
    "SummaryRow",
    "Variant",
    "collect",
    "default_results_dir",
    "default_runs_dir",
    "load_grid",
    "load_records",
    "plan_grid",
    "read_record",
    "resolve_data_dir",
    "run_status",
    "summarize",
    "write_results",
]
