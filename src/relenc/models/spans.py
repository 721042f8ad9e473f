"""Entity recognition as span classification (as in SpERT and PURE): every span of up to ``max_width`` words is a
candidate, classified into an entity type or ``none``.

A span is represented by the encoder's vectors at its first and last word piece and a learned embedding of its width
in words (Zhong & Chen 2021, PURE); with ``representation="ends+max+cls"`` (the default) also the max-pool over its
word pieces and the sentence's ``[CLS]`` vector, as SpERT does (Eberts & Ulges 2020), so a span sees all of its words
and the context that tells a person from a place. The encoders relenc ships (MiniLM, MPNet) lowercase their input, so
"Apple" and "apple" reach them as the same pieces; with ``shape_dim > 0`` the span also gets an embedding of the
*shape* (lower, Title, UPPER, digits, punctuation, mIxed) of its first and last word and of the words just outside
it, the capitals being the strongest surface cue for a name. With ``ner_dim > 0`` the same four words also bring
the IOB tag a cased spaCy NER model (``ner_model``) gives them (``B-ORG``, ``I-ORG``, ``O``): a second opinion on
where names start and end, from a model trained on other data. A linear layer scores the types. Training sees every
gold span and a sample of the other spans as negatives (SpERT samples 100 per sentence); prediction scores every
candidate and keeps, greedily by score, the spans that do not overlap one already kept (CoNLL04-style flat entities).

A recognizer is a directory::

    entity_config.json        types, max_width, width_dim, shape_dim, ner_dim, ner_model, ner_labels, dropout,
                              max_length, representation (rebuilds everything)
    span_head.safetensors     the width, shape and NER-tag embeddings and the classifier
    encoder/                  a Hugging Face encoder with its tokenizer
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from relenc.data.sentence import Mention, Sentence
from relenc.encoding.collate import length_buckets
from relenc.errors import RelencError
from relenc.io import atomic_dir
from relenc.models.engine import InferenceEngine, in_order
from relenc.models.hf import save_encoder_files
from relenc.nlp import DEFAULT_SPACY_MODEL, entity_labels, word_entity_tags

CONFIG_NAME = "entity_config.json"
HEAD_NAME = "span_head.safetensors"
Representation = Literal["ends", "ends+max+cls"]
#: Word shapes, by index: padding, the sentence's edges (the word before the first, after the last), then the shapes.
SHAPES = ("pad", "start", "end", "lower", "title", "upper", "digit", "punct", "mixed")
_SHAPE = {name: index for index, name in enumerate(SHAPES)}
#: The NER tags before the labels' own (see :func:`tag_index`): padding, the sentence's edges and ``O``.
TAG_EDGES = ("pad", "start", "end", "O")
#: The four words around a span whose shape and tag it sees: its first and last, the one before and the one after.
AROUND = 4


def word_shape(word: str) -> int:
    """The index in :data:`SHAPES` of ``word``'s casing class: what a lowercasing tokenizer throws away."""
    if any(c.isdigit() for c in word):
        return _SHAPE["digit"]
    letters = [c for c in word if c.isalpha()]
    if not letters:
        return _SHAPE["punct"]
    if all(c.islower() for c in letters):
        return _SHAPE["lower"]
    if all(c.isupper() for c in letters):
        return _SHAPE["upper" if len(letters) > 1 else "title"]
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return _SHAPE["title"]
    return _SHAPE["mixed"]


def tag_index(labels: Sequence[str]) -> dict[str, int]:
    """The embedding row of each NER tag: :data:`TAG_EDGES` first, then ``B-X`` and ``I-X`` for each label ``X``."""
    tags = [*TAG_EDGES, *(f"{iob}-{label}" for label in labels for iob in "BI")]
    return {tag: i for i, tag in enumerate(tags)}


@dataclass(frozen=True)
class SpanConfig:
    """What the recognizer looks at and predicts."""

    types: tuple[str, ...]
    max_width: int = 10
    width_dim: int = 25
    shape_dim: int = 16  # 0: no word shapes (a recognizer saved before they existed is read as 0)
    ner_dim: int = 0  # 0: no spaCy NER tags
    ner_model: str = DEFAULT_SPACY_MODEL  # the spaCy pipeline that tags the words (a name or a directory)
    ner_labels: tuple[str, ...] = ()  # its entity labels, fixed when the recognizer is built
    dropout: float = 0.1
    max_length: int = 256
    representation: Representation = "ends+max+cls"


