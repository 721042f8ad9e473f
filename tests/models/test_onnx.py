"""ONNX export (dynamo) and the onnxruntime backend give the same predictions as PyTorch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor
from relenc.models.onnx import OnnxPredictor, export_onnx

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


@pytest.mark.parametrize(
    ("strategy", "roles", "pooling"),
    [("ht", ["main"], "start"), ("hybrid", ["entity", "relation"], "start"), ("ht", ["main"], "mean")],
)
def test_onnx_matches_pytorch(
    tiny_encoder: str, tmp_path: Path, strategy: str, roles: list[str], pooling: Literal["start", "mean"]
) -> None:
    """Mean pooling exports too: the graph then takes the mentions' spans as inputs."""
    examples = read_dataset(FIXTURE, "jsonl")
    labels = LabelSet.from_labels(ex.label for ex in examples)
    model = RelationExtractor.build(
        strategy,
        labels,
        {r: tiny_encoder for r in roles},
        {r: InputConfig(prompt=r == "relation") for r in roles},
        pooling=pooling,
    )
    model.save_pretrained(tmp_path)
    before = {path.name for path in tmp_path.iterdir()}
    export_onnx(model, tmp_path, examples)
    # the graph is renamed into place: only the two named files are new, no temp file is left
    assert {path.name for path in tmp_path.iterdir()} - before == {"model.onnx", "onnx_inputs.json"}
    assert ("main.head_span" in json.loads((tmp_path / "onnx_inputs.json").read_text())) == (pooling == "mean")
    ours = model.predict(examples * 3, precision="fp32")
    theirs = OnnxPredictor(tmp_path).predict(examples * 3, batch_size=5)
    assert [p.label for p in ours] == [p.label for p in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)
