"""Train and score every encoding strategy on one dataset; print a table and write JSON.

    python benchmarks/strategies.py --dataset semeval --epochs 2 --seed 13

A one-cell experiment grid (:mod:`relenc.experiments`, what ``relenc experiment`` runs): ``ht``, ``mask`` and
``ht_mask`` fine-tuning, then three hybrids that reuse those encoders: ``hybrid`` ([H,T] entity encoder from the
``ht`` run + relation encoder from the ``mask`` run, both frozen, only the joint classifier trains),
``hybrid_frozen_entity`` (the never RE-trained encoder as entity encoder + the ``mask`` relation encoder; called
``hybrid_raw_entity`` in results recorded before the grid existed), and ``hybrid_tuned``, which starts from the
``ht`` and ``mask`` encoders and fine-tunes both with the joint classifier for one more epoch at a lower learning
rate. Each run is scored on the test split with the dataset's official metric and recorded; finished runs are
skipped on a rerun. For several seeds, encoders or datasets, write a grid file and run ``relenc experiment``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.experiments import GridConfig, collect, plan_grid, write_results
from relenc.experiments.grid import slug
from relenc.experiments.records import git_info, machine_info, now
from relenc.experiments.runner import run_grid
from relenc.io import write_text_atomic

DATA = data_dir()
SEMEVAL = "semeval2010_task8/SemEval2010_task8_all_data"
DATASETS: dict[str, dict[str, Any]] = {
    "semeval": {
        "format": "semeval",
        "metric": "semeval",
        "train": f"{SEMEVAL}/SemEval2010_task8_training/TRAIN_FILE.TXT",
        "test": f"{SEMEVAL}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT",
    },
    "kbp37": {
        "format": "kbp37",
        "metric": "micro",
        "train": "kbp37/train.txt",
        "dev": "kbp37/dev.txt",
        "test": "kbp37/test.txt",
    },
}
HYBRID_TUNED = {
    "strategy": "hybrid",
    "entity": "ht",
    "relation": "mask",
    "model": {"freeze_entity_encoder": False, "freeze_relation_encoder": False},
    "training": {"epochs": 1, "lr": 2e-5},
}
RUNS = ("ht", "mask", "ht_mask", "hybrid", "hybrid_frozen_entity", "hybrid_tuned")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="semeval")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/strategies"))
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default under benchmarks/results)")
    parser.add_argument("--only", nargs="*", choices=RUNS, default=None, help="Subset of runs (plus what they need).")
    parser.add_argument("--max-train-examples", type=int, default=None, help="Train on the first N examples only.")
    args = parser.parse_args()

    encoder = slug(Path(args.encoder).name)  # the name in run ids
    tag = f"{args.dataset}-{Path(args.encoder).name}-e{args.epochs:g}-s{args.seed}"
    if args.max_train_examples:
        tag += f"-n{args.max_train_examples}"
    grid = GridConfig.parse(
        {
            "name": tag,
            "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr},
            "datasets": [
                {"name": args.dataset, **DATASETS[args.dataset], "max_train_examples": args.max_train_examples}
            ],
            "encoders": [{"name": encoder, "source": args.encoder}],
            "strategies": {"hybrid_tuned": HYBRID_TUNED},
            "grids": [
                {
                    "datasets": [args.dataset],
                    "encoders": [encoder],
                    "strategies": list(args.only or RUNS),
                    "seeds": [args.seed],
                }
            ],
        },
        source=__file__,
    )
    plan = plan_grid(grid, __file__, DATA)
    root = args.runs_dir / tag  # run directories and their records side by side
    run_grid(plan, list(plan.runs), results_dir=root, runs_dir=root)
    results = collect(plan, root)
    write_results(results, root, f"strategies on {args.dataset}")

    table = Table(title=f"strategies on {args.dataset} test ({DATASETS[args.dataset]['metric']}), {args.encoder}")
    for col in ("run", "P", "R", "F1", "dev F1", "train s", "train ex/s", "test sent/s"):
        table.add_column(col, justify="right")
    for record in results.records:
        if not record.ok:
            table.add_row(record.strategy, "failed", "", "", "", "", "", "")
            continue
        timings = record.data["timings"]
        table.add_row(
            record.strategy,
            f"{record.test_precision:.2f}",
            f"{record.test_recall:.2f}",
            f"{record.test_f1:.2f}",
            f"{record.dev_f1:.2f}",
            f"{timings['train_seconds']:.0f}",
            f"{timings['train_examples_per_second']:.1f}",
            f"{timings['test_sentences_per_second']:.1f}",
        )
    Console().print(table)
    out = args.output or Path("benchmarks/results") / f"strategies-{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "dataset": args.dataset,
        "args": {k: str(v) for k, v in vars(args).items()},
        "git": git_info(),
        "machine": machine_info(),
        "date": now(),
        "runs": [{k: v for k, v in r.items() if k not in ("config", "spec", "traceback")} for r in results.records],
    }
    write_text_atomic(out, json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
