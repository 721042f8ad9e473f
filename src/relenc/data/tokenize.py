"""The one word tokenizer of relenc, for formats that give text rather than tokens (SemEval, generic JSONL).

The rule is the regular expression ``\\w+|[^\\w\\s]``:

- a *word* is a maximal run of letters, digits and underscores (``configuration``, ``1987``, ``x2``);
- every other non-space character is a token of its own (``'``, ``-``, ``.``, ``(``: so ``"cup's"`` is ``cup``,
  ``'``, ``s`` and ``"3.5"`` is ``3``, ``.``, ``5``);
- whitespace separates tokens and is never part of one.

Every token is a slice of the text, so each maps back to exact character offsets. Entity boundaries given as
character offsets can always be honoured: :func:`tokenize` also splits a token wherever a boundary falls inside it
(``"NY"`` in ``"NY-based"`` is already a token; ``"Acme"`` in ``"AcmeCorp"`` becomes ``Acme`` + ``Corp``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str, boundaries: Iterable[int] = ()) -> list[tuple[str, int, int]]:
    """``(token, start, end)`` triples with ``text[start:end] == token``, also split at each of ``boundaries``."""
    cuts = sorted(set(boundaries))
    out: list[tuple[str, int, int]] = []
    for match in TOKEN_PATTERN.finditer(text):
        start, end = match.span()
        inner = [c for c in cuts if start < c < end]
        for a, b in zip([start, *inner], [*inner, end], strict=True):
            out.append((text[a:b], a, b))
    return out


def char_span_to_tokens(tokens: list[tuple[str, int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The token range ``[i, j)`` that covers characters ``[start, end)`` exactly, or ``None`` if there is none."""
    first = next((i for i, (_, s, _) in enumerate(tokens) if s == start), None)
    last = next((i for i, (_, _, e) in enumerate(tokens) if e == end), None)
    if first is None or last is None or last < first:
        return None
    return first, last + 1
