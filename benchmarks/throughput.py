"""Training and inference throughput of relenc with MiniLM on this CPU, bf16 autocast versus fp32, in one run.

    python benchmarks/throughput.py --strategy ht_mask --train-steps 20 --infer-examples 1024

Uses real SemEval-2010 Task 8 sentences (with markers and the prompt, as the model sees them). Training is
forward + backward + AdamW on length-bucketed batches; inference is ``RelationExtractor.predict`` (bucketed, no
gradient). Also reports how close bf16 embeddings are to fp32 ones. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from relenc.data.labels import LabelSet
from relenc.data.paths import data_dir
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.io import write_text_atomic
from relenc.models.engine import to_device
from relenc.models.extractor import RelationExtractor
from relenc.models.strategies import get_strategy
from relenc.runtime import autocast, bf16_native
from relenc.training.config import TrainConfig
from relenc.training.trainer import BatchSchedule

DATA = data_dir()
TRAIN = DATA / "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_training/TRAIN_FILE.TXT"


def build(strategy: str, encoder: str, labels: LabelSet) -> RelationExtractor:
    spec = get_strategy(strategy)
    torch.manual_seed(0)
    return RelationExtractor.build(
        strategy,
        labels,
        {role: encoder for role in spec.roles},
        {role: InputConfig(prompt=spec.needs_prompt(role)) for role in spec.roles},
    )


def train_throughput(extractor: RelationExtractor, examples: list, precision: str, steps: int, batch: int) -> float:
    items = extractor.encode(examples)
    labels = torch.tensor([extractor.labels.index(ex.label) for ex in examples])
    lengths = [max(len(item[r].input_ids) for r in item) for item in items]
    batches = BatchSchedule(lengths, TrainConfig(batch_size=batch, seed=0), world=1, rank=0).epoch_batches(0)
    model = extractor.model
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    device = torch.device("cpu")
    seen, elapsed = 0, 0.0
    for i, idx in enumerate(batches[: steps + 2]):
        inputs = to_device(extractor.collate([items[j] for j in idx]), device)
        start = time.perf_counter()
        with autocast(precision):
            logits = model(inputs).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), labels[idx])
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i >= 2:  # two warm-up steps
            elapsed += time.perf_counter() - start
            seen += len(idx)
    return seen / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="ht_mask")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--infer-examples", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    examples = read_dataset(TRAIN, "semeval")
    labels = LabelSet.from_labels(ex.label for ex in examples)
    infer_set = examples[: args.infer_examples]
    precisions = ["fp32", "bf16"] if bf16_native() else ["fp32"]
    rows = []
    embeddings = {}
    for precision in precisions:
        extractor = build(args.strategy, args.encoder, labels)
        extractor.predict(infer_set[:64], precision=precision)  # warm-up
        start = time.perf_counter()
        preds = extractor.predict(infer_set, batch_size=64, precision=precision, return_embeddings=True)
        infer_rate = len(infer_set) / (time.perf_counter() - start)
        start = time.perf_counter()
        for ex in infer_set[:50]:
            extractor.predict([ex], precision=precision)
        latency_ms = (time.perf_counter() - start) / 50 * 1000
        embeddings[precision] = np.stack([np.concatenate(list(p.embeddings.values())) for p in preds])
        train_rate = train_throughput(extractor, examples[:4000], precision, args.train_steps, args.batch_size)
        rows.append(
            {
                "precision": precision,
                "train_examples_per_second": round(train_rate, 1),
                "inference_sentences_per_second": round(infer_rate, 1),
                "batch1_latency_ms": round(latency_ms, 2),
            }
        )
    agreement = {}
    if "bf16" in embeddings:
        a, b = embeddings["fp32"], embeddings["bf16"]
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        agreement = {"embedding_cosine_mean": float(cos.mean()), "embedding_cosine_min": float(cos.min())}

    table = Table(title=f"{args.encoder} {args.strategy} throughput ({os.cpu_count()} CPUs)")
    for col in ("precision", "train ex/s", "inference sent/s", "batch-1 latency ms"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["precision"],
            str(r["train_examples_per_second"]),
            str(r["inference_sentences_per_second"]),
            str(r["batch1_latency_ms"]),
        )
    console = Console()
    console.print(table)
    if agreement:
        console.print(
            f"bf16 vs fp32 embedding cosine: mean {agreement['embedding_cosine_mean']:.5f}, "
            f"min {agreement['embedding_cosine_min']:.5f}"
        )
    write_text_atomic(
        args.output,
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "machine": {
                    "cpus": os.cpu_count(),
                    "platform": platform.platform(),
                    "bf16_native": bf16_native(),
                },
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                "rows": rows,
                "bf16_vs_fp32": agreement,
            },
            indent=2,
        ),
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
