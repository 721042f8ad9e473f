"""Training the whole extractor from sentences with typed entities and relations (SpERT-style data, ``--format spert``).

``relenc train --format spert --train T --dev D`` with no other flag gives one model directory that finds entities
in raw text and the relations between them. It is two models in one directory, as in PURE (Zhong & Chen 2021,
who found separate entity and relation encoders better than a shared one): the relation classifier reads each
candidate pair with its own typed markers, which a shared span encoder cannot see.

1. **relation classifier**: the ordinary run on every ordered pair of gold mentions (``no_relation`` where the
   sentence has none), typed punctuation markers (``@ * Peop * John @``, Zhou & Chen 2022) so it sees the types the
   recognizer will give;
2. **entity recognizer** (:mod:`relenc.models.spans`), trained on the same sentences into ``stages/entities``;
3. **decisions** (:mod:`relenc.models.decisions`): the argument types of each relation, from training, and the
   no-relation threshold with the best strict micro-F1 on dev, found by running the whole pipeline on the dev
   sentences.

The recognizer and the decisions are saved into ``model/``, so ``relenc extract``, ``relenc serve`` and the spaCy
component use them as they are. A killed run resumes (``--resume``) stage by stage: the relation classifier from its
checkpoint, the recognizer from scratch unless it finished.

A **final fit** (``training.dev_fraction: 0`` and no dev file; SpERT trains its CoNLL04 model on train and dev
together) trains both models for their whole budgets, keeps their last epochs, and stores the default threshold.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from relenc.data.example import Example
from relenc.data.readers import read_sentences
from relenc.data.readers.spert import NEGATIVE
from relenc.data.sentence import Sentence
from relenc.errors import DataError, RelencError
from relenc.models.decisions import DEFAULT_THRESHOLD, Decisions, learn_argument_types
from relenc.models.extractor import RelationExtractor
from relenc.models.spans import EntityRecognizer
from relenc.training.config import RunConfig

ENTITIES_STAGE = Path("stages") / "entities"


def train_end_to_end(config: RunConfig, out: Path, resume: bool, progress: bool, overwrite: bool) -> dict[str, Any]:
    """Train the relation classifier, the recognizer and the decisions into ``out`` (see the module docstring)."""
    from relenc.training.run import RESULTS_NAME, train_run, write_json

    train, dev = load_sentences(config)
    pairs = (_pairs(train), _pairs(dev))
    results = train_run(config, out, resume, progress, data=pairs, overwrite=overwrite)
    if "end_to_end" in results:  # a finished end-to-end run that --resume found
        return results
    start = time.time()
    recognizer, entity_scores = recognizer_stage(config, out, train, dev, progress)
    extractor = RelationExtractor.from_pretrained(out / "model")
    extractor.recognizer = recognizer
    types = learn_argument_types(pairs[0], extractor.labels.negative)
    extractor.decisions = _tuned(extractor, types, dev)
    extractor.save_pretrained(out / "model")
    results["end_to_end"] = {
        "entities_dev": entity_scores,
        "decisions": extractor.decisions.tuned,
        "argument_types": {r: sorted(list(p) for p in pairs) for r, pairs in sorted(types.items())},
        "seconds": round(time.time() - start, 1),
    }
    write_json(out / RESULTS_NAME, results)
    return results


def load_sentences(config: RunConfig) -> tuple[list[Sentence], list[Sentence]]:
    """Train and dev sentences; without a dev file, a seeded share of the training sentences (none with
    ``dev_fraction`` 0: a final fit)."""
    tc = config.training
    if tc.train is None:
        raise RelencError("no training data: give --train FILE or training.train in the config")
    train = [s for path in tc.train_files for s in read_sentences(path, tc.format)][: tc.max_train_examples]
    if tc.dev is not None:
        return train, read_sentences(tc.dev, tc.format)
    if not tc.has_dev:
        return train, []
    order = list(range(len(train)))
    random.Random(tc.seed).shuffle(order)
    cut = round(tc.dev_fraction * len(train))
    if cut == 0 or cut == len(train):
        raise DataError(
            f"{len(train)} sentences are too few to carve a dev share from; give --dev FILE", tc.train_source
        )
    dev_ids = set(order[:cut])
    return [s for i, s in enumerate(train) if i not in dev_ids], [train[i] for i in sorted(dev_ids)]


def _pairs(sentences: Sequence[Sentence]) -> list[Example]:
    return [ex for s in sentences for ex in s.pair_examples(NEGATIVE)]


def recognizer_stage(
    config: RunConfig, out: Path, train: Sequence[Sentence], dev: Sequence[Sentence], progress: bool
) -> tuple[EntityRecognizer, dict[str, Any]]:
    """The trained recognizer: the finished stage of an earlier attempt of this run, else trained now.

    It depends on its seed alone (``entities.seed``, else the run's ``training.seed``), so a resumed run, which
    skips the relation stage, trains the same recognizer as one that ran straight through.
    """
    from relenc.training.entities import RESULTS_NAME, build_recognizer, fit_entities
    from relenc.training.run import read_json

    stage = out / ENTITIES_STAGE
    if not (stage / RESULTS_NAME).is_file():
        ec = config.entities.for_run(config.training.seed)
        types = sorted({m.type for s in train for m in s.mentions})
        if not types:
            raise DataError("no entity has a type, so no recognizer can be trained", config.training.train_source)
        Console(stderr=True).print(f"[bold]entities[/bold]: {len(train)} train / {len(dev)} dev sentences, {types}")
        fit_entities(build_recognizer(config.model.encoder, types, ec), train, dev, ec, stage, progress)
    return EntityRecognizer.from_pretrained(stage), read_json(stage / RESULTS_NAME)


def _tuned(extractor: RelationExtractor, types: dict[str, Any], dev: Sequence[Sentence]) -> Decisions:
    """The decisions with the threshold that gives the best strict micro-F1 on the dev sentences; without dev (a
    final fit) the default threshold, which on CoNLL04 scores within a point of the tuned one (docs/results.md)."""
    from relenc.pipeline.extract import ExtractionConfig, Pipeline
    from relenc.pipeline.sentences import predict_sentences, tune_threshold

    if not dev:
        Console(stderr=True).print(f"decisions: no dev to tune on, the default threshold {DEFAULT_THRESHOLD}")
        return Decisions(DEFAULT_THRESHOLD, types, {"data": None})
    extractor.decisions = Decisions(argument_types=types)
    scored = predict_sentences(Pipeline(extractor, ExtractionConfig(threshold=0.0)), dev)
    threshold, f1 = tune_threshold(dev, scored)
    Console(stderr=True).print(f"decisions: threshold {threshold:.3f} gives dev strict micro-F1 {f1:.2f}")
    tuned = {"data": "dev", "sentences": len(dev), "metric": "strict micro-F1", "f1": round(f1, 2)}
    return Decisions(round(threshold, 6), types, tuned)
