"""Helpers shared by the readers: reading a file with a clear error, and building an Example from char spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.tokenize import char_span_to_tokens, tokenize
from relenc.errors import DataError


def read_text(path: str | Path) -> str:
    """The file's text, or a DataError that says why it cannot be read."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("file not found", p) from None
    except IsADirectoryError:
        raise DataError("is a directory, expected a file", p) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", p) from None
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", p) from None


def json_lines(text: str) -> list[str]:
    """Split JSON-lines text on newlines only (``str.splitlines`` would also split inside strings holding U+2028)."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def example_from_char_spans(
    id_: str,
    text: str,
    head: tuple[int, int],
    tail: tuple[int, int],
    label: str | None,
    head_type: str | None = None,
    tail_type: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Example:
    """Tokenise ``text`` so both character spans fall on token boundaries and build the Example."""
    for role, (start, end) in (("head", head), ("tail", tail)):
        if not (isinstance(start, int) and isinstance(end, int)):
            raise DataError(f"{role} character offsets must be integers, got {start!r}, {end!r}")
        if not 0 <= start < end <= len(text):
            raise DataError(
                f"{role} character span [{start}, {end}) is empty or out of range for a text of {len(text)} characters"
            )
        if not text[start:end].strip():
            raise DataError(f"{role} span [{start}, {end}) covers only whitespace")
    trimmed = [_trim(text, *head), _trim(text, *tail)]
    tokens = tokenize(text, [b for span in trimmed for b in span])
    spans = []
    for role, (start, end), etype in (("head", trimmed[0], head_type), ("tail", trimmed[1], tail_type)):
        rng = char_span_to_tokens(tokens, start, end)
        if rng is None:
            raise DataError(f"{role} span [{start}, {end}) does not cover whole tokens")
        spans.append(Span(rng[0], rng[1], text[start:end], etype, start, end))
    return Example(
        id=id_,
        tokens=tuple(t for t, _, _ in tokens),
        head=spans[0],
        tail=spans[1],
        label=label,
        text=text,
        meta=meta or {},
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop surrounding whitespace from a character span (users' spans often include a trailing space)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
