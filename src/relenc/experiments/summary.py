"""Aggregating run records into summary rows, and a grid's summary files: per dataset x encoder x strategy (x tag),
the mean and sample standard deviation over seeds, written as ``summary.md`` and ``summary.csv`` beside
``results.jsonl`` and shown as a rich table.

:func:`summarize` is the one aggregation of run records: the grid's summary and ``relenc analyze --records`` (its
figure and table) both use it, so they agree on every mean and on the one convention for the spread: the sample
standard deviation (n - 1) over seeds, and None, no spread at all, for a single seed.

Only records of the grid's current runs count (same id, same config hash): a record the grid file has since made
stale describes another experiment, and one of a run no longer in the grid describes none of this table's cells.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table

from relenc.experiments.grid import Cell, GridPlan, Run
from relenc.experiments.records import RunRecord, Status, read_record, run_status
from relenc.io import write_lines_atomic, write_text_atomic

RESULTS_JSONL = "results.jsonl"
SUMMARY_MD = "summary.md"
SUMMARY_CSV = "summary.csv"


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (n - 1) of one number over seeds.

    The std is None for a single value (one seed shows no spread, and an error bar or a 0.00 would claim one), and
    both are None when there is no value, or when a record lacks the number (a mean over fewer seeds than the row's
    n would be mislabelled).
    """

    mean: float | None
    std: float | None

    @classmethod
    def of(cls, values: Sequence[float | None]) -> Stat:
        known = [value for value in values if value is not None]
        if not known or len(known) < len(values):
            return cls(None, None)
        return cls(statistics.fmean(known), statistics.stdev(known) if len(known) > 1 else None)


@dataclass(frozen=True)
class SummaryRow:
    """One cell of a grid over its seeds. ``seeds`` have a finished run; ``missing`` are planned but do not (yet)."""

    dataset: str
    metric: str | None
    encoder: str
    strategy: str
    tag: str | None
    seeds: tuple[int | str, ...]
    missing: tuple[int, ...]
    precision: Stat
    recall: Stat
    f1: Stat
    dev_f1: Stat
    train_seconds: Stat

    @property
    def n(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True)
class GridResults:
    """The current records of a grid's runs (finished and failed, in plan order), each run's status, the rows."""

    records: list[RunRecord]
    statuses: dict[str, Status]
    rows: list[SummaryRow]


def collect(plan: GridPlan, results_dir: Path) -> GridResults:
    """Read the records of every run of ``plan`` and aggregate the finished ones."""
    records: list[RunRecord] = []
    finished: list[RunRecord] = []
    statuses: dict[str, Status] = {}
    for run in plan.runs:
        record = read_record(results_dir, run.id)
        statuses[run.id] = run_status(run, record)
        if record is not None and statuses[run.id] in ("done", "failed"):
            records.append(record)
            if statuses[run.id] == "done":
                finished.append(record)
    return GridResults(records, statuses, summarize(finished, plan.runs))


def summarize(records: Iterable[RunRecord], planned: Sequence[Run] = ()) -> list[SummaryRow]:
    """One row per cell (dataset, encoder, strategy, tag) over the finished records (failed ones have no scores).

    With ``planned`` (a grid's runs) the rows come in the order the grid first names each cell, every planned cell
    has a row (even before any of its runs finished), and a row names its planned seeds without a finished record;
    cells of records outside the plan, or all cells without one, follow sorted by name.
    """
    groups: dict[Cell, list[RunRecord]] = {}
    for record in records:
        if record.ok:
            groups.setdefault(record.cell, []).append(record)
    plan: dict[Cell, list[Run]] = {}
    for run in planned:
        plan.setdefault(run.cell, []).append(run)
    unplanned = sorted((cell for cell in groups if cell not in plan), key=lambda c: (*c[:3], c[3] or ""))
    return [_row(cell, groups.get(cell, []), plan.get(cell, [])) for cell in [*plan, *unplanned]]


def _row(cell: Cell, done: list[RunRecord], planned: list[Run]) -> SummaryRow:
    """A cell's statistics; its metric is the grid's for the cell, else the one its records name."""
    dataset, encoder, strategy, tag = cell
    finished = {record.id for record in done}
    metric = planned[0].metric if planned else next((r.metric for r in done if r.metric is not None), None)
    return SummaryRow(
        dataset=dataset,
        metric=metric,
        encoder=encoder,
        strategy=strategy,
        tag=tag,
        seeds=tuple(record.seed for record in done),
        missing=tuple(run.seed for run in planned if run.id not in finished),
        precision=Stat.of([r.test_precision for r in done]),
        recall=Stat.of([r.test_recall for r in done]),
        f1=Stat.of([r.test_f1 for r in done]),
        dev_f1=Stat.of([r.dev_f1 for r in done]),
        train_seconds=Stat.of([r.train_seconds for r in done]),
    )


