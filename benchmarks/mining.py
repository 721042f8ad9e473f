"""Pair mining at corpus scale: documents/s, sentences, chains, pairs and wall time, per number of workers.

    python benchmarks/mining.py ../shared/data/wikipedia_en_large ../shared/data/wikipedia_en_sample --workers 2
    python benchmarks/mining.py ../shared/data/wikipedia_en_large --workers 1 2 --max-documents 2000   # speed-up

Each worker count mines the inputs afresh (``relenc mine-pairs``'s own code: reading, counting for the progress
bar, spawning the workers, writing shards), into ``--out/workers-N`` (kept: a full run's output is what
``relenc pretrain --pairs`` reads) or a temp directory (deleted). The wall time includes loading spaCy in every
worker. Runs with several worker counts must give the same pairs; the table says whether they do. Prints a table
and writes JSON (counts, times, the machine, its load average before and after: the cores may be shared) into
benchmarks/results/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.io import write_text_atomic
from relenc.pretraining.corpus import INPUT_FORMATS
from relenc.pretraining.mining import DEFAULT_SHARD_SIZE, MiningJob, default_workers, mine_corpus


def shards_digest(directory: Path) -> str:
    """One SHA-256 over the shards in order: equal digests, equal pairs."""
    digest = hashlib.sha256()
    for shard in sorted(directory.glob("shard-*.jsonl")):
        digest.update(shard.read_bytes())
    return digest.hexdigest()


def mine_once(job: MiningJob, out: Path, workers: int, progress: bool) -> dict[str, Any]:
    """One fresh run with ``workers`` processes: its totals, wall time and documents/s."""
    start = time.perf_counter()
    manifest = mine_corpus(job, out, workers=workers, overwrite=True, progress=progress)
    wall = time.perf_counter() - start
    totals = manifest["totals"]
    return {
        "workers": workers,
        "wall_seconds": round(wall, 1),
        "documents_per_second": round(totals["documents"] / wall, 2),
        **{key: totals[key] for key in ("documents", "sentences", "chains", "pairs", "shards", "bytes")},
        "shards_sha256": shards_digest(out),
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"pair mining ({default_workers()} CPUs, load {os.getloadavg()[0]:.1f})")
    columns = {
        "workers": "workers",
        "documents": "docs",
        "sentences": "sentences",
        "chains": "chains",
        "pairs": "pairs",
        "wall_seconds": "wall s",
        "documents_per_second": "docs/s",
    }
    for header in (*columns.values(), "same pairs"):
        table.add_column(header, justify="right")
    for row in rows:
        same = "yes" if row["shards_sha256"] == rows[0]["shards_sha256"] else "NO"
        table.add_row(*(f"{row[c]:,}" if isinstance(row[c], int) else str(row[c]) for c in columns), same)
    Console().print(table)


def main() -> None:
    from relenc.experiments.records import git_info, now

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="Files or folders, as relenc mine-pairs takes them.")
    parser.add_argument("--workers", type=int, nargs="+", default=[default_workers()])
    parser.add_argument("--input-format", choices=INPUT_FORMATS, default="auto")
    parser.add_argument("--max-documents", type=int, default=None)
    parser.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE)
    parser.add_argument("--out", type=Path, default=None, help="Keep each run's output in OUT/workers-N.")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("--output", type=Path, default=None, help="The JSON file (default: benchmarks/results/).")
    args = parser.parse_args()

    job = MiningJob(tuple(args.inputs), args.input_format, shard_size=args.shard_size, max_documents=args.max_documents)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="relenc-mining-") as scratch:
        root = args.out or Path(scratch)
        rows = [mine_once(job, root / f"workers-{n}", n, args.progress) for n in args.workers]
    print_table(rows)

    names = "+".join(Path(i).resolve().name for i in args.inputs)
    limit = f"-n{args.max_documents}" if args.max_documents else ""
    out = args.output or Path("benchmarks/results") / f"mining-{names}-w{'_'.join(map(str, args.workers))}{limit}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "inputs": [str(Path(i).resolve()) for i in args.inputs],
        "args": {k: str(v) for k, v in vars(args).items()},
        "git": git_info(),
        "machine": {
            "cpus": default_workers(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "date": now(),
        "same_pairs_for_every_worker_count": len({row["shards_sha256"] for row in rows}) == 1,
        "rows": rows,
    }
    write_text_atomic(out, json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
