"""Reading a raw-text corpus for pair mining: many files and folders, three formats, three codecs, streamed.

Inputs are files or folders; a folder is walked recursively in sorted order (hidden files and folders, whose names
start with ``.``, are passed over). Each file is read line by line through the decompressor its suffix names
(``.xz``, ``.gz``, ``.bz2``; anything else is read as it is), so a compressed corpus is never unpacked to disk and a
file is never held in memory whole: only the document being read is.

Formats (``input_format``):

* ``wiki``: WikiExtractor output, ``<doc id="..." ...>`` then the title line, the text, and ``</doc>``. The title is
  dropped; a document without text (a redirect or a stub) is skipped.
* ``jsonl``: one ``{"id"?, "text"}`` object per line; the id defaults to the line number.
* ``text``: one document per block of lines separated by blank lines (a paragraph, or a whole article written
  without blank lines); its id is the number of its first line. Blocks rather than lines, because chains of
  mentions (and so pairs) need more than one sentence, and a line of plain text is often a single sentence.
* ``auto``: by the suffix (``.jsonl``/``.ndjson``, ``.txt``; the codec's suffix is looked through), else by the
  first non-blank line (``<doc `` is wiki, ``{`` is jsonl). A file given by name that is neither is text; a file
  found in a folder that is neither is skipped and named in :attr:`Corpus.skipped` (a folder of WikiExtractor files
  often holds a README or a checksum list). An explicit format reads every file of a folder with it.

A document's id is ``<name>#<key>``: ``name`` is the file's path from the folder given (starting with that
folder's own name; a file given by name is just its name), without the codec's suffix; ``key`` is the WikiExtractor
or JSONL id, or the line number. So ids are unique across inputs (two inputs that would give one name are refused)
and stable from run to run and between a compressed and a plain copy of a file. Bad input is a :class:`DataError`
naming the file and the line.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import itertools
import lzma
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from relenc.data.readers._common import json_objects
from relenc.errors import DataError, RelencError

InputFormat = Literal["auto", "wiki", "text", "jsonl"]
INPUT_FORMATS: tuple[InputFormat, ...] = ("auto", "wiki", "text", "jsonl")
#: Compressed files, by suffix: read through the module's ``open``, as a stream.
CODECS: dict[str, ModuleType] = {".xz": lzma, ".gz": gzip, ".bz2": bz2}
_JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
_DOC_ID = re.compile(r'\bid="([^"]*)"')
_SNIFF_LINES = 50  # lines read, at the most, to find the first non-blank one (which tells the format)
# what a broken compressed stream raises: lzma.LZMAError, gzip.BadGzipFile (an OSError), EOFError when cut off
_CODEC_ERRORS = (lzma.LZMAError, OSError, EOFError)


@dataclass(frozen=True)
class Document:
    """One document of the corpus: ``id`` is unique and stable across inputs (see the module docstring)."""

    id: str
    text: str


@dataclass(frozen=True)
class CorpusFile:
    """A file to read: its path, its name in document ids, and its format (never ``auto``)."""

    path: Path
    name: str
    format: InputFormat


@dataclass(frozen=True)
class Corpus:
    """The files of a run's inputs in reading order, and the files of folders that were not recognised."""

    files: tuple[CorpusFile, ...]
    skipped: tuple[str, ...] = field(default=())

    def documents(self) -> Iterator[Document]:
        """Every document of every file, in order."""
        for file in self.files:
            yield from read_file(file)

    def describe(self) -> list[dict[str, Any]]:
        """The files as JSON values (name, path, format, size): what a resumed run must find unchanged."""
        return [
            {"name": f.name, "path": str(f.path.resolve()), "format": f.format, "bytes": f.path.stat().st_size}
            for f in self.files
        ]


def open_corpus(inputs: Sequence[str | Path], input_format: InputFormat = "auto") -> Corpus:
    """The files of ``inputs`` (files or folders), in order, each with its format; nothing is read but the first
    lines of the files whose format is told by their content."""
    if input_format not in INPUT_FORMATS:
        raise RelencError(f"unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}")
    if not inputs:
        raise RelencError("no input: give at least one file or folder")
    files: list[CorpusFile] = []
    skipped: list[str] = []
    for given in inputs:
        root = Path(given)
        if not root.exists():
            raise DataError("file or folder not found", root)
        for path, name in _walk(root):
            fmt = _format_of(path, input_format, in_folder=root.is_dir())
            if fmt is None:
                skipped.append(str(path))
            else:
                files.append(CorpusFile(path, name, fmt))
    _check_distinct(files)
    return Corpus(tuple(files), tuple(skipped))


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """``(path, name)`` of the files under ``root`` (or ``root`` itself), sorted; names lose the codec suffix."""
    if root.is_file():
        yield root, _strip_codec(root.name)
        return
    base = root.resolve()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield path, _strip_codec(f"{base.name}/{relative.as_posix()}")


