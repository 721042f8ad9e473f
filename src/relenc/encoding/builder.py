"""Input construction: the only place in relenc that tokenises model input.

An example becomes ``[CLS] w1 .. [E1] head [/E1] .. [E2] tail [/E2] .. wn [SEP] The relation between <head> and
<tail> is [MASK]. [SEP]``: the sentence with entity markers as the first segment and the prompt as the second,
through the tokenizer's own pair template (so BERT's ``[CLS] a [SEP] b [SEP]`` and MPNet's ``<s> a </s></s> b </s>``
both work), with the model's own mask token. ``[E1]`` always marks the head and ``[E2]`` the tail, whatever their
order in the sentence. The positions of the head marker, tail marker and mask token are computed here, once.

The marked sentence is tokenised as one string (words joined by single spaces), never word by word, so BPE
tokenizers keep their leading-space pieces. Over-long inputs are cut around the entities; the prompt is never cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from transformers import PreTrainedTokenizerBase

from relenc.data.example import Example, Span
from relenc.errors import DataError, RelencError

LEGACY_TEMPLATE = "{sep} The relation is {mask} ?"
DEFAULT_TEMPLATE = "The relation between {head} and {tail} is {mask}."
ENTITY_MARKERS = ("[E1]", "[/E1]", "[E2]", "[/E2]")
_TYPED_HEAD = re.compile(r"\[E1:(.+)\]")


class InputConfig(BaseModel):
    """How an example is turned into model input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    markers: Literal["entity", "typed", "punct", "none"] = Field(
        "entity",
        description="entity: [E1]..[/E1] [E2]..[/E2] as new tokens; typed: [E1:TYPE] when types are known; "
        "punct: @ head @ and # tail # (no new tokens); none: no markers.",
    )
    prompt: bool = True
    template: str = DEFAULT_TEMPLATE
    max_length: int = Field(256, gt=8, description="Word pieces, special tokens and prompt included.")
    entity_in_prompt_max_tokens: int = Field(16, gt=0)


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and the positions the strategies read."""

    input_ids: list[int]
    head_pos: int
    tail_pos: int
    mask_pos: int
    mlm_candidates: list[bool]
    truncated: int


class InputBuilder:
    """Markers, prompt, truncation and positions for one tokenizer and one :class:`InputConfig`."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, config: InputConfig) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise RelencError("relenc needs a fast (Rust) tokenizer to map words to word pieces")
        if config.prompt and tokenizer.mask_token is None:
            raise RelencError("the prompt needs a tokenizer with a mask token")
        if config.prompt and "{mask}" not in config.template:
            raise RelencError(f"the prompt template must contain {{mask}}: {config.template!r}")
        self.tokenizer = tokenizer
        self.config = config
        self.added_tokens = 0
        if config.markers in ("entity", "typed"):
            self._add_specials(ENTITY_MARKERS)
        # typed markers already in the tokenizer (a saved model) are known types again
        self._types: set[str] = {
            m.group(1) for token in tokenizer.get_vocab() if (m := _TYPED_HEAD.fullmatch(token)) is not None
        }
        self._specials = set(tokenizer.all_special_ids)

    @property
    def marker_tokens(self) -> tuple[str, ...]:
        if self.config.markers == "entity":
            return ENTITY_MARKERS
        if self.config.markers == "typed":
            typed = tuple(m for t in sorted(self._types) for m in _typed_markers(t))
            return ENTITY_MARKERS + typed
        return ()

    def _add_specials(self, tokens: Iterable[str]) -> None:
        vocab = self.tokenizer.get_vocab()
        new = [t for t in tokens if t not in vocab]
        if new:
            self.added_tokens += self.tokenizer.add_special_tokens(
                {"additional_special_tokens": new},
                replace_extra_special_tokens=False,
            )
            self._specials = set(self.tokenizer.all_special_ids)

    def register_types(self, types: Iterable[str]) -> None:
        """Add typed markers for these entity types (typed mode only). Unseen types fall back to [E1]/[E2]."""
        if self.config.markers != "typed":
            return
        fresh = sorted(set(types) - self._types)
        self._types.update(fresh)
        self._add_specials(m for t in fresh for m in _typed_markers(t))

    # ----------------------------------------------------------------------------------------- words
    def _markers_for(self, span: Span, role: int) -> tuple[list[str], list[str]]:
        mode = self.config.markers
        if mode == "none":
            return [], []
        if mode == "punct":
            sym, inner = ("@", "*") if role == 1 else ("#", "^")
            return ([sym, inner, span.type, inner] if span.type else [sym]), [sym]
        if mode == "typed" and span.type and span.type in self._types:
            return [f"[E{role}:{span.type}]"], [f"[/E{role}:{span.type}]"]
        return [f"[E{role}]"], [f"[/E{role}]"]

    def _marked_words(self, example: Example) -> tuple[list[str], list[int], tuple[int, int], tuple[int, int]]:
        """Words with markers; a role per word (0 context, 1 head marker/entity, 2 tail ...) and span word ranges.

        Returns (words, kind, head_range, tail_range) where kind is 0 for context, 1 for a marker, 2 for entity
        words, and the ranges are the word indices [first marker word, last word after the closing marker).
        """
        opens: dict[int, list[tuple[int, Span]]] = {}
        for role, span in ((1, example.head), (2, example.tail)):
            opens.setdefault(span.start, []).append((role, span))
        words: list[str] = []
        kind: list[int] = []
        ranges: dict[int, tuple[int, int]] = {}
        i = 0
        tokens = example.tokens
        while i < len(tokens):
            if i in opens:
                role, span = opens[i][0]
                before, after = self._markers_for(span, role)
                first = len(words)
                words += before
                kind += [1] * len(before)
                for tok in tokens[span.start : span.end]:
                    words.append(tok)
                    kind.append(2)
                words += after
                kind += [1] * len(after)
                ranges[role] = (first, len(words))
                i = span.end
                continue
            words.append(tokens[i])
            kind.append(0)
            i += 1
        return words, kind, ranges[1], ranges[2]

    def _prompt_text(self, example: Example) -> str:
        tok = self.tokenizer
        limit = self.config.entity_in_prompt_max_tokens

        def short(span: Span) -> str:
            text = " ".join(example.tokens[span.start : span.end])
            pieces = tok.tokenize(text)
            if len(pieces) <= limit:
                return text
            return tok.convert_tokens_to_string(pieces[:limit])

        return self.config.template.format(
            head=short(example.head), tail=short(example.tail), mask=tok.mask_token, sep=tok.sep_token or ""
        )

    # ----------------------------------------------------------------------------------------- encoding
    def encode(self, example: Example) -> Encoded:
        return self.encode_many([example])[0]

    def encode_many(self, examples: Sequence[Example]) -> list[Encoded]:
        """Tokenise many examples in one batched call of the fast tokenizer, then find positions and cut.

        Sentence and prompt go through the tokenizer as a pair, so its own template places the special tokens.
        """
        if not examples:
            return []
        tok = self.tokenizer
        marked = [self._marked_words(ex) for ex in examples]
        sentences = [" ".join(words) for words, _, _, _ in marked]
        if self.config.prompt:
            prompts = [self._prompt_text(ex) for ex in examples]
            enc = tok(sentences, prompts, return_offsets_mapping=True)
        else:
            enc = tok(sentences, return_offsets_mapping=True)
        out = []
        for i, ex in enumerate(examples):
            words, kind, head_range, tail_range = marked[i]
            segments = enc.sequence_ids(i)
            out.append(
                self._assemble(
                    ex,
                    enc["input_ids"][i],
                    segments,
                    enc["offset_mapping"][i],
                    words,
                    kind,
                    head_range,
                    tail_range,
                )
            )
        return out

    def _assemble(
        self,
        example: Example,
        ids: list[int],
        segments: list[int | None],
        offsets: list[tuple[int, int]],
        words: list[str],
        kind: list[int],
        head_range: tuple[int, int],
        tail_range: tuple[int, int],
    ) -> Encoded:
        sentence = [j for j, seg in enumerate(segments) if seg == 0]
        piece_word = _piece_words(words, [offsets[j] for j in sentence])
        budget = self.config.max_length - (len(ids) - len(sentence))
        # the pieces that must survive: from the first entity's opening marker to the last one's closing marker
        ent_first = min(head_range[0], tail_range[0])
        ent_last = max(head_range[1], tail_range[1]) - 1
        must = [p for p, w in enumerate(piece_word) if ent_first <= w <= ent_last]
        if not must:
            raise DataError(f"example {example.id!r}: the entities vanished in tokenisation")
        lo, hi = must[0], must[-1] + 1
        if hi - lo > budget:
            raise DataError(
                f"example {example.id!r} is too long: its entities span {hi - lo} word pieces but only {budget} "
                f"fit in max_length {self.config.max_length} beside the special tokens and the prompt"
            )
        start, end = _window(len(sentence), lo, hi, budget)
        dropped = set(sentence[:start] + sentence[end:])
        keep = [j for j in range(len(ids)) if j not in dropped]
        new_index = {old: new for new, old in enumerate(keep)}
        word_of = {sentence[p]: piece_word[p] for p in range(start, end)}
        full = [ids[j] for j in keep]

        def first_piece(word: int) -> int:
            return min(new_index[j] for j, w in word_of.items() if w == word)

        head_pos = first_piece(head_range[0])
        tail_pos = first_piece(tail_range[0])
        mask_pos = -1
        if self.config.prompt:
            in_prompt = [new_index[j] for j in keep if segments[j] == 1 and ids[j] == self.tokenizer.mask_token_id]
            if not in_prompt:
                raise RelencError("the prompt lost its mask token in tokenisation")
            mask_pos = in_prompt[-1]
        candidates = [False] * len(full)
        for j, w in word_of.items():
            if kind[w] == 0 and ids[j] not in self._specials:
                candidates[new_index[j]] = True
        return Encoded(full, head_pos, tail_pos, mask_pos, candidates, len(dropped))


def _typed_markers(entity_type: str) -> tuple[str, ...]:
    return tuple(f"[{o}E{r}:{entity_type}]" for r in (1, 2) for o in ("", "/"))


def _piece_words(words: Sequence[str], offsets: Sequence[tuple[int, int]]) -> list[int]:
    """The word index of every word piece, from character offsets into the space-joined sentence."""
    starts = []
    pos = 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    result = []
    k = 0
    for begin, finish in offsets:
        probe = begin if finish > begin else max(begin - 1, 0)
        while k + 1 < len(starts) and starts[k + 1] <= probe:
            k += 1
        result.append(k)
    return result


def _window(n: int, lo: int, hi: int, budget: int) -> tuple[int, int]:
    """A window of at most ``budget`` pieces containing [lo, hi), centred on it as far as the sentence allows."""
    if n <= budget:
        return 0, n
    spare = budget - (hi - lo)
    left = min(lo, spare // 2)
    right = min(n - hi, spare - left)
    left = min(lo, spare - right)
    return lo - left, hi + right
