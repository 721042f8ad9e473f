"""ONNX export (dynamo) and the onnxruntime backend give the same predictions as PyTorch."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.models.extractor import RelationExtractor
from relenc.models.onnx import OnnxPredictor, export_onnx

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


@pytest.mark.parametrize(("strategy", "roles"), [("ht", ["main"]), ("hybrid", ["entity", "relation"])])
def test_onnx_matches_pytorch(tiny_encoder: str, tmp_path: Path, strategy: str, roles: list[str]) -> None:
    examples = read_dataset(FIXTURE, "jsonl")
    labels = LabelSet.from_labels(ex.label for ex in examples)
    model = RelationExtractor.build(
        strategy, labels, {r: tiny_encoder for r in roles}, {r: InputConfig(prompt=r == "relation") for r in roles}
    )
    model.save_pretrained(tmp_path)
    export_onnx(model, tmp_path, examples)
    ours = model.predict(examples * 3, precision="fp32")
    theirs = OnnxPredictor(tmp_path).predict(examples * 3, batch_size=5)
    assert [p.label for p in ours] == [p.label for p in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)
