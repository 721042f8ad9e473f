"""KBP37: SemEval-2010 Task 8's record layout over an already tokenised sentence.

A record is ``id<TAB>" <e1> Thom Yorke </e1> of <e2> Radiohead </e2> played . "``, a label line
(``per:employee_of(e1,e2)``, ``no_relation``) and two blank lines. The tags are separate, space-delimited tokens.
Tokens are the sentence split on whitespace, without the tags (KBP37's own tokenisation is kept); ``text`` is the
tokens joined by single spaces, and the spans carry character offsets into it.

KBP37 has records whose entity is empty (``<e1> </e1>``: 110 in train, 10 in dev, 26 in test). The published
counts include them, so they are kept: the placeholder token :data:`EMPTY_ENTITY` stands in for the mention and
``meta["empty_entity"]`` names the role (``"head"`` / ``"tail"`` / ``"both"``), so they can be filtered out.
"""

from __future__ import annotations

from pathlib import Path

from relenc.data.example import Example, Span
from relenc.data.readers.semeval import TAG, TaggedRecord, check_tags, read_tagged, unquote
from relenc.errors import DataError

#: Stands in for the mention of an empty entity (``<e1> </e1>``).
EMPTY_ENTITY = "_"


def read_kbp37(path: str | Path) -> list[Example]:
    """Read a KBP37 file (``train.txt``, ``dev.txt``, ``test.txt``)."""
    return read_tagged(path, _example)


def _example(record: TaggedRecord) -> Example:
    words = unquote(record.sentence).split()
    for word in words:
        if TAG.search(word) and not TAG.fullmatch(word):
            raise DataError(f"tag glued to a word in {word!r}; KBP37 tags are separate tokens")
    check_tags([w for w in words if TAG.fullmatch(w)])
    tokens: list[str] = []
    bounds: dict[str, int] = {}
    empty: list[str] = []
    for word in words:
        if not TAG.fullmatch(word):
            tokens.append(word)
            continue
        if word.startswith("</") and bounds[word.replace("/", "")] == len(tokens):
            tokens.append(EMPTY_ENTITY)
            empty.append("head" if word == "</e1>" else "tail")
        bounds[word] = len(tokens)
    starts = [0]
    for token in tokens:
        starts.append(starts[-1] + len(token) + 1)  # one space after each token
    text = " ".join(tokens)

    def span(opening: str, closing: str) -> Span:
        start, end = bounds[opening], bounds[closing]
        char_start, char_end = starts[start], starts[end] - 1
        return Span(start, end, text[char_start:char_end], None, char_start, char_end)

    meta = {"empty_entity": empty[0] if len(empty) == 1 else "both"} if empty else {}
    return Example(
        id=record.id,
        tokens=tuple(tokens),
        head=span("<e1>", "</e1>"),
        tail=span("<e2>", "</e2>"),
        label=record.label,
        text=text,
        meta=meta,
    )