def write_results(results: GridResults, results_dir: Path, title: str) -> list[Path]:
    """``results.jsonl`` (one record a line), ``summary.md`` and ``summary.csv``; returns their paths."""
    paths = [results_dir / RESULTS_JSONL, results_dir / SUMMARY_MD, results_dir / SUMMARY_CSV]
    write_lines_atomic(paths[0], (json.dumps(dict(record.data), ensure_ascii=False) for record in results.records))
    write_text_atomic(paths[1], markdown(results.rows, title))
    write_text_atomic(paths[2], csv_text(results.rows))
    return paths


def _num(value: float | None, digits: int = 2, empty: str = "-") -> str:
    return empty if value is None else f"{value:.{digits}f}"


def _strategy(row: SummaryRow) -> str:
    return row.strategy + (f" ({row.tag})" if row.tag else "")


def markdown(rows: Sequence[SummaryRow], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Test precision, recall and F1 in percent with the dataset's metric (`semeval`: the official macro-F1; "
        "`micro`: micro-F1 without the no-relation label): mean and sample standard deviation over the n seeds "
        "that finished. Dev F1 (the model-selection score) and training seconds are means; a hybrid's training "
        "time is its joint step only. Written by `relenc experiment`; every number comes from a record beside "
        "this file.",
        "",
        "| dataset | metric | encoder | strategy | n | test P | test R | test F1 | F1 std | dev F1 | train s "
        "| missing |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in rows:
        cells = [
            r.dataset,
            r.metric or "-",
            r.encoder,
            f"`{_strategy(r)}`",
            str(r.n),
            _num(r.precision.mean),
            _num(r.recall.mean),
            f"**{_num(r.f1.mean)}**" if r.f1.mean is not None else "-",
            _num(r.f1.std),
            _num(r.dev_f1.mean),
            _num(r.train_seconds.mean, 0),
            ", ".join(f"s{seed}" for seed in r.missing),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "dataset",
    "metric",
    "encoder",
    "strategy",
    "tag",
    "n",
    "seeds",
    "missing_seeds",
    "precision_mean",
    "precision_std",
    "recall_mean",
    "recall_std",
    "f1_mean",
    "f1_std",
    "dev_f1_mean",
    "dev_f1_std",
    "train_seconds_mean",
)


def csv_text(rows: Sequence[SummaryRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.dataset,
                r.metric or "",
                r.encoder,
                r.strategy,
                r.tag or "",
                r.n,
                " ".join(str(s) for s in r.seeds),
                " ".join(str(s) for s in r.missing),
                *(
                    _num(value, 4, "")
                    for stat in (r.precision, r.recall, r.f1, r.dev_f1)
                    for value in (stat.mean, stat.std)
                ),
                _num(r.train_seconds.mean, 1, ""),
            ]
        )
    return out.getvalue()


def summary_table(rows: Sequence[SummaryRow], title: str) -> Table:
    """The summary for a terminal: F1 with its std, P, R and dev F1 (training times are in the files)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, caption="test scores in percent, each with its dataset's metric")
    for col in ("dataset", "encoder", "strategy", "seeds", "test F1", "P", "R", "dev F1"):
        left = col in ("dataset", "encoder", "strategy")
        table.add_column(col, justify="left" if left else "right", no_wrap=left)
    for r in rows:
        f1 = _num(r.f1.mean) + (f" ± {r.f1.std:.2f}" if r.f1.std is not None else "")
        table.add_row(
            r.dataset,
            r.encoder,
            _strategy(r),
            f"{r.n}/{r.n + len(r.missing)}",
            f1,
            _num(r.precision.mean),
            _num(r.recall.mean),
            _num(r.dev_f1.mean),
        )
    return table


def status_table(plan: GridPlan, runs: Sequence[Run], results: GridResults) -> Table:
    """``--dry-run``: every selected run, whether it is done, and why it is in the plan."""
    needed_by: dict[str, list[str]] = {}
    for run in plan.runs:
        for dep in run.deps.values():
            needed_by.setdefault(dep, []).append(run.id)
    errors = {record.id: record.error for record in results.records}
    table = Table(title=f"grid {plan.name}: {len(runs)} runs")
    table.add_column("#", justify="right")
    table.add_column("run", no_wrap=True)
    table.add_column("status")
    table.add_column("note", overflow="fold")
    styles = {"done": "green", "failed": "red", "stale": "yellow", "todo": ""}
    for number, run in enumerate(runs, start=1):
        status = results.statuses[run.id]
        notes = []
        if not run.listed:
            notes.append(f"needed by {', '.join(needed_by.get(run.id, []))}")
        if status == "stale":
            notes.append("the grid file changed it: will run again")
        if status == "failed" and errors.get(run.id):
            notes.append(str(errors[run.id])[:80])
        style = styles[status]
        shown = f"[{style}]{status}[/{style}]" if style else status
        table.add_row(str(number), escape(run.id), shown, escape("; ".join(notes)))
    return table
