"""Are two cells of an experiment grid right on different test examples? Complementarity from the grid's records.

    SEMEVAL=../shared/data/semeval2010_task8/SemEval2010_task8_all_data
    python benchmarks/grid_complementarity.py benchmarks/results/grid/pretrained \\
        --data $SEMEVAL/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT \\
        --format semeval --pair semeval-minilm-ht:semeval-wikirel-mask --pair semeval-minilm-ht:semeval-wikirel-ht_mask

A hybrid can only beat its two encoders where they err on different examples. For each pair of cells (run ids
without the seed) and each seed both have a record for, this reads the predicted test labels the records keep, and
counts the examples both get right, only one gets right and neither does (relenc.analysis.compare), and scores the
oracle that takes whichever is right: the most any combination of the two could reach. Nothing is run again.
Prints a table (means over seeds, ± sample std) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.analysis.compare import complementarity, oracle_predictions
from relenc.data.readers import read_dataset
from relenc.evaluation.scorers import check_metric, score
from relenc.experiments.records import load_records
from relenc.io import write_text_atomic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records", type=Path, help="A grid's records directory.")
    parser.add_argument("--data", required=True, help="The test file the records were scored on.")
    parser.add_argument("--format", required=True)
    parser.add_argument("--pair", action="append", required=True, help="CELL_A:CELL_B, run ids without -sSEED.")
    parser.add_argument("--metric", default="semeval")
    parser.add_argument("--negative", default=None, help="The no-relation label (micro metric).")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    gold = [ex.label or "" for ex in read_dataset(args.data, args.format)]
    labels = _test_labels(args.records, len(gold))
    rows = [_compare(a, b, labels, gold, args.metric, args.negative) for a, b in (p.split(":", 1) for p in args.pair)]
    _print(rows)
    out = args.output or Path("benchmarks/results") / f"complementarity-{args.records.name}.json"
    write_text_atomic(
        out, json.dumps({"records": str(args.records), "data": args.data, "pairs": rows}, indent=1) + "\n"
    )
    Console().print(f"wrote {out}")


def _test_labels(records: Path, n: int) -> dict[tuple[str, int | str], list[str]]:
    """Every finished run's predicted test labels (in test-file order), by (cell, seed), the cell being the run id
    without its seed; runs scored on another test set are refused."""
    out = {}
    found, _not_records = load_records(records)  # summary files beside the records are no run
    for record in found:
        labels = (record.data.get("test") or {}).get("labels")
        if not record.ok or not labels:
            continue
        if len(labels) != n:
            raise SystemExit(f"error: {record.id}: {len(labels)} test labels, the test file has {n}")
        out[record.id.replace(f"-s{record.seed}", "", 1), record.seed] = list(labels)
    return out


def _compare(
    a: str, b: str, labels: dict[tuple[str, int | str], list[str]], gold: list[str], metric: str, negative: str | None
) -> dict[str, Any]:
    chosen = check_metric(metric)
    seeds = sorted(seed for cell, seed in labels if cell == a and (b, seed) in labels)
    if not seeds:
        raise SystemExit(f"error: no seed has records for both {a} and {b}")
    per_seed = []
    for seed in seeds:
        pa, pb = labels[a, seed], labels[b, seed]
        cells = complementarity(gold, pa, pb, negative)
        per_seed.append(
            {
                "seed": seed,
                "f1_a": score(gold, pa, chosen, negative).f1,
                "f1_b": score(gold, pb, chosen, negative).f1,
                "oracle_f1": score(gold, oracle_predictions(gold, pa, pb), chosen, negative).f1,
                **{k: cells[f"{k}_pct"] for k in ("both_right", "only_a_right", "only_b_right", "both_wrong")},
            }
        )
    keys = [k for k in per_seed[0] if k != "seed"]
    mean = {k: statistics.fmean(r[k] for r in per_seed) for k in keys}
    std = {k: statistics.stdev(r[k] for r in per_seed) if len(per_seed) > 1 else None for k in keys}
    return {"a": a, "b": b, "seeds": seeds, "mean": mean, "std": std, "per_seed": per_seed}


def _print(rows: list[dict[str, Any]]) -> None:
    table = Table(
        title="Complementarity on the test set (percent of examples; F1 in the metric; mean ± std over seeds)"
    )
    for col in ("A", "B", "n", "F1 A", "F1 B", "oracle F1", "both right", "only A", "only B", "both wrong"):
        table.add_column(col, justify="left" if col in ("A", "B") else "right")
    for r in rows:

        def cell(key: str, row: dict[str, Any] = r) -> str:
            std = row["std"][key]
            return f"{row['mean'][key]:.2f}" + (f" ± {std:.2f}" if std is not None else "")

        table.add_row(
            r["a"],
            r["b"],
            str(len(r["seeds"])),
            *map(cell, ("f1_a", "f1_b", "oracle_f1", "both_right", "only_a_right", "only_b_right", "both_wrong")),
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
