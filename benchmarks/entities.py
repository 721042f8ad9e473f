"""Entity recognition on SpERT-format data (CoNLL04 by default): train the span recognizer, select on dev, score test.

    python benchmarks/entities.py --epochs 10 --seed 13 [--shape-dim 0] [--ner-dim 16] [--final-fit]

Entity micro-F1 (boundaries and type right) on test, with a row per type, from the recognizer with the best dev F1;
with ``--final-fit``, from the recognizer trained on train and dev together for all its epochs (SpERT's final model
on CoNLL04), which only test scores.
Prints a table and writes JSON. This measures the first stage of end-to-end extraction alone (gold relations play no
part); SpERT (BERT-base) reports 88.9 entity F1 on CoNLL04 test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers.spert import read_spert_sentences
from relenc.io import write_text_atomic
from relenc.models.spans import EntityRecognizer
from relenc.training.config import EntityTrainConfig
from relenc.training.entities import build_recognizer, evaluate_entities, fit_entities

DATA = data_dir() / "conll04"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--lr", type=float, default=None, help="Encoder learning rate (default: the config's).")
    parser.add_argument("--shape-dim", type=int, default=None, help="Word-shape embedding size; 0: none.")
    parser.add_argument("--ner-dim", type=int, default=None, help="spaCy NER-tag embedding size; 0: none.")
    parser.add_argument("--final-fit", action="store_true", help="Train on train + dev, keep the last epoch.")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/entities"))
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    train, dev, test = (read_spert_sentences(DATA / f"{split}_triples.json") for split in ("train", "dev", "test"))
    types = sorted({m.type for s in train for m in s.mentions})
    given = {"lr": args.lr, "shape_dim": args.shape_dim, "ner_dim": args.ner_dim}
    cfg = EntityTrainConfig(epochs=args.epochs, seed=args.seed, **{k: v for k, v in given.items() if v is not None})
    ner = f"-ner{cfg.ner_dim}" if cfg.ner_dim else ""
    final = "-final" if args.final_fit else ""
    out = args.runs_dir / f"conll04-{args.encoder}-shape{cfg.shape_dim}{ner}{final}-s{args.seed}"
    fit_on, select_on = (train + dev, []) if args.final_fit else (train, dev)
    best = fit_entities(build_recognizer(args.encoder, types, cfg), fit_on, select_on, cfg, out)
    start = time.time()
    scores = evaluate_entities(EntityRecognizer.from_pretrained(out), test, cfg.precision)
    seconds = time.time() - start
    chosen = "last epoch, train + dev" if args.final_fit else "best dev epoch"
    table = Table(title=f"CoNLL04 test entities ({args.encoder}, seed {args.seed}, {chosen} {best['epoch']})")
    for col in ("type", "F1"):
        table.add_column(col, justify="right")
    for kind, f1 in scores["per_type"].items():
        table.add_row(kind, f"{f1:.2f}")
    table.add_row("micro", f"{scores['f1']:.2f} (P {scores['precision']:.2f}, R {scores['recall']:.2f})")
    Console().print(table)
    result = {
        "encoder": args.encoder,
        "seed": args.seed,
        "final_fit": args.final_fit,
        "config": cfg.model_dump(),
        "dev": best,
        "test": scores,
        "test_sentences_per_second": len(test) / seconds,
    }
    path = args.output or Path(f"benchmarks/results/entities-conll04-{out.name.removeprefix('conll04-')}.json")
    write_text_atomic(path, json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
