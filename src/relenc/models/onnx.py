"""ONNX export (torch's dynamo exporter) and an onnxruntime backend that predicts like the PyTorch model.

The exported graph takes, for every encoder role, ``<role>.input_ids``, ``<role>.attention_mask`` and the three
positions, and returns the logits. Tokenisation stays in Python (the same :class:`InputBuilder`), so the ONNX model
and the PyTorch model see identical inputs. ``relenc export-onnx`` checks, on examples you give it, that both give
the same predictions before it writes anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from relenc.data.example import Example
from relenc.encoding.collate import length_buckets
from relenc.errors import RelencError
from relenc.models.extractor import Prediction, RelationExtractor

ONNX_NAME = "model.onnx"
_KEYS = ("input_ids", "attention_mask", "head_pos", "tail_pos", "mask_pos")


class _Flat(nn.Module):
    """The relation model with flat tensor arguments (one encoder), as the exporter wants them."""

    def __init__(self, extractor: RelationExtractor) -> None:
        super().__init__()
        self.model = extractor.model
        self.roles = list(extractor.parts)

    def _inputs(self, tensors: tuple[torch.Tensor, ...]) -> dict[str, dict[str, torch.Tensor]]:
        return {
            role: dict(zip(_KEYS, tensors[i * len(_KEYS) : (i + 1) * len(_KEYS)], strict=True))
            for i, role in enumerate(self.roles)
        }

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        head_pos: torch.Tensor,
        tail_pos: torch.Tensor,
        mask_pos: torch.Tensor,
    ) -> torch.Tensor:
        return self.model(self._inputs((input_ids, attention_mask, head_pos, tail_pos, mask_pos))).logits


class _Flat2(_Flat):
    """The same for two encoders (the hybrid)."""

    def forward(  # type: ignore[override]
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        head_pos: torch.Tensor,
        tail_pos: torch.Tensor,
        mask_pos: torch.Tensor,
        input_ids_2: torch.Tensor,
        attention_mask_2: torch.Tensor,
        head_pos_2: torch.Tensor,
        tail_pos_2: torch.Tensor,
        mask_pos_2: torch.Tensor,
    ) -> torch.Tensor:
        first = (input_ids, attention_mask, head_pos, tail_pos, mask_pos)
        second = (input_ids_2, attention_mask_2, head_pos_2, tail_pos_2, mask_pos_2)
        return self.model(self._inputs(first + second)).logits


def input_names(extractor: RelationExtractor) -> list[str]:
    return [f"{role}.{key}" for role in extractor.parts for key in _KEYS]


def export_onnx(extractor: RelationExtractor, directory: str | Path, sample: Sequence[Example]) -> Path:
    """Write ``model.onnx`` into the model directory (which must already hold the saved model)."""
    try:
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise RelencError("ONNX export needs onnx and onnxscript: pip install 'relenc[onnx]'") from exc
    extractor.model.eval()
    flat = (_Flat2(extractor) if len(extractor.parts) == 2 else _Flat(extractor)).eval()
    batch = extractor.collate(extractor.encode(list(sample[:2])))
    args = tuple(batch[role][key] for role in extractor.parts for key in _KEYS)
    names = input_names(extractor)
    b = torch.export.Dim("batch")
    lengths = {role: torch.export.Dim(f"length_{k}") for k, role in enumerate(extractor.parts)}
    shapes = tuple(
        {0: b, 1: lengths[name.split(".")[0]]} if name.endswith(("input_ids", "attention_mask")) else {0: b}
        for name in names
    )
    target = Path(directory) / ONNX_NAME
    with torch.no_grad():
        program = torch.onnx.export(
            flat, args, dynamo=True, input_names=names, output_names=["logits"], dynamic_shapes=shapes
        )
    if program is None:
        raise RelencError("the ONNX exporter returned no program")
    program.save(str(target))
    (Path(directory) / "onnx_inputs.json").write_text(json.dumps(names), encoding="utf-8")
    return target


class OnnxPredictor:
    """Predictions from ``model.onnx`` with onnxruntime, using the saved model's tokenizer and labels."""

    def __init__(self, directory: str | Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise RelencError("the ONNX backend needs onnxruntime: pip install 'relenc[onnx]'") from exc
        path = Path(directory) / ONNX_NAME
        if not path.is_file():
            raise RelencError(f"{path} not found: run `relenc export-onnx {directory}` first")
        self.extractor = RelationExtractor.from_pretrained(directory)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def predict(self, examples: Sequence[Example], batch_size: int = 64) -> list[Prediction]:
        items = self.extractor.encode(examples)
        lengths = [max(len(item[role].input_ids) for role in item) for item in items]
        labels = self.extractor.labels.labels
        out: list[Prediction | None] = [None] * len(items)
        for idx in length_buckets(lengths, batch_size, shuffle=False, seed=0):
            batch = self.extractor.collate([items[i] for i in idx])
            feed: dict[str, Any] = {}
            for role in self.extractor.parts:
                for key in _KEYS:
                    feed[f"{role}.{key}"] = batch[role][key].numpy()
            logits = self.session.run(["logits"], {k: v for k, v in feed.items() if k in self.names})[0]
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            for row, i in enumerate(idx):
                best = int(probs[row].argmax())
                out[i] = Prediction(
                    labels[best], float(probs[row, best]), dict(zip(labels, probs[row].tolist(), strict=True))
                )
        return [p for p in out if p is not None]
