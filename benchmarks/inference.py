"""Inference speed of a trained model on the SemEval test set, three ways, in one run.

    python benchmarks/inference.py runs/experiments/paper/semeval-minilm-ht_mask-s13 --examples 1024 --compile

1. naive: a plain Hugging Face loop, fp32, fixed batches in file order, padding to the longest of each batch;
2. relenc: ``RelationExtractor.predict`` (bf16 where native, length buckets, inference mode);
3. onnxruntime: ``OnnxPredictor`` on ``model.onnx`` (exported first if missing), fp32.

Reports sentences/s at batch 64, batch-1 latency, peak resident memory, and the achieved FLOP rate of the relenc
path against a bf16 matmul measured in the same run, end to end and with the encodings given (``predict(...,
encoded=...)``: the forward passes alone, tokenisation done beforehand). FLOPs are counted as 2 x (parameters
applied to every token: neither the embeddings nor the pooler) per token plus the attention products (4 x layers x
hidden x length^2 per sentence), on real tokens only. Two measurements explain the rate: the same matmul rate at the
model's own layer shapes (the ceiling for its linear layers), and a profile of one pass split into matmuls,
attention, casts and the element-wise rest. ``--compile`` adds a row for ``RelationExtractor.compile``
(torch.compile, frozen weights). Throughputs are medians of ``--repeat`` timings. Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers import read_dataset
from relenc.errors import RelencError
from relenc.io import write_text_atomic
from relenc.models.engine import to_device
from relenc.models.extractor import RelationExtractor
from relenc.runtime import bf16_native

DATA = data_dir()
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


def timed(call: Callable[[], object], repeat: int = 1) -> float:
    """Seconds one call takes: the median of ``repeat`` calls, since single timings on a shared machine are noisy."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def batch1_ms(predict_one: Callable[[Any], object], examples: list, n: int = 50) -> float:
    """Mean latency of one sentence at a time over the first ``n``."""
    return timed(lambda: [predict_one(ex) for ex in examples[:n]]) / n * 1000


def pretokenised(
    extractor: RelationExtractor,
    examples: list,
    items: list,
    precision: str,
    flops: float,
    reference: float,
    repeat: int,
) -> dict[str, float]:
    """The same ``predict`` given the encodings (``encoded=``): the forward passes without tokenisation."""
    seconds = timed(lambda: extractor.predict(examples, batch_size=64, precision=precision, encoded=items), repeat)
    return {
        "pretokenised_sent_per_s": len(examples) / seconds,
        "pretokenised_fraction_of_matmul": flops / seconds / reference,
    }


def model_flops(extractor: RelationExtractor, lengths: list[int]) -> float:
    total = 0.0
    for role in extractor.parts:
        encoder: Any = extractor.model.encoders[role]
        cfg = encoder.config
        per_token = sum(p.numel() for n, p in encoder.named_parameters() if "embeddings" not in n and "pooler" not in n)
        total += sum(2 * per_token * n + 4 * cfg.num_hidden_layers * cfg.hidden_size * n * n for n in lengths)
    return total


def layer_matmul_flops(extractor: RelationExtractor, rows: int, dtype: torch.dtype, repeat: int = 20) -> float:
    """The matmul rate at the model's own linear-layer shapes (``rows`` tokens per batch): their ceiling."""
    shapes = {
        (m.in_features, m.out_features)
        for role in extractor.parts
        for name, m in extractor.model.encoders[role].named_modules()
        if isinstance(m, torch.nn.Linear) and "pooler" not in name
    }
    flops = seconds = 0.0
    for k, n in sorted(shapes):
        x, w, b = torch.randn(rows, k, dtype=dtype), torch.randn(n, k, dtype=dtype), torch.randn(n, dtype=dtype)
        torch.nn.functional.linear(x, w, b)
        start = time.perf_counter()
        for _ in range(repeat):
            torch.nn.functional.linear(x, w, b)
        seconds += time.perf_counter() - start
        flops += 2 * rows * k * n * repeat
    return flops / seconds


CATEGORIES = {
    "matmul": ("addmm", "aten::mm", "bmm", "matmul", "linear"),
    "attention": ("scaled_dot_product", "softmax"),
    "casts and copies": ("copy_", "_to_copy", "contiguous", "clone"),
}


