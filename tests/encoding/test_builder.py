"""Input construction: markers, prompt, positions, MLM candidates, truncation, on real and BPE tokenizers."""

from __future__ import annotations

import itertools

import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from relenc.data.example import Example, Span
from relenc.encoding import InputBuilder, InputConfig, collate, length_buckets
from relenc.encoding.builder import LEGACY_TEMPLATE
from relenc.errors import DataError
from relenc.models.encoders import resolve_encoder


@pytest.fixture(scope="module")
def bert() -> PreTrainedTokenizerFast:
    return AutoTokenizer.from_pretrained(resolve_encoder("minilm"))


@pytest.fixture(scope="module")
def bpe() -> PreTrainedTokenizerFast:
    """A tiny byte-level BPE tokenizer with RoBERTa/MPNet-style <s> a </s></s> b </s> pairs."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    corpus = ["Alice works for Acme in Paris.", "The relation between Bob and Carol is unknown."] * 20
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=False)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


def ex(tokens: str, head: tuple[int, int], tail: tuple[int, int], htype: str | None = None) -> Example:
    words = tuple(tokens.split())
    return Example(
        "x",
        words,
        Span(*head, " ".join(words[head[0] : head[1]]), htype),
        Span(*tail, " ".join(words[tail[0] : tail[1]])),
    )


def pieces(tok: PreTrainedTokenizerFast, ids: list[int]) -> list[str]:
    return tok.convert_ids_to_tokens(ids)


def test_positions_point_at_markers_and_mask(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig())
    e = builder.encode(ex("Taiwan 's Chunghwa Telecom Co plans", (2, 5), (0, 1)))  # head after tail
    toks = pieces(bert, e.input_ids)
    assert toks[e.head_pos] == "[E1]" and toks[e.tail_pos] == "[E2]" and toks[e.mask_pos] == "[MASK]"
    assert toks[e.head_pos + 1 : e.head_pos + 3] == ["chung", "##hwa"]  # a word split into pieces
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]" and toks.count("[SEP]") == 2
    prompt = toks[toks.index("[SEP]") + 1 :]
    assert prompt[:3] == ["the", "relation", "between"] and "taiwan" in prompt
    assert e.truncated == 0


def test_entities_at_both_ends_and_adjacent(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig())
    e = builder.encode(ex("Alice Acme", (0, 1), (1, 2)))
    toks = pieces(bert, e.input_ids)
    assert toks[:8] == ["[CLS]", "[E1]", "alice", "[/E1]", "[E2]", "ac", "##me", "[/E2]"]
    assert (e.head_pos, e.tail_pos) == (1, 4)
    assert not any(e.mlm_candidates)  # no ordinary context tokens at all


def test_mlm_candidates_are_only_context_pieces(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig())
    e = builder.encode(ex("yesterday Alice joined Acme quickly", (1, 2), (3, 4)))
    toks = pieces(bert, e.input_ids)
    assert [t for t, c in zip(toks, e.mlm_candidates, strict=True) if c] == ["yesterday", "joined", "quickly"]


def test_truncation_keeps_entities_and_prompt(bert: PreTrainedTokenizerFast) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    builder = InputBuilder(bert, InputConfig(max_length=40))
    e = builder.encode(ex(words, (100, 101), (104, 105)))
    toks = pieces(bert, e.input_ids)
    assert len(e.input_ids) <= 40 and e.truncated > 0
    assert "[E1]" in toks and "[/E2]" in toks and toks[e.mask_pos] == "[MASK]"
    assert toks[toks.index("[SEP]") + 1 : toks.index("[SEP]") + 4] == ["the", "relation", "between"]
    assert toks[e.head_pos] == "[E1]" and toks[e.tail_pos] == "[E2]"


def test_too_long_raises(bert: PreTrainedTokenizerFast) -> None:
    words = " ".join(f"w{i}" for i in range(100))
    builder = InputBuilder(bert, InputConfig(max_length=30))
    with pytest.raises(DataError, match="example 'x' is too long"):
        builder.encode(ex(words, (0, 1), (90, 91)))


def test_marker_registration_is_idempotent(bert: PreTrainedTokenizerFast) -> None:
    tok = AutoTokenizer.from_pretrained(resolve_encoder("minilm"))
    first = InputBuilder(tok, InputConfig())
    second = InputBuilder(tok, InputConfig())
    assert (first.added_tokens, second.added_tokens) == (4, 0)
    assert all(len(tok.tokenize(m)) == 1 for m in first.marker_tokens)


def test_typed_markers_and_fallback() -> None:
    tok = AutoTokenizer.from_pretrained(resolve_encoder("minilm"))
    builder = InputBuilder(tok, InputConfig(markers="typed"))
    builder.register_types(["PERSON"])
    e = builder.encode(ex("Alice met Bob", (0, 1), (2, 3), htype="PERSON"))
    toks = pieces(tok, e.input_ids)
    assert toks[e.head_pos] == "[E1:PERSON]" and "[/E1:PERSON]" in toks
    assert toks[e.tail_pos] == "[E2]"  # no type: untyped marker
    unseen = builder.encode(ex("Alice met Bob", (0, 1), (2, 3), htype="ORG"))
    assert pieces(tok, unseen.input_ids)[unseen.head_pos] == "[E1]"
    reloaded = InputBuilder(tok, InputConfig(markers="typed"))  # e.g. a saved model's tokenizer
    again = reloaded.encode(ex("Alice met Bob", (0, 1), (2, 3), htype="PERSON"))
    assert again == e and reloaded.added_tokens == 0


def test_punct_and_no_markers(bert: PreTrainedTokenizerFast) -> None:
    punct = InputBuilder(bert, InputConfig(markers="punct", prompt=False))
    e = punct.encode(ex("Alice works for Acme", (0, 1), (3, 4), htype="PERSON"))
    toks = pieces(bert, e.input_ids)
    assert toks[e.head_pos] == "@" and toks[e.head_pos : e.head_pos + 5] == ["@", "*", "person", "*", "alice"]
    assert toks[e.tail_pos] == "#" and e.mask_pos == -1
    plain = InputBuilder(bert, InputConfig(markers="none"))
    e = plain.encode(ex("Alice works for Acme", (0, 1), (3, 4)))
    toks = pieces(bert, e.input_ids)
    assert toks[e.head_pos] == "alice" and toks[e.tail_pos : e.tail_pos + 2] == ["ac", "##me"]


def test_legacy_template(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig(template=LEGACY_TEMPLATE))
    e = builder.encode(ex("Alice works for Acme", (0, 1), (3, 4)))
    toks = pieces(bert, e.input_ids)
    assert toks[e.mask_pos] == "[MASK]" and toks[e.mask_pos - 3 : e.mask_pos] == ["the", "relation", "is"]


def test_bpe_keeps_leading_space_pieces(bpe: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bpe, InputConfig())
    e = builder.encode(ex("Alice works for Acme in Paris .", (0, 1), (3, 4)))
    toks = pieces(bpe, e.input_ids)
    assert toks[0] == "<s>" and toks[-1] == "</s>" and toks[e.mask_pos] == "<mask>"
    assert toks[e.head_pos] == "[E1]" and toks[e.tail_pos] == "[E2]"
    assert "Ġworks" in toks  # tokenised as one string: the leading-space form, as in running text
    assert toks[toks.index("</s>") : toks.index("</s>") + 2] == ["</s>", "</s>"]


def test_encode_many_equals_encode(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig())
    batch = [ex("Alice works for Acme", (0, 1), (3, 4)), ex("Bob and Carol", (2, 3), (0, 1))]
    assert builder.encode_many(batch) == [builder.encode(b) for b in batch]


def test_collate_shapes(bert: PreTrainedTokenizerFast) -> None:
    builder = InputBuilder(bert, InputConfig())
    items = builder.encode_many([ex("Alice works for Acme", (0, 1), (3, 4)), ex("A B", (0, 1), (1, 2))])
    batch = collate(items, pad_id=0)
    width = max(len(i.input_ids) for i in items)
    assert batch["input_ids"].shape == (2, width) and batch["attention_mask"].sum().item() == sum(
        len(i.input_ids) for i in items
    )
    assert batch["mask_pos"].tolist() == [i.mask_pos for i in items]
    assert batch["mlm_candidates"].dtype.is_floating_point is False


def test_length_buckets_cover_every_index_once() -> None:
    lengths = [(i * 37) % 101 for i in range(1000)]
    for shuffle in (False, True):
        batches = length_buckets(lengths, 32, shuffle=shuffle, seed=3)
        flat = sorted(i for b in batches for i in b)
        assert flat == list(range(1000))
        assert batches == length_buckets(lengths, 32, shuffle=shuffle, seed=3)
    unshuffled = length_buckets(lengths, 32, shuffle=False, seed=0)
    assert all(max(lengths[i] for i in a) <= min(lengths[i] for i in b) for a, b in itertools.pairwise(unshuffled))
    assert length_buckets(lengths, 32, shuffle=True, seed=3) != length_buckets(lengths, 32, shuffle=True, seed=4)
