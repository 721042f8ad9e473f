"""Does `m` add to `[h; t]` on sentences neither encoder trained on? The hybrid's join, fitted on held-out data.

    SE=../shared/data/semeval2010_task8/SemEval2010_task8_all_data
    R=runs/experiments/recipe
    python benchmarks/heldout_join.py --format semeval \\
        --train $SE/SemEval2010_task8_training/TRAIN_FILE.TXT \\
        --test $SE/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT \\
        --entity $R/semeval-minilm-ht_epochs6-s13 --relation $R/semeval-minilm-mask_epochs6-s13 --seed 13

The hybrid's joint classifier is trained on the training sentences, which both of its encoders were fine-tuned on:
there `[h; t]` and `m` each separate the labels, so the classifier never sees them disagree. This fits the paper's
classifier (``ClassifierHead``: Linear, ReLU, dropout, Linear) on the dev split instead (the split `relenc train`
carved with ``--seed``, which neither encoder trained on): on `[h; t]` alone, `m` alone and `[h; t; m]`, its
epochs chosen by k-fold cross-validation within dev, then fitted on all of dev and scored on test, from several
seeds of the classifier. If `[h; t; m]`
beats `[h; t]` here, the two encoders are complementary and what fails is how the joint classifier is trained.
The dev split is small (SemEval: 799), so all three are below the encoders' own classifiers: compare the rows with
each other, not with those. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split
from relenc.evaluation.scorers import check_metric, score
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.models.heads import ClassifierHead

FEATURES = {"[h; t]": ("h", "t"), "m": ("m",), "[h; t; m]": ("h", "t", "m")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entity", required=True, help="The run (or model) whose h and t are read (an ht run).")
    parser.add_argument("--relation", required=True, help="The run (or model) whose m is read (a mask run).")
    parser.add_argument("--train", required=True, help="The training file the dev split is carved from.")
    parser.add_argument("--test", required=True)
    parser.add_argument("--format", required=True)
    parser.add_argument("--seed", type=int, required=True, help="The encoders' training seed: it chose their dev.")
    parser.add_argument("--metric", default="semeval")
    parser.add_argument("--negative", default=None, help="The no-relation label (micro metric).")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", default="5,10,20,40", help="The epoch counts cross-validation chooses from.")
    parser.add_argument("--head-seeds", type=int, default=3, help="Fit each classifier from this many seeds.")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/heldout-join.json"))
    args = parser.parse_args()
    _, dev = dev_split(read_dataset(args.train, args.format), seed=args.seed)
    test = read_dataset(args.test, args.format)
    entity, relation = RelationExtractor.from_pretrained(args.entity), RelationExtractor.from_pretrained(args.relation)
    labels = entity.labels.labels
    if sorted(labels) != sorted(relation.labels.labels):
        raise SystemExit(f"error: {args.entity} and {args.relation} have different label sets")
    parts = {name: _parts(entity, relation, examples) for name, examples in (("dev", dev), ("test", test))}
    gold = {
        name: np.array([labels.index(ex.label or "") for ex in exs]) for name, exs in (("dev", dev), ("test", test))
    }
    scorer = _Scorer(labels, args.metric, args.negative)
    choices = [int(e) for e in args.epochs.split(",")]
    setup = _Setup(parts, gold, scorer, choices, args.folds)
    rows = [setup.row(name, keys, range(args.head_seeds)) for name, keys in FEATURES.items()]
    _print(rows, len(dev))
    report = {"entity": args.entity, "relation": args.relation, "seed": args.seed, "dev": len(dev), "rows": rows}
    write_text_atomic(args.output, json.dumps(report, indent=1) + "\n")
    Console().print(f"wrote {args.output}")


def _parts(entity: RelationExtractor, relation: RelationExtractor, examples: list[Any]) -> dict[str, np.ndarray]:
    """h and t from the entity model, m from the relation model: the hybrid's three parts."""
    return {
        **entity.embed(examples, parts=["h", "t"], batch_size=128),
        **relation.embed(examples, parts=["m"], batch_size=128),
    }


