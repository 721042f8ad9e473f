"""The one record type of relenc: a sentence, a head span, a tail span and (maybe) a label.

Every reader produces :class:`Example` objects and every writer consumes them, so the rest of the code never
sees a file format. Construction checks the invariants, so an ``Example`` that exists is a valid one:

- ``tokens`` is non-empty and no token is empty;
- each span satisfies ``0 <= start < end <= len(tokens)`` (token indices, ``end`` exclusive);
- head and tail do not overlap (they may touch);
- character offsets, when present, lie inside ``text`` and ``text[char_start:char_end]`` is the span text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from relenc.errors import DataError


@dataclass(frozen=True)
class Span:
    """An entity mention: tokens ``[start, end)`` of the sentence, its surface text and optional type."""

    start: int
    end: int
    text: str
    type: str | None = None
    char_start: int | None = None
    char_end: int | None = None

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"start": self.start, "end": self.end, "text": self.text}
        if self.type is not None:
            out["type"] = self.type
        if self.char_start is not None:
            out["char_start"] = self.char_start
            out["char_end"] = self.char_end
        return out


@dataclass(frozen=True)
class Example:
    """One relation instance. ``label`` is ``None`` when the example is unlabelled (prediction input)."""

    id: str
    tokens: tuple[str, ...]
    head: Span
    tail: Span
    label: str | None = None
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tokens, tuple):
            object.__setattr__(self, "tokens", tuple(self.tokens))
        if not isinstance(self.id, str):
            object.__setattr__(self, "id", str(self.id))
        if not self.tokens:
            raise DataError("the sentence has no tokens")
        for i, tok in enumerate(self.tokens):
            if not isinstance(tok, str) or not tok:
                raise DataError(f"token {i} is empty or not a string: {tok!r}")
        for role, span in (("head", self.head), ("tail", self.tail)):
            _check_span(role, span, len(self.tokens), self.text)
        if self.head.overlaps(self.tail):
            raise DataError(
                f"head tokens [{self.head.start}, {self.head.end}) and tail tokens "
                f"[{self.tail.start}, {self.tail.end}) overlap"
            )
        if self.label is not None and (not isinstance(self.label, str) or not self.label):
            raise DataError(f"label must be a non-empty string, got {self.label!r}")

    def with_label(self, label: str | None) -> Example:
        return replace(self, label=label)

    def span_tokens(self, span: Span) -> tuple[str, ...]:
        return self.tokens[span.start : span.end]


def _check_span(role: str, span: Span, n_tokens: int, text: str | None) -> None:
    if not (isinstance(span.start, int) and isinstance(span.end, int)):
        raise DataError(f"{role} span bounds must be integers, got {span.start!r}, {span.end!r}")
    if span.start >= span.end:
        raise DataError(f"{role} span is empty: start {span.start} >= end {span.end}")
    if span.start < 0 or span.end > n_tokens:
        raise DataError(f"{role} span [{span.start}, {span.end}) is out of range for {n_tokens} tokens")
    if (span.char_start is None) != (span.char_end is None):
        raise DataError(f"{role} span has only one of char_start and char_end")
    if span.char_start is not None and span.char_end is not None:
        if text is None:
            raise DataError(f"{role} span has character offsets but the example has no text")
        if not 0 <= span.char_start < span.char_end <= len(text):
            raise DataError(
                f"{role} character span [{span.char_start}, {span.char_end}) is out of range "
                f"for a text of {len(text)} characters"
            )
        if text[span.char_start : span.char_end] != span.text:
            raise DataError(
                f"{role} text {span.text!r} does not match the text at its character offsets "
                f"{text[span.char_start : span.char_end]!r}"
            )
