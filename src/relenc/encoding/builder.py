"""Input construction: the only place in relenc that tokenises model input.

An example becomes ``[CLS] w1 .. [E1] head [/E1] .. [E2] tail [/E2] .. wn [SEP] The relation between <head> and
<tail> is [MASK]. [SEP]``: the marked sentence is the first segment and the prompt the second, joined by the
tokenizer's own pair template (BERT's ``[CLS] a [SEP] b [SEP]``, MPNet's and RoBERTa's ``<s> a </s></s> b </s>``),
with the model's own mask token. ``[E1]`` always marks the head and ``[E2]`` the tail, whatever their order in the
sentence. The head, tail and mask positions, and the word pieces of each mention, are computed here, once, so no
other module needs to know the format.

The marked sentence is tokenised as one string (words joined by single spaces, markers as separate words), never
word by word, so byte-level BPE tokenizers keep the leading-space pieces they see in running text (the authors' code
broke them). Word pieces are mapped back to words through character offsets. Over-long inputs lose sentence pieces
far from the entities; the prompt is never cut.

Pre-training may blank an entity (:func:`blank_entities`): an example whose entity words are one ``[BLANK]`` token,
built like any other, so blanked input needs no second input format.
"""

from __future__ import annotations

import string
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from tokenizers import AddedToken
from transformers import PreTrainedTokenizerBase

from relenc.data.example import Example, Span
from relenc.errors import DataError, RelencError

DEFAULT_TEMPLATE = "The relation between {head} and {tail} is {mask}."
LEGACY_TEMPLATE = "{sep} The relation is {mask} ?"  # the authors' older form; {sep} = tokenizer.sep_token
ENTITY_MARKERS = ("[E1]", "[/E1]", "[E2]", "[/E2]")
#: What an entity's words become when pre-training blanks it (Matching the Blanks): one special token, so the
#: encoder must read the context rather than match names; see :func:`blank_entities`.
BLANK_TOKEN = "[BLANK]"
TEMPLATE_FIELDS = frozenset({"head", "tail", "mask", "sep"})

# what a word of the marked sentence is: MLM may only pick context words
CONTEXT, MARKER, ENTITY = 0, 1, 2


class TooLongError(DataError):
    """An example whose two entities lie further apart than ``max_length`` allows, so no cut can keep both.

    Its own type so that training can leave such (rare, usually web-boilerplate) examples out, while evaluation
    still refuses them: a test example silently dropped would change the score.
    """


