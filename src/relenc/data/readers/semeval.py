"""SemEval-2010 Task 8, and the record layout it shares with KBP37.

A record is ``id<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"``, then a label line (``Cause-Effect(e2,e1)``,
``Other``), then a ``Comment:`` line and a blank line (KBP37: two blank lines). The unlabelled test form
(``TEST_FILE.txt``: record lines only) is read too, with label ``None``. Whether a file is labelled is decided by its
first record; after that every record must agree, so a record that lost its label line is an error rather than an
unlabelled example.

SemEval's tags may be glued to their neighbours (``<e1>configuration</e1>'s``). The example's ``text`` is the
quoted sentence without the tags; tokens come from :func:`relenc.data.tokenize.tokenize`, so the spans carry exact
character offsets (``text[char_start:char_end] == span.text``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans, read_text, text_lines
from relenc.errors import DataError

_RECORD = re.compile(r"^(\d+)\t(.*)$")
TAG = re.compile(r"</?e[12]>")
TAGS = ("<e1>", "</e1>", "<e2>", "</e2>")


@dataclass(frozen=True)
class TaggedRecord:
    """One record of a SemEval-layout file before its sentence is parsed."""

    line: int
    id: str
    sentence: str
    label: str | None

    @property
    def location(self) -> str:
        return f"line {self.line} (id {self.id!r})"


def read_semeval(path: str | Path) -> list[Example]:
    """Read a SemEval-2010 Task 8 file (TRAIN_FILE.TXT, TEST_FILE_FULL.TXT, or the unlabelled TEST_FILE.txt)."""
    return read_tagged(path, _example)


def read_tagged(path: str | Path, parse: Callable[[TaggedRecord], Example]) -> list[Example]:
    """Parse every record of a SemEval-layout file; a bad record is a DataError at its line and id."""
    examples = []
    for record in read_tagged_records(path):
        try:
            examples.append(parse(record))
        except DataError as exc:
            raise exc.located(path, record.location) from None
    return examples


def read_tagged_records(path: str | Path) -> list[TaggedRecord]:
    """Split a SemEval-layout file into records; ``Comment:`` lines and blank lines between records are skipped."""
    lines = text_lines(read_text(path))
    records: list[TaggedRecord] = []
    labelled: bool | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("Comment:"):
            i += 1
            continue
        match = _RECORD.match(line)
        if match is None:
            raise DataError(f"expected a record line 'id<TAB>\"sentence\"', got {line[:60]!r}", path, f"line {i + 1}")
        id_, sentence = match.groups()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        has_label = bool(following.strip()) and not _RECORD.match(following) and not following.startswith("Comment:")
        if labelled is None:
            labelled = has_label
        if has_label and not labelled:
            raise DataError(
                f"unexpected line {following[:60]!r}: this file is unlabelled (its first record has no label line)",
                path,
                f"line {i + 2}",
            )
        if labelled and not has_label:
            raise DataError(
                "the record has no label line (the file is labelled: its first record has one)",
                path,
                f"line {i + 1} (id {id_!r})",
            )
        label = following.strip() if has_label else None
        if label is not None and any(c.isspace() for c in label):
            raise DataError(f"label line {label!r} is not a label: labels have no spaces", path, f"line {i + 2}")
        records.append(TaggedRecord(i + 1, id_, sentence, label))
        i += 2 if has_label else 1
    return records


def unquote(sentence: str) -> str:
    """The sentence between the double quotes that wrap it."""
    sentence = sentence.strip()
    if len(sentence) < 2 or sentence[0] != '"' or sentence[-1] != '"':
        raise DataError("the sentence must be wrapped in double quotes")
    return sentence[1:-1]


def check_tags(tags: list[str]) -> None:
    """Each of ``<e1> </e1> <e2> </e2>`` exactly once, each entity opened before it is closed."""
    for tag in TAGS:
        if tags.count(tag) != 1:
            raise DataError(f"expected exactly one {tag} tag, found {tags.count(tag)}")
    for entity in ("e1", "e2"):
        if tags.index(f"</{entity}>") < tags.index(f"<{entity}>"):
            raise DataError(f"</{entity}> comes before <{entity}>")


def _example(record: TaggedRecord) -> Example:
    raw = unquote(record.sentence)
    check_tags(TAG.findall(raw))
    text, offsets = _untag(raw)
    head = (offsets["<e1>"], offsets["</e1>"])
    tail = (offsets["<e2>"], offsets["</e2>"])
    for entity, (start, end) in (("e1", head), ("e2", tail)):
        if start == end:
            raise DataError(f"entity <{entity}> is empty")
    return example_from_char_spans(record.id, text, head, tail, record.label)


def _untag(raw: str) -> tuple[str, dict[str, int]]:
    """Remove the tags from the sentence; each tag's offset is where it stood in the untagged text."""
    parts: list[str] = []
    offsets: dict[str, int] = {}
    pos = length = 0
    for m in TAG.finditer(raw):
        parts.append(raw[pos : m.start()])
        length += m.start() - pos
        offsets[m.group()] = length
        pos = m.end()
    parts.append(raw[pos:])
    return "".join(parts), offsets
