"""A bounded load test of ``relenc serve`` on loopback: throughput and p50/p99 latency of /classify.

    python benchmarks/serve_load.py runs/strategies/semeval-minilm-e3-s13/hybrid --requests 400 --concurrency 16

Starts the service in this process on 127.0.0.1 (a free port), sends a fixed number of single-sentence requests
from a fixed number of client threads (real SemEval test sentences), stops by itself. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import uvicorn
from rich.console import Console
from rich.table import Table

from relenc.data.readers import read_dataset
from relenc.models.extractor import RelationExtractor
from relenc.serve.app import Limits, create_app

DATA = Path(os.environ.get("RELENC_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
TEST = DATA / "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/serve_load.json"))
    args = parser.parse_args()

    items = []
    for ex in read_dataset(TEST, "semeval")[: args.requests]:
        assert ex.text is not None
        items.append(
            {
                "text": ex.text,
                "h": {"start": ex.head.char_start, "end": ex.head.char_end},
                "t": {"start": ex.tail.char_start, "end": ex.tail.char_end},
            }
        )
    app = create_app(RelationExtractor.from_pretrained(args.model), Limits(max_wait_ms=args.max_wait_ms))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/classify"
    latencies: list[float] = []
    lock = threading.Lock()

    def send(item: dict) -> None:
        with httpx.Client(timeout=120) as client:
            start = time.perf_counter()
            response = client.post(url, json={"items": [item]})
            response.raise_for_status()
            with lock:
                latencies.append(time.perf_counter() - start)

    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(send, items[:8]))  # warm-up
        latencies.clear()
        start = time.perf_counter()
        list(pool.map(send, items))
        elapsed = time.perf_counter() - start
    server.should_exit = True
    thread.join(timeout=60)
    ms = np.array(latencies) * 1000
    result = {
        "requests": len(items),
        "concurrency": args.concurrency,
        "throughput_rps": round(len(items) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "forward_passes": app.state.batcher.batches,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "model": args.model,
    }
    table = Table(title="relenc serve, /classify on loopback")
    for key in ("requests", "concurrency", "throughput_rps", "p50_ms", "p99_ms", "forward_passes"):
        table.add_column(key, justify="right")
    table.add_row(
        *(str(result[k]) for k in ("requests", "concurrency", "throughput_rps", "p50_ms", "p99_ms", "forward_passes"))
    )
    Console().print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