class InputConfig(BaseModel):
    """How an example is turned into model input. Saved with every model, so inference builds the same input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    markers: Literal["entity", "typed", "punct", "none"] = Field(
        "entity",
        description="entity: [E1] head [/E1], [E2] tail [/E2] as new tokens; typed: [E1:TYPE] .. [/E1:TYPE] for "
        "types registered from the training set, [E1] otherwise; punct: '@ * type * head @' and "
        "'# ^ type ^ tail #' (no new tokens); none: no markers, positions at the entities' first word pieces.",
    )
    entity_types: Literal["data", "spacy"] = Field(
        "data",
        description="Where the types in typed and punct markers come from: data: the dataset's own (TACRED, "
        "CoNLL04, JSONL 'type'); spacy: the data's where it has them, spaCy NER over the sentence for the other "
        "mentions, at training and inference alike (SemEval, KBP37 and raw text carry none).",
    )
    prompt: bool = Field(True, description="Append the prompt with the mask token as a second segment.")
    template: str = Field(
        DEFAULT_TEMPLATE,
        description="The prompt: fields {head}, {tail}, {mask} (exactly once), {sep}. A leading {sep} is the "
        "tokenizer's own segment separator (legacy form).",
    )
    max_length: int = Field(256, gt=8, description="Word pieces, special tokens and prompt included.")
    entity_in_prompt_max_tokens: int = Field(
        16, gt=0, description="Entity text in the prompt is cut to this many word pieces."
    )

    @field_validator("template")
    @classmethod
    def _check_template(cls, template: str) -> str:
        try:
            parsed = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)]
        except ValueError as exc:
            raise ValueError(f"the prompt template {template!r} is not a valid format string: {exc}") from exc
        fields = [name for name, _, _ in parsed if name is not None]
        if any(spec or conv for name, spec, conv in parsed if name is not None):
            raise ValueError(f"the prompt template's fields take no format spec or conversion: {template!r}")
        unknown = sorted(set(fields) - TEMPLATE_FIELDS)
        if unknown:
            raise ValueError(f"the prompt template has unknown fields {unknown}; allowed: head, tail, mask, sep")
        if fields.count("mask") != 1:
            raise ValueError(f"the prompt template must contain {{mask}} exactly once: {template!r}")
        return template


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and the positions the strategies read.

    ``head_pos``/``tail_pos``: the head-start and tail-start markers (the first word piece of the entity when
    there are no markers; the first punctuation piece for ``punct``). ``head_span``/``tail_span``: the word pieces
    ``[start, end)`` of the mention itself, markers excluded, which mean pooling averages; a mention whose words
    give no word piece (a zero-width character inside markers) is ``(pos, pos + 1)``, its start marker alone.
    ``mask_pos``: the prompt's mask token, -1 without a prompt. ``mlm_candidates``: True only for ordinary sentence
    pieces outside both entities. ``truncated``: how many sentence pieces were cut.
    """

    input_ids: list[int]
    head_pos: int
    tail_pos: int
    mask_pos: int
    mlm_candidates: list[bool]
    truncated: int
    head_span: tuple[int, int]
    tail_span: tuple[int, int]


@dataclass(frozen=True)
class _Marked:
    """The marked sentence of one example as words, with a kind per word and each entity's word range."""

    words: list[str]
    kinds: list[int]
    head: tuple[int, int]  # words [first opening-marker word, one past the closing-marker word)
    tail: tuple[int, int]
    head_mention: tuple[int, int]  # the entity's own words, markers excluded
    tail_mention: tuple[int, int]


