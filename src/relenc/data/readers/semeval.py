"""SemEval-2010 Task 8 (and KBP37, which shares its layout with tags as separate tokens).

A record is ``id<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"``, then a label line (``Cause-Effect(e2,e1)``,
``Other``), then an optional ``Comment:`` line, then blank lines. The unlabelled test form (``id<TAB>"sentence"``
lines only) is read too, with label ``None``. The text keeps the sentence's own characters without the tags; tokens
come from :func:`relenc.data.tokenize.tokenize`, so spans carry exact character offsets.
"""

from __future__ import annotations

import re
from pathlib import Path

from relenc.data.example import Example
from relenc.data.readers._common import example_from_char_spans, read_text
from relenc.errors import DataError

_RECORD = re.compile(r"^(\d+)\t(.*)$")
_TAG = re.compile(r"</?e[12]>")
#: Stands in for the empty entity mentions of KBP37 (see :func:`_untag_tokens`).
EMPTY_ENTITY = "_"


def read_semeval(path: str | Path) -> list[Example]:
    """Read a SemEval-2010 Task 8 file (TRAIN_FILE.TXT, TEST_FILE_FULL.TXT, or the unlabelled TEST_FILE.txt)."""
    return _read_tagged(path, tags_are_tokens=False)


def read_kbp37(path: str | Path) -> list[Example]:
    """Read a KBP37 file: SemEval's layout, tags as separate tokens, already tokenised by spaces."""
    return _read_tagged(path, tags_are_tokens=True)


def _read_tagged(path: str | Path, tags_are_tokens: bool) -> list[Example]:
    lines = read_text(path).splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip("\r")
        if not line.strip() or line.startswith("Comment:"):
            i += 1
            continue
        match = _RECORD.match(line)
        if match is None:
            raise DataError(f"expected 'id<TAB>\"sentence\"', got {line[:60]!r}", path, f"line {i + 1}")
        record_line = i + 1
        id_, quoted = match.groups()
        label = None
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if nxt and not _RECORD.match(nxt) and not nxt.startswith("Comment:"):
            label = nxt
            i += 2
        else:
            i += 1
        try:
            examples.append(_parse_sentence(id_, quoted, label, tags_are_tokens))
        except DataError as exc:
            raise exc.located(path, f"line {record_line} (id {id_})") from None
    return examples


def _parse_sentence(id_: str, quoted: str, label: str | None, tags_are_tokens: bool) -> Example:
    quoted = quoted.strip()
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise DataError("the sentence must be wrapped in double quotes")
    raw = quoted[1:-1]
    tags = _TAG.findall(raw)
    for tag in ("<e1>", "</e1>", "<e2>", "</e2>"):
        if tags.count(tag) != 1:
            raise DataError(f"expected exactly one {tag} tag, found {tags.count(tag)}")
    if tags_are_tokens:
        text, offsets = _untag_tokens(raw)
    else:
        text, offsets = _untag_chars(raw)
    head = (offsets["<e1>"], offsets["</e1>"])
    tail = (offsets["<e2>"], offsets["</e2>"])
    if head[0] >= head[1] or tail[0] >= tail[1]:
        raise DataError("an entity is empty, or its closing tag comes before its opening tag")
    return example_from_char_spans(id_, text, head, tail, label)


def _untag_chars(raw: str) -> tuple[str, dict[str, int]]:
    """Remove the tags from the sentence; each tag's offset is where it stood in the untagged text."""
    parts: list[str] = []
    offsets: dict[str, int] = {}
    pos = length = 0
    for m in _TAG.finditer(raw):
        parts.append(raw[pos : m.start()])
        length += m.start() - pos
        offsets[m.group()] = length
        pos = m.end()
    parts.append(raw[pos:])
    return "".join(parts), offsets


def _untag_tokens(raw: str) -> tuple[str, dict[str, int]]:
    """KBP37: tags are space-separated tokens; the text is the other tokens joined by single spaces.

    KBP37 has records whose entity is empty (``<e1> </e1>``: 110 in train, 10 in dev, 26 in test). The published
    counts include them, so they are kept, with the placeholder token ``EMPTY_ENTITY`` standing in for the mention.
    """
    words: list[str] = []
    offsets: dict[str, int] = {}
    tokens = raw.split()
    for k, token in enumerate(tokens):
        if _TAG.fullmatch(token):
            if token.startswith("</") and k > 0 and tokens[k - 1] == token.replace("/", ""):
                words.append(EMPTY_ENTITY)
            opening = not token.startswith("</")
            length = len(" ".join(words))
            offsets[token] = length + (1 if opening and words else 0)
            continue
        if _TAG.search(token):
            raise DataError(f"tag glued to a word in {token!r}; KBP37 tags are separate tokens")
        words.append(token)
    return " ".join(words), offsets
