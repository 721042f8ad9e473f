"""A small, documented word tokenizer whose tokens map back to character offsets.

Words are runs of letters, digits and underscores (with inner apostrophes and hyphens kept out: each
punctuation character is its own token); whitespace separates tokens and is never part of one. Entity boundaries
given as character offsets can always be honoured: :func:`tokenize` splits a token wherever a boundary falls
inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, boundaries: Iterable[int] = ()) -> list[tuple[str, int, int]]:
    """``(token, start, end)`` triples; tokens are also split at every offset in ``boundaries``."""
    cuts = sorted(set(boundaries))
    out: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        inner = [c for c in cuts if start < c < end]
        for a, b in zip([start, *inner], [*inner, end], strict=True):
            out.append((text[a:b], a, b))
    return out


def char_span_to_tokens(spans: list[tuple[str, int, int]], start: int, end: int) -> tuple[int, int] | None:
    """Token range [i, j) covering characters [start, end) exactly (after boundary splitting), else None."""
    first = next((i for i, (_, s, _) in enumerate(spans) if s == start), None)
    last = next((i for i, (_, _, e) in enumerate(spans) if e == end), None)
    if first is None or last is None or last < first:
        return None
    return first, last + 1
