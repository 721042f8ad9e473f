"""Readers: every supported file format becomes a list of :class:`relenc.data.Example`.

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
from relenc.data.readers.tacred import read_tacred
from relenc.errors import RelencError

READERS: dict[str, Callable[[str | Path], list[Example]]] = {
    "tacred": read_tacred,
    "semeval": read_semeval,
    "kbp37": read_kbp37,
    "fewrel": read_fewrel,
    "jsonl": read_jsonl,
}
FORMATS: tuple[str, ...] = tuple(READERS)


def read_dataset(path: str | Path, fmt: str) -> list[Example]:
    """Read a data file of format ``fmt`` (one of :data:`FORMATS`); an unknown format is a RelencError."""
    reader = READERS.get(fmt)
    if reader is None:
        raise RelencError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return reader(path)
