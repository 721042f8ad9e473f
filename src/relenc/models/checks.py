"""Checking a saved model directory (and any encoder directory) before and while it loads.

Why: transformers loads whatever it finds. An encoder directory without its tokenizer files loads with a 9-token
tokenizer and predicts from [UNK] everywhere; a tokenizer that lost the entity markers gets fresh random embeddings
for them; a damaged safetensors file, a config without a key or a head saved for other labels end in a traceback from
safetensors, json or torch. Each check here turns one of these into a single :class:`RelencError` that names the
file, says what is wrong and what to do.

The checks read JSON files and safetensors headers (tensor names and shapes), never the weights themselves: a correct
model loads as fast as before, and its weights are read once, by the loader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from safetensors import SafetensorError, safe_open

from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputBuilder, InputConfig
from relenc.errors import RelencError
from relenc.models.strategies import POOLINGS, Pooling, Strategy, get_strategy

#: What to do about a broken file of a saved model.
RESAVE = "re-save the model with `relenc train`, or restore the missing or damaged file"
#: What to do about a broken plain encoder directory.
ENCODER_FIX = (
    "point to a complete encoder directory (config.json, model.safetensors, tokenizer.json or vocabulary files, "
    "tokenizer_config.json), or re-save it with save_pretrained"
)
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
# the vocabulary files a tokenizer can be rebuilt from when there is no tokenizer.json
VOCAB_FILES = (("vocab.txt",), ("vocab.json", "merges.txt"), ("spiece.model",), ("sentencepiece.bpe.model",))

Shapes = dict[str, tuple[Path, tuple[int, ...]]]  # tensor name -> (the file holding it, its shape)


def broken(path: Path, problem: str, fix: str = RESAVE) -> RelencError:
    """The one message form for a broken model file: ``<path>: <what is wrong>; <what to do>``."""
    return RelencError(f"{path}: {problem}; {fix}")


@dataclass(frozen=True)
class SavedConfig:
    """``relenc_config.json``, validated: everything needed to rebuild the model."""

    spec: Strategy
    labels: LabelSet
    inputs: dict[str, InputConfig]
    layer: int
    dropout: float
    frozen: tuple[str, ...]
    sources: dict[str, str] | None
    pooling: Pooling = "start"  # models saved before the switch existed read h and t at the start markers


def read_config(path: Path) -> SavedConfig:
    """Read and validate a model's ``relenc_config.json``: required keys, a known strategy, a usable label set, an
    input config per encoder role, and well-typed settings."""
    raw = read_json(path, RESAVE)
    missing = [key for key in ("strategy", "labels", "inputs") if key not in raw]
    if missing:
        raise broken(path, f"lacks the key(s) {', '.join(missing)}")
    try:
        spec = get_strategy(str(raw["strategy"]))
    except RelencError as exc:
        raise broken(path, str(exc)) from exc
    labels = _labels(path, raw["labels"], raw.get("negative_label"))
    inputs = _inputs(path, raw["inputs"], spec)
    layer, dropout, frozen = raw.get("layer", -1), raw.get("dropout", 0.1), raw.get("frozen", [])
    if not isinstance(layer, int) or isinstance(layer, bool):
        raise broken(path, f"layer must be an integer, not {layer!r}")
    if not isinstance(dropout, int | float) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise broken(path, f"dropout must be a number in [0, 1), not {dropout!r}")
    if not isinstance(frozen, list) or not all(isinstance(role, str) and role in spec.roles for role in frozen):
        raise broken(path, f"frozen must list roles of the {spec.name} strategy ({', '.join(spec.roles)})")
    sources = raw.get("sources")
    if sources is not None and not isinstance(sources, dict):
        raise broken(path, "sources must map encoder roles to where they came from")
    pooling = raw.get("pooling", "start")
    if pooling not in POOLINGS:
        raise broken(path, f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    return SavedConfig(spec, labels, inputs, layer, float(dropout), tuple(frozen), sources, pooling)


def _labels(path: Path, labels: Any, negative: Any) -> LabelSet:
    """The label set; checked here rather than by LabelSet, whose errors cannot name the config file."""
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise broken(path, "labels must be a non-empty list of label names")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise broken(path, f"labels lists {', '.join(map(repr, duplicates))} more than once")
    if negative is not None and negative not in labels:
        raise broken(path, f"negative_label {negative!r} is not one of the labels")
    return LabelSet(tuple(labels), negative)


def _inputs(path: Path, inputs: Any, spec: Strategy) -> dict[str, InputConfig]:
    """The input config of every role the strategy has: inference must build the input the model was trained on."""
    if not isinstance(inputs, dict):
        raise broken(path, "inputs must map each encoder role to its input config")
    out = {}
    for role in spec.roles:
        if not isinstance(inputs.get(role), dict):
            raise broken(path, f"inputs has no input config for the role {role!r} of the {spec.name} strategy")
        try:
            out[role] = InputConfig(**inputs[role])
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise broken(path, f"the input config of {role!r} is invalid ({problems})") from exc
    return out


def read_json(path: Path, fix: str) -> dict[str, Any]:
    """A JSON object from ``path``; a missing, unreadable or malformed file is a RelencError naming it."""
    if not path.is_file():
        raise broken(path, "the file is missing", fix)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise broken(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", fix) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise broken(path, f"the file cannot be read ({exc})", fix) from exc
    if not isinstance(value, dict):
        raise broken(path, f"the file holds a JSON {type(value).__name__}, not an object", fix)
    return value


def check_encoder_dir(directory: Path, fix: str) -> None:
    """A Hugging Face encoder directory is whole: a model config, readable safetensors weights whose embedding
    matrix fits the config, and the tokenizer files. Only headers are read."""
    config = read_json(directory / "config.json", fix)
    if "model_type" not in config:
        raise broken(directory / "config.json", "has no model_type: it is not a Hugging Face model config", fix)
    _check_embeddings(config, weight_shapes(directory, fix), fix)
    read_json(directory / "tokenizer_config.json", fix)
    files = [("tokenizer.json",), *VOCAB_FILES]
    if not any(all((directory / name).is_file() for name in group) for group in files):
        raise broken(
            directory, "has no tokenizer files (tokenizer.json, or vocab.txt, or vocab.json with merges.txt)", fix
        )


def weight_shapes(directory: Path, fix: str) -> Shapes:
    """The name and shape of every weight of an encoder directory: ``model.safetensors`` or a sharded index."""
    if (directory / WEIGHTS).is_file():
        return header_shapes(directory / WEIGHTS, fix)
    index = directory / WEIGHTS_INDEX
    if not index.is_file():
        pickled = [p.name for p in directory.glob("*.bin")]
        extra = f" (only {', '.join(pickled)}: relenc loads safetensors, never pickles)" if pickled else ""
        raise broken(directory, f"has no {WEIGHTS} and no {WEIGHTS_INDEX}{extra}", fix)
    weight_map = read_json(index, fix).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise broken(index, "has no weight_map", fix)
    shapes: Shapes = {}
    for shard in sorted({str(name) for name in weight_map.values()}):
        shapes.update(header_shapes(directory / shard, fix))
    absent = sorted(set(weight_map) - set(shapes))
    if absent:
        raise broken(index, f"lists {len(absent)} tensor(s) that no shard holds, e.g. {absent[0]}", fix)
    return shapes


def header_shapes(path: Path, fix: str) -> Shapes:
    """Tensor names and shapes from a safetensors header (the weights are not read)."""
    if not path.is_file():
        raise broken(path, "the file is missing", fix)
    try:
        with safe_open(str(path), framework="pt") as weights:
            return {name: (path, shape) for name, shape in _header(weights).items()}
    except (SafetensorError, OSError) as exc:
        raise broken(path, f"not a readable safetensors file, truncated or overwritten? ({exc})", fix) from exc


def _header(weights: Any) -> dict[str, tuple[int, ...]]:
    """Names and shapes from an open safetensors file (not iterable itself, hence ``keys()``)."""
    names = weights.keys()
    return {name: tuple(weights.get_slice(name).get_shape()) for name in names}


def _check_embeddings(config: dict[str, Any], shapes: Shapes, fix: str) -> None:
    """The word-embedding matrix has ``vocab_size`` rows and the embedding width the config says.

    Architectures that do not name it ``*word_embeddings.weight`` are left to transformers, which compares every
    shape when it loads (and whose error the loader reports with the directory)."""
    vocab, width = config.get("vocab_size"), config.get("embedding_size", config.get("hidden_size"))
    names = [name for name in shapes if name.endswith("word_embeddings.weight")]
    if not names or not isinstance(vocab, int) or not isinstance(width, int):
        return
    path, shape = shapes[names[0]]
    if shape != (vocab, width):
        raise broken(
            path,
            f"{names[0]} has shape {list(shape)}, but config.json says vocab_size {vocab} and hidden size {width}",
            fix,
        )


def check_vocab(directory: Path, tokens: int, rows: int, exact: bool, fix: str) -> None:
    """The tokenizer fits the embedding matrix: a model's tokenizer and encoder were saved together, so the sizes
    are equal; a plain encoder may have spare rows, but no token may be without one."""
    if tokens > rows or (exact and tokens != rows):
        raise broken(
            directory,
            f"the tokenizer has {tokens} tokens but the encoder's embedding matrix has {rows} rows; "
            "they were not saved together",
            fix,
        )


def check_tokens(directory: Path, builder: InputBuilder) -> None:
    """The marker tokens and the mask token a saved model's input config needs are in its tokenizer, each a single
    token. Called after the builder is made: a marker the builder had to add was missing from the saved tokenizer
    (and got a random embedding)."""
    tokenizer = builder.tokenizer
    where = directory / "tokenizer.json" if (directory / "tokenizer.json").is_file() else directory
    if builder.added_tokens:
        markers = ", ".join(builder.marker_tokens)
        raise broken(where, f"the tokenizer lacks marker tokens the input config needs (markers: {markers})")
    needed = [*builder.marker_tokens, *([tokenizer.mask_token] if builder.config.prompt else [])]
    split = [token for token in needed if len(tokenizer(token, add_special_tokens=False)["input_ids"]) != 1]
    if split:
        raise broken(where, f"the tokenizer splits {', '.join(split)}, which the input config needs as single tokens")


def read_head(path: Path, expected: Mapping[str, torch.Size], saved: SavedConfig) -> dict[str, torch.Tensor]:
    """The classifier head's tensors, once their names and shapes match the head that ``saved`` builds (its input
    is the strategy's parts times the hidden size, its output one score per label)."""
    if not path.is_file():
        raise broken(path, "the file is missing")
    why = f"the {saved.spec.name} strategy reads [{'; '.join(saved.spec.parts)}], the config lists {len(saved.labels)}"
    try:
        with safe_open(str(path), framework="pt") as weights:
            shapes = _header(weights)
            if set(shapes) != set(expected):
                found, wanted = ", ".join(sorted(shapes)), ", ".join(sorted(expected))
                raise broken(path, f"holds the tensors {found or 'none'}; a classifier head has {wanted}")
            for name, shape in expected.items():
                if shapes[name] != tuple(shape):
                    raise broken(path, f"{name} has shape {list(shapes[name])}, not {list(shape)} ({why} labels)")
            return {name: weights.get_tensor(name) for name in expected}
    except (SafetensorError, OSError) as exc:
        raise broken(path, f"not a readable safetensors file, truncated or overwritten? ({exc})") from exc
