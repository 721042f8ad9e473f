"""How an end-to-end model should score a triple: the relation's probability alone, or with its entities' too.

    python benchmarks/triple_scores.py runs/e2e/conll04-ner-s87

Today a triple's score is the relation classifier's probability, and the model's threshold (tuned on dev) cuts it.
But a relation needs both of its entities right, and about half of the false triples on CoNLL04 test have a wrong
entity: the recognizer's own probability for each argument may say which. This script runs the model's pipeline once
on dev and once on test (threshold 0, so every positive decision is kept with its score), takes the recognizer's
probability of each predicted mention, and for each way of scoring a triple tunes the threshold on dev for strict
micro-F1 (the same rule the training uses), then scores test at that threshold:

- ``relation``: P(relation), what the pipeline does;
- ``relation x entities``: P(relation) x P(head) x P(tail);
- ``relation x sqrt(entities)``: P(relation) x sqrt(P(head) x P(tail));
- ``relation x weakest entity``: P(relation) x min(P(head), P(tail)).

It also prints strict micro-F1 on dev and test at fixed thresholds (the pipeline's scores), which shows how much the
tuned threshold matters at all. Nothing is trained; the test set only scores. Prints the tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers import read_sentences
from relenc.data.sentence import Mention, Sentence
from relenc.evaluation.end2end import score_end2end
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.pipeline.extract import ExtractionConfig, Pipeline
from relenc.pipeline.sentences import ScoredSentence, at_threshold, predict_sentences, tune_threshold

DATA = data_dir()

Rule = Callable[[float, float, float], float]
RULES: dict[str, Rule] = {
    "relation": lambda r, h, t: r,
    "relation x entities": lambda r, h, t: r * h * t,
    "relation x sqrt(entities)": lambda r, h, t: r * math.sqrt(h * t),
    "relation x weakest entity": lambda r, h, t: r * min(h, t),
}
#: The fixed thresholds of the second table (the tuned one is added).
THRESHOLDS = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="An end-to-end model (or run) directory.")
    parser.add_argument("--dev", type=Path, default=DATA / "conll04" / "dev_triples.json")
    parser.add_argument("--test", type=Path, default=DATA / "conll04" / "test_triples.json")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    extractor = RelationExtractor.from_pretrained(args.model)
    if extractor.recognizer is None:
        raise SystemExit(f"error: {args.model} has no entity recognizer; train it with relenc train --format spert")
    pipeline = Pipeline(extractor, ExtractionConfig(threshold=0.0))
    splits = {name: read_sentences(path, "spert") for name, path in (("dev", args.dev), ("test", args.test))}
    scored = {name: predict_sentences(pipeline, gold) for name, gold in splits.items()}
    entity_probs = {name: mention_probabilities(extractor.recognizer, scored[name]) for name in splits}
    rows = {}
    for name, rule in RULES.items():
        rescored = {split: rescore(scored[split], entity_probs[split], rule) for split in splits}
        threshold, dev_f1 = tune_threshold(splits["dev"], rescored["dev"])
        test = score_end2end(splits["test"], at_threshold(rescored["test"], threshold))
        rows[name] = {
            "threshold": threshold,
            "dev_strict_micro_f1": dev_f1,
            "test_strict_micro": {
                "precision": test.strict_micro.precision,
                "recall": test.strict_micro.recall,
                "f1": test.strict_micro.f1,
            },
            "test_strict_macro_f1": test.strict_macro_f1,
        }
    _print(rows, args.model)
    stored = extractor.decisions.threshold if extractor.decisions else None
    curve = threshold_curve(splits, scored, sorted({*THRESHOLDS, rows["relation"]["threshold"]}))
    _print_curve(curve, args.model)
    result = {
        "model": str(args.model),
        "threshold_stored": stored,
        "rules": rows,
        "strict_micro_f1_by_threshold": curve,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out = args.output or Path("benchmarks/results") / f"triple-scores-{Path(args.model).name}.json"
    write_text_atomic(out, json.dumps(result, indent=2))
    Console().print(f"wrote {out}")


def mention_probabilities(recognizer: EntityRecognizer, scored: Sequence[ScoredSentence]) -> list[list[float]]:
    """Per sentence, the recognizer's probability of each predicted mention, in mention order.

    The recognizer runs on the sentence's tokens as the pipeline does; a pipeline mention may be a recognized span
    with end punctuation trimmed, so it takes the probability of the recognized span of its type that contains it.
    """
    found = recognizer.predict([list(s.sentence.tokens) for s in scored])
    return [
        [_containing(mention, spans) for mention in s.sentence.mentions] for s, spans in zip(scored, found, strict=True)
    ]


def _containing(mention: Mention, spans: Sequence[tuple[Mention, float]]) -> float:
    for span, probability in spans:
        if span.type == mention.type and span.start <= mention.start and mention.end <= span.end:
            return probability
    raise ValueError(f"no recognized span holds the pipeline's mention {mention}")


def rescore(scored: Sequence[ScoredSentence], probs: Sequence[Sequence[float]], rule: Rule) -> list[ScoredSentence]:
    """The sentences with each relation's score replaced by ``rule(P(relation), P(head), P(tail))``."""
    return [
        replace(s, relations=tuple((r, rule(score, p[r.head], p[r.tail])) for r, score in s.relations))
        for s, p in zip(scored, probs, strict=True)
    ]


def threshold_curve(
    gold: dict[str, Sequence[Sentence]], scored: dict[str, Sequence[ScoredSentence]], thresholds: Sequence[float]
) -> dict[str, dict[str, float]]:
    """Per threshold (as a string, for JSON), the strict micro-F1 of each split with the pipeline's own scores."""
    return {
        f"{t:g}": {name: score_end2end(gold[name], at_threshold(scored[name], t)).strict_micro.f1 for name in gold}
        for t in thresholds
    }


def _print_curve(curve: dict[str, dict[str, float]], model: str) -> None:
    table = Table(title=f"{model}: strict micro-F1 at fixed thresholds, P(relation)")
    for col in ("threshold", "dev F1", "test F1"):
        table.add_column(col, justify="right")
    for threshold, f1 in curve.items():
        table.add_row(threshold, f"{f1['dev']:.2f}", f"{f1['test']:.2f}")
    Console().print(table)


def _print(rows: dict[str, dict[str, object]], model: str) -> None:
    table = Table(title=f"{model}: a triple's score, threshold tuned on dev, strict micro-F1")
    for col in ("score", "threshold", "dev F1", "test P", "test R", "test F1", "test macro"):
        table.add_column(col, justify="right")
    for name, row in rows.items():
        test = row["test_strict_micro"]
        assert isinstance(test, dict)
        table.add_row(
            name,
            f"{row['threshold']:.3f}",
            f"{row['dev_strict_micro_f1']:.2f}",
            f"{test['precision']:.2f}",
            f"{test['recall']:.2f}",
            f"{test['f1']:.2f}",
            f"{row['test_strict_macro_f1']:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
