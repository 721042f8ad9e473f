"""Does a change keep predictions bit for bit, and speed within noise? Two revisions, one model, one run.

    python benchmarks/revisions.py runs/x-hybrid --before 1793119 --rounds 6

Checks out ``--before`` (a git revision) in a temporary worktree and alternates the two code versions, each in a
fresh process with that revision's ``src`` first on the path, on the same saved model and the first ``--examples``
SemEval test sentences: ``predict`` end to end (tokenising included) and with the encodings given (the engine
alone), bf16 where native, batch 64, ``--repeat`` timings per process (the median counts). Alternating, rather than
running one side then the other, spreads this machine's drift over both sides; the medians over rounds are compared.
Every process also hashes its predictions (labels, all probabilities, and the h, t, m vectors): equal hashes mean
bit-identical outputs. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.io import write_text_atomic

REPO = Path(__file__).resolve().parents[1]
DATA = data_dir()
TEST = DATA / "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"

# Run in the child with one revision's code: only API that both sides have.
CHILD = """
import hashlib, json, statistics, sys, time
import numpy as np
from relenc.data.readers import read_dataset
from relenc.models.extractor import RelationExtractor
model, test, n, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
examples = read_dataset(test, "semeval")[:n]
m = RelationExtractor.from_pretrained(model)
preds = m.predict(examples, precision="auto", return_embeddings=True)
digest = hashlib.sha256()
for p in preds:
    digest.update(p.label.encode())
    digest.update(np.array([p.probabilities[label] for label in m.labels.labels], dtype=np.float64).tobytes())
    for part in sorted(p.embeddings):
        digest.update(np.ascontiguousarray(p.embeddings[part]).tobytes())
end_to_end, engine = [], []
for _ in range(repeat):
    start = time.perf_counter(); m.predict(examples, batch_size=64); end_to_end.append(time.perf_counter() - start)
    items = m.encode(examples)
    start = time.perf_counter(); m.predict(examples, batch_size=64, encoded=items)
    engine.append(time.perf_counter() - start)
print(json.dumps({"sha256": digest.hexdigest(), "end_to_end": n / statistics.median(end_to_end),
                  "engine": n / statistics.median(engine)}))
"""


def measure(src: Path, model: str, examples: int, repeat: int) -> dict[str, float | str]:
    env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", CHILD, model, str(TEST), str(examples), str(repeat)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True, cwd=src.parent)
    result: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="A saved model (or run) directory that both revisions can load.")
    parser.add_argument("--before", required=True, help="The git revision to compare the working tree against.")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/revisions.json"))
    args = parser.parse_args()
    model = str(Path(args.model).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.before], cwd=REPO, check=True)
        try:
            sides = {"before": worktree / "src", "after": REPO / "src"}
            runs: dict[str, list[dict[str, float | str]]] = {side: [] for side in sides}
            for _ in range(args.rounds):
                for side, src in sides.items():
                    runs[side].append(measure(src, model, args.examples, args.repeat))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=True)
    report(runs, args, model)


def report(runs: dict[str, list[dict[str, float | str]]], args: argparse.Namespace, model: str) -> None:
    summary = {
        side: {
            "sha256": sorted({str(r["sha256"]) for r in rs}),
            "end_to_end_median": statistics.median(float(r["end_to_end"]) for r in rs),
            "engine_median": statistics.median(float(r["engine"]) for r in rs),
        }
        for side, rs in runs.items()
    }
    identical = summary["before"]["sha256"] == summary["after"]["sha256"] and len(summary["after"]["sha256"]) == 1
    table = Table(title=f"{args.before} vs working tree: {args.examples} SemEval test sentences, {args.rounds} rounds")
    for col in ("revision", "predictions sha256", "end to end sent/s", "engine sent/s"):
        table.add_column(col, justify="right")
    for side, s in summary.items():
        e2e, engine = float(s["end_to_end_median"]), float(s["engine_median"])  # type: ignore[arg-type]
        table.add_row(side, ", ".join(h[:12] for h in s["sha256"]), f"{e2e:.1f}", f"{engine:.1f}")
    Console().print(table)
    ratio = float(summary["after"]["end_to_end_median"]) / float(summary["before"]["end_to_end_median"])  # type: ignore[arg-type]
    Console().print(f"bit-identical predictions: {identical}; end-to-end after/before: {ratio:.3f}")
    out = {"model": model, "before": args.before, "rounds": runs, "summary": summary, "identical": identical}
    write_text_atomic(args.output, json.dumps(out, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