@dataclass(frozen=True)
class SpanBatch:
    """Word pieces of a batch of sentences and the candidate spans to classify, as word-piece positions."""

    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    starts: torch.Tensor  # [B, S] first word piece of each span
    ends: torch.Tensor  # [B, S] last word piece (inclusive)
    widths: torch.Tensor  # [B, S] width in words
    shapes: torch.Tensor  # [B, S, 4] word shapes: first and last word, the word before and the word after
    tags: torch.Tensor  # [B, S, 4] spaCy NER tags of the same words (all 0 without ``ner_dim``)
    mask: torch.Tensor  # [B, S] True for real spans, False for padding
    spans: list[list[tuple[int, int]]]  # per sentence, the word spans [start, end) in order


class SpanModel(nn.Module):
    """Encoder -> [first piece; last piece; (max-pool; [CLS];) width embedding; (4 word shapes; 4 NER tags)] per
    span -> type logits (index 0: ``none``)."""

    def __init__(self, encoder: Any, config: SpanConfig) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooled = config.representation == "ends+max+cls"
        hidden = int(encoder.config.hidden_size)
        self.width = nn.Embedding(config.max_width + 1, config.width_dim)
        self.shape = nn.Embedding(len(SHAPES), config.shape_dim) if config.shape_dim else None
        self.ner = nn.Embedding(len(tag_index(config.ner_labels)), config.ner_dim) if config.ner_dim else None
        features = (4 if self.pooled else 2) * hidden + config.width_dim + AROUND * (config.shape_dim + config.ner_dim)
        self.classifier = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(features, len(config.types) + 1))

    def forward(self, batch: SpanBatch) -> torch.Tensor:
        hidden = self.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        rows = torch.arange(hidden.size(0), device=hidden.device)[:, None]
        parts = [hidden[rows, batch.starts], hidden[rows, batch.ends]]
        if self.pooled:
            parts += [_max_pool(hidden, rows, batch.starts, batch.ends), hidden[:, :1].expand_as(parts[0])]
        parts.append(self.width(batch.widths))
        if self.shape is not None:
            parts.append(self.shape(batch.shapes).flatten(-2))
        if self.ner is not None:
            parts.append(self.ner(batch.tags).flatten(-2))
        return self.classifier(torch.cat(parts, dim=-1))


def _max_pool(hidden: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor) -> torch.Tensor:
    """Max over each span's word pieces [start, end], one gather per piece offset: memory of [B, S, H] at a time,
    where a [B, S, L] mask over every piece would hold hundreds of megabytes for a long sentence's candidates."""
    pooled = hidden[rows, starts]
    for offset in range(1, int((ends - starts).max()) + 1 if starts.numel() else 1):
        pooled = torch.maximum(pooled, hidden[rows, torch.minimum(starts + offset, ends)])
    return pooled


