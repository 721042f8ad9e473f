"""``RelationExtractor``: input builders + encoders + strategy + head + label set, as one artefact.

It is what ``save_pretrained`` writes, what ``from_pretrained`` returns, and what the CLI, the trainer and any
pipeline call. A saved model is a directory::

    relenc_config.json        strategy, labels, input configs, layer, dropout (rebuilds everything)
    head.safetensors          the classifier head
    encoders/<role>/          a Hugging Face encoder (safetensors) with its tokenizer, markers included

Loading reads only JSON and safetensors, never pickles, and never touches the network.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from relenc import __version__
from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.encoding.builder import Encoded, InputBuilder, InputConfig
from relenc.encoding.collate import collate, length_buckets
from relenc.errors import RelencError
from relenc.models.encoders import resolve_encoder
from relenc.models.model import Inputs, RelationModel
from relenc.models.strategies import StrategySpec, strategy_spec
from relenc.runtime import autocast

CONFIG_NAME = "relenc_config.json"
HEAD_NAME = "head.safetensors"


@dataclass
class Prediction:
    """One prediction: the label, its probability, all probabilities, and optionally h, t, m."""

    label: str
    score: float
    probabilities: dict[str, float]
    embeddings: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class EncoderPart:
    """One encoder role: its tokenizer, input builder and where it came from."""

    tokenizer: PreTrainedTokenizerBase
    builder: InputBuilder
    source: str


def is_model_dir(path: str | Path) -> bool:
    """True for a directory written by ``RelationExtractor.save_pretrained``."""
    return (Path(path) / CONFIG_NAME).is_file()


def encoder_dir(source: str, prefer: Sequence[str] = ("main", "relation", "entity")) -> str:
    """Where the encoder weights of ``source`` are: inside a relenc model dir, or the resolved name itself."""
    if is_model_dir(source):
        for role in prefer:
            candidate = Path(source) / "encoders" / role
            if candidate.is_dir():
                return str(candidate)
        raise RelencError(f"{source} holds no encoder for roles {', '.join(prefer)}")
    return resolve_encoder(source)


def load_encoder(source: str, prefer: Sequence[str] = ("main", "relation", "entity")) -> tuple[Any, Any]:
    """Tokenizer and encoder model for a name, path or relenc model dir (safetensors only, offline for paths)."""
    location = encoder_dir(source, prefer)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModel.from_pretrained(location, use_safetensors=True)
    except OSError as exc:
        raise RelencError(f"cannot load encoder {source!r} from {location}: {exc}") from exc
    if tokenizer.mask_token is None:
        raise RelencError(f"encoder {source!r} has no mask token; the [MASK] strategies need one")
    return tokenizer, model


class RelationExtractor:
    """Predicts relations between a head and a tail mention. Build it, train it, save it, load it, use it."""

    def __init__(
        self,
        spec: StrategySpec,
        labels: LabelSet,
        parts: dict[str, EncoderPart],
        model: RelationModel,
        settings: dict[str, Any],
    ) -> None:
        self.spec = spec
        self.labels = labels
        self.parts = parts
        self.model = model
        self.settings = settings  # layer, dropout, frozen roles, input configs: what rebuilds the model
        self._compiled: Any = None  # set by compile(); predict runs it instead of the eager model

    # ----------------------------------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        strategy: str,
        labels: LabelSet,
        sources: dict[str, str],
        inputs: dict[str, InputConfig],
        layer: int = -1,
        dropout: float = 0.1,
        frozen: Sequence[str] = (),
        mlm: bool = False,
        entity_types: Sequence[str] = (),
    ) -> RelationExtractor:
        """A fresh extractor whose encoders come from ``sources`` (role -> encoder name, path or model dir)."""
        spec = strategy_spec(strategy)
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
            if len(tokenizer) != encoder.get_input_embeddings().num_embeddings:
                encoder.resize_token_embeddings(len(tokenizer))
            parts[role] = EncoderPart(tokenizer, builder, sources[role])
            encoders[role] = encoder
        model = RelationModel(spec, encoders, len(labels), dropout, layer, frozenset(frozen), mlm)
        settings = {
            "layer": layer,
            "dropout": dropout,
            "frozen": sorted(frozen),
            "inputs": {role: inputs[role].model_dump(mode="json") for role in spec.roles},
            "sources": dict(sources),
        }
        return cls(spec, labels, parts, model, settings)

    # ----------------------------------------------------------------------------------------- saving
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model directory atomically: into a temp dir beside it, then swap it in."""
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            config = {
                "relenc_version": __version__,
                "strategy": self.spec.name,
                "labels": list(self.labels.labels),
                "negative_label": self.labels.negative,
                **self.settings,
            }
            (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2), encoding="utf-8")
            head_state = {k: v.detach().contiguous().cpu() for k, v in self.model.head.state_dict().items()}
            save_file(head_state, str(tmp / HEAD_NAME))
            for role, part in self.parts.items():
                out = tmp / "encoders" / role
                encoder: Any = self.model.encoders[role]
                encoder.save_pretrained(out, safe_serialization=True)
                part.tokenizer.save_pretrained(out)
            _swap_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def from_pretrained(cls, directory: str | Path, mlm: bool = False) -> RelationExtractor:
        """Load a saved model directory (offline; JSON and safetensors only)."""
        root = Path(directory)
        if not is_model_dir(root) and is_model_dir(root / "model"):
            root = root / "model"  # a run directory: take its best model
        if not is_model_dir(root):
            raise RelencError(f"{root} is not a relenc model directory (no {CONFIG_NAME})")
        try:
            config = json.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))
            spec = strategy_spec(config["strategy"])
            labels = LabelSet(tuple(config["labels"]), config.get("negative_label"))
            inputs = {role: InputConfig(**config["inputs"][role]) for role in spec.roles}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise RelencError(f"{root / CONFIG_NAME}: malformed model config ({exc})") from exc
        sources = {role: str(root / "encoders" / role) for role in spec.roles}
        extractor = cls.build(
            spec.name,
            labels,
            sources,
            inputs,
            layer=config.get("layer", -1),
            dropout=config.get("dropout", 0.1),
            frozen=config.get("frozen", []),
            mlm=mlm,
        )
        extractor.settings["sources"] = config.get("sources", sources)
        head: torch.nn.Module = extractor.model.head
        head.load_state_dict(load_file(str(root / HEAD_NAME)))
        extractor.model.eval()
        return extractor

    # ----------------------------------------------------------------------------------------- encoding
    def encode(self, examples: Sequence[Example]) -> list[dict[str, Encoded]]:
        """Tokenise examples once for every encoder role (the only tokenisation on the hot path)."""
        per_role = {role: part.builder.encode_many(examples) for role, part in self.parts.items()}
        return [{role: per_role[role][i] for role in self.parts} for i in range(len(examples))]

    def collate(self, items: Sequence[dict[str, Encoded]]) -> Inputs:
        return {
            role: collate([item[role] for item in items], _pad_id(part.tokenizer)) for role, part in self.parts.items()
        }

    # ----------------------------------------------------------------------------------------- inference
    def compile(self) -> RelationExtractor:
        """Compile the model for :meth:`predict` with ``torch.compile`` (inductor, weights frozen into the graph).

        Why and when: on a 2-core CPU, bucketed bf16 inference runs 20-50% faster (``benchmarks/inference.py
        --compile``) after about half a minute of compiling, and a batch of a new kind of shape may compile again:
        worth it for long jobs, not for a few sentences. Freezing turns the weights into constants, so the bf16
        copies and the packed oneDNN weight layout are made once instead of in every forward pass, and GELU fuses
        into its linear layer; the packed copies take about half the fp32 weights' memory again. Attention switches
        to the plain implementation, which inductor fuses better than the SDPA kernel. The compiled graph keeps the
        weights as they are now: compile after training. Training and saving use the eager model, untouched.
        """
        import torch._inductor.config as inductor_config

        for encoder in self.model.encoders.values():
            encoder.set_attn_implementation("eager")  # type: ignore[operator]
        compiled = torch.compile(self.model, dynamic=True)

        def run(inputs: Inputs) -> Any:
            # Inductor decides whether to freeze from its global config when it compiles (the first call, and any
            # recompilation): ``torch.compile(options={"freezing": True})`` is read too late and silently ignored.
            with inductor_config.patch(freezing=True):
                return compiled(inputs)

        self._compiled = run
        return self

    @torch.inference_mode()
    def predict(
        self,
        examples: Sequence[Example],
        batch_size: int = 64,
        precision: str = "auto",
        return_embeddings: bool = False,
        encoded: Sequence[dict[str, Encoded]] | None = None,
    ) -> list[Prediction]:
        """Classify examples: batches of similar length, no gradient, bf16 where the CPU has it."""
        items = list(encoded) if encoded is not None else self.encode(examples)
        lengths = [max(len(item[role].input_ids) for role in item) for item in items]
        results: list[Prediction | None] = [None] * len(items)
        was_training = self.model.training
        self.model.eval()
        device = next(self.model.parameters()).device
        model = self._compiled if self._compiled is not None else self.model
        try:
            for batch_idx in length_buckets(lengths, batch_size, shuffle=False, seed=0):
                inputs = _to_device(self.collate([items[i] for i in batch_idx]), device)
                with autocast(precision, device):
                    out = model(inputs)
                probs = torch.softmax(out.logits.float(), dim=-1).cpu().numpy()
                vectors = {k: v.float().cpu().numpy() for k, v in out.vectors.items()} if return_embeddings else {}
                for row, i in enumerate(batch_idx):
                    best = int(probs[row].argmax())
                    results[i] = Prediction(
                        label=self.labels.labels[best],
                        score=float(probs[row, best]),
                        probabilities=dict(zip(self.labels.labels, probs[row].tolist(), strict=True)),
                        embeddings={k: v[row] for k, v in vectors.items()},
                    )
        finally:
            self.model.train(was_training)
        return [r for r in results if r is not None]

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


def _to_device(inputs: Inputs, device: torch.device) -> Inputs:
    return {role: {k: v.to(device) for k, v in batch.items()} for role, batch in inputs.items()}


def _swap_dir(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` so that a crash leaves either the old or the new directory whole."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old)
