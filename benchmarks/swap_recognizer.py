"""An end-to-end model with other entity recognizers in place of its own, scored end to end on test.

    python benchmarks/swap_recognizer.py runs/e2e/conll04-ner-s87-ent87 \
        runs/entities/conll04-minilm-shape16-ner16-s13 runs/entities/conll04-minilm-shape16-ner16-final-s13 ...

The model keeps its relation classifier and its stored decisions (threshold, argument types); only the recognizer
changes, so the rows differ by their recognizers alone. That is how a change of the recognizer's training (for
example a final fit on train and dev, ``benchmarks/entities.py --final-fit``) is measured end to end without training
a relation classifier for each recognizer. Each row scores the same pipeline ``relenc evaluate`` runs (strict
micro-F1, Taillé et al. 2020; macro; entity F1) on the test sentences' own tokens. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers import read_sentences
from relenc.evaluation.end2end import score_end2end
from relenc.io import write_text_atomic
from relenc.models.extractor import RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.pipeline.extract import Pipeline
from relenc.pipeline.sentences import at_threshold, predict_sentences
from relenc.training.entities import RESULTS_NAME

DATA = data_dir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="An end-to-end model (or run) directory: its classifier and decisions.")
    parser.add_argument("recognizers", nargs="+", type=Path, help="Recognizer directories (with entity_results.json).")
    parser.add_argument("--test", type=Path, default=DATA / "conll04" / "test_triples.json")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/swap-recognizer.json"))
    args = parser.parse_args()
    extractor = RelationExtractor.from_pretrained(args.model)
    gold = read_sentences(args.test, "spert")
    rows = [score_with(extractor, directory, gold) for directory in args.recognizers]
    _print(rows, args.model)
    result = {
        "model": str(args.model),
        "test": str(args.test),
        "threshold": extractor.decisions.threshold if extractor.decisions else None,
        "rows": rows,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    write_text_atomic(args.output, json.dumps(result, indent=2))
    Console().print(f"wrote {args.output}")


def score_with(extractor: RelationExtractor, directory: Path, gold: list[Any]) -> dict[str, Any]:
    """The end-to-end test scores of ``extractor`` with the recognizer in ``directory``, and how it was trained."""
    trained = json.loads((directory / RESULTS_NAME).read_text(encoding="utf-8"))
    extractor.recognizer = EntityRecognizer.from_pretrained(directory)
    scores = score_end2end(gold, at_threshold(predict_sentences(Pipeline(extractor), gold), 0.0))
    return {
        "recognizer": str(directory),
        "seed": trained.get("seed"),
        "final_fit": "dev" in trained and trained["dev"] is None,  # fit_entities without dev records "dev": null
        "epoch": trained["epoch"],
        "strict_micro": {
            "precision": scores.strict_micro.precision,
            "recall": scores.strict_micro.recall,
            "f1": scores.strict_micro.f1,
        },
        "strict_macro_f1": scores.strict_macro_f1,
        "entity_f1": scores.entities.f1,
    }


def _print(rows: list[dict[str, Any]], model: str) -> None:
    table = Table(title=f"{model} with each recognizer: CoNLL04 test, end to end")
    for col in ("recognizer", "seed", "final fit", "strict P", "strict R", "strict F1", "macro", "entity F1"):
        table.add_column(col, justify="right")
    for row in rows:
        strict = row["strict_micro"]
        table.add_row(
            Path(row["recognizer"]).name,
            str(row["seed"]),
            "yes" if row["final_fit"] else "no",
            f"{strict['precision']:.2f}",
            f"{strict['recall']:.2f}",
            f"{strict['f1']:.2f}",
            f"{row['strict_macro_f1']:.2f}",
            f"{row['entity_f1']:.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