@torch.inference_mode()
def time_shares(extractor: RelationExtractor, examples: list, precision: str) -> dict[str, float]:
    """Share of self CPU time per kind of operation over one ``predict`` pass."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        extractor.predict(examples, batch_size=64, precision=precision)
    shares = dict.fromkeys([*CATEGORIES, "element-wise, norms, other"], 0.0)
    for event in prof.key_averages():
        kind = next((c for c, keys in CATEGORIES.items() if any(k in event.key for k in keys)), None)
        shares[kind or "element-wise, norms, other"] += event.self_cpu_time_total
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


@torch.inference_mode()
def naive(extractor: RelationExtractor, examples: list, batch: int) -> float:
    items = extractor.encode(examples)
    extractor.model.eval()
    start = time.perf_counter()
    for k in range(0, len(items), batch):
        inputs = to_device(extractor.collate(items[k : k + batch]), torch.device("cpu"))
        extractor.model(inputs)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/inference.json"))
    parser.add_argument("--repeat", type=int, default=3, help="Timings per throughput figure; the median counts.")
    parser.add_argument("--compile", action="store_true", help="Also time RelationExtractor.compile().")
    args = parser.parse_args()

    examples = read_dataset(TEST, "semeval")[: args.examples]
    extractor = RelationExtractor.from_pretrained(args.model)
    rows: dict[str, dict[str, float]] = {}

    rows["naive HF loop, fp32"] = {"sent_per_s": naive(extractor, examples, 64)}

    precision = "bf16" if bf16_native() else "fp32"
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    reference = matmul_flops(dtype)
    items = extractor.encode(examples)
    lengths = [max(len(e.input_ids) for e in item.values()) for item in items]
    flops = model_flops(extractor, lengths)
    extractor.predict(examples[:64], precision=precision)
    seconds = timed(lambda: extractor.predict(examples, batch_size=64, precision=precision), args.repeat)
    rows[f"relenc, {precision}, bucketed"] = {
        "sent_per_s": len(examples) / seconds,
        "batch1_ms": batch1_ms(lambda ex: extractor.predict([ex], precision=precision), examples),
        "fraction_of_matmul": flops / seconds / reference,
        **pretokenised(extractor, examples, items, precision, flops, reference, args.repeat),
    }
    achieved = flops / seconds
    shares = time_shares(extractor, examples, precision)

    if args.compile:
        compiled = RelationExtractor.from_pretrained(args.model).compile()
        compile_seconds = timed(lambda: compiled.predict(examples, batch_size=64, precision=precision))
        compiled_seconds = timed(lambda: compiled.predict(examples, batch_size=64, precision=precision), args.repeat)
        compiled.predict(examples[:1], precision=precision)  # a batch of one compiles once more
        rows[f"relenc, {precision}, bucketed, compiled"] = {
            "sent_per_s": len(examples) / compiled_seconds,
            "batch1_ms": batch1_ms(lambda ex: compiled.predict([ex], precision=precision), examples),
            "compile_s": compile_seconds,
            "fraction_of_matmul": flops / compiled_seconds / reference,
            **pretokenised(compiled, examples, items, precision, flops, reference, args.repeat),
        }

    try:
        from relenc.models.onnx import ONNX_NAME, OnnxPredictor, export_onnx

        directory = Path(args.model) / "model" if (Path(args.model) / "model").is_dir() else Path(args.model)
        if not (directory / ONNX_NAME).is_file():
            export_onnx(extractor, directory, examples)
        ort = OnnxPredictor(directory)
        ort.predict(examples[:64])
        rows["onnxruntime, fp32, bucketed"] = {
            "sent_per_s": len(examples) / timed(lambda: ort.predict(examples, batch_size=64), args.repeat),
            "batch1_ms": batch1_ms(lambda ex: ort.predict([ex]), examples),
        }
    except RelencError as exc:  # relenc.models.onnx says so when onnx, onnxscript or onnxruntime is missing
        Console(stderr=True).print(f"onnxruntime row skipped: {exc}")

    layer_rate = layer_matmul_flops(extractor, rows=64 * round(sum(lengths) / len(lengths)), dtype=dtype)
    table = Table(title=f"inference on {len(examples)} SemEval test sentences ({os.cpu_count()} CPUs)")
    columns = ("path", "sentences/s", "batch-1 ms", "FLOP rate / matmul", "pre-tokenised s/s", "its FLOP rate")
    for col in columns:
        table.add_column(col, justify="right")
    for name, row in rows.items():
        table.add_row(
            name,
            f"{row['sent_per_s']:.1f}",
            f"{row.get('batch1_ms', float('nan')):.1f}",
            f"{100 * row['fraction_of_matmul']:.0f}%" if "fraction_of_matmul" in row else "-",
            f"{row['pretokenised_sent_per_s']:.1f}" if "pretokenised_sent_per_s" in row else "-",
            f"{100 * row['pretokenised_fraction_of_matmul']:.0f}%" if "pretokenised_sent_per_s" in row else "-",
        )
    console = Console()
    console.print(table)
    console.print(
        f"relenc achieved {achieved / 1e9:.0f} GFLOP/s; a {precision} 2048x2048 matmul runs at "
        f"{reference / 1e9:.0f} GFLOP/s: {100 * achieved / reference:.0f}%. The model's own linear-layer shapes "
        f"run at {layer_rate / 1e9:.0f} GFLOP/s ({100 * layer_rate / reference:.0f}%). Peak RSS {peak_mb():.0f} MB."
    )
    console.print(
        "Time of one relenc pass: " + ", ".join(f"{kind} {100 * share:.0f}%" for kind, share in shares.items())
    )
    write_text_atomic(
        args.output,
        json.dumps(
            {
                "rows": rows,
                "achieved_gflops": achieved / 1e9,
                "matmul_gflops": reference / 1e9,
                "fraction_of_matmul": achieved / reference,
                "layer_shape_matmul_gflops": layer_rate / 1e9,
                "time_shares": shares,
                "peak_rss_mb": peak_mb(),
                "examples": len(examples),
                "repeat": args.repeat,
                "model": args.model,
                "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            },
            indent=2,
        ),
    )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
