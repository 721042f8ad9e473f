"""ONNX export (torch's dynamo exporter) and an onnxruntime backend that predicts like the PyTorch model.

The exported graph takes, for every encoder role, ``<role>.input_ids``, ``<role>.attention_mask`` and the three
positions (and the mentions' spans, ``head_span`` and ``tail_span``, for a model that pools h and t by the mean),
and returns the logits. Tokenisation stays in Python (the same :class:`InputBuilder`), so the ONNX model
and the PyTorch model see identical inputs. ``relenc export-onnx`` checks, on examples you give it, that both give
the same predictions before the graph takes the name ``model.onnx``, so a failed check leaves an earlier export as it
was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from relenc.data.example import Example
from relenc.errors import RelencError
from relenc.models.engine import InferenceEngine, Inputs, in_order
from relenc.models.extractor import Prediction, RelationExtractor, predictions

ONNX_NAME = "model.onnx"
DATA_SUFFIX = ".data"  # of the file with the weights of a graph above 2 GB (ONNX external data), after the graph
#: The temp folder an export saves its graph in, inside the model directory (so the final moves stay on one disk)
TEMP_PREFIX = ".onnx-export-"
_KEYS = ("input_ids", "attention_mask", "head_pos", "tail_pos", "mask_pos")
_SPAN_KEYS = ("head_span", "tail_span")


def input_keys(extractor: RelationExtractor) -> tuple[str, ...]:
    """The batch tensors the graph takes per encoder role: the mentions' spans only when the model pools by the
    mean, so a start-pooling export keeps the inputs it always had."""
    return _KEYS + (_SPAN_KEYS if extractor.model.pooling == "mean" else ())


class _Flat(nn.Module):
    """The relation model with flat tensor arguments, as the exporter wants them: per encoder role, in order, the
    tensors of :func:`input_keys`."""

    def __init__(self, extractor: RelationExtractor) -> None:
        super().__init__()
        self.model = extractor.model
        self.roles = list(extractor.parts)
        self.keys = input_keys(extractor)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        n = len(self.keys)
        inputs = {
            role: dict(zip(self.keys, tensors[i * n : (i + 1) * n], strict=True)) for i, role in enumerate(self.roles)
        }
        return self.model(inputs).logits


def _slots(extractor: RelationExtractor) -> list[tuple[str, str, str]]:
    """The graph's inputs in order: name (``<role>.<key>``), encoder role, batch key."""
    return [(f"{role}.{key}", role, key) for role in extractor.parts for key in input_keys(extractor)]


def input_names(extractor: RelationExtractor) -> list[str]:
    return [name for name, _, _ in _slots(extractor)]


def graph_inputs(extractor: RelationExtractor, batch: Inputs) -> dict[str, torch.Tensor]:
    """A padded batch as the graph's named inputs, in the graph's order."""
    return {name: batch[role][key] for name, role, key in _slots(extractor)}


def export_onnx(
    extractor: RelationExtractor,
    directory: str | Path,
    sample: Sequence[Example],
    check: Callable[[Path], None] | None = None,
    external_data: bool | None = None,
) -> Path:
    """Write ``model.onnx`` into the model directory (which must already hold the saved model).

    The graph is saved in a temp folder of the directory, given to ``check`` (which raises to refuse it), and only
    then moved to ``model.onnx``: a refused or killed export never replaces an earlier one and never leaves half a
    graph (the temp folder a killed export leaves is removed by the next one). Weights above protobuf's 2 GB limit
    (or ``external_data=True``) go to a data file beside the graph that this export alone names
    (``model-<id>.onnx.data``, which the graph names); it is moved in before the graph, so ``model.onnx`` always
    names a data file that is there, and the earlier exports' data files are deleted after the switch."""
    try:
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise RelencError("ONNX export needs onnx and onnxscript: pip install 'relenc[onnx]'") from exc
    extractor.model.eval()
    flat = _Flat(extractor).eval()
    batch = extractor.collate(extractor.encode(list(sample[:2])))
    args = tuple(graph_inputs(extractor, batch).values())
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
            flat, args, dynamo=True, verbose=False, input_names=names, output_names=["logits"], dynamic_shapes=(shapes,)
        )
    if program is None:
        raise RelencError("the ONNX exporter returned no program")
    for stale in Path(directory).glob(f"{TEMP_PREFIX}*"):  # a killed export's folder: no process will remove it
        shutil.rmtree(stale)
    with tempfile.TemporaryDirectory(dir=directory, prefix=TEMP_PREFIX) as tmp:
        # A name of this export's own: torch names the external data after the graph, so the new data file never
        # replaces the one the earlier model.onnx names, and the pair switches over with the graph's one rename.
        partial = Path(tmp) / f"model-{Path(tmp).name.removeprefix(TEMP_PREFIX)}.onnx"
        program.save(str(partial), external_data=external_data)
        if check is not None:
            check(partial)
        data = partial.with_name(partial.name + DATA_SUFFIX)
        if data.exists():
            os.replace(data, target.with_name(data.name))
        os.replace(partial, target)
    for old in Path(directory).glob(f"model*.onnx{DATA_SUFFIX}"):  # earlier exports' weights, named by no graph now
        if old.name != data.name:
            old.unlink()
    return target


class OnnxPredictor:
    """Predictions from ``model.onnx`` with onnxruntime, using the saved model's tokenizer and labels."""

    def __init__(self, directory: str | Path, threads: int | None = None, graph: Path | None = None) -> None:
        """``graph`` names another ONNX file than the directory's ``model.onnx``: the export checks its temp file."""
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise RelencError("the ONNX backend needs onnxruntime: pip install 'relenc[onnx]'") from exc
        path = graph or Path(directory) / ONNX_NAME
        if not path.is_file():
            raise RelencError(f"{path} not found: run `relenc export-onnx {directory}` first")
        self.extractor = RelationExtractor.from_pretrained(directory)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.names = [i.name for i in self.session.get_inputs()]

    def predict(self, examples: Sequence[Example], batch_size: int = 64) -> list[Prediction]:
        """Classify like :meth:`RelationExtractor.predict`, through the same engine (buckets, padding, order), with
        onnxruntime running each batch in fp32."""
        items = self.extractor.encode(examples)
        engine = InferenceEngine(self.extractor.engine.pad_ids)  # no torch model: the step runs in onnxruntime

        def step(batch: Inputs) -> np.ndarray:
            feed = {name: t.numpy() for name, t in graph_inputs(self.extractor, batch).items() if name in self.names}
            logits = self.session.run(["logits"], feed)[0]
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            return probs / probs.sum(-1, keepdims=True)

        labels = self.extractor.labels.labels
        results = engine.run(items, step, batch_size, precision="fp32")
        return in_order(results, len(items), lambda probs: predictions(probs, labels))
