"""Does joining two trained models at the decision level beat the better one? Late fusion, weight chosen on dev.

    SE=../shared/data/semeval2010_task8/SemEval2010_task8_all_data
    R=runs/experiments/recipe
    python benchmarks/late_fusion.py --format semeval \\
        --train $SE/SemEval2010_task8_training/TRAIN_FILE.TXT \\
        --test $SE/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT \\
        --pair $R/semeval-minilm-ht_epochs6-s13:$R/semeval-minilm-mask_epochs6-s13:13 \\
        --pair $R/semeval-minilm-ht_epochs6-s13:$R/semeval-minilm-ht_epochs6-s42:13

The hybrid joins [h; t] and m in one classifier trained on the concatenation, and on SemEval it scores below its
own `ht` model. This asks whether the two models' decisions, averaged (``(1 - w) * P_a + w * P_b``), do better, and
whether that is complementarity or only ensembling: the second pair above, two `ht` seeds, is the control. For each
pair the dev split is the one `relenc train` carves from train with the given seed (the seed of model a, so dev is
unseen by a; for the control, model b trained on some of it, and the weight chosen on dev is biased towards b, so
the fixed w = 0.5 is reported too). Each model predicts dev and test once; the weights 0, 0.1, ... 1 are scored.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from relenc.data.example import Example
from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split
from relenc.evaluation.scorers import check_metric, score
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor

WEIGHTS = [round(w, 1) for w in np.linspace(0.0, 1.0, 11)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", required=True, help="The training file the dev split is carved from.")
    parser.add_argument("--test", required=True)
    parser.add_argument("--format", required=True)
    parser.add_argument("--metric", default="semeval")
    parser.add_argument("--negative", default=None, help="The no-relation label (micro metric).")
    parser.add_argument("--pair", action="append", required=True, help="MODEL_A:MODEL_B:SEED (model or run dirs).")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/late-fusion.json"))
    args = parser.parse_args()
    train = read_dataset(args.train, args.format)
    test = read_dataset(args.test, args.format)
    rows = []
    for spec in args.pair:
        a, b, seed = spec.rsplit(":", 2)
        _, dev = dev_split(train, seed=int(seed))
        rows.append(_fuse(a, b, int(seed), {"dev": dev, "test": test}, args.metric, args.negative))
    _print(rows)
    write_text_atomic(args.output, json.dumps({"train": args.train, "test": args.test, "pairs": rows}, indent=1) + "\n")
    Console().print(f"wrote {args.output}")


def _fuse(
    a: str, b: str, seed: int, splits: dict[str, list[Example]], metric: str, negative: str | None
) -> dict[str, Any]:
    """Both models' probabilities on each split, in model a's label order, and the fused F1 for every weight."""
    model_a, model_b = RelationExtractor.from_pretrained(a), RelationExtractor.from_pretrained(b)
    labels = model_a.labels.labels
    if sorted(labels) != sorted(model_b.labels.labels):
        raise SystemExit(f"error: {a} and {b} have different label sets")
    chosen = check_metric(metric)
    f1: dict[str, list[float]] = {}
    for name, examples in splits.items():
        p_a, p_b = (_probabilities(m, examples, labels) for m in (model_a, model_b))
        gold = [ex.label or "" for ex in examples]
        f1[name] = [
            score(gold, [labels[i] for i in ((1 - w) * p_a + w * p_b).argmax(1)], chosen, negative).f1 for w in WEIGHTS
        ]
    best = int(np.argmax(f1["dev"]))
    return {
        "a": a,
        "b": b,
        "seed": seed,
        "weights": WEIGHTS,
        "dev_f1": f1["dev"],
        "test_f1": f1["test"],
        "chosen_w": WEIGHTS[best],
        "test_a": f1["test"][0],
        "test_b": f1["test"][-1],
        "test_chosen": f1["test"][best],
        "test_half": f1["test"][WEIGHTS.index(0.5)],
    }


def _probabilities(model: RelationExtractor, examples: list[Example], labels: tuple[str, ...]) -> np.ndarray:
    return np.array([[p.probabilities[label] for label in labels] for p in model.predict(examples, batch_size=128)])


def _print(rows: list[dict[str, Any]]) -> None:
    table = Table(title="Late fusion (1 - w) * P_a + w * P_b: test F1, w chosen on dev")
    for col in ("a", "b", "seed", "F1 a", "F1 b", "w (dev)", "fused", "w = 0.5"):
        table.add_column(col, justify="left" if col in ("a", "b") else "right")
    for r in rows:
        table.add_row(
            Path(r["a"]).name,
            Path(r["b"]).name,
            str(r["seed"]),
            *(f"{r[k]:.2f}" for k in ("test_a", "test_b")),
            f"{r['chosen_w']:.1f}",
            *(f"{r[k]:.2f}" for k in ("test_chosen", "test_half")),
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
