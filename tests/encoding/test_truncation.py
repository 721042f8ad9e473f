"""Truncation: the sentence is cut around the entities, the prompt never; too-long inputs are a DataError."""

from __future__ import annotations

import pytest
from transformers import PreTrainedTokenizerBase

from relenc.data.example import Example, Span
from relenc.encoding import Encoded, InputBuilder, InputConfig
from relenc.errors import DataError

CONTEXT = "Chunghwa"  # two pieces on MiniLM's WordPiece: "chung", "##hwa"


def long_example(head: int, tail: int, n: int = 200, id: str = "long-1") -> Example:
    words = [CONTEXT] * n
    words[head], words[tail] = "Alice", "Acme"
    return Example(id, tuple(words), Span(head, head + 1, "Alice"), Span(tail, tail + 1, "Acme"))


def prompt_of(tok: PreTrainedTokenizerBase, e: Encoded) -> list[int]:
    toks = tok.convert_ids_to_tokens(e.input_ids)
    return e.input_ids[toks.index(tok.sep_token) :]


def sentence_of(tok: PreTrainedTokenizerBase, e: Encoded) -> list[str]:
    toks = list(tok.convert_ids_to_tokens(e.input_ids))
    return toks[1 : toks.index(tok.sep_token)]


def test_truncation_keeps_entities_and_prompt(any_tok: PreTrainedTokenizerBase) -> None:
    example = long_example(100, 104)
    full = InputBuilder(any_tok, InputConfig(max_length=10_000)).encode(example)
    closing = any_tok.get_vocab()["[/E2]"]
    needed = full.input_ids.index(closing) - full.head_pos + 1 + len(prompt_of(any_tok, full)) + 1
    max_length = needed + 10
    e = InputBuilder(any_tok, InputConfig(max_length=max_length)).encode(example)
    assert full.truncated == 0 and len(e.input_ids) <= max_length
    assert e.truncated == len(full.input_ids) - len(e.input_ids) > 0
    assert prompt_of(any_tok, e) == prompt_of(any_tok, full)  # the whole prompt
    ids = any_tok.convert_tokens_to_ids
    assert e.input_ids[e.head_pos] == ids("[E1]") and e.input_ids[e.tail_pos] == ids("[E2]")
    assert e.input_ids[e.mask_pos] == any_tok.mask_token_id
    # the window is the untruncated input from some piece on: same pieces around the entities
    offset = full.head_pos - e.head_pos
    assert full.tail_pos - e.tail_pos == offset and full.mask_pos - e.mask_pos == e.truncated
    kept = sentence_of(any_tok, e)
    assert kept == sentence_of(any_tok, full)[offset : offset + len(kept)]
    assert len(e.mlm_candidates) == len(e.input_ids)


def test_truncation_is_centred_and_cuts_whole_words(bert: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(bert, InputConfig(max_length=40)).encode(long_example(100, 104))
    kept = sentence_of(bert, e)
    assert not kept[0].startswith("##")  # no orphan piece of a cut word at either end
    left = kept.index("[E1]")
    right = len(kept) - kept.index("[/E2]") - 1
    assert abs(left - right) <= 2 and left > 0 and right > 0  # two pieces per context word
    assert e.truncated == 2 * 198 - (len(kept) - 7)  # 198 context words; 7 pieces from [E1] to [/E2] but 3 words


@pytest.mark.parametrize(("head", "tail"), [(0, 3), (3, 0), (196, 199), (199, 196)])
def test_entities_at_an_end_get_the_window_on_one_side(bert: PreTrainedTokenizerBase, head: int, tail: int) -> None:
    e = InputBuilder(bert, InputConfig(max_length=40)).encode(long_example(head, tail))
    kept = sentence_of(bert, e)
    assert len(e.input_ids) in (39, 40) and e.truncated > 0  # a budget of one piece cannot hold a whole word
    if min(head, tail) == 0:
        assert kept[0] in ("[E1]", "[E2]")
    if max(head, tail) == 199:
        assert kept[-1] in ("[/E1]", "[/E2]")
    assert e.input_ids[e.head_pos] == bert.convert_tokens_to_ids("[E1]")
    assert e.input_ids[e.tail_pos] == bert.convert_tokens_to_ids("[E2]")


def test_exact_fit_is_not_truncated(any_tok: PreTrainedTokenizerBase) -> None:
    example = long_example(5, 10, n=20)
    length = len(InputBuilder(any_tok, InputConfig(max_length=10_000)).encode(example).input_ids)
    exact = InputBuilder(any_tok, InputConfig(max_length=length)).encode(example)
    assert exact.truncated == 0 and len(exact.input_ids) == length
    short = InputBuilder(any_tok, InputConfig(max_length=length - 1)).encode(example)
    assert short.truncated >= 1 and len(short.input_ids) == length - short.truncated


def test_too_long_raises_naming_example_and_lengths(bert: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(bert, InputConfig(max_length=30))
    with pytest.raises(DataError) as info:
        builder.encode_many([long_example(50, 52, id="fits"), long_example(0, 90, id="far-apart")])
    err = info.value
    assert err.location == "example 'far-apart'"
    # [E1] alice [/E1] + 89 context words of 2 pieces + [E2] ac ##me [/E2]
    assert "max_length 30" in str(err) and "take 185 word pieces" in str(err)
    assert str(err.located("train.jsonl", None)).startswith("train.jsonl, example 'far-apart': too long")


def test_prompt_alone_too_long_raises(bert: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(bert, InputConfig(max_length=12))
    with pytest.raises(DataError, match="example 'short'"):
        builder.encode(Example("short", ("Alice", "Acme"), Span(0, 1, "Alice"), Span(1, 2, "Acme")))


def test_without_prompt_the_budget_is_larger(bert: PreTrainedTokenizerBase) -> None:
    example = long_example(100, 104)
    with_prompt = InputBuilder(bert, InputConfig(max_length=40)).encode(example)
    without = InputBuilder(bert, InputConfig(max_length=40, prompt=False)).encode(example)
    assert without.mask_pos == -1 and len(without.input_ids) <= 40
    assert without.truncated < with_prompt.truncated
