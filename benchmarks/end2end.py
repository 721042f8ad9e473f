"""End-to-end extraction on CoNLL04 (or any SpERT-format test file): accuracy and speed of an end-to-end model.

    python benchmarks/end2end.py runs/e2e/conll04-s13 --repeat 3

Accuracy: the model's whole pipeline (its recognizer, its classifier, its stored decisions) on the test sentences'
own tokens, scored strictly (Taillé et al. 2020: boundaries, entity types and relation right), with the boundaries
variant, entity F1 and a row per type; the same as ``relenc evaluate MODEL test --format spert``.

Speed, in one run, sentences per second on this machine (medians of ``--repeat`` timings, model loaded once):

1. **classification only**: the relation classifier on every ordered pair of the *gold* mentions (what a
   pair-classification benchmark measures); also pairs/s;
2. **end to end, tokenised**: recognizer + candidate pairs + classifier + decisions on the test tokens;
3. **end to end, raw text**: each test sentence as a raw-text document (tokens joined by spaces) through
   ``Pipeline.extract_many``: spaCy sentence splitting and tokenisation, recognizer, pairs, classifier, decisions,
   mention naming; what ``relenc extract`` does.

Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers import read_sentences
from relenc.data.readers.spert import NEGATIVE
from relenc.evaluation.end2end import score_end2end
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.pipeline.extract import Pipeline
from relenc.pipeline.sentences import at_threshold, predict_sentences

DATA = data_dir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="An end-to-end model (or run) directory.")
    parser.add_argument("--test", type=Path, default=DATA / "conll04" / "test_triples.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    extractor = RelationExtractor.from_pretrained(args.model)
    if extractor.recognizer is None:
        raise SystemExit(f"error: {args.model} has no entity recognizer; train it with relenc train --format spert")
    gold = read_sentences(args.test, "spert")
    pipeline = Pipeline(extractor)
    scores = score_end2end(gold, at_threshold(predict_sentences(pipeline, gold), 0.0))
    speed = _speeds(extractor, pipeline, gold, args.repeat)
    _print(scores, speed, args.model)
    result = {
        "model": str(args.model),
        "test": str(args.test),
        "sentences": len(gold),
        "threshold": pipeline.threshold,
        "scores": scores.to_dict(),
        "speed": speed,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out = args.output or Path("benchmarks/results") / f"end2end-{Path(args.model).name}.json"
    write_text_atomic(out, json.dumps(result, indent=2))
    Console().print(f"wrote {out}")


def _speeds(extractor: RelationExtractor, pipeline: Pipeline, gold: list[Any], repeat: int) -> dict[str, Any]:
    """Sentences/s of the three paths (medians of ``repeat`` runs after one warm-up each)."""
    pairs = [ex for s in gold for ex in s.pair_examples(NEGATIVE)]
    texts = [" ".join(s.tokens) for s in gold]
    paths: dict[str, Callable[[], object]] = {
        "classification only (gold mentions)": lambda: extractor.predict(pairs),
        "end to end, tokenised": lambda: predict_sentences(pipeline, gold),
        "end to end, raw text": lambda: pipeline.extract_many(texts),
    }
    pipeline.nlp  # noqa: B018  (loads spaCy before the timings)
    out: dict[str, Any] = {}
    for name, run in paths.items():
        run()
        seconds = statistics.median(_timed(run) for _ in range(repeat))
        out[name] = {"seconds": round(seconds, 3), "sentences_per_second": round(len(gold) / seconds, 1)}
    out["classification only (gold mentions)"]["pairs_per_second"] = round(
        len(pairs) / out["classification only (gold mentions)"]["seconds"], 1
    )
    return out


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _print(scores: Any, speed: dict[str, Any], model: str) -> None:
    table = Table(title=f"{model}: CoNLL04 test, end to end")
    for col in ("score", "P", "R", "F1"):
        table.add_column(col, justify="right")
    for name, row in (("strict micro", scores.strict_micro), ("boundaries micro", scores.boundaries_micro)):
        table.add_row(name, f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}")
    table.add_row("strict macro", "", "", f"{scores.strict_macro_f1:.2f}")
    table.add_row(
        "entities", f"{scores.entities.precision:.2f}", f"{scores.entities.recall:.2f}", f"{scores.entities.f1:.2f}"
    )
    for row in scores.relation_types:
        table.add_row(f"  {row.label}", f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}")
    for row in scores.entity_types:
        table.add_row(f"  entity {row.label}", f"{row.precision:.2f}", f"{row.recall:.2f}", f"{row.f1:.2f}")
    speeds = Table(title="speed (sentences/s, 2 cores)")
    speeds.add_column("path")
    speeds.add_column("sentences/s", justify="right")
    for name, row in speed.items():
        speeds.add_row(name, f"{row['sentences_per_second']:.1f}")
    Console().print(table, speeds)


if __name__ == "__main__":
    main()
