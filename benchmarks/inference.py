"""Inference speed of a trained model on the SemEval test set, three ways, in one run.

    python benchmarks/inference.py runs/strategies/semeval-minilm-e3-s13/ht_mask --examples 1024

1. naive: a plain Hugging Face loop, fp32, fixed batches in file order, padding to the longest of each batch;
2. relenc: ``RelationExtractor.predict`` (bf16 where native, length buckets, inference mode);
3. onnxruntime: ``OnnxPredictor`` on ``model.onnx`` (exported first if missing), fp32.

Reports sentences/s at batch 64, batch-1 latency, peak resident memory, and the achieved FLOP rate of the relenc
path against a bf16 matmul measured in the same run. FLOPs are counted as 2 x (non-embedding parameters) per token
plus the attention products (4 x layers x hidden x length^2 per sentence). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from relenc.data.readers import read_dataset
from relenc.models.extractor import RelationExtractor, _to_device
from relenc.runtime import bf16_native

DATA = Path(os.environ.get("RELENC_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
TEST = DATA / "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_flops(dtype: torch.dtype, n: int = 2048, repeat: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n**3 * repeat / (time.perf_counter() - start)


def model_flops(extractor: RelationExtractor, lengths: list[int]) -> float:
    total = 0.0
    for role in extractor.parts:
        encoder: Any = extractor.model.encoders[role]
        cfg = encoder.config
        embed = sum(p.numel() for n, p in encoder.named_parameters() if "embeddings" in n)
        dense = sum(p.numel() for p in encoder.parameters()) - embed
        total += sum(2 * dense * n + 4 * cfg.num_hidden_layers * cfg.hidden_size * n * n for n in lengths)
    return total


@torch.inference_mode()
def naive(extractor: RelationExtractor, examples: list, batch: int) -> float:
    items = extractor.encode(examples)
    extractor.model.eval()
    start = time.perf_counter()
    for k in range(0, len(items), batch):
        inputs = _to_device(extractor.collate(items[k : k + batch]), torch.device("cpu"))
        extractor.model(inputs)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/inference.json"))
    args = parser.parse_args()

    examples = read_dataset(TEST, "semeval")[: args.examples]
    extractor = RelationExtractor.from_pretrained(args.model)
    rows: dict[str, dict[str, float]] = {}

    rows["naive HF loop, fp32"] = {"sent_per_s": naive(extractor, examples, 64)}

    precision = "bf16" if bf16_native() else "fp32"
    extractor.predict(examples[:64], precision=precision)
    start = time.perf_counter()
    extractor.predict(examples, batch_size=64, precision=precision)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    for ex in examples[:50]:
        extractor.predict([ex], precision=precision)
    rows[f"relenc, {precision}, bucketed"] = {
        "sent_per_s": len(examples) / seconds,
        "batch1_ms": (time.perf_counter() - start) / 50 * 1000,
    }
    lengths = [max(len(e.input_ids) for e in item.values()) for item in extractor.encode(examples)]
    achieved = model_flops(extractor, lengths) / seconds

    try:
        from relenc.models.onnx import ONNX_NAME, OnnxPredictor, export_onnx

        directory = Path(args.model) / "model" if (Path(args.model) / "model").is_dir() else Path(args.model)
        if not (directory / ONNX_NAME).is_file():
            export_onnx(extractor, directory, examples)
        ort = OnnxPredictor(directory)
        ort.predict(examples[:64])
        start = time.perf_counter()
        ort.predict(examples, batch_size=64)
        rate = len(examples) / (time.perf_counter() - start)
        start = time.perf_counter()
        for ex in examples[:50]:
            ort.predict([ex])
        rows["onnxruntime, fp32, bucketed"] = {
            "sent_per_s": rate,
            "batch1_ms": (time.perf_counter() - start) / 50 * 1000,
        }
    except ImportError as exc:
        Console(stderr=True).print(f"onnxruntime row skipped: {exc}")

    reference = matmul_flops(torch.bfloat16 if precision == "bf16" else torch.float32)
    table = Table(title=f"inference on {len(examples)} SemEval test sentences ({os.cpu_count()} CPUs)")
    for col in ("path", "sentences/s", "batch-1 ms"):
        table.add_column(col, justify="right")
    for name, row in rows.items():
        table.add_row(name, f"{row['sent_per_s']:.1f}", f"{row.get('batch1_ms', float('nan')):.1f}")
    console = Console()
    console.print(table)
    console.print(
        f"relenc achieved {achieved / 1e9:.0f} GFLOP/s; a {precision} 2048x2048 matmul runs at "
        f"{reference / 1e9:.0f} GFLOP/s: {100 * achieved / reference:.0f}%. Peak RSS {peak_mb():.0f} MB."
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(
            {
                "rows": rows,
                "achieved_gflops": achieved / 1e9,
                "matmul_gflops": reference / 1e9,
                "fraction_of_matmul": achieved / reference,
                "peak_rss_mb": peak_mb(),
                "examples": len(examples),
                "model": args.model,
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            },
            indent=2,
        )
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
