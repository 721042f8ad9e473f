"""``RelationExtractor``: input builders + encoders + strategy + head + label set, as one artefact.

It is what ``save_pretrained`` writes, what ``from_pretrained`` returns, and what the CLI, the trainer, the server
and the pipelines call: :meth:`~RelationExtractor.predict` classifies, :meth:`~RelationExtractor.embed` gives the
relation embeddings (h, t, m) as numpy arrays, both on the one inference engine (:mod:`relenc.models.engine`).
:meth:`~RelationExtractor.from_encoder` reads a plain or pre-trained encoder the same way, with no classifier at all.
A saved model is a directory::

    relenc_config.json        strategy, labels, input configs, layer, dropout, pooling (rebuilds everything)
    head.safetensors          the classifier head
    encoders/<role>/          a Hugging Face encoder (safetensors) with its tokenizer, markers included
    entities/                 optional: an entity recognizer (relenc.models.spans), for raw text
    decisions.json            optional: threshold and argument types for triples (relenc.models.decisions)

A model trained end to end (``relenc train --format spert``) has both optional parts: it finds its own entities in
raw text and decides its triples as it was tuned to; the others rely on spaCy's entities and default decisions.

Loading reads only JSON and safetensors, never pickles, and never touches the network.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from relenc import __version__
from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputBuilder, InputConfig
from relenc.errors import RelencError
from relenc.io import atomic_dir
from relenc.models import checks
from relenc.models.decisions import Decisions
from relenc.models.encoders import resolve_encoder
from relenc.models.engine import InferenceEngine, Inputs, Item, counting_progress, in_order
from relenc.models.hf import fit_embeddings, quiet, save_encoder_files
from relenc.models.model import ModelOutput, RelationModel
from relenc.models.spans import EntityRecognizer
from relenc.models.strategies import SINGLE_ENCODER, Pooling, Strategy, check_parts, get_strategy
from relenc.nlp import EntityTyper

CONFIG_NAME = "relenc_config.json"
HEAD_NAME = "head.safetensors"
ENTITIES_DIR = "entities"  # an end-to-end model's entity recognizer (relenc.models.spans)


@dataclass
class Prediction:
    """One prediction: the label, its probability, all probabilities, and optionally h, t, m."""

    label: str
    score: float
    probabilities: dict[str, float]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)


def predictions(
    probs: np.ndarray, labels: Sequence[str], vectors: dict[str, np.ndarray] | None = None
) -> list[Prediction]:
    """One :class:`Prediction` per row of a probability matrix (and of each vector matrix, if given)."""
    out = []
    for row in range(len(probs)):
        best = int(probs[row].argmax())
        out.append(
            Prediction(
                label=labels[best],
                score=float(probs[row, best]),
                probabilities=dict(zip(labels, probs[row].tolist(), strict=True)),
                embeddings={k: v[row] for k, v in (vectors or {}).items()},
            )
        )
    return out


@dataclass
class EncoderPart:
    """One encoder role: its tokenizer, input builder and where it came from."""

    tokenizer: PreTrainedTokenizerBase
    builder: InputBuilder
    source: str


def is_model_dir(path: str | Path) -> bool:
    """True for a directory written by ``RelationExtractor.save_pretrained``."""
    return (Path(path) / CONFIG_NAME).is_file()


def model_root(path: str | Path) -> Path | None:
    """The model directory ``path`` names: itself, or a run directory's best model (``path/model``); None if neither.
    Every command that takes "a model (or run) directory" resolves it here."""
    for candidate in (Path(path), Path(path) / "model"):
        if is_model_dir(candidate):
            return candidate
    return None


def encoder_dir(source: str, prefer: Sequence[str] = ("main", "relation", "entity")) -> str:
    """Where the encoder weights of ``source`` are: inside a relenc model dir, or the resolved name itself."""
    if is_model_dir(source):
        for role in prefer:
            candidate = Path(source) / "encoders" / role
            if candidate.is_dir():
                return str(candidate)
        raise RelencError(f"{source} holds no encoder for roles {', '.join(prefer)}; {checks.RESAVE}")
    return resolve_encoder(source)


def load_encoder(source: str, prefer: Sequence[str] = ("main", "relation", "entity")) -> tuple[Any, Any]:
    """Tokenizer and encoder model for a name, path or relenc model dir (safetensors only, offline for paths).

    A local directory is checked first (:func:`relenc.models.checks.check_encoder_dir`): transformers would load
    one without its tokenizer files, or report damaged weights with a traceback. Every failure is one RelencError
    naming the directory; for the encoder of a saved model it says to re-save the model.
    """
    location = encoder_dir(source, prefer)
    saved = _is_model_encoder(location)
    fix = checks.RESAVE if saved else checks.ENCODER_FIX
    local = Path(location).is_dir()
    if local:
        checks.check_encoder_dir(Path(location), fix)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
    except Exception as exc:  # tokenizers raises a bare Exception for a tokenizer.json it cannot parse
        raise RelencError(f"{location}: cannot load the tokenizer of encoder {source!r} ({exc}); {fix}") from exc
    try:
        with quiet() if local else nullcontext():  # a download keeps its progress bar
            model = AutoModel.from_pretrained(location, use_safetensors=True)
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise RelencError(f"{location}: cannot load encoder {source!r} ({exc}); {fix}") from exc
    if tokenizer.mask_token is None:
        raise RelencError(f"encoder {source!r} has no mask token; the [MASK] strategies need one")
    rows = model.get_input_embeddings().num_embeddings
    checks.check_vocab(Path(location), len(tokenizer), rows, exact=saved, fix=fix)
    return tokenizer, model


def _is_model_encoder(location: str) -> bool:
    """True for the ``encoders/<role>`` directory of a saved model, whose tokenizer and weights were saved together
    (so their sizes must agree exactly, and the fix for a broken one is to re-save the model)."""
    path = Path(location)
    return path.parent.name == "encoders" and is_model_dir(path.parent.parent)


class RelationExtractor:
    """Predicts relations between a head and a tail mention, and embeds them. Build it, train it, save it, load it.

    An extractor without labels (:meth:`from_encoder`) has no classifier: it embeds, and :meth:`predict` says so.
    """

    def __init__(
        self,
        spec: Strategy,
        labels: LabelSet | None,
        parts: dict[str, EncoderPart],
        model: RelationModel,
        settings: dict[str, Any],
    ) -> None:
        self.spec = spec
        self._labels = labels
        self.parts = parts
        self.model = model
        self.settings = settings  # layer, dropout, pooling, frozen roles, input configs: what rebuilds the model
        self.engine = InferenceEngine({role: _pad_id(part.tokenizer) for role, part in parts.items()}, model)
        # an end-to-end model also finds its entities and decides its triples: saved and loaded with it
        self.recognizer: EntityRecognizer | None = None
        self.decisions: Decisions | None = None
        self._typer: EntityTyper | None = None  # spaCy NER types, for models whose markers ask for them

    @property
    def labels(self) -> LabelSet:
        """The label set; an extractor built for embeddings only has none, and asking for it is an error."""
        if self._labels is None:
            raise RelencError(
                "this extractor has no classifier (an encoder loaded for embeddings): it can embed, not classify; "
                "train a model with `relenc train` to classify"
            )
        return self._labels

    @property
    def has_classifier(self) -> bool:
        return self._labels is not None

    # ----------------------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        strategy: str,
        labels: LabelSet | None,
        sources: dict[str, str],
        inputs: dict[str, InputConfig],
        layer: int = -1,
        dropout: float = 0.1,
        frozen: Sequence[str] = (),
        mlm: bool = False,
        entity_types: Sequence[str] = (),
        pooling: Pooling = "start",
    ) -> RelationExtractor:
        """A fresh extractor whose encoders come from ``sources`` (role -> encoder name, path or model dir).

        ``labels=None`` builds no classifier head: an encoder read at the strategy's parts. ``pooling`` reads h and t
        at the entity-start markers or as the mean of the mention's word pieces; it is saved with the model.
        """
        spec = get_strategy(strategy)
        missing = set(spec.roles) - set(sources)
        if missing:
            raise RelencError(f"strategy {strategy} needs encoders for {', '.join(sorted(missing))}")
        parts: dict[str, EncoderPart] = {}
        encoders: dict[str, PreTrainedModel] = {}
        for role in spec.roles:
            prefer = (role, "main", "relation", "entity")
            tokenizer, encoder = load_encoder(sources[role], prefer)
            builder = InputBuilder(tokenizer, inputs[role])
            if entity_types:
                builder.register_types(entity_types)
            fit_embeddings(encoder, tokenizer)
            parts[role] = EncoderPart(tokenizer, builder, sources[role])
            encoders[role] = encoder
        n_labels = len(labels) if labels is not None else 0
        model = RelationModel(spec, encoders, n_labels, dropout, layer, frozenset(frozen), mlm, pooling)
        settings = {
            "layer": layer,
            "dropout": dropout,
            "pooling": pooling,
            "frozen": sorted(frozen),
            "inputs": {role: inputs[role].model_dump(mode="json") for role in spec.roles},
            "sources": dict(sources),
        }
        return cls(spec, labels, parts, model, settings)

    @classmethod
    def from_encoder(
        cls,
        source: str | dict[str, str],
        strategy: str = "ht_mask",
        input_config: InputConfig | None = None,
        layer: int = -1,
        seed: int = 0,
    ) -> RelationExtractor:
        """An encoder read at a strategy's parts, with no classifier: for embeddings and pre-training.

        ``source`` is an encoder name (``minilm``, ``mpnet``, a Hugging Face name), an encoder directory (a
        ``relenc pretrain`` output) or a model directory (its encoder is used), or, for the hybrid, a dict with the
        ``entity`` and ``relation`` sources. The strategy decides the input: the prompt is appended exactly when m
        is read from that encoder. New marker tokens get embeddings drawn under ``seed`` (without touching the
        global random state), so a raw encoder's h and t are reproducible.
        """
        spec = get_strategy(strategy)
        sources = dict(source) if isinstance(source, dict) else {role: source for role in spec.roles}
        base = input_config or InputConfig()
        inputs = {role: base.model_copy(update={"prompt": spec.needs_prompt(role)}) for role in spec.roles}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return cls.build(strategy, None, sources, inputs, layer=layer)

    def with_strategy(self, strategy: str) -> RelationExtractor:
        """The same single encoder read with another single-encoder strategy (the weights are shared, not copied).

        Why: ``ht`` reads the sentence alone and ``mask`` the sentence with the prompt; evaluating both on one
        encoder should not load it twice.
        """
        spec = get_strategy(strategy)
        if len(self.parts) != 1 or len(spec.roles) != 1:
            raise RelencError(f"with_strategy works between one-encoder strategies ({', '.join(SINGLE_ENCODER)})")
        part = next(iter(self.parts.values()))
        config = part.builder.config.model_copy(update={"prompt": spec.needs_prompt("main")})
        builder = InputBuilder(part.tokenizer, config)
        if builder.added_tokens:  # the encoder's embeddings were sized for the markers when it was loaded
            raise RelencError(f"the tokenizer of {part.source} gained {builder.added_tokens} tokens for {strategy}")
        encoder: Any = next(iter(self.model.encoders.values()))
        model = RelationModel(
            spec, {"main": encoder}, 0, layer=self.model.layer, frozen=self.model.frozen, pooling=self.model.pooling
        )
        settings = {**self.settings, "inputs": {"main": config.model_dump(mode="json")}}
        parts = {"main": EncoderPart(part.tokenizer, builder, part.source)}
        return RelationExtractor(spec, None, parts, model, settings)

    # ----------------------------------------------------------------------------------------- saving
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory atomically: into a temp dir beside it, then swap it in."""
        target = Path(directory)
        config = {
            "relenc_version": __version__,
            "strategy": self.spec.name,
            "labels": list(self.labels.labels),
            "negative_label": self.labels.negative,
            **self.settings,
        }
        with atomic_dir(target) as tmp:
            (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")
            head: Any = self.model.head
            save_file({k: v.detach().contiguous().cpu() for k, v in head.state_dict().items()}, str(tmp / HEAD_NAME))
            for role, part in self.parts.items():
                out = tmp / "encoders" / role
                encoder: Any = self.model.encoders[role]
                save_encoder_files(encoder, part.tokenizer, out)
            if self.recognizer is not None:
                self.recognizer.save_pretrained(tmp / ENTITIES_DIR)
            if self.decisions is not None:
                self.decisions.save(tmp)
        return target

    @classmethod
    def from_pretrained(cls, directory: str | Path, mlm: bool = False) -> RelationExtractor:
        """Load a saved model directory (offline; JSON and safetensors only).

        Every file is checked as it is read (:mod:`relenc.models.checks`), so a model that loads is the model that
        was saved: a missing or damaged file, a tokenizer without its markers or a head for other labels is one
        RelencError that names the file and says what to do, never a traceback or a silently broken model.
        """
        found = model_root(directory)
        if found is None:
            raise RelencError(f"{directory} is not a relenc model directory (no {CONFIG_NAME})")
        root = found
        saved = checks.read_config(root / CONFIG_NAME)
        sources = {role: root / "encoders" / role for role in saved.spec.roles}
        for role, path in sources.items():
            if not path.is_dir():
                raise checks.broken(
                    path, f"the directory is missing; the {saved.spec.name} strategy needs a {role} encoder"
                )
        extractor = cls.build(
            saved.spec.name,
            saved.labels,
            {role: str(path) for role, path in sources.items()},
            saved.inputs,
            layer=saved.layer,
            dropout=saved.dropout,
            frozen=saved.frozen,
            mlm=mlm,
            pooling=saved.pooling,
        )
        for role, part in extractor.parts.items():
            checks.check_tokens(sources[role], part.builder)
        extractor.settings["sources"] = saved.sources or {role: str(path) for role, path in sources.items()}
        head: Any = extractor.model.head
        expected = {name: tensor.shape for name, tensor in head.state_dict().items()}
        head.load_state_dict(checks.read_head(root / HEAD_NAME, expected, saved))
        extractor.model.eval()
        if (root / ENTITIES_DIR).is_dir():
            extractor.recognizer = EntityRecognizer.from_pretrained(root / ENTITIES_DIR)
        extractor.decisions = Decisions.load(root)
        return extractor

    # ----------------------------------------------------------------------------------------- encoding
    def encode(self, examples: Sequence[Example], roles: Sequence[str] | None = None) -> list[Item]:
        """Tokenise examples once for every encoder role (or the given ``roles``): the only tokenisation on the hot
        path."""
        wanted = list(self.parts) if roles is None else list(roles)
        examples = self.with_types(examples, wanted)
        per_role = {role: self.parts[role].builder.encode_many(examples) for role in wanted}
        return [{role: per_role[role][i] for role in wanted} for i in range(len(examples))]

    def with_types(self, examples: Sequence[Example], roles: Sequence[str] | None = None) -> Sequence[Example]:
        """The examples with spaCy NER types on untyped mentions when an encoder's markers ask for them
        (``InputConfig.entity_types="spacy"``), else as they are. Examples typed once are not typed again."""
        wanted = list(self.parts) if roles is None else list(roles)
        if not any(self.parts[role].builder.config.entity_types == "spacy" for role in wanted):
            return examples
        if self._typer is None:
            self._typer = EntityTyper()
        return self._typer.fill(examples)

    def collate(self, items: Sequence[Item]) -> Inputs:
        return self.engine.collate(items)

    # ----------------------------------------------------------------------------------------- inference
    def compile(self) -> RelationExtractor:
        """Compile the model for :meth:`predict` (see :meth:`InferenceEngine.compile`: 20-50% more sentences/s on
        2 cores after about half a minute of compiling). Training and saving use the eager model, untouched."""
        self.engine.compile()
        return self

    def predict(
        self,
        examples: Sequence[Example],
        batch_size: int = 64,
        precision: str = "auto",
        return_embeddings: bool = False,
        encoded: Sequence[Item] | None = None,
    ) -> list[Prediction]:
        """Classify examples: batches of similar length, no gradient, bf16 where the CPU has it."""
        labels = self.labels.labels
        items = list(encoded) if encoded is not None else self.encode(examples)

        def step(inputs: Inputs) -> tuple[np.ndarray, dict[str, np.ndarray]]:
            out: ModelOutput = self.engine.forward(inputs)
            probs = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
            vectors = {k: v.float().cpu().numpy() for k, v in out.vectors.items()} if return_embeddings else {}
            return probs, vectors

        def rows(result: tuple[np.ndarray, dict[str, np.ndarray]]) -> list[Prediction]:
            return predictions(result[0], labels, result[1])

        return in_order(self.engine.run(items, step, batch_size, precision), len(items), rows)

    def embed(
        self,
        examples: Sequence[Example],
        parts: Sequence[str] | None = None,
        normalize: bool = False,
        batch_size: int = 64,
        precision: str = "auto",
        progress: bool = False,
        encoded: Sequence[Item] | None = None,
    ) -> dict[str, np.ndarray]:
        """The relation embeddings of ``examples``: per part (h, t, m), a float32 array with one row per example.

        ``parts`` defaults to every part the strategy reads (``[h; t; m]`` of ``ht_mask`` and of the hybrid, whose
        h and t come from the entity encoder and m from the relation encoder); only the encoders that give a wanted
        part run. ``normalize`` scales each vector to unit length (for cosine similarity by dot product).
        """
        wanted = check_parts(tuple(parts) if parts is not None else self.spec.parts, self.spec.parts, self.describe())
        n = len(encoded) if encoded is not None else len(examples)
        width = {part: self.model.hidden_size(self.spec.role_of(part)) for part in wanted}
        out: dict[str, np.ndarray] = {part: np.zeros((n, width[part]), np.float32) for part in wanted}
        reads = [(role, [p for p in wanted if p in names]) for role, names in self.spec.reads]
        reads = [(role, names) for role, names in reads if names]
        with counting_progress(f"embedding ({self.spec.name})", n * len(reads), progress) as advance:
            for role, names in reads:  # each encoder on its own inputs, bucketed by their own lengths
                items = (
                    [{role: item[role]} for item in encoded] if encoded is not None else self.encode(examples, [role])
                )
                step = functools.partial(self._part_vectors, names=names)
                for idx, vectors in self.engine.run(items, step, batch_size, precision, advance):
                    for part in names:
                        out[part][idx] = vectors[part]
        if normalize:
            for part in wanted:
                out[part] /= np.maximum(np.linalg.norm(out[part], axis=1, keepdims=True), 1e-12)
        return out

    def _part_vectors(self, inputs: Inputs, names: Sequence[str]) -> dict[str, np.ndarray]:
        return {k: v.float().cpu().numpy() for k, v in self.model.vectors(inputs, names).items()}

    def describe(self) -> str:
        """What this extractor is, for messages: ``a hybrid model`` or ``the encoder minilm read as ht_mask``."""
        if self.has_classifier:
            return f"this {self.spec.name} model"
        sources = ", ".join(dict.fromkeys(part.source for part in self.parts.values()))
        return f"the encoder {sources} read as {self.spec.name}"

    def infer(self, item: dict[str, Any]) -> tuple[str, float]:
        """OpenNRE-style one call: ``{"text": ..., "h": {"pos": [start, end]}, "t": {"pos": [start, end]}}``.

        Positions are character offsets (end exclusive). Returns ``(label, probability)``.
        """
        from relenc.data.readers.jsonl import example_from_dict

        try:
            record = {
                "id": str(item.get("id", "0")),
                "text": item["text"],
                "h": {"start": item["h"]["pos"][0], "end": item["h"]["pos"][1]},
                "t": {"start": item["t"]["pos"][0], "end": item["t"]["pos"][1]},
            }
        except (KeyError, IndexError, TypeError) as exc:
            raise RelencError(f"infer() expects text, h.pos and t.pos; got {item!r}") from exc
        pred = self.predict([example_from_dict(record, "infer()", "input")])[0]
        return pred.label, pred.score


def _pad_id(tokenizer: PreTrainedTokenizerBase) -> int:
    pad = tokenizer.pad_token_id
    return int(pad) if pad is not None else 0