class InputBuilder:
    """Markers, prompt, truncation and positions for one tokenizer and one :class:`InputConfig`.

    The marker tokens become additional special tokens of the tokenizer (idempotent: a tokenizer saved with them
    gets nothing new); ``added_tokens`` says how many were new, so the encoder can resize its embeddings.

    Typed markers: entity types are not known in advance, so the trainer calls :meth:`register_types` with the
    training set's types before building the model. At inference, a type that was never registered (or a span
    without a type) falls back to the untyped ``[E1]``/``[E2]``, which always exist: a new token would have an
    untrained embedding.
    """

    def __init__(self, tokenizer: PreTrainedTokenizerBase, config: InputConfig) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise RelencError("relenc needs a fast (Rust) tokenizer: it maps word pieces to words by offsets")
        if config.prompt and tokenizer.mask_token is None:
            raise RelencError("the prompt needs a tokenizer with a mask token; use prompt: false")
        self.tokenizer = tokenizer
        self.config = config
        self.added_tokens = 0
        self._specials: frozenset[int] = frozenset(tokenizer.all_special_ids)
        if config.markers in ("entity", "typed"):
            self._add_markers(ENTITY_MARKERS)
        # typed markers already in the tokenizer (a saved model's) are known types again
        self._types: set[str] = {
            token[4:-1]
            for token in tokenizer.get_added_vocab()
            if token.startswith("[E1:") and token.endswith("]") and len(token) > 5
        }
        self._types = {t for t in self._types if not self._missing(_typed_markers(t))}
        self._template = _template_parts(config.template)

    @property
    def marker_tokens(self) -> tuple[str, ...]:
        """The marker tokens this builder uses (and registered); empty for ``punct`` and ``none``."""
        if self.config.markers == "entity":
            return ENTITY_MARKERS
        if self.config.markers == "typed":
            return ENTITY_MARKERS + tuple(m for t in sorted(self._types) for m in _typed_markers(t))
        return ()

    def register_types(self, types: Iterable[str]) -> None:
        """Add typed markers for these entity types (``typed`` mode only; a no-op otherwise).

        Call it with the training set's types before the model is built, so the embeddings cover them.
        """
        if self.config.markers != "typed":
            return
        fresh = sorted({t for t in types if t and t.strip()} - self._types)
        if fresh:
            self._add_markers(m for t in fresh for m in _typed_markers(t))
            self._types.update(fresh)

    def add_blank_token(self) -> None:
        """Register :data:`BLANK_TOKEN` as a special token, as the markers are, so that a blanked entity is one
        piece and never an MLM candidate. Only pre-training with blanking calls it: other tokenizers gain nothing
        they never read. Idempotent; ``added_tokens`` counts it when it is new (the encoder must then resize)."""
        self._add_markers([BLANK_TOKEN])

    def _missing(self, tokens: Iterable[str]) -> list[str]:
        """The tokens not yet in the vocabulary (added tokens included)."""
        backend = self.tokenizer.backend_tokenizer
        return [t for t in tokens if backend.token_to_id(t) is None]

    def _add_markers(self, tokens: Iterable[str]) -> None:
        new = self._missing(tokens)
        if not new:
            return
        # lstrip: the marker absorbs the space before it, so byte-level BPE makes no lone "Ġ" piece there;
        # no rstrip: the word after it keeps its leading-space form, as in running text
        added = [AddedToken(t, lstrip=True, rstrip=False, normalized=False, special=True) for t in new]
        self.added_tokens += self.tokenizer.add_special_tokens(
            {"additional_special_tokens": added}, replace_extra_special_tokens=False
        )
        self._specials = frozenset(self.tokenizer.all_special_ids)

    # ----------------------------------------------------------------------------------------- encoding
    def encode(self, example: Example) -> Encoded:
        return self.encode_many([example])[0]

    def encode_many(self, examples: Sequence[Example]) -> list[Encoded]:
        """Tokenise many examples in one batched call of the fast tokenizer, then find positions and cut.

        A second, cheap batched call measures the entity texts that go into the prompt.
        """
        if not examples:
            return []
        marked = [self._mark(ex) for ex in examples]
        sentences = [" ".join(m.words) for m in marked]
        if self.config.prompt:
            prompts = self._prompts(examples)
            encodings = self._encode_batch(list(zip(sentences, [p for p, _ in prompts], strict=True)))
        else:
            prompts = [("", -1)] * len(examples)
            encodings = self._encode_batch(sentences)
        return [
            self._assemble(ex, m, text, enc.ids, enc.offsets, enc.sequence_ids, mask_start)
            for ex, m, text, enc, (_, mask_start) in zip(examples, marked, sentences, encodings, prompts, strict=True)
        ]

    def _encode_batch(self, inputs: list[Any], add_special_tokens: bool = True) -> list[Any]:
        """The Rust tokenizer's own batch call: what ``tokenizer(...)`` runs, without converting every encoding
        to Python lists first (that conversion costs as much as the tokenisation).

        It runs with no truncation or padding (we truncate ourselves) and with special tokens recognised (the
        markers must stay single tokens). These are the settings ``tokenizer(...)`` applies per call anyway.
        """
        backend = self.tokenizer.backend_tokenizer
        if backend.truncation is not None:
            backend.no_truncation()
        if backend.padding is not None:
            backend.no_padding()
        if backend.encode_special_tokens:
            backend.encode_special_tokens = False
        return list(backend.encode_batch(inputs, add_special_tokens=add_special_tokens))

    # ----------------------------------------------------------------------------------------- words
    def _markers_for(self, span: Span, role: int) -> tuple[list[str], list[str]]:
        """The words that open and close an entity (role 1 head, 2 tail)."""
        mode = self.config.markers
        if mode == "none":
            return [], []
        if mode == "punct":  # Zhou & Chen (2022): @ * type * head @ and # ^ type ^ tail #
            sym, inner = ("@", "*") if role == 1 else ("#", "^")
            return ([sym, inner, span.type, inner] if span.type else [sym]), [sym]
        if mode == "typed" and span.type in self._types:
            return [f"[E{role}:{span.type}]"], [f"[/E{role}:{span.type}]"]
        return [f"[E{role}]"], [f"[/E{role}]"]

    def _mark(self, example: Example) -> _Marked:
        """The sentence words with markers inserted around head and tail (in sentence order)."""
        spans = sorted(((example.head, 1), (example.tail, 2)), key=lambda sr: sr[0].start)
        words: list[str] = []
        kinds: list[int] = []
        ranges: dict[int, tuple[int, int]] = {}
        mentions: dict[int, tuple[int, int]] = {}
        cursor = 0
        for span, role in spans:
            words += example.tokens[cursor : span.start]
            kinds += [CONTEXT] * (span.start - cursor)
            before, after = self._markers_for(span, role)
            first = len(words)
            words += before
            mentions[role] = (len(words), len(words) + span.end - span.start)
            words += example.tokens[span.start : span.end]
            words += after
            kinds += [MARKER] * len(before) + [ENTITY] * (span.end - span.start) + [MARKER] * len(after)
            ranges[role] = (first, len(words))
            cursor = span.end
        words += example.tokens[cursor:]
        kinds += [CONTEXT] * (len(example.tokens) - cursor)
        return _Marked(words, kinds, ranges[1], ranges[2], mentions[1], mentions[2])

    def _prompts(self, examples: Sequence[Example]) -> list[tuple[str, int]]:
        """Each example's prompt text and the character offset where its mask token starts.

        Entity texts longer than ``entity_in_prompt_max_tokens`` pieces are cut at a piece boundary; they are
        measured with a leading space, as they appear inside the prompt.
        """
        texts = [" ".join(ex.span_tokens(span)) for ex in examples for span in (ex.head, ex.tail)]
        limit = self.config.entity_in_prompt_max_tokens
        measured = self._encode_batch([" " + t for t in texts], add_special_tokens=False)
        short = [
            text if len(enc.offsets) <= limit else text[: max(enc.offsets[limit - 1][1] - 1, 1)].rstrip()
            for text, enc in zip(texts, measured, strict=True)
        ]
        values = {"mask": self.tokenizer.mask_token, "sep": self.tokenizer.sep_token or ""}
        out = []
        for i in range(len(examples)):
            values["head"], values["tail"] = short[2 * i], short[2 * i + 1]
            out.append(_render(self._template, values))
        return out

    # ----------------------------------------------------------------------------------------- assembly
    def _assemble(
        self,
        example: Example,
        marked: _Marked,
        sentence: str,
        ids: list[int],
        offsets: list[tuple[int, int]],
        segments: list[int | None],
        mask_start: int,
    ) -> Encoded:
        """Cut the sentence to fit ``max_length`` around the entities; find the positions and MLM candidates."""
        if 0 not in segments:
            raise DataError("the sentence gives no word pieces", location=f"example {example.id!r}")
        s0 = segments.index(0)  # the sentence is the first segment: pieces ids[s0:s1]
        s1 = s0 + segments.count(0)
        words, blank = _piece_words(sentence, [len(w) for w in marked.words], offsets[s0:s1])
        n = s1 - s0
        budget = self.config.max_length - (len(ids) - n)
        first_word = min(marked.head[0], marked.tail[0])
        last_word = max(marked.head[1], marked.tail[1])
        lo, hi = bisect_left(words, first_word), bisect_right(words, last_word - 1)
        while hi > lo and blank[hi - 1]:  # a lone BPE space after the last marker need not be kept
            hi -= 1
        if hi - lo > budget:
            raise TooLongError(
                f"too long to encode: its entities and the text between them take {hi - lo} word pieces, the "
                f"special tokens and prompt {len(ids) - n}, together more than max_length "
                f"{self.config.max_length} (sentence: {n} pieces)",
                location=f"example {example.id!r}",
            )
        start, end = _window(words, lo, hi, budget)
        kept = end - start
        shift = s0 - start  # from a sentence piece's index to its position in the input
        head_pos, head_span = _entity_pieces(
            example, example.head, marked.head, marked.head_mention, words, blank, shift
        )
        tail_pos, tail_span = _entity_pieces(
            example, example.tail, marked.tail, marked.tail_mention, words, blank, shift
        )
        mask_pos = -1
        if self.config.prompt:
            mask_pos = self._mask_index(ids, offsets, segments, mask_start) - (n - kept)
        sentence_ids = ids[s0 + start : s0 + end]
        candidates = [False] * s0
        candidates += [
            marked.kinds[words[p]] == CONTEXT and not blank[p] and ids[s0 + p] not in self._specials
            for p in range(start, end)
        ]
        candidates += [False] * (len(ids) - s1)
        input_ids = ids[:s0] + sentence_ids + ids[s1:]
        return Encoded(input_ids, head_pos, tail_pos, mask_pos, candidates, n - kept, head_span, tail_span)

    def _mask_index(
        self, ids: list[int], offsets: list[tuple[int, int]], segments: list[int | None], mask_start: int
    ) -> int:
        """The template's mask token: the prompt's mask piece at the place the template put it (an entity text
        that happens to contain the mask token's string cannot be taken for it)."""
        mask_id = self.tokenizer.mask_token_id
        mask_end = mask_start + len(self.tokenizer.mask_token)
        for j in range(len(ids) - 1, -1, -1):
            if segments[j] == 1 and ids[j] == mask_id and offsets[j][0] <= mask_start and offsets[j][1] >= mask_end:
                return j
        raise RelencError(f"the prompt template {self.config.template!r} lost its mask token in tokenisation")