class _Scorer:
    def __init__(self, labels: tuple[str, ...] | list[str], metric: str, negative: str | None) -> None:
        self.labels, self.metric, self.negative = list(labels), check_metric(metric), negative

    def f1(self, head: ClassifierHead, x: np.ndarray, y: np.ndarray) -> float:
        head.eval()
        with torch.no_grad():
            pred = head(torch.from_numpy(x)).argmax(1).numpy()
        return score([self.labels[i] for i in y], [self.labels[i] for i in pred], self.metric, self.negative).f1


def _fit(x: np.ndarray, y: np.ndarray, hidden: int, n_labels: int, epochs: int, seed: int) -> ClassifierHead:
    """The paper's classifier (k*d -> d, d the encoder's width), trained as the hybrid's joint step trains its head
    (AdamW, lr 1e-3, batch 32)."""
    torch.manual_seed(seed)
    head = ClassifierHead(x.shape[1], hidden, n_labels)
    optimiser = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.01)
    features, targets = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        head.train()
        perm = torch.randperm(len(features), generator=order)
        for i in range(0, len(perm), 32):
            batch = perm[i : i + 32]
            optimiser.zero_grad()
            torch.nn.functional.cross_entropy(head(features[batch]), targets[batch]).backward()
            optimiser.step()
    return head


@dataclass(frozen=True)
class _Setup:
    """What every fit shares: the parts and gold labels of dev and test, the scorer, the epoch choices, the folds."""

    parts: dict[str, dict[str, np.ndarray]]
    gold: dict[str, np.ndarray]
    scorer: _Scorer
    choices: list[int]
    folds: int

    def row(self, name: str, keys: tuple[str, ...], seeds: range) -> dict[str, Any]:
        """Per classifier seed, :meth:`fit_and_score`; the mean and std over the seeds (799 sentences are few, so
        one initialisation of the classifier is not enough)."""
        runs = [self.fit_and_score(keys, seed) for seed in seeds]
        tests = [run["test_f1"] for run in runs]
        return {
            "features": name,
            "test_f1_mean": float(np.mean(tests)),
            "test_f1_std": float(np.std(tests, ddof=1)) if len(tests) > 1 else None,
            "per_seed": runs,
        }

    def fit_and_score(self, keys: tuple[str, ...], seed: int) -> dict[str, Any]:
        """Cross-validate the epochs on dev, fit on all of dev, score on test."""
        x_dev = np.concatenate([self.parts["dev"][k] for k in keys], axis=1)
        x_test = np.concatenate([self.parts["test"][k] for k in keys], axis=1)
        y_dev, n_labels, hidden = self.gold["dev"], len(self.scorer.labels), self.parts["dev"]["m"].shape[1]
        split = np.array_split(np.random.default_rng(seed).permutation(len(x_dev)), self.folds)
        cv = {}
        for epochs in self.choices:
            scores = []
            for k in range(self.folds):
                fit_on = np.concatenate([split[j] for j in range(self.folds) if j != k])
                head = _fit(x_dev[fit_on], y_dev[fit_on], hidden, n_labels, epochs, seed)
                scores.append(self.scorer.f1(head, x_dev[split[k]], y_dev[split[k]]))
            cv[epochs] = float(np.mean(scores))
        best = max(cv, key=lambda e: cv[e])
        test_f1 = self.scorer.f1(_fit(x_dev, y_dev, hidden, n_labels, best, seed), x_test, self.gold["test"])
        return {"seed": seed, "cv_f1": cv, "epochs": best, "test_f1": test_f1}


def _print(rows: list[dict[str, Any]], n_dev: int) -> None:
    table = Table(title=f"The paper's classifier fitted on the {n_dev} dev sentences (unseen by both encoders)")
    for col in ("features", "head seeds", "epochs chosen", "test F1"):
        table.add_column(col, justify="left" if col == "features" else "right")
    for r in rows:
        std = r["test_f1_std"]
        table.add_row(
            escape(r["features"]),
            str(len(r["per_seed"])),
            ", ".join(str(run["epochs"]) for run in r["per_seed"]),
            f"{r['test_f1_mean']:.2f}" + (f" ± {std:.2f}" if std is not None else ""),
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
