"""A bounded load test of ``relenc serve`` on loopback: throughput and p50/p99 latency of /classify.

    python benchmarks/serve_load.py runs/strategies/semeval-minilm-e3-s13/hybrid --requests 400 --concurrency 16

Starts ``relenc serve MODEL`` as its own process on 127.0.0.1 (a free port), exactly as a user would, and sends a
fixed number of single-sentence requests (real SemEval test sentences) from ``--concurrency`` asyncio clients that
keep their connections open. The client and the server are separate processes so that the client's work does not
take the server's interpreter lock; on a 2-core machine they still share the cores.

Beside throughput and latency it reports how the service batched (forward passes and examples from ``/health``),
the CPU seconds the server and the client used, and the ceiling: ``RelationExtractor.predict`` on the same sentences
in batches of the service's mean batch size, in this process after the server has stopped. ``--compile`` serves
and measures the ceiling with the compiled model (``relenc serve --compile``). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

from loopback import free_port, launch
from relenc.data.paths import data_dir
from relenc.data.readers import read_dataset
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.runtime import bf16_native

DATA = data_dir()
TEST = DATA / "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), so the report can say whether the server was busy."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(model: str, port: int, max_wait_ms: float, log: Path, compile_model: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "relenc", "serve", model, "--port", str(port), "--max-wait-ms", str(max_wait_ms)]
    command += ["--compile"] if compile_model else []
    return launch(command, port, log)


async def load(url: str, items: list[dict[str, Any]], concurrency: int) -> tuple[list[float], float]:
    """Send every item once from ``concurrency`` clients; latencies in seconds and the wall time."""
    latencies: list[float] = []
    queue = list(reversed(items))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while queue:
                item = queue.pop()
                start = time.perf_counter()
                response = await client.post(f"{url}/classify", json={"items": [item]})
                response.raise_for_status()
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/serve_load.json"))
    parser.add_argument("--compile", action="store_true", help="Serve, and measure the ceiling, compiled.")
    args = parser.parse_args()

    examples = read_dataset(TEST, "semeval")[: args.requests]
    items = []
    for ex in examples:
        assert ex.text is not None
        items.append(
            {
                "text": ex.text,
                "h": {"start": ex.head.char_start, "end": ex.head.char_end},
                "t": {"start": ex.tail.char_start, "end": ex.tail.char_end},
            }
        )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.gettempdir()) / f"relenc-serve-{port}.log"
    server = start_server(args.model, port, args.max_wait_ms, log, args.compile)
    try:
        asyncio.run(load(url, items[: 2 * args.concurrency], args.concurrency))  # warm-up
        before = httpx.get(f"{url}/health").json()
        server_cpu, client_cpu = cpu_seconds(server.pid), time.process_time()
        latencies, elapsed = asyncio.run(load(url, items, args.concurrency))
        server_cpu, client_cpu = cpu_seconds(server.pid) - server_cpu, time.process_time() - client_cpu
        after = httpx.get(f"{url}/health").json()
    finally:
        server.send_signal(signal.SIGINT)  # graceful: uvicorn drains, the batcher finishes its queue
        server.wait(timeout=60)
    passes = after["forward_passes"] - before["forward_passes"]
    mean_batch = (after["examples_classified"] - before["examples_classified"]) / passes

    extractor = RelationExtractor.from_pretrained(args.model)
    if args.compile:
        extractor.compile()
    precision = "bf16" if bf16_native() else "fp32"
    batch = max(1, round(mean_batch))

    def arrival_order() -> float:
        start = time.perf_counter()
        for k in range(0, len(examples), batch):
            extractor.predict(examples[k : k + batch], batch_size=batch, precision=precision)
        return len(examples) / (time.perf_counter() - start)

    arrival_order()  # warm-up: every batch shape (and, compiled, every compilation) before the timed pass
    ceiling = arrival_order()

    ms = np.array(latencies) * 1000
    result = {
        "requests": len(items),
        "concurrency": args.concurrency,
        "throughput_rps": round(len(items) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "forward_passes": passes,
        "mean_batch": round(mean_batch, 2),
        "server_cpu_s": round(server_cpu, 1),
        "client_cpu_s": round(client_cpu, 1),
        "wall_s": round(elapsed, 1),
        "predict_sent_per_s_at_mean_batch": round(ceiling, 1),
        "service_fraction_of_predict": round(len(items) / elapsed / ceiling, 3),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": args.model,
        "compiled": args.compile,
    }
    columns = ("throughput_rps", "p50_ms", "p99_ms", "forward_passes", "mean_batch", "server_cpu_s", "client_cpu_s")
    table = Table(title=f"relenc serve, /classify on loopback: {len(items)} requests, {args.concurrency} clients")
    for key in (*columns, "predict at mean batch"):
        table.add_column(key, justify="right")
    table.add_row(*(str(result[k]) for k in columns), f"{ceiling:.1f} sent/s")
    Console().print(table)
    write_text_atomic(args.output, json.dumps(result, indent=2))
    print(f"wrote {args.output}; server log: {log}")


if __name__ == "__main__":
    main()