def _strip_codec(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return name[: -len(suffix)] if suffix in CODECS else name


def _check_distinct(files: list[CorpusFile]) -> None:
    """Refuse a file read twice (two inputs that overlap) and two files whose documents would share ids."""
    paths: dict[Path, CorpusFile] = {}
    names: dict[str, CorpusFile] = {}
    for file in files:
        same = paths.setdefault(file.path.resolve(), file)
        if same is not file:
            raise RelencError(f"{file.path} is given twice (also as {same.path}): every document would be mined twice")
        other = names.setdefault(file.name, file)
        if other is not file:
            raise RelencError(
                f"{other.path} and {file.path} would give their documents the same ids ({file.name}#...): "
                "give their folders instead of the files, or rename one"
            )


def _format_of(path: Path, input_format: InputFormat, in_folder: bool) -> InputFormat | None:
    """The file's format: the one given, else told by the suffix or the content; None: skip it (see module doc)."""
    if input_format != "auto":
        return input_format
    suffix = Path(_strip_codec(path.name)).suffix.lower()
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    if suffix == ".txt":
        return "text"
    sniffed = _sniff(path)
    if sniffed is None and not in_folder:
        return "text"
    return sniffed


def _sniff(path: Path) -> InputFormat | None:
    """wiki or jsonl by the first non-blank line, None when it looks like neither (or there is none)."""
    with contextlib.closing(_lines(path)) as lines:
        for line in itertools.islice(lines, _SNIFF_LINES):
            head = line.lstrip()
            if head.startswith("<doc "):
                return "wiki"
            if head.startswith("{"):
                return "jsonl"
            if head:
                return None
    return None


def read_file(file: CorpusFile) -> Iterator[Document]:
    """The documents of one file, in order; a key repeated within the file is a DataError (ids must be unique)."""
    readers = {"wiki": _wiki_documents, "jsonl": _jsonl_documents, "text": _text_documents}
    first_seen: dict[str, int] = {}
    for number, key, text in readers[file.format](file.path):
        earlier = first_seen.setdefault(key, number)
        if earlier != number:
            raise DataError(f"document id {key!r} already used at line {earlier}", file.path, f"line {number}")
        if text.strip():
            yield Document(f"{file.name}#{key}", text)


def _lines(path: Path) -> Generator[str, None, None]:
    """The lines of a file, decompressed, decoded and without their line ends: one at a time, so a DataError can
    name the line (bad UTF-8, a broken or cut-off compressed stream)."""
    codec = CODECS.get(path.suffix.lower())
    number = 0
    try:
        with codec.open(path, "rb") if codec else path.open("rb") as fh:
            for number, raw in enumerate(fh, start=1):
                yield _decode(raw, path, number)
    except _CODEC_ERRORS as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise DataError(f"cannot read: {exc.strerror}", path) from None
        raise DataError(f"cannot decompress or read: {exc}", path, f"line {number + 1}") from None


def _decode(raw: bytes, path: Path, number: int) -> str:
    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")  # a byte-order mark is not text
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)"
        raise DataError(problem, path, f"line {number}") from None
    return line.removesuffix("\n").removesuffix("\r")


def _numbered(path: Path) -> Iterable[tuple[int, str]]:
    return enumerate(_lines(path), start=1)


def _wiki_documents(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line of <doc>, id, text)`` of a WikiExtractor file, parsed line by line (one document in memory)."""
    start, key = 0, ""
    body: list[str] = []
    for number, line in _numbered(path):
        stripped = line.strip()
        if start:
            if stripped == "</doc>":
                yield start, key, "\n".join(body[1:]).strip()  # body[0] is the title
                start, body = 0, []
            elif stripped.startswith("<doc "):
                raise DataError(f"<doc> inside another: the one at line {start} has no </doc>", path, f"line {number}")
            else:
                body.append(line)
        elif stripped.startswith("<doc "):
            match = _DOC_ID.search(stripped)
            if match is None:
                raise DataError('<doc> without an id="..." attribute', path, f"line {number}")
            start, key = number, match.group(1)
        elif stripped:
            problem = "text outside a <doc> ... </doc> element (not a WikiExtractor file?)"
            raise DataError(problem, path, f"line {number}")
    if start:
        raise DataError(f"the <doc> at line {start} has no </doc> (the file is cut off?)", path, f"line {start}")


def _jsonl_documents(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(line, id, text)`` of a JSON-lines file."""
    for number, record in json_objects(_lines(path), path, "a string field 'text'"):
        if not isinstance(record.get("text"), str):
            raise DataError("each line needs a string field 'text'", path, f"line {number}")
        key = record.get("id", number)
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise DataError(f"'id' must be a string or an integer, got {key!r}", path, f"line {number}")
        yield number, str(key), record["text"]


def _text_documents(path: Path) -> Iterator[tuple[int, str, str]]:
    """``(first line, its number as the id, text)`` of each block of non-blank lines of a plain-text file."""
    start = 0
    block: list[str] = []
    for number, line in _numbered(path):
        if line.strip():
            start = start or number
            block.append(line)
        elif block:
            yield start, str(start), "\n".join(block)
            start, block = 0, []
    if block:
        yield start, str(start), "\n".join(block)