class EntityRecognizer:
    """Tokeniser + :class:`SpanModel` + types: find typed entity spans in tokenised sentences."""

    def __init__(self, tokenizer: Any, model: SpanModel, config: SpanConfig) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.config = config
        self._tag_ids = tag_index(config.ner_labels)

    @classmethod
    def build(cls, encoder: str, types: Sequence[str], **settings: Any) -> EntityRecognizer:
        """A fresh recognizer on ``encoder`` (a name, an encoder directory or a relenc model directory)."""
        from relenc.models.extractor import load_encoder

        if not types:
            raise RelencError("an entity recognizer needs at least one entity type")
        if settings.get("ner_dim") and not settings.get("ner_labels"):
            settings["ner_labels"] = entity_labels(settings.get("ner_model", DEFAULT_SPACY_MODEL))
        config = SpanConfig(types=tuple(sorted(set(types))), **settings)
        tokenizer, model = load_encoder(encoder)
        return cls(tokenizer, SpanModel(model, config), config)

    # ------------------------------------------------------------------------------------------- batches
    def candidates(self, n_words: int) -> list[tuple[int, int]]:
        """Every word span of up to ``max_width`` words, in order."""
        width = self.config.max_width
        return [(s, e) for s in range(n_words) for e in range(s + 1, min(n_words, s + width) + 1)]

    def batch(self, tokens: Sequence[Sequence[str]], spans: Sequence[Sequence[tuple[int, int]]]) -> SpanBatch:
        """Tokenise whole words and map each word span to word pieces; spans cut off by ``max_length`` are dropped
        (they cannot be scored), so ``spans`` of the result may be shorter than the input's."""
        enc = self.tokenizer(
            [list(t) for t in tokens], is_split_into_words=True, truncation=True, max_length=self.config.max_length
        )
        kept: list[list[tuple[int, int]]] = []
        rows: list[list[tuple[int, ...]]] = []
        tags = self._tags(tokens)
        for i, sentence_spans in enumerate(spans):
            shape = [_SHAPE["start"], *map(word_shape, tokens[i]), _SHAPE["end"]]  # word w at shape[w + 1]
            first: dict[int, int] = {}
            last: dict[int, int] = {}
            for piece, (word, text) in enumerate(zip(enc.word_ids(i), enc.tokens(i), strict=True)):
                if word is not None:
                    first.setdefault(word, piece)
                    if word not in last or any(c.isalnum() for c in text):
                        last[word] = piece  # "Kosovo." ends at "kosovo": a glued full stop says nothing of it
            ok = [(s, e) for s, e in sentence_spans if s in first and (e - 1) in last]
            kept.append(ok)
            rows.append([(first[s], last[e - 1], e - s, *_around(shape, s, e), *_around(tags[i], s, e)) for s, e in ok])
        width = max(1, max(len(r) for r in rows))
        pad = [(0,) * (3 + 2 * AROUND)] * width
        table = torch.tensor([r + pad[len(r) :] for r in rows], dtype=torch.long)
        ids = enc["input_ids"]
        length = max(len(x) for x in ids)
        pad_id = self.tokenizer.pad_token_id or 0
        return SpanBatch(
            input_ids=torch.tensor([x + [pad_id] * (length - len(x)) for x in ids]),
            attention_mask=torch.tensor([[1] * len(x) + [0] * (length - len(x)) for x in ids]),
            starts=table[..., 0],
            ends=table[..., 1],
            widths=table[..., 2],
            shapes=table[..., 3 : 3 + AROUND],
            tags=table[..., 3 + AROUND :],
            mask=torch.tensor([[True] * len(r) + [False] * (width - len(r)) for r in rows]),
            spans=kept,
        )

    def _tags(self, tokens: Sequence[Sequence[str]]) -> list[list[int]]:
        """Per sentence, the NER tag index of each word between the sentence's edges (word w at w + 1); all 0 when
        the recognizer uses no NER tags."""
        if not self.config.ner_dim:
            return [[0] * (len(t) + 2) for t in tokens]
        index = self._tag_ids
        out = []
        for words in word_entity_tags(tokens, self.config.ner_model):
            unknown = sorted({tag for tag in words if tag not in index})
            if unknown:
                raise RelencError(
                    f"the spaCy pipeline {self.config.ner_model!r} gives tags {unknown} this recognizer was not built "
                    f"with ({list(self.config.ner_labels)}); install the pipeline it was trained with"
                )
            out.append([index["start"], *(index[tag] for tag in words), index["end"]])
        return out

    def training_spans(self, sentence: Sentence, negatives: int, rng: random.Random) -> list[tuple[int, int]]:
        """The gold spans and up to ``negatives`` other candidate spans, sampled."""
        gold = {(m.start, m.end) for m in sentence.mentions if m.end - m.start <= self.config.max_width}
        others = [span for span in self.candidates(len(sentence.tokens)) if span not in gold]
        return sorted(gold) + rng.sample(others, min(negatives, len(others)))

    def targets(self, sentence: Sentence, spans: Sequence[tuple[int, int]]) -> list[int]:
        """Type index per span (0: ``none``)."""
        index = {t: i + 1 for i, t in enumerate(self.config.types)}
        gold = {(m.start, m.end): index.get(m.type, 0) for m in sentence.mentions}
        return [gold.get(span, 0) for span in spans]

    # ------------------------------------------------------------------------------------------- prediction
    def predict(
        self, tokens: Sequence[Sequence[str]], batch_size: int = 16, precision: str = "auto"
    ) -> list[list[tuple[Mention, float]]]:
        """Typed, non-overlapping mentions with their probability, per sentence.

        On the inference engine (:meth:`InferenceEngine.run_batches`): sentences of similar length batched together,
        no gradient, eval mode restored, bf16 where native; results in input order.
        """
        engine = InferenceEngine({"main": self.tokenizer.pad_token_id or 0}, self.model)
        batches = length_buckets([len(t) for t in tokens], batch_size, shuffle=False, seed=0)
        device = engine.device

        def inputs(idx: list[int]) -> SpanBatch:
            chunk = [tokens[i] for i in idx]
            return to_device(self.batch(chunk, [self.candidates(len(t)) for t in chunk]), device)

        def step(batch: SpanBatch) -> list[list[tuple[Mention, float]]]:
            probs = torch.softmax(self.model(batch).float(), dim=-1).cpu()
            return [self._decode(probs[row], spans) for row, spans in enumerate(batch.spans)]

        return in_order(engine.run_batches(batches, inputs, step, precision), len(tokens), lambda rows: rows)

    def _decode(self, probs: torch.Tensor, spans: Sequence[tuple[int, int]]) -> list[tuple[Mention, float]]:
        """Greedy by score: the most probable typed spans that overlap no span already kept."""
        found = []
        for row, (start, end) in enumerate(spans):
            best = int(probs[row].argmax())
            if best:
                found.append((float(probs[row, best]), start, end, self.config.types[best - 1]))
        kept: list[tuple[Mention, float]] = []
        for score, start, end, kind in sorted(found, key=lambda f: -f[0]):
            if all(end <= m.start or m.end <= start for m, _ in kept):
                kept.append((Mention(start, end, kind), score))
        return sorted(kept, key=lambda pair: pair[0].start)

    # ------------------------------------------------------------------------------------------- saving
    def save_pretrained(self, directory: str | Path) -> Path:
        target = Path(directory)
        with atomic_dir(target) as tmp:
            (tmp / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2), encoding="utf-8")
            head = {f"{name}.{k}": v for name, part in self._head().items() for k, v in part.state_dict().items()}
            save_file({k: v.detach().contiguous().cpu() for k, v in head.items()}, str(tmp / HEAD_NAME))
            save_encoder_files(self.model.encoder, self.tokenizer, tmp / "encoder")
        return target

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> EntityRecognizer:
        root = Path(directory)
        try:
            raw = {"shape_dim": 0, **json.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))}
            config = SpanConfig(**{**raw, "types": tuple(raw["types"]), "ner_labels": tuple(raw.get("ner_labels", ()))})
        except (OSError, json.JSONDecodeError, TypeError, KeyError) as exc:
            raise RelencError(f"{root / CONFIG_NAME}: not an entity recognizer config ({exc})") from exc
        settings = {k: v for k, v in asdict(config).items() if k != "types"}
        recognizer = cls.build(str(root / "encoder"), config.types, **settings)
        try:
            state = load_file(str(root / HEAD_NAME))
        except (SafetensorError, OSError) as exc:
            raise RelencError(
                f"{root / HEAD_NAME}: not a readable span head ({exc}); train the recognizer again"
            ) from exc
        for name, part in recognizer._head().items():
            part.load_state_dict({k[len(name) + 1 :]: v for k, v in state.items() if k.startswith(f"{name}.")})
        recognizer.model.eval()
        return recognizer

    def _head(self) -> dict[str, nn.Module]:
        """The span head's parts by name (the saved tensors' prefixes): everything but the encoder."""
        parts = {"width": self.model.width, "classifier": self.model.classifier}
        optional = {"shape": self.model.shape, "ner": self.model.ner}
        return parts | {name: part for name, part in optional.items() if part is not None}


def _around(values: Sequence[int], start: int, end: int) -> tuple[int, ...]:
    """The :data:`AROUND` words of the span ``[start, end)`` in ``values``, a per-word list between the sentence's
    edges (word w at w + 1): its first word, its last, the one before and the one after."""
    return values[start + 1], values[end], values[start], values[end + 1]


def to_device(batch: SpanBatch, device: torch.device) -> SpanBatch:
    return SpanBatch(
        batch.input_ids.to(device),
        batch.attention_mask.to(device),
        batch.starts.to(device),
        batch.ends.to(device),
        batch.widths.to(device),
        batch.shapes.to(device),
        batch.tags.to(device),
        batch.mask.to(device),
        batch.spans,
    )
