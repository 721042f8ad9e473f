"""Input construction: markers, prompt, positions and MLM candidates on a real WordPiece and a tiny BPE tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from transformers import AutoTokenizer, PreTrainedTokenizerBase

from relenc.data.example import Example, Span
from relenc.encoding import LEGACY_TEMPLATE, Encoded, InputBuilder, InputConfig
from relenc.encoding.builder import BLANK_TOKEN, blank_entities
from relenc.errors import DataError


def ex(
    text: str,
    head: tuple[int, int],
    tail: tuple[int, int],
    htype: str | None = None,
    ttype: str | None = None,
    id: str = "x",
) -> Example:
    words = tuple(text.split())
    return Example(
        id,
        words,
        Span(*head, " ".join(words[head[0] : head[1]]), htype),
        Span(*tail, " ".join(words[tail[0] : tail[1]]), ttype),
    )


def pieces(tok: PreTrainedTokenizerBase, e: Encoded) -> list[str]:
    return list(tok.convert_ids_to_tokens(e.input_ids))


def sentence_part(tok: PreTrainedTokenizerBase, e: Encoded) -> list[str]:
    """The pieces between the leading special token and the first separator."""
    toks = pieces(tok, e)
    return toks[1 : toks.index(tok.sep_token)]


def candidates(tok: PreTrainedTokenizerBase, e: Encoded) -> list[str]:
    return [t for t, c in zip(pieces(tok, e), e.mlm_candidates, strict=True) if c]


# ------------------------------------------------------------------------------------------------ format
def test_default_format_is_the_tokenizers_own_pair_encoding(any_tok: PreTrainedTokenizerBase) -> None:
    """Head after tail, a word split into pieces: the ids equal the tokenizer's pair encoding of the marked text."""
    builder = InputBuilder(any_tok, InputConfig())
    e = builder.encode(ex("Taiwan 's Chunghwa Telecom Co plans", (2, 5), (0, 1)))
    expected = any_tok(
        "[E2] Taiwan [/E2] 's [E1] Chunghwa Telecom Co [/E1] plans",
        f"The relation between Chunghwa Telecom Co and Taiwan is {any_tok.mask_token}.",
    )["input_ids"]
    assert e.input_ids == expected
    assert e.input_ids[e.head_pos] == any_tok.convert_tokens_to_ids("[E1]")
    assert e.input_ids[e.tail_pos] == any_tok.convert_tokens_to_ids("[E2]")
    assert e.input_ids[e.mask_pos] == any_tok.mask_token_id
    assert e.tail_pos < e.head_pos and e.truncated == 0


