"""Does an encoder tell true mined pairs from false ones? The cosine of a pair's two sentences, against hand labels.

    python benchmarks/mined_agreement.py benchmarks/labels/mined-pairs-wiki-large.jsonl \\
        benchmarks/labels/mined-pairs-wiki-large-filtered.jsonl --encoder minilm --encoder runs/enc-wiki-relation
    python benchmarks/mined_agreement.py benchmarks/labels/*.jsonl --lexical --output \\
        benchmarks/results/mined-agreement-lexical.json      # the words that link the two names, no encoder

A filter that keeps a mined pair only when its two sentences "agree" (their relation vectors are close) is only worth
building if the cosine separates the pairs labelled true from those labelled false. For each encoder and read-out
(``m``: the mask vector of the prompt; ``ht``: the mean of the head and tail cosines) this prints the AUC (the chance
that a true pair scores above a false one; 0.5 is no signal) and the precision of the pairs kept at several
fractions, and writes JSON. The labelled sentences carry their head in [[ ]] and their tail in << >>.

``--lexical`` scores the pairs without an encoder, by the words that link the two names in each sentence: the
content words (nouns, verbs, adjectives, prepositions, not stop words) on spaCy's dependency path from head to tail
(``path``), or between the two mentions (``between``); a pair scores the Jaccard overlap of its two sentences'
lemma sets. A relation stated in both sentences should often be stated with the same word ("born in", "signed").
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
from relenc.nlp import load_spacy

READOUTS = {"m": ("mask", ("m",)), "ht": ("ht", ("h", "t"))}
CONTENT = {"NOUN", "PROPN", "VERB", "ADJ", "ADP"}
KEEP = (0.2, 0.4, 0.6, 0.8, 1.0)
_MARK = re.compile(r"\[\[|\]\]|<<|>>")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", nargs="+", type=Path, help="Labelled samples of benchmarks/mined_precision.py.")
    parser.add_argument("--encoder", action="append", default=None, help="Encoder name or directory (repeatable).")
    parser.add_argument("--lexical", action="store_true", help="Score by linking words (spaCy), not encoders.")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/mined-agreement.json"))
    args = parser.parse_args()
    rows = [json.loads(line) for path in args.labels for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r.get("verdict") in ("yes", "no")]
    truth = np.array([r["verdict"] == "yes" for r in rows])
    a, b = [marked_example(r["a"]) for r in rows], [marked_example(r["b"]) for r in rows]
    results = lexical(a, b, truth) if args.lexical else []
    for encoder in args.encoder or ([] if args.lexical else ["minilm"]):
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


def lexical(a: list[Example], b: list[Example], truth: np.ndarray) -> list[dict[str, Any]]:
    """The overlap of the linking words of each pair's two sentences, on the dependency path and between the names."""
    nlp = load_spacy(exclude=["ner"])
    # each sentence parsed once, both read-outs taken from that parse
    words = [
        [linking_lemmas(doc, ex) for ex, doc in zip(side, nlp.pipe(ex.text for ex in side), strict=True)]
        for side in (a, b)
    ]
    results = []
    for readout in ("path", "between"):
        score = np.array(
            [len(x[readout] & y[readout]) / max(1, len(x[readout] | y[readout])) for x, y in zip(*words, strict=True)]
        )
        results.append({"encoder": "spaCy (no encoder)", "readout": readout, **separation(score, truth)})
        # most pairs share no linking word at all: how many share one, and how many of those are true
        results[-1] |= {"share_sharing": float((score > 0).mean()), "precision_sharing": float(truth[score > 0].mean())}
        Console().print(
            f"{readout}: {100 * results[-1]['share_sharing']:.0f}% of the pairs share a linking word, "
            f"{100 * results[-1]['precision_sharing']:.0f}% of those are true"
        )
    return results


def linking_lemmas(doc: Any, example: Example) -> dict[str, set[str]]:
    """The content lemmas that link the head to the tail in ``doc`` (spaCy's parse of the example's text): on the
    dependency path (``path``) and between the two mentions (``between``)."""
    head, tail = (
        doc.char_span(span.char_start, span.char_end, alignment_mode="expand") for span in (example.head, example.tail)
    )
    if head is None or tail is None:
        raise SystemExit(f"error: spaCy's tokens do not cover the marked names of {example.text!r}")
    inside = set(range(head.start, head.end)) | set(range(tail.start, tail.end))
    up, down = [head.root, *head.root.ancestors], [tail.root, *tail.root.ancestors]
    meet = next((i for i, token in enumerate(up) if token in down), None)
    (_, end), (start, _) = sorted([(head.start, head.end), (tail.start, tail.end)])
    words = {
        "path": [] if meet is None else up[: meet + 1] + down[: down.index(up[meet])],
        "between": list(doc[end:start]),
    }
    return {
        readout: {w.lemma_.lower() for w in found if w.i not in inside and w.pos_ in CONTENT and not w.is_stop}
        for readout, found in words.items()
    }


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
