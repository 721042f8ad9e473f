"""Every trial of a ``relenc tune`` search: its settings, its dev F1 after each evaluation, how it ended.

    python benchmarks/tune_report.py runs/tune-semeval --output benchmarks/results/tune-semeval.json

``relenc tune`` prints only the best trial; the docs need the whole search, to say what it tried, which region of the
space did well and what pruning cut. Reads the search's Optuna study (``study.sqlite3``) and nothing else: the
trials' settings and dev F1 per evaluation are what the search saw. Prints a table (trials by their dev F1) and
writes JSON. Nothing is trained.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import optuna
from rich.console import Console
from rich.table import Table

from relenc.io import write_text_atomic
from relenc.training.tune import STUDY_FILE, STUDY_NAME


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("search", type=Path, help="A search directory written by relenc tune.")
    parser.add_argument("--output", type=Path, default=None, help="JSON (default benchmarks/results/SEARCH.json).")
    args = parser.parse_args()
    study_file = args.search / STUDY_FILE
    if not study_file.is_file():
        parser.error(f"{study_file}: no such file; give a directory written by relenc tune")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{study_file}")
    rows = [_row(trial) for trial in study.trials]
    rows.sort(key=lambda row: -(row["dev_f1"] if row["dev_f1"] is not None else -1.0))
    _print(rows, args.search)
    out = args.output or Path("benchmarks/results") / f"{args.search.name}.json"
    write_text_atomic(out, json.dumps({"search": str(args.search), "trials": rows}, indent=1) + "\n")
    Console().print(f"wrote {out}")


def _row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One trial: its number, state, settings, dev F1 per evaluation and best dev F1 (None if it never evaluated)."""
    curve = [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)]
    best = trial.value if trial.value is not None else (max(curve) if curve else None)
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else None
    return {
        "trial": trial.number,
        "state": trial.state.name,
        "params": trial.params,
        "dev_curve": curve,
        "dev_f1": best,
        "seconds": seconds,
    }


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _print(rows: list[dict[str, Any]], search: Path) -> None:
    names = sorted({name for row in rows for name in row["params"]})
    table = Table(title=f"{search}: {len(rows)} trials, by best dev F1")
    for column in ("trial", "state", *map(_short, names), "dev F1 per evaluation", "best", "minutes"):
        table.add_column(column, justify="left" if column in ("state", "dev F1 per evaluation") else "right")
    for row in rows:
        table.add_row(
            str(row["trial"]),
            row["state"].lower(),
            *(_value(row["params"].get(name, "-")) for name in names),
            " ".join(f"{f1:.1f}" for f1 in row["dev_curve"]),
            "-" if row["dev_f1"] is None else f"{row['dev_f1']:.2f}",
            "-" if row["seconds"] is None else f"{row['seconds'] / 60:.1f}",
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
