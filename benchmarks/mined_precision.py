"""Precision of mined pairs, by hand: draw a sample of a ``relenc mine-pairs`` output to label, then count the labels.

    python benchmarks/mined_precision.py sample runs/pairs/wiki-large --n 100 --seed 0 \\
        --out benchmarks/labels/mined-pairs-wiki-large.jsonl
    # label each line by hand: "verdict": "yes" (both sentences state the same relation between the same two
    # entities) or "no", and for a "no" an "error": wrong-coreference | split-chain | different-relation |
    # no-relation | wrong-entity | list-or-table | other
    python benchmarks/mined_precision.py score benchmarks/labels/mined-pairs-wiki-large.jsonl
    python benchmarks/mined_precision.py replay benchmarks/labels/mined-pairs-wiki-large.jsonl \
        ../shared/data/wikipedia_en_large ../shared/data/wikipedia_en_sample

The sample is drawn uniformly from every pair of the complete shards (``random.Random(seed).sample`` over their
positions in shard order), so the same output and seed give the same sample. Each line shows both sentences with
the head in ``[[ ]]`` and the tail in ``<< >>``, for reading; the labels live in the same file, kept in the repository
next to the sample. ``score`` prints the precision, its 95% Wilson interval and the error types, and writes JSON.
``replay`` mines the labelled pairs' documents again with today's default mining settings, or the ``--arguments`` and
``--drop-fragments`` given (mining is a pure function of a document, so this is what a full run would give for them)
and scores the labels of the pairs still mined: what a new filter would have kept of a labelled sample. A filter
chosen by looking at a sample flatters that sample; a fresh one confirms it. A sample drawn from a run over single
files (not folders) is replayed with those files, since a document's id names its input.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.io import write_lines_atomic, write_text_atomic
from relenc.pretraining.corpus import open_corpus
from relenc.pretraining.pairs import ARGUMENTS, MiningSettings, mine_chunk
from relenc.pretraining.shards import pair_files

ERRORS = ("wrong-coreference", "split-chain", "different-relation", "no-relation", "wrong-entity", "list-or-table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="Draw pairs to label.")
    sample.add_argument("pairs", type=Path, help="A relenc mine-pairs output directory.")
    sample.add_argument("--n", type=int, default=100)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--out", type=Path, required=True)
    score = commands.add_parser("score", help="Count the labels of a labelled sample.")
    score.add_argument("labels", type=Path)
    score.add_argument("--output", type=Path, default=None)
    replay = commands.add_parser("replay", help="Score the labelled pairs that today's mining still finds.")
    replay.add_argument("labels", type=Path)
    replay.add_argument("corpus", nargs="+", help="The inputs of the mining run the labels were sampled from.")
    replay.add_argument("--output", type=Path, default=None)
    replay.add_argument(
        "--arguments", choices=ARGUMENTS, default="all", help="The mining run's --arguments (full-names, ...)."
    )
    replay.add_argument("--drop-fragments", action="store_true", help="Mine with the name-fragment filter on.")
    args = parser.parse_args()
    if args.command == "sample":
        _sample(args.pairs, args.n, args.seed, args.out)
    elif args.command == "replay":
        settings = MiningSettings(arguments=args.arguments, drop_fragments=args.drop_fragments)
        _replay(args.labels, args.corpus, settings, args.output)
    else:
        _score(args.labels, args.output)


def _records(directory: Path) -> list[dict[str, Any]]:
    """Every pair of a complete mining run, in shard order."""
    records = []
    for path in pair_files(directory):
        with open(path, encoding="utf-8") as lines:
            records += [json.loads(line) for line in lines if line.strip()]
    return records


def _marked(example: dict[str, Any]) -> str:
    """The sentence with the head in [[ ]] and the tail in << >> (a mined example's spans are token offsets, with
    the character offsets beside them as ``char_start``/``char_end``)."""
    text, h, t = example["text"], example["h"], example["t"]
    cuts = [(h["char_start"], "[["), (h["char_end"], "]]"), (t["char_start"], "<<"), (t["char_end"], ">>")]
    cuts.sort(reverse=True)
    for position, mark in cuts:
        text = text[:position] + mark + text[position:]
    return text


def _sample(directory: Path, n: int, seed: int, out: Path) -> None:
    records = _records(directory)
    chosen = sorted(random.Random(seed).sample(range(len(records)), min(n, len(records))))
    lines = [
        json.dumps(
            {
                "id": records[i]["id"],
                "entities": records[i].get("entities"),
                "a": _marked(records[i]["a"]),
                "b": _marked(records[i]["b"]),
                "verdict": None,
                "error": None,
            },
            ensure_ascii=False,
        )
        for i in chosen
    ]
    write_lines_atomic(out, lines)
    Console().print(f"wrote {len(lines)} of {len(records)} pairs to {out} (seed {seed})")


def _replay(labels: Path, corpus: list[str], settings: MiningSettings, output: Path | None) -> None:
    rows = _labelled(labels)
    wanted = {row["id"].rsplit(":", 2)[0] for row in rows}  # "<document id>:<head>-<tail>:<k>"
    documents = [doc for doc in open_corpus(corpus).documents() if doc.id in wanted]
    mined = mine_chunk(documents, settings)
    found = set()
    for line in mined.lines:
        record = json.loads(line)
        found.add((_marked(record["a"]), _marked(record["b"])))
    kept = [row for row in rows if (row["a"], row["b"]) in found]
    dropped = Counter(row["verdict"] for row in rows if (row["a"], row["b"]) not in found)
    Console().print(
        f"{len(documents)} documents mined again: {len(kept)} of {len(rows)} labelled pairs still mined; "
        f"dropped: {dropped['yes']} true and {dropped['no']} false positives"
    )
    extra = {"replayed_from": str(labels), "settings": settings.to_json(), "kept": len(kept), "dropped": dict(dropped)}
    _report(
        kept,
        f"{labels} (kept by today's mining)",
        output or Path("benchmarks/results") / f"replay-{labels.stem}.json",
        extra,
    )


def _labelled(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unlabelled = [r["id"] for r in rows if r.get("verdict") not in ("yes", "no")]
    if unlabelled:
        raise SystemExit(f"error: {path}: {len(unlabelled)} pairs have no verdict (yes/no), e.g. {unlabelled[0]}")
    bad = [r["id"] for r in rows if r["verdict"] == "no" and r.get("error") not in (*ERRORS, "other")]
    if bad:
        raise SystemExit(f"error: {path}: pair {bad[0]} is a 'no' without an error type ({', '.join(ERRORS)}, other)")
    return rows


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k/n (sound for small n and proportions near 0 or 1)."""
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _score(path: Path, output: Path | None) -> None:
    _report(_labelled(path), str(path), output or Path("benchmarks/results") / f"precision-{path.stem}.json", {})


def _report(rows: list[dict[str, Any]], title: str, target: Path, extra: dict[str, Any]) -> None:
    """Print the precision of labelled ``rows`` with its interval and error types; write them to ``target``."""
    yes = sum(r["verdict"] == "yes" for r in rows)
    low, high = _wilson(yes, len(rows))
    errors = Counter(r["error"] for r in rows if r["verdict"] == "no")
    table = Table(title=f"{title}: hand-checked mined pairs")
    table.add_column("verdict")
    table.add_column("pairs", justify="right")
    table.add_row(
        "true positive", f"{yes} / {len(rows)} ({100 * yes / len(rows):.0f}%, 95% CI {100 * low:.0f}-{100 * high:.0f}%)"
    )
    for error, count in errors.most_common():
        table.add_row(f"  {error}", str(count))
    Console().print(table)
    result = {"labels": title, "pairs": len(rows), "true_positives": yes, "precision": yes / len(rows)}
    result |= {"wilson_95": [low, high], "errors": dict(errors), **extra}
    write_text_atomic(target, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
