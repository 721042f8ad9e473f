"""Tokenizers for the encoding tests: MiniLM's real WordPiece tokenizer and a tiny byte-level BPE one.

Each test gets a fresh tokenizer, because an :class:`InputBuilder` registers marker tokens on the one it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from relenc.models.encoders import resolve_encoder

CORPUS = [
    "Alice works for Acme in Paris .",
    "The relation between Bob and Carol is unknown ?",
    "Chunghwa Telecom said on Monday that it will sell shares to investors .",
    "Taiwan 's largest company was founded by the government in 1996 .",
    "@ * # ^ person organization location",
    "Bob met Alice at Acme in Taiwan .",
]


def make_bpe(trim_offsets: bool = True) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer with RoBERTa's conventions: ``<s> a </s></s> b </s>`` pairs, leading-space
    ``Ġ`` pieces, and a ``<mask>`` that absorbs the space before it."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 10, trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=trim_offsets)
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


@pytest.fixture(scope="session")
def bpe_factory() -> Callable[[bool], PreTrainedTokenizerFast]:
    """For fixtures of a wider scope than a test (each call trains a fresh tokenizer in milliseconds)."""
    return make_bpe


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    return resolve_encoder("minilm")


@pytest.fixture
def bert(minilm_dir: str) -> PreTrainedTokenizerBase:
    """MiniLM's real tokenizer (uncased WordPiece, BERT's ``[CLS] a [SEP] b [SEP]``)."""
    return AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture(params=[True, False], ids=["trim", "untrimmed"])
def bpe(request: pytest.FixtureRequest) -> PreTrainedTokenizerFast:
    """The tiny BPE tokenizer, with offsets trimmed (RoBERTa) and untrimmed (offsets include the space)."""
    return make_bpe(trim_offsets=request.param)


@pytest.fixture(params=["bert", "bpe"])
def any_tok(request: pytest.FixtureRequest, minilm_dir: str) -> PreTrainedTokenizerBase:
    if request.param == "bert":
        return AutoTokenizer.from_pretrained(minilm_dir)
    return make_bpe()
