"""Train and score every encoding strategy on one dataset; print a table and write JSON.

    python benchmarks/strategies.py --dataset semeval --epochs 2 --seed 13

Runs ``ht``, ``mask`` and ``ht_mask`` fine-tuning, then two hybrids that reuse those encoders (no extra
fine-tuning): ``hybrid`` ([H,T] entity encoder from the ``ht`` run + relation encoder from the ``mask`` run) and
``hybrid_raw_entity`` (the never RE-trained encoder as entity encoder + the ``mask`` relation encoder); and
``hybrid_tuned``, which starts from the ``ht`` and ``mask`` encoders and fine-tunes both with the joint classifier
for one more epoch at a lower learning rate. Each run is
scored on the test split with the dataset's official metric. Finished runs are skipped on a rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.data.readers import read_dataset
from relenc.evaluation.evaluate import evaluate
from relenc.models.extractor import RelationExtractor
from relenc.training.config import RunConfig
from relenc.training.run import RESULTS_NAME, train_run

DATA = Path(os.environ.get("RELENC_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
SEMEVAL = DATA / "semeval2010_task8" / "SemEval2010_task8_all_data"
DATASETS: dict[str, dict[str, Any]] = {
    "semeval": {
        "format": "semeval",
        "metric": "semeval",
        "train": SEMEVAL / "SemEval2010_task8_training" / "TRAIN_FILE.TXT",
        "dev": None,
        "test": SEMEVAL / "SemEval2010_task8_testing_keys" / "TEST_FILE_FULL.TXT",
    },
    "kbp37": {
        "format": "kbp37",
        "metric": "micro",
        "train": DATA / "kbp37" / "train.txt",
        "dev": DATA / "kbp37" / "dev.txt",
        "test": DATA / "kbp37" / "test.txt",
    },
}


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unknown ({exc})"


def run_one(name: str, config: RunConfig, run_dir: Path, test_file: Path, fmt: str, metric: str) -> dict[str, Any]:
    done = run_dir / "test_scores.json"
    if done.is_file():
        return json.loads(done.read_text())
    train_results = train_run(config, run_dir, resume=(run_dir / RESULTS_NAME).exists())
    model = RelationExtractor.from_pretrained(run_dir)
    test = read_dataset(test_file, fmt)
    start = time.time()
    ev = evaluate(model, test, metric, batch_size=128)
    seconds = time.time() - start
    record = {
        "name": name,
        "strategy": config.model.strategy,
        "test": ev.to_dict(report=True),
        "test_sentences_per_second": round(len(test) / seconds, 1),
        "train": train_results,
        "config": config.model_dump(mode="json"),
    }
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(done)
    return record


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
    parser.add_argument("--only", nargs="*", default=None, help="Subset of run names.")
    parser.add_argument("--max-train-examples", type=int, default=None, help="Train on the first N examples only.")
    args = parser.parse_args()

    ds = DATASETS[args.dataset]
    tag = f"{args.dataset}-{Path(args.encoder).name}-e{args.epochs:g}-s{args.seed}"
    if args.max_train_examples:
        tag += f"-n{args.max_train_examples}"
    root = args.runs_dir / tag
    base = {
        "train": str(ds["train"]),
        "dev": str(ds["dev"]) if ds["dev"] else None,
        "format": ds["format"],
        "metric": ds["metric"],
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "max_train_examples": args.max_train_examples,
    }

    def cfg(strategy: str, training: dict[str, Any] | None = None, **model: Any) -> RunConfig:
        return RunConfig.parse(
            {
                "model": {"strategy": strategy, "encoder": args.encoder, **model},
                "training": {**base, **(training or {})},
            }
        )

    plan: list[tuple[str, RunConfig]] = [
        ("ht", cfg("ht")),
        ("mask", cfg("mask")),
        ("ht_mask", cfg("ht_mask")),
        (
            "hybrid",
            cfg("hybrid", entity_encoder=str(root / "ht" / "model"), encoder=str(root / "mask" / "model")),
        ),
        (
            "hybrid_raw_entity",
            cfg("hybrid", entity_encoder=args.encoder, encoder=str(root / "mask" / "model")),
        ),
        (
            "hybrid_tuned",
            cfg(
                "hybrid",
                {"epochs": 1, "lr": 2e-5},
                entity_encoder=str(root / "ht" / "model"),
                encoder=str(root / "mask" / "model"),
                freeze_entity_encoder=False,
                freeze_relation_encoder=False,
            ),
        ),
    ]
    records = []
    for name, config in plan:
        if args.only and name not in args.only:
            continue
        Console(stderr=True).rule(f"{tag}: {name}")
        records.append(run_one(name, config, root / name, ds["test"], ds["format"], ds["metric"]))

    table = Table(title=f"strategies on {args.dataset} test ({ds['metric']}), {args.encoder}, seed {args.seed}")
    for col in ("run", "P", "R", "F1", "train s", "train ex/s", "test sent/s"):
        table.add_column(col, justify="right")
    for r in records:
        t = r["test"]
        table.add_row(
            r["name"],
            f"{t['precision']:.2f}",
            f"{t['recall']:.2f}",
            f"{t['f1']:.2f}",
            f"{r['train']['train_seconds']:.0f}",
            f"{r['train']['train_examples_per_second']:.1f}",
            f"{r['test_sentences_per_second']:.1f}",
        )
    Console().print(table)
    out = args.output or Path("benchmarks/results") / f"strategies-{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "dataset": args.dataset,
        "args": {k: str(v) for k, v in vars(args).items()},
        "git": git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "runs": [{k: v for k, v in r.items() if k != "config"} for r in records],
    }
    out.write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
