"""The word tokenizer: words, numbers and single punctuation characters, each mapping back to its characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from relenc.data.tokenize import char_span_to_tokens, tokenize


def words(text: str, boundaries: tuple[int, ...] = ()) -> list[str]:
    return [token for token, _, _ in tokenize(text, boundaries)]


def test_words_numbers_and_punctuation() -> None:
    assert words("The cup's handle (3.5 cm) broke.") == [
        "The", "cup", "'", "s", "handle", "(", "3", ".", "5", "cm", ")", "broke", ".",
    ]  # fmt: skip
    assert words("  multiple   spaces\tand\ttabs ") == ["multiple", "spaces", "and", "tabs"]
    assert words("x2 snake_case") == ["x2", "snake_case"]
    assert words("") == []


def test_offsets_point_at_the_token() -> None:
    text = "Café au-lait, 1987."
    for token, start, end in tokenize(text):
        assert text[start:end] == token


def test_boundaries_split_inside_a_word() -> None:
    assert words("AcmeCorp hired", (4,)) == ["Acme", "Corp", "hired"]
    assert words("AcmeCorp hired", (0, 8, 9)) == ["AcmeCorp", "hired"]  # boundaries already on token edges


def test_char_span_to_tokens() -> None:
    tokens = tokenize("Alice met Bob.")
    assert char_span_to_tokens(tokens, 0, 5) == (0, 1)
    assert char_span_to_tokens(tokens, 0, 13) == (0, 3)
    assert char_span_to_tokens(tokens, 1, 5) is None  # does not start on a token
    assert char_span_to_tokens(tokens, 10, 6) is None  # backwards


@given(text=st.text(max_size=80), cuts=st.lists(st.integers(0, 80), max_size=4))
def test_tokens_cover_every_non_space_character_in_order(text: str, cuts: list[int]) -> None:
    tokens = tokenize(text, cuts)
    assert "".join(token for token, _, _ in tokens) == "".join(text.split())
    for token, start, end in tokens:
        assert token and text[start:end] == token
    for cut in cuts:
        if 0 < cut < len(text):
            assert not any(start < cut < end for _, start, end in tokens), "no token straddles a boundary"