def blank_entities(example: Example, head: bool = True, tail: bool = True) -> Example:
    """The example with the words of its head and/or tail replaced by the one word :data:`BLANK_TOKEN`.

    The builder then encodes it as any example: the markers stay around the blank (``[E1] [BLANK] [/E1]``), and the
    prompt reads the blank too, so the entity's name is nowhere in the input. The result has no text or character
    offsets (the builder reads the words only); an entity left as it is keeps its words, type and label.
    """
    if not (head or tail):
        return example
    tokens: list[str] = []
    spans: dict[str, Span] = {}
    cursor = 0
    for role, span, blank in sorted((("head", example.head, head), ("tail", example.tail, tail)), key=_span_start):
        tokens += example.tokens[cursor : span.start]
        start = len(tokens)
        tokens += [BLANK_TOKEN] if blank else example.tokens[span.start : span.end]
        spans[role] = Span(start, len(tokens), BLANK_TOKEN if blank else span.text, span.type)
        cursor = span.end
    tokens += example.tokens[cursor:]
    return Example(example.id, tuple(tokens), spans["head"], spans["tail"], example.label)


def _span_start(entity: tuple[str, Span, bool]) -> int:
    return entity[1].start


def _typed_markers(entity_type: str) -> tuple[str, str, str, str]:
    return (f"[E1:{entity_type}]", f"[/E1:{entity_type}]", f"[E2:{entity_type}]", f"[/E2:{entity_type}]")