def test_bert_layout_and_word_pieces(bert: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(bert, InputConfig())
    e = builder.encode(ex("Taiwan 's Chunghwa Telecom Co plans", (2, 5), (0, 1)))
    toks = pieces(bert, e)
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and toks.count("[SEP]") == 2
    assert toks[e.head_pos : e.head_pos + 6] == ["[E1]", "chung", "##hwa", "telecom", "co", "[/E1]"]
    prompt = toks[toks.index("[SEP]") + 1 : -1]
    assert " ".join(prompt) == "the relation between chung ##hwa telecom co and taiwan is [MASK] ."


def test_bpe_keeps_leading_space_pieces(bpe: PreTrainedTokenizerBase) -> None:
    """The marked sentence is tokenised as running text: context words keep their ``Ġword`` pieces, and the
    markers swallow the space before them instead of leaving a lone ``Ġ``."""
    builder = InputBuilder(bpe, InputConfig())
    e = builder.encode(ex("Alice works for Acme in Paris .", (0, 1), (3, 4)))
    toks = pieces(bpe, e)
    assert toks[0] == "<s>" and toks[-1] == "</s>" and toks.count("</s>") == 3
    sep = toks.index("</s>")
    assert toks[sep : sep + 2] == ["</s>", "</s>"]
    words = bpe.tokenize
    expected = ["[E1]", *words(" Alice"), "[/E1]", *words(" works for"), "[E2]", *words(" Acme"), "[/E2]"]
    assert sentence_part(bpe, e) == expected + words(" in Paris .")
    assert "Ġworks" in expected and "Ġ" not in expected  # leading-space pieces; no lone "Ġ" before a marker
    assert candidates(bpe, e) == words(" works for in Paris .")
    assert toks[e.mask_pos] == "<mask>" and toks[e.head_pos] == "[E1]" and toks[e.tail_pos] == "[E2]"


@pytest.mark.parametrize(
    ("text", "head", "tail", "sentence"),
    [
        # head at the start, tail at the end, adjacent (the tail starts where the head ends)
        ("Alice Acme", (0, 1), (1, 2), "[E1] alice [/E1] [E2] ac ##me [/E2]"),
        # the same, head after tail
        ("Acme Alice", (1, 2), (0, 1), "[E2] ac ##me [/E2] [E1] alice [/E1]"),
        # one-word context parts on both sides and between
        ("Yes Alice , Acme !", (1, 2), (3, 4), "yes [E1] alice [/E1] , [E2] ac ##me [/E2] !"),
        # multi-word entities filling the whole sentence
        ("Alice Smith Acme Corp", (2, 4), (0, 2), "[E2] alice smith [/E2] [E1] ac ##me corp [/E1]"),
    ],
)
def test_entity_placements(
    bert: PreTrainedTokenizerBase,
    text: str,
    head: tuple[int, int],
    tail: tuple[int, int],
    sentence: str,
) -> None:
    builder = InputBuilder(bert, InputConfig())
    e = builder.encode(ex(text, head, tail))
    toks = pieces(bert, e)
    assert sentence_part(bert, e) == sentence.split()
    assert (toks[e.head_pos], toks[e.tail_pos], toks[e.mask_pos]) == ("[E1]", "[E2]", "[MASK]")
    assert candidates(bert, e) == [t for t in sentence.split() if t in ("yes", ",", "!")]


def test_single_token_sentence_parts_on_bpe(any_tok: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(any_tok, InputConfig())
    for text, head, tail in [("A B", (0, 1), (1, 2)), ("B A", (1, 2), (0, 1)), ("x A y B z", (1, 2), (3, 4))]:
        e = builder.encode(ex(text, head, tail))
        assert e.input_ids[e.head_pos] == any_tok.convert_tokens_to_ids("[E1]")
        assert e.input_ids[e.tail_pos] == any_tok.convert_tokens_to_ids("[E2]")
        assert e.input_ids[e.mask_pos] == any_tok.mask_token_id
        assert len(candidates(any_tok, e)) == len(text.split()) - 2


# ------------------------------------------------------------------------------------------------ blanking
def test_blanked_entities_keep_their_markers_and_leave_no_name(any_tok: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(any_tok, InputConfig())
    builder.add_blank_token()
    builder.add_blank_token()
    assert builder.added_tokens == 5 and any_tok.convert_tokens_to_ids(BLANK_TOKEN) != any_tok.unk_token_id
    example = ex("Bob met Alice Smith at Acme in Taiwan", (2, 4), (0, 1), "PER", "PER", id="e")
    assert blank_entities(example, head=False, tail=False) is example
    both = blank_entities(example)
    assert both.tokens == ("[BLANK]", "met", "[BLANK]", "at", "Acme", "in", "Taiwan")
    assert (both.head.start, both.head.end, both.head.type, both.tail.start, both.tail.end) == (2, 3, "PER", 0, 1)
    e = builder.encode(both)
    toks = [t.lstrip("\u0120") for t in pieces(any_tok, e)]
    assert toks[e.head_pos : e.head_pos + 3] == ["[E1]", "[BLANK]", "[/E1]"]
    assert toks[e.tail_pos : e.tail_pos + 3] == ["[E2]", "[BLANK]", "[/E2]"]
    assert toks.count("[BLANK]") == 4  # the sentence's two and the prompt's two
    assert not {"bob", "Bob", "alice", "Alice"} & set(toks)
    assert not any(c for t, c in zip(toks, e.mlm_candidates, strict=True) if t == "[BLANK]")
    head_only = blank_entities(example, tail=False)
    assert head_only.tokens[:3] == ("Bob", "met", "[BLANK]") and head_only.tail.text == "Bob"


# ------------------------------------------------------------------------------------------------ MLM candidates
def test_mlm_candidates_are_only_context_pieces(any_tok: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(any_tok, InputConfig())
    e = builder.encode(ex("yesterday Alice joined Acme quickly", (1, 2), (3, 4)))
    toks = pieces(any_tok, e)
    context = any_tok.tokenize("yesterday") + any_tok.tokenize(" joined") + any_tok.tokenize(" quickly")
    assert candidates(any_tok, e) == [t for t in context if t != "Ġ"]  # a lone BPE space is no candidate
    assert len(e.mlm_candidates) == len(e.input_ids)
    specials = set(any_tok.all_special_ids)
    first_sep = toks.index(any_tok.sep_token)
    for j, flag in enumerate(e.mlm_candidates):
        if flag:
            assert e.input_ids[j] not in specials and 0 < j < first_sep  # never specials, markers or the prompt
    assert not any(e.mlm_candidates[first_sep:])


def test_mlm_candidates_exclude_entity_pieces_without_markers(bert: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(bert, InputConfig(markers="none"))
    e = builder.encode(ex("yesterday Alice joined Acme quickly", (1, 2), (3, 4)))
    assert candidates(bert, e) == ["yesterday", "joined", "quickly"]


# ------------------------------------------------------------------------------------------------ marker modes
def test_marker_registration_is_idempotent(minilm_dir: str, tmp_path: Path) -> None:
    tok = AutoTokenizer.from_pretrained(minilm_dir)
    size = len(tok)
    first = InputBuilder(tok, InputConfig())
    second = InputBuilder(tok, InputConfig(markers="typed"))
    assert (first.added_tokens, second.added_tokens) == (4, 0) and len(tok) == size + 4
    assert first.marker_tokens == ("[E1]", "[/E1]", "[E2]", "[/E2]")
    assert all(len(tok.tokenize(f"a {m} b")) == 3 for m in first.marker_tokens)  # one token each
    tok.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    third = InputBuilder(reloaded, InputConfig())
    assert third.added_tokens == 0 and len(reloaded) == size + 4


def test_typed_markers_register_fall_back_and_survive_saving(any_tok: PreTrainedTokenizerBase, tmp_path: Path) -> None:
    builder = InputBuilder(any_tok, InputConfig(markers="typed"))
    builder.register_types(["PERSON", "ORG", "PERSON", ""])
    builder.register_types(["ORG"])  # again: nothing new
    assert builder.added_tokens == 4 + 8
    assert set(builder.marker_tokens) >= {"[E1:PERSON]", "[/E1:PERSON]", "[E2:ORG]", "[/E2:ORG]"}
    e = builder.encode(ex("Alice works for Acme", (0, 1), (3, 4), "PERSON", "ORG"))
    toks = pieces(any_tok, e)
    assert (toks[e.head_pos], toks[e.tail_pos]) == ("[E1:PERSON]", "[E2:ORG]")
    assert "[/E1:PERSON]" in toks and "[/E2:ORG]" in toks
    unseen = builder.encode(ex("Alice works for Acme", (0, 1), (3, 4), "GPE", None))  # unknown type, no type
    toks = pieces(any_tok, unseen)
    assert (toks[unseen.head_pos], toks[unseen.tail_pos]) == ("[E1]", "[E2]") and "[/E1]" in toks

    any_tok.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    again = InputBuilder(reloaded, InputConfig(markers="typed"))  # a saved model's tokenizer knows its types
    assert again.added_tokens == 0 and again.marker_tokens == builder.marker_tokens
    assert again.encode(ex("Alice works for Acme", (0, 1), (3, 4), "PERSON", "ORG")) == e


def test_register_types_is_a_no_op_for_untyped_markers(bert: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(bert, InputConfig())
    size = len(bert)
    builder.register_types(["PERSON"])
    assert len(bert) == size and builder.added_tokens == 4


def test_punct_markers(bert: PreTrainedTokenizerBase) -> None:
    size = len(bert)
    builder = InputBuilder(bert, InputConfig(markers="punct"))
    assert builder.added_tokens == 0 and len(bert) == size and builder.marker_tokens == ()
    typed = builder.encode(ex("Alice works for Acme", (0, 1), (3, 4), "PERSON", "ORGANIZATION"))
    assert " ".join(sentence_part(bert, typed)) == "@ * person * alice @ works for # ^ organization ^ ac ##me #"
    toks = pieces(bert, typed)
    assert (toks[typed.head_pos], toks[typed.tail_pos], toks[typed.mask_pos]) == ("@", "#", "[MASK]")
    assert typed.head_pos == 1
    assert candidates(bert, typed) == ["works", "for"]  # type words and punctuation markers are not candidates
    plain = builder.encode(ex("Acme hired Alice", (2, 3), (0, 1)))  # no types; head after tail
    assert " ".join(sentence_part(bert, plain)) == "# ac ##me # hired @ alice @"
    toks = pieces(bert, plain)
    assert (plain.head_pos, plain.tail_pos) == (6, 1) and (toks[plain.head_pos], toks[plain.tail_pos]) == ("@", "#")


def test_no_markers_point_at_first_entity_pieces(any_tok: PreTrainedTokenizerBase) -> None:
    size = len(any_tok)
    builder = InputBuilder(any_tok, InputConfig(markers="none"))
    assert builder.added_tokens == 0 and len(any_tok) == size
    e = builder.encode(ex("Taiwan 's Chunghwa Telecom plans", (2, 4), (0, 1)))
    first_head_piece = next(t for t in any_tok.tokenize(" Chunghwa") if t != "Ġ")  # not a lone BPE space
    assert e.input_ids[e.head_pos] == any_tok.convert_tokens_to_ids(first_head_piece)
    assert e.input_ids[e.tail_pos] == any_tok("Taiwan", add_special_tokens=False)["input_ids"][0]
    assert e.tail_pos == 1


def test_entity_without_word_pieces(bert: PreTrainedTokenizerBase) -> None:
    """A zero-width character gives no word pieces: fine inside markers, an error without them."""
    marked = InputBuilder(bert, InputConfig()).encode(ex("\u200b works for Acme", (0, 1), (3, 4)))
    assert pieces(bert, marked)[marked.head_pos : marked.head_pos + 2] == ["[E1]", "[/E1]"]
    assert candidates(bert, marked) == ["works", "for"]
    with pytest.raises(DataError, match="gives no word pieces") as info:
        InputBuilder(bert, InputConfig(markers="none")).encode(ex("\u200b works for Acme", (0, 1), (3, 4)))
    assert info.value.location == "example 'x'"


# ------------------------------------------------------------------------------------------------ mentions
@pytest.mark.parametrize("markers", ["entity", "punct", "none"])
def test_mention_spans_hold_the_entity_pieces_alone(bert: PreTrainedTokenizerBase, markers: str) -> None:
    """What mean pooling averages: the mention's own word pieces, never a marker or a type word."""
    e = InputBuilder(bert, InputConfig(markers=markers)).encode(  # type: ignore[arg-type]
        ex("Taiwan 's Chunghwa Telecom Co plans", (2, 5), (0, 1), htype="organization")
    )
    toks = pieces(bert, e)
    assert toks[e.head_span[0] : e.head_span[1]] == ["chung", "##hwa", "telecom", "co"]
    assert toks[e.tail_span[0] : e.tail_span[1]] == ["taiwan"]
    if markers == "none":  # the start position is the mention's first piece
        assert (e.head_pos, e.tail_pos) == (e.head_span[0], e.tail_span[0])
    else:
        assert e.head_pos < e.head_span[0] and e.tail_pos < e.tail_span[0]


def test_mention_spans_skip_blank_bpe_pieces(bpe: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(bpe, InputConfig()).encode(ex("Taiwan 's Chunghwa Telecom Co plans", (2, 5), (0, 1)))
    toks = pieces(bpe, e)
    head = toks[e.head_span[0] : e.head_span[1]]
    assert bpe.convert_tokens_to_string(head).strip() == "Chunghwa Telecom Co" and head[0] != "Ġ" != head[-1]
    assert bpe.convert_tokens_to_string(toks[e.tail_span[0] : e.tail_span[1]]).strip() == "Taiwan"


def test_a_mention_without_pieces_is_read_at_its_marker(bert: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(bert, InputConfig()).encode(ex("\u200b works for Acme", (0, 1), (3, 4)))
    assert e.head_span == (e.head_pos, e.head_pos + 1) and pieces(bert, e)[e.head_pos] == "[E1]"


# ------------------------------------------------------------------------------------------------ prompt
def test_legacy_template(any_tok: PreTrainedTokenizerBase) -> None:
    """``sentence [SEP] The relation is [MASK] ? [SEP]``: the leading {sep} is the tokenizer's own separator."""
    builder = InputBuilder(any_tok, InputConfig(markers="none", template=LEGACY_TEMPLATE))
    e = builder.encode(ex("Alice works for Acme", (0, 1), (3, 4)))
    expected = any_tok("Alice works for Acme", f"The relation is {any_tok.mask_token} ?")["input_ids"]
    assert e.input_ids == expected
    toks = pieces(any_tok, e)
    assert toks.count(any_tok.sep_token) == (2 if any_tok.sep_token == "[SEP]" else 3)
    assert e.input_ids[e.mask_pos] == any_tok.mask_token_id and e.head_pos == 1


def test_legacy_template_on_bert_exactly(bert: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(bert, InputConfig(markers="none", template=LEGACY_TEMPLATE)).encode(
        ex("Alice works for Acme", (0, 1), (3, 4))
    )
    assert " ".join(pieces(bert, e)) == "[CLS] alice works for ac ##me [SEP] the relation is [MASK] ? [SEP]"


def test_sep_inside_the_template_is_the_separator_token(bert: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(bert, InputConfig(template="{head} {sep} {tail} : {mask}")).encode(
        ex("Alice works for Acme", (0, 1), (3, 4))
    )
    assert pieces(bert, e)[-8:] == ["[SEP]", "alice", "[SEP]", "ac", "##me", ":", "[MASK]", "[SEP]"]


def test_no_prompt(any_tok: PreTrainedTokenizerBase) -> None:
    e = InputBuilder(any_tok, InputConfig(prompt=False)).encode(ex("Alice works for Acme", (0, 1), (3, 4)))
    assert e.mask_pos == -1 and any_tok.mask_token_id not in e.input_ids
    assert e.input_ids == any_tok("[E1] Alice [/E1] works for [E2] Acme [/E2]")["input_ids"]
    assert e.input_ids[e.head_pos] == any_tok.convert_tokens_to_ids("[E1]")


def test_mask_position_is_the_templates_mask(any_tok: PreTrainedTokenizerBase) -> None:
    """An entity whose text is the mask token's string does not fool the mask position."""
    mask = any_tok.mask_token
    e = InputBuilder(any_tok, InputConfig()).encode(ex(f"{mask} works for Acme", (0, 1), (3, 4)))
    masks = [j for j, i in enumerate(e.input_ids) if i == any_tok.mask_token_id]
    assert len(masks) == 3 and e.mask_pos == masks[-1]
    early = InputBuilder(any_tok, InputConfig(template="{mask} : {head} and {tail}")).encode(
        ex(f"{mask} works for Acme", (0, 1), (3, 4))
    )
    masks = [j for j, i in enumerate(early.input_ids) if i == any_tok.mask_token_id]
    sep = pieces(any_tok, early).index(any_tok.sep_token)
    assert early.mask_pos == min(m for m in masks if m > sep)
    assert not early.mlm_candidates[masks[0]]  # the mask token in the sentence is an entity piece


def test_entity_text_in_prompt_is_limited(bert: PreTrainedTokenizerBase) -> None:
    example = ex("Chunghwa Telecom Co plans a sale in Taiwan", (0, 3), (7, 8))
    for limit, head in [(2, "chung ##hwa"), (3, "chung ##hwa telecom"), (4, "chung ##hwa telecom co"), (1, "chung")]:
        e = InputBuilder(bert, InputConfig(entity_in_prompt_max_tokens=limit)).encode(example)
        toks = pieces(bert, e)
        prompt = toks[toks.index("[SEP]") + 1 : -1]
        assert prompt == ["the", "relation", "between", *head.split(), "and", "taiwan", "is", "[MASK]", "."]


def test_entity_text_in_prompt_is_limited_on_bpe(bpe: PreTrainedTokenizerBase) -> None:
    example = ex("Chunghwa Telecom Co plans a sale in Taiwan", (0, 3), (7, 8))
    full = InputBuilder(bpe, InputConfig()).encode(example)
    short = InputBuilder(bpe, InputConfig(entity_in_prompt_max_tokens=3)).encode(example)
    prompt = bpe.decode(short.input_ids[sentence_end(bpe, short) :], skip_special_tokens=False)
    assert "Chunghwa" in prompt and "Telecom" not in prompt and "Taiwan" in prompt
    assert len(short.input_ids) < len(full.input_ids)


def sentence_end(tok: PreTrainedTokenizerBase, e: Encoded) -> int:
    return pieces(tok, e).index(tok.sep_token)


@pytest.mark.parametrize(
    "template", ["no mask here", "{mask} and {mask}", "{head} {relation} {mask}", "{mask!r}", "{head:>5} {mask}", "{"]
)
def test_bad_templates_are_rejected(template: str) -> None:
    with pytest.raises(ValidationError):
        InputConfig(template=template)


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        InputConfig(marker="entity")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        InputConfig(markers="brackets")
    assert InputConfig(template=LEGACY_TEMPLATE).template == LEGACY_TEMPLATE


# ------------------------------------------------------------------------------------------------ batching
def test_encode_many_equals_encode(any_tok: PreTrainedTokenizerBase) -> None:
    builder = InputBuilder(any_tok, InputConfig())
    batch = [
        ex("Alice works for Acme", (0, 1), (3, 4)),
        ex("Bob and Carol", (2, 3), (0, 1)),
        ex("Taiwan 's Chunghwa Telecom Co plans to sell shares in Paris", (2, 5), (0, 1)),
    ]
    assert builder.encode_many(batch) == [builder.encode(b) for b in batch]
    assert builder.encode_many([]) == []


def test_tokenizer_padding_and_truncation_state_is_ignored(bert: PreTrainedTokenizerBase) -> None:
    """Another caller may leave the Rust tokenizer padding or truncating; the builder's output does not change."""
    builder = InputBuilder(bert, InputConfig())
    example = ex("Taiwan 's Chunghwa Telecom Co plans to sell shares in Paris", (2, 5), (0, 1))
    before = builder.encode(example)
    bert(["a b c"], padding="max_length", truncation=True, max_length=5)
    assert builder.encode(example) == before
