"""ONNX export (dynamo) and the onnxruntime backend give the same predictions as PyTorch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from relenc.data.example import Example
from relenc.data.labels import LabelSet
from relenc.data.readers import read_dataset
from relenc.encoding.builder import InputConfig
from relenc.errors import RelencError
from relenc.models.extractor import Prediction, RelationExtractor
from relenc.models.onnx import OnnxPredictor, export_onnx

if TYPE_CHECKING:
    from conftest import RunCli

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
    # the graph is renamed into place: only model.onnx is new, no temp file is left
    assert {path.name for path in tmp_path.iterdir()} - before == {"model.onnx"}
    predictor = OnnxPredictor(tmp_path)
    assert ("main.head_span" in predictor.names) == (pooling == "mean")
    ours = model.predict(examples * 3, precision="fp32")
    theirs = predictor.predict(examples * 3, batch_size=5)
    assert [p.label for p in ours] == [p.label for p in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-4)


def saved_ht_model(tiny_encoder: str, directory: Path) -> RelationExtractor:
    """An untrained ``ht`` model for the fixture's labels, saved into ``directory``."""
    labels = LabelSet.from_labels(ex.label for ex in read_dataset(FIXTURE, "jsonl"))
    model = RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()})
    model.save_pretrained(directory)
    return model


def test_a_refused_export_keeps_the_earlier_graph(tiny_encoder: str, tmp_path: Path) -> None:
    """The check sees the new graph under a temp name; when it refuses, model.onnx is the earlier export, unchanged."""
    examples = read_dataset(FIXTURE, "jsonl")
    model = saved_ht_model(tiny_encoder, tmp_path)
    export_onnx(model, tmp_path, examples)
    earlier = (tmp_path / "model.onnx").read_bytes()
    before = sorted(path.name for path in tmp_path.iterdir())
    seen: list[Path] = []

    def refuse(graph: Path) -> None:
        seen.append(graph)
        assert OnnxPredictor(tmp_path, graph=graph).predict(examples[:2])
        raise RelencError("refused")

    with pytest.raises(RelencError, match="refused"):
        export_onnx(model, tmp_path, examples, check=refuse)
    assert seen and seen[0] != tmp_path / "model.onnx"
    assert (tmp_path / "model.onnx").read_bytes() == earlier
    assert sorted(path.name for path in tmp_path.iterdir()) == before


def test_weights_as_external_data_move_in_with_their_graph(tiny_encoder: str, tmp_path: Path) -> None:
    """A graph above 2 GB keeps its weights in a data file of its own export (forced here on a tiny model): the
    graph names that file and the predictor loads both from the model directory. A later export never writes over
    the file the current graph reads: it brings its own and deletes the earlier one once its graph is in place; one
    without external data deletes it too. The temp folder of an export killed before is gone after the next one."""
    examples = read_dataset(FIXTURE, "jsonl")
    model = saved_ht_model(tiny_encoder, tmp_path)
    before = {path.name for path in tmp_path.iterdir()}
    killed = tmp_path / ".onnx-export-killed"
    killed.mkdir()
    (killed / "model.onnx.data").write_bytes(b"half")
    export_onnx(model, tmp_path, examples, external_data=True)
    added = {path.name for path in tmp_path.iterdir()} - before
    data = [name for name in added if name.endswith(".onnx.data")]
    assert len(data) == 1 and added == {"model.onnx", data[0]} and data[0].startswith("model-")
    assert data[0].encode() in (tmp_path / "model.onnx").read_bytes()  # the graph names its own data file
    ours = model.predict(examples, precision="fp32")
    theirs = OnnxPredictor(tmp_path).predict(examples)
    assert [p.label for p in ours] == [p.label for p in theirs]
    export_onnx(model, tmp_path, examples, external_data=True)
    again = {path.name for path in tmp_path.iterdir()} - before - {"model.onnx"}
    assert len(again) == 1 and again != set(data)
    export_onnx(model, tmp_path, examples, external_data=False)
    assert {path.name for path in tmp_path.iterdir()} - before == {"model.onnx"}
    assert [p.label for p in OnnxPredictor(tmp_path).predict(examples)] == [p.label for p in ours]


def test_export_onnx_command_reports_and_refuses_a_disagreeing_graph(
    tiny_encoder: str, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command writes model.onnx when onnxruntime agrees with PyTorch; a graph that disagrees (simulated by
    swapping onnxruntime's labels) is refused with an error line, and the earlier model.onnx stays."""
    saved_ht_model(tiny_encoder, tmp_path)
    args = ["export-onnx", str(tmp_path), "--check", str(FIXTURE), "--format", "jsonl"]
    code, out, err = run_cli(args)
    assert code == 0, err
    report = json.loads(out)
    assert report["examples"] == report["same_label"] == 8 and report["max_probability_difference"] < 1e-4
    earlier = (tmp_path / "model.onnx").read_bytes()

    agreeing = OnnxPredictor.predict

    def one_label_swapped(self: OnnxPredictor, examples: Sequence[Example], batch_size: int = 64) -> list[Prediction]:
        preds = agreeing(self, examples, batch_size)
        other = next(label for label in self.extractor.labels.labels if label != preds[0].label)
        return [replace(preds[0], label=other), *preds[1:]]

    monkeypatch.setattr(OnnxPredictor, "predict", one_label_swapped)
    code, out, err = run_cli(args)
    assert code != 0 and f"error: ONNX and PyTorch disagree on 1 of 8 examples of {FIXTURE}" in err
    assert json.loads(out)["onnx"] is None
    assert (tmp_path / "model.onnx").read_bytes() == earlier