def _template_parts(template: str) -> list[tuple[str, str | None]]:
    """The template as (literal text, field) pairs.

    A leading ``{sep}`` (the legacy form ``sentence [SEP] The relation is [MASK] ?``) is the segment boundary,
    which the tokenizer's pair template already inserts (``[SEP]`` for BERT, ``</s></s>`` for MPNet), so it is
    dropped rather than doubled; a ``{sep}`` anywhere else becomes the tokenizer's ``sep_token``.
    """
    parts = [(literal, field) for literal, field, _, _ in string.Formatter().parse(template)]
    if parts and parts[0][1] == "sep" and not parts[0][0].strip():
        parts = parts[1:]
        if parts:
            parts[0] = (parts[0][0].lstrip(), parts[0][1])
    return parts


def _render(parts: Sequence[tuple[str, str | None]], values: dict[str, str]) -> tuple[str, int]:
    """The filled-in template and the character offset of its mask token."""
    out: list[str] = []
    length = 0
    mask_start = -1
    for literal, field in parts:
        out.append(literal)
        length += len(literal)
        if field is not None:
            if field == "mask":
                mask_start = length
            out.append(values[field])
            length += len(values[field])
    return "".join(out), mask_start


def _first_piece(example: Example, span: Span, word_range: tuple[int, int], words: list[int], blank: list[bool]) -> int:
    """The first non-blank piece of an entity's words (its opening marker when there is one)."""
    p = bisect_left(words, word_range[0])
    while p < len(words) and words[p] < word_range[1] and blank[p]:
        p += 1
    if p == len(words) or words[p] >= word_range[1]:
        entity = " ".join(example.span_tokens(span))
        raise DataError(f"the entity {entity!r} gives no word pieces", location=f"example {example.id!r}")
    return p


