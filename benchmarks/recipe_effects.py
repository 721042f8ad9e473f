"""What each recipe feature buys: grid cells against a baseline cell, seed by seed, from the grids' records.

    python benchmarks/recipe_effects.py benchmarks/results/grid/recipe \\
        --baseline benchmarks/results/grid/paper/semeval-minilm-ht --dataset semeval

Every cell of the records directory (run ids without the seed) on the dataset is compared with the baseline cell
(DIR/CELL: the records directory it is in and its run id without the seed). A run trained with seed s is paired with
the baseline's run of seed s: the two share their data order, initialisation of the head and dev split, so the
paired difference removes the seed's own luck, and its std says more than the two cells' stds side by side.
Prints a table (means over the seeds both have, ± sample std) and writes JSON. Nothing is run again.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.experiments.records import RunRecord, load_records
from relenc.io import write_text_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=Path, help="A grid's records directory (the features).")
    parser.add_argument("--baseline", type=Path, required=True, help="DIR/CELL: the baseline cell's records.")
    parser.add_argument("--dataset", required=True, help="Only cells of this dataset.")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    baseline = _cells(args.baseline.parent, args.dataset).get(args.baseline.name)
    if not baseline:
        parser.error(f"no finished run of the cell {args.baseline.name} in {args.baseline.parent}")
    rows = [_row(name, runs, baseline) for name, runs in sorted(_cells(args.records, args.dataset).items())]
    rows = [row for row in rows if row is not None]
    rows.sort(key=lambda row: -row["delta_test_mean"])
    _print(rows, args.baseline.name)
    out = args.output or Path("benchmarks/results") / f"recipe-effects-{args.dataset}.json"
    report = {"records": str(args.records), "baseline": str(args.baseline), "dataset": args.dataset, "cells": rows}
    write_text_atomic(out, json.dumps(report, indent=1) + "\n")
    Console().print(f"wrote {out}")


def _cells(directory: Path, dataset: str) -> dict[str, dict[int | str, RunRecord]]:
    """Finished runs of ``dataset`` by cell (run id without ``-sSEED``) and seed."""
    found, _not_records = load_records(directory)  # summary files beside the records are no run
    cells: dict[str, dict[int | str, RunRecord]] = {}
    for record in found:
        if record.ok and record.dataset == dataset:
            cell = record.id.removesuffix(f"-s{record.seed}")
            cells.setdefault(cell, {})[record.seed] = record
    return cells


def _mean_std(values: list[float]) -> tuple[float, float | None]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def _row(name: str, runs: dict[int | str, RunRecord], baseline: dict[int | str, RunRecord]) -> dict[str, Any] | None:
    seeds = sorted(set(runs) & set(baseline), key=str)
    if not seeds:
        return None
    test = [float(runs[s].test_f1 or 0.0) for s in seeds]
    base = [float(baseline[s].test_f1 or 0.0) for s in seeds]
    dev = [runs[s].dev_f1 for s in seeds]
    base_dev = [baseline[s].dev_f1 for s in seeds]
    test_mean, test_std = _mean_std(test)
    delta_mean, delta_std = _mean_std([a - b for a, b in zip(test, base, strict=True)])
    first = runs[seeds[0]]
    row: dict[str, Any] = {
        "cell": name,
        "variant": f"{first.encoder} {first.strategy}" + (f" ({first.tag})" if first.tag else ""),
        "seeds": seeds,
        "test_f1": test,
        "test_mean": test_mean,
        "test_std": test_std,
        "baseline_test_mean": statistics.mean(base),
        "delta_test_mean": delta_mean,
        "delta_test_std": delta_std,
        "train_seconds_mean": statistics.mean(float(runs[s].train_seconds or 0.0) for s in seeds),
    }
    if None not in dev and None not in base_dev:
        row["dev_mean"] = statistics.mean(float(d or 0.0) for d in dev)
        pairs = zip(dev, base_dev, strict=True)
        row["delta_dev_mean"] = statistics.mean(float(a or 0.0) - float(b or 0.0) for a, b in pairs)
    return row


def _num(value: float | None, sign: bool = False) -> str:
    return "-" if value is None else (f"{value:+.2f}" if sign else f"{value:.2f}")


def _print(rows: list[dict[str, Any]], baseline: str) -> None:
    table = Table(title=f"against {baseline}, paired by seed")
    for column in ("variant", "seeds", "test F1", "std", "Δ test", "Δ std", "Δ dev", "train s"):
        table.add_column(column, justify="left" if column == "variant" else "right", no_wrap=column == "variant")
    for row in rows:
        table.add_row(
            row["variant"],
            str(len(row["seeds"])),
            _num(row["test_mean"]),
            _num(row["test_std"]),
            _num(row["delta_test_mean"], sign=True),
            _num(row["delta_test_std"]),
            _num(row.get("delta_dev_mean"), sign=True),
            f"{row['train_seconds_mean']:.0f}",
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
