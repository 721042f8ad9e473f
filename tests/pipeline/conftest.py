"""The pipeline tests' fixtures: a tiny random ``ht_mask`` extractor with three labels, saved once per module, and
the default spaCy pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor


@pytest.fixture(scope="module")
def model_dir(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    labels = LabelSet.from_labels(["no_relation", "per:visited", "per:met"])
    model = RelationExtractor.build("ht_mask", labels, {"main": tiny_encoder}, {"main": InputConfig()})
    out = tmp_path_factory.mktemp("model") / "m"
    model.save_pretrained(out)
    return str(out)


@pytest.fixture(scope="session")
def nlp() -> Any:
    """The default spaCy pipeline (sentences, NER, noun chunks), loaded once: it takes a while to load."""
    pytest.importorskip("spacy")
    from relenc.nlp import load_spacy

    return load_spacy()