def _entity_pieces(
    example: Example,
    span: Span,
    word_range: tuple[int, int],
    mention: tuple[int, int],
    words: list[int],
    blank: list[bool],
    shift: int,
) -> tuple[int, tuple[int, int]]:
    """An entity's start position (:func:`_first_piece`) and its mention's positions ``[start, end)``: the pieces of
    the entity's own words, without blank pieces at either end; the start position alone when the words give none.
    ``shift`` moves a sentence piece's index to its position in the input."""
    pos = _first_piece(example, span, word_range, words, blank) + shift
    lo, hi = bisect_left(words, mention[0]), bisect_left(words, mention[1])
    while lo < hi and blank[lo]:
        lo += 1
    while hi > lo and blank[hi - 1]:
        hi -= 1
    return pos, ((lo + shift, hi + shift) if hi > lo else (pos, pos + 1))


def _piece_words(
    sentence: str, word_lengths: Sequence[int], offsets: Sequence[tuple[int, int]]
) -> tuple[list[int], list[bool]]:
    """For each word piece of the space-joined sentence: its word index, and whether it is blank.

    A piece belongs to the word of its first non-space character, so a byte-level ``Ġword`` piece (whose offsets
    may include the space) belongs to ``word``. Blank pieces (a lone ``Ġ``, empty offsets) hold no text; they are
    attached to the preceding word and are never positions or MLM candidates. Word indices never decrease.
    """
    starts = []
    pos = 0
    for length in word_lengths:
        starts.append(pos)
        pos += length + 1
    words: list[int] = []
    blank: list[bool] = []
    for begin, finish in offsets:
        if begin < finish and not sentence[begin].isspace():  # the common case: no leading space
            probe, empty = begin, False
        else:
            text = sentence[begin:finish]
            stripped = text.lstrip()
            empty = not stripped
            # a blank piece goes with the word before it
            probe = max(begin - 1, 0) if empty else begin + len(text) - len(stripped)
        words.append(bisect_right(starts, probe) - 1)
        blank.append(empty)
    return words, blank


def _window(words: Sequence[int], lo: int, hi: int, budget: int) -> tuple[int, int]:
    """Pieces ``[start, end)``: at most ``budget`` of them, containing ``[lo, hi)``, centred on it as the sentence
    allows, then shrunk so that no word is cut in two (a cut word would leave an orphan ``##piece``)."""
    n = len(words)
    if n <= budget:
        return 0, n
    spare = budget - (hi - lo)
    left = min(lo, spare // 2)
    right = min(n - hi, spare - left)
    left = min(lo, spare - right)
    start, end = lo - left, hi + right
    while 0 < start < lo and words[start] == words[start - 1]:
        start += 1
    while hi < end < n and words[end] == words[end - 1]:
        end -= 1
    return start, end
