"""Readers: every supported file format becomes a list of :class:`relenc.data.Example`; formats that hold whole
sentences with all their entities (:data:`SENTENCE_READERS`: ``spert``) also become
:class:`relenc.data.sentence.Sentence` records, for end-to-end training and evaluation.

Each reader raises :class:`relenc.errors.DataError` naming the file, the line or record, and the problem; nothing
else escapes a reader for bad input. ``docs/data-formats.md`` describes each format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from relenc.data.example import Example
from relenc.data.readers.fewrel import read_fewrel
from relenc.data.readers.jsonl import read_jsonl
from relenc.data.readers.kbp37 import read_kbp37
from relenc.data.readers.semeval import read_semeval
from relenc.data.readers.spert import read_spert, read_spert_sentences
from relenc.data.readers.tacred import read_tacred
from relenc.data.sentence import Sentence
from relenc.errors import DataError, RelencError

READERS: dict[str, Callable[[str | Path], list[Example]]] = {
    "tacred": read_tacred,
    "semeval": read_semeval,
    "kbp37": read_kbp37,
    "fewrel": read_fewrel,
    "jsonl": read_jsonl,
    "spert": read_spert,
}
FORMATS: tuple[str, ...] = tuple(READERS)
#: Formats whose records are whole sentences with typed entities and relations: they train and score end to end.
SENTENCE_READERS: dict[str, Callable[[str | Path], list[Sentence]]] = {"spert": read_spert_sentences}


def is_end_to_end(fmt: str) -> bool:
    """Whether ``fmt`` holds whole sentences (entities and relations), not single pairs."""
    return fmt in SENTENCE_READERS


def read_sentences(path: str | Path, fmt: str) -> list[Sentence]:
    """The sentences of a file of a sentence format; at least one, or a DataError naming the file."""
    reader = SENTENCE_READERS.get(fmt)
    if reader is None:
        raise RelencError(f"format {fmt!r} holds single pairs, not sentences; use {', '.join(SENTENCE_READERS)}")
    sentences = reader(path)
    if not sentences:
        raise DataError(f"holds no sentences (read as {fmt}); check the file and its format", path)
    return sentences


def read_dataset(path: str | Path, fmt: str, *, allow_empty: bool = True) -> list[Example]:
    """Read a data file of format ``fmt`` (one of :data:`FORMATS`); an unknown format is a RelencError.

    ``allow_empty=False`` makes a file without a single example a DataError naming it: a command that trains,
    scores or predicts would otherwise finish "successfully" having done nothing.
    """
    reader = READERS.get(fmt)
    if reader is None:
        raise RelencError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    examples = reader(path)
    if not examples and not allow_empty:
        raise DataError(f"holds no examples (read as {fmt}); check the file and its format", path)
    return examples
