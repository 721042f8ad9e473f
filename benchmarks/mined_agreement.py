"""Does an encoder tell true mined pairs from false ones? The cosine of a pair's two sentences, against hand labels.

    python benchmarks/mined_agreement.py benchmarks/labels/mined-pairs-wiki-large.jsonl \\
        benchmarks/labels/mined-pairs-wiki-large-filtered.jsonl --encoder minilm --encoder runs/enc-wiki-relation

A filter that keeps a mined pair only when its two sentences "agree" (their relation vectors are close) is only worth
building if the cosine separates the pairs labelled true from those labelled false. For each encoder and read-out
(``m``: the mask vector of the prompt; ``ht``: the mean of the head and tail cosines) this prints the AUC (the chance
that a true pair scores above a false one; 0.5 is no signal) and the precision of the pairs kept at several
fractions, and writes JSON. The labelled sentences carry their head in [[ ]] and their tail in << >>.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from relenc import RelationExtractor
from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans
from relenc.io import write_text_atomic

READOUTS = {"m": ("mask", ("m",)), "ht": ("ht", ("h", "t"))}
KEEP = (0.2, 0.4, 0.6, 0.8, 1.0)
_MARK = re.compile(r"\[\[|\]\]|<<|>>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", nargs="+", type=Path, help="Labelled samples of benchmarks/mined_precision.py.")
    parser.add_argument("--encoder", action="append", default=None, help="Encoder name or directory (repeatable).")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/mined-agreement.json"))
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.labels for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("verdict") in ("yes", "no")]
    truth = np.array([r["verdict"] == "yes" for r in rows])
    a, b = [marked_example(r["a"]) for r in rows], [marked_example(r["b"]) for r in rows]
    results = []
    for encoder in args.encoder or ["minilm"]:
        for readout, (strategy, parts) in READOUTS.items():
            extractor = RelationExtractor.from_encoder(encoder, strategy)
            ea = extractor.embed(a, parts=parts, normalize=True)
            eb = extractor.embed(b, parts=parts, normalize=True)
            cosine = np.mean([(ea[p] * eb[p]).sum(axis=1) for p in parts], axis=0)
            results.append({"encoder": encoder, "readout": readout, **separation(cosine, truth)})
    show(results, len(rows), int(truth.sum()))
    write_text_atomic(
        args.output, json.dumps({"labels": [str(p) for p in args.labels], "results": results}, indent=1) + "\n"
    )
    Console().print(f"wrote {args.output}")


def marked_example(text: str) -> Example:
    """A labelled sentence with its [[head]] and <<tail>> as an unlabelled example (the marks removed)."""
    plain, spans, removed = _MARK.sub("", text), {}, 0
    for match in _MARK.finditer(text):
        spans[match.group()] = match.start() - removed
        removed += 2
    return example_from_char_spans("pair", plain, (spans["[["], spans["]]"]), (spans["<<"], spans[">>"]), None)


def separation(score: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """AUC (ties count half) and the precision of the top fraction of pairs by score."""
    pos, neg = score[truth], score[~truth]
    auc = float(
        ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (len(pos) * len(neg))
    )
    order = np.argsort(-score, kind="stable")
    kept = {f"{k:.0%}": float(truth[order[: max(1, round(k * len(score)))]].mean()) for k in KEEP}
    return {"auc": auc, "precision_kept": kept}


def show(results: list[dict[str, Any]], n: int, true: int) -> None:
    table = Table(title=f"Sentence agreement against {n} hand labels ({true} true pairs)")
    for col in ("encoder", "read-out", "AUC", *(f"kept {k:.0%}" for k in KEEP)):
        table.add_column(col, justify="left" if col in ("encoder", "read-out") else "right")
    for r in results:
        precision = [f"{100 * v:.0f}%" for v in r["precision_kept"].values()]
        table.add_row(r["encoder"], r["readout"], f"{r['auc']:.3f}", *precision)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
