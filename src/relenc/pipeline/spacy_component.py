"""A spaCy pipeline component: ``nlp.add_pipe("relenc", config={"model": DIR})`` writes ``doc._.relations``.

It runs after the sentence splitter and the NER (or the parser, for noun-chunk candidates) of the pipeline it is
added to, and uses the same candidate generation, classification and decisions as
:class:`relenc.pipeline.extract.Pipeline`; a model trained end to end finds its entities with its own recognizer
(spaCy's are then unused). ``threshold`` null: the model's tuned threshold. ``doc._.relations`` is a list of
dicts: ``head`` and ``tail`` (``text``, ``start``, ``end`` character offsets, ``type``, ``name``), ``relation``,
``score``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from relenc.models.extractor import RelationExtractor
from relenc.pipeline.extract import ExtractionConfig, Pipeline

if not Doc.has_extension("relations"):
    Doc.set_extension("relations", default=None)


class RelencComponent:
    def __init__(self, nlp: Language, model: str, threshold: float | None, candidates: str, max_distance: int) -> None:
        config = ExtractionConfig(candidates=candidates, threshold=threshold, max_distance=max_distance)  # type: ignore[arg-type]
        self.pipeline = Pipeline(RelationExtractor.from_pretrained(model), config, nlp=_Passthrough())

    def __call__(self, doc: Doc) -> Doc:
        triples = self.pipeline.extract_docs([doc])[0]
        doc._.relations = [asdict(t) for t in triples]
        return doc


class _Passthrough:
    """Inside spaCy the documents are already processed: hand them through."""

    def pipe(self, docs: Any, batch_size: int = 16) -> Any:
        return docs


@Language.factory(
    "relenc",
    default_config={"model": None, "threshold": None, "candidates": "entities", "max_distance": 40},
)
def make_relenc(
    nlp: Language, name: str, model: str, threshold: float | None, candidates: str, max_distance: int
) -> RelencComponent:
    if not model:
        raise ValueError('the relenc component needs config={"model": "<model directory>"}')
    return RelencComponent(nlp, model, threshold, candidates, max_distance)
