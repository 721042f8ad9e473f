"""Properties of the builder over random sentences, spans, marker modes and lengths, on WordPiece and BPE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from relenc.data.example import Example, Span
from relenc.encoding import Encoded, InputBuilder, InputConfig
from relenc.errors import DataError

# one-piece words, multi-piece words, punctuation, a zero-width character (no pieces), a word with a space inside
Markers = Literal["entity", "typed", "punct"]
VOCAB = ["the", "Alice", "Chunghwa", "Telecom", "Co.", ",", "'s", "(", "1996", "naïve", "\u200b", "New York", "x"]


@pytest.fixture(scope="module", params=["bert", "bpe", "bpe-untrimmed"])
def tok(
    request: pytest.FixtureRequest, minilm_dir: str, bpe_factory: Callable[[bool], PreTrainedTokenizerBase]
) -> PreTrainedTokenizerBase:
    """One tokenizer for all generated examples (module scope: hypothesis reruns the test body, not fixtures)."""
    tokenizer: PreTrainedTokenizerBase
    if request.param == "bert":
        tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    else:
        tokenizer = bpe_factory(request.param == "bpe")
    InputBuilder(tokenizer, InputConfig(markers="typed")).register_types(["PER", "ORG"])
    return tokenizer


@st.composite
def examples(draw: st.DrawFn) -> Example:
    size = draw(st.integers(2, 80))
    tokens = draw(st.lists(st.sampled_from(VOCAB), min_size=size, max_size=size))
    n = len(tokens)
    # two short spans, close together (as in real data) or anywhere; they may touch
    first_len = draw(st.integers(1, min(3, n - 1)))
    second_len = draw(st.integers(1, min(3, n - first_len)))
    gap = draw(st.integers(0, n - first_len - second_len))
    if draw(st.booleans()):
        gap = min(gap, 4)
    a0 = draw(st.integers(0, n - first_len - second_len - gap))
    a1 = a0 + first_len
    b0 = a1 + gap
    b1 = b0 + second_len
    head, tail = ((a0, a1), (b0, b1)) if draw(st.booleans()) else ((b0, b1), (a0, a1))
    types = st.sampled_from([None, "PER", "ORG", "LOC"])
    return Example(
        "p",
        tuple(tokens),
        Span(*head, " ".join(tokens[head[0] : head[1]]), draw(types)),
        Span(*tail, " ".join(tokens[tail[0] : tail[1]]), draw(types)),
    )


@settings(max_examples=150, deadline=None)
@given(
    example=examples(),
    markers=st.sampled_from(["entity", "typed", "punct"]),
    prompt=st.booleans(),
    max_length=st.integers(16, 60),
)
def test_positions_truncation_and_candidates(
    tok: PreTrainedTokenizerBase, example: Example, markers: Markers, prompt: bool, max_length: int
) -> None:
    full = InputBuilder(tok, InputConfig(markers=markers, prompt=prompt, max_length=100_000)).encode(example)
    assert full.truncated == 0
    sep = full.input_ids.index(tok.sep_token_id)  # the end of the sentence segment
    ranges = _entity_ranges(tok, full, markers)
    needed = max(hi for _, hi in ranges) - min(lo for lo, _ in ranges) + 1  # first marker to last marker
    others = len(full.input_ids) - (sep - 1)  # [CLS], separators, prompt
    try:
        e = InputBuilder(tok, InputConfig(markers=markers, prompt=prompt, max_length=max_length)).encode(example)
    except DataError:
        event("too long")
        assert needed + others > max_length  # raised only when the entities and the prompt cannot fit
        return
    assert needed + others <= max_length
    event("truncated" if e.truncated else "fits")
    assert len(e.input_ids) <= max_length
    assert len(e.input_ids) == len(full.input_ids) - e.truncated
    shift = full.head_pos - e.head_pos
    assert full.tail_pos - e.tail_pos == shift  # both entities kept whole, in the same relative places
    e_sep = e.input_ids.index(tok.sep_token_id)
    assert e.input_ids[e_sep:] == full.input_ids[sep:]  # the prompt is never cut
    assert e.input_ids[1:e_sep] == full.input_ids[1 + shift : e_sep + shift]  # one contiguous window
    opening = ("@", "#") if markers == "punct" else ("[E1", "[E2")
    toks = list(tok.convert_ids_to_tokens(e.input_ids))
    assert toks[e.head_pos].lstrip("Ġ").startswith(opening[0])
    assert toks[e.tail_pos].lstrip("Ġ").startswith(opening[1])
    if prompt:
        assert e.input_ids[e.mask_pos] == tok.mask_token_id and e.mask_pos > e_sep
    else:
        assert e.mask_pos == -1
    specials = set(tok.all_special_ids)
    flagged = [j for j, c in enumerate(e.mlm_candidates) if c]
    assert all(0 < j < e_sep and e.input_ids[j] not in specials for j in flagged)
    assert not any(lo <= j <= hi for j in flagged for lo, hi in _entity_ranges(tok, e, markers))
    assert sum(full.mlm_candidates) - sum(e.mlm_candidates) <= e.truncated
    _check_mentions(toks, e, full, _entity_ranges(tok, e, markers), shift)


def _check_mentions(toks: list[str], e: Encoded, full: Encoded, ranges: list[tuple[int, int]], shift: int) -> None:
    """Each mention's pieces lie between its markers, hold no marker, and move with the window; a mention without
    pieces (a zero-width word) is its start marker alone."""
    for pos, span, full_span, (_, close) in zip(
        (e.head_pos, e.tail_pos), (e.head_span, e.tail_span), (full.head_span, full.tail_span), ranges, strict=True
    ):
        assert span == (full_span[0] - shift, full_span[1] - shift)
        if span == (pos, pos + 1):
            event("mention without pieces")
            continue
        assert pos < span[0] < span[1] <= close
        inside = [t.lstrip("Ġ") for t in toks[span[0] : span[1]]]
        assert inside[0] and inside[-1]  # no blank BPE piece at either end
        assert not any(t in ("@", "#", "*", "^") or t.startswith(("[E", "[/E")) for t in inside)


def _entity_ranges(tok: PreTrainedTokenizerBase, e: Encoded, markers: str) -> list[tuple[int, int]]:
    """Piece ranges from each entity's opening marker to its closing marker."""
    toks = list(tok.convert_ids_to_tokens(e.input_ids))
    ranges = []
    for pos in (e.head_pos, e.tail_pos):
        if markers == "punct":  # "@ * type * words @": the next "@" (no sentence word is "@" or "#")
            symbol = toks[pos].lstrip("Ġ")
            close = next(j for j in range(pos + 1, len(toks)) if toks[j].lstrip("Ġ") == symbol)
        else:
            close = next(j for j in range(pos + 1, len(toks)) if toks[j].startswith("[/E"))
        ranges.append((pos, close))
    return ranges
