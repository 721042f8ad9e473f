"""``relenc export-onnx MODEL_DIR``: export to ONNX, checked against PyTorch on real examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from relenc.cli import app


@app.command("export-onnx")
def export_onnx_command(
    model_dir: Annotated[Path, typer.Argument(help="A trained model (or run) directory.")],
    check: Annotated[str, typer.Option(help="Examples to compare PyTorch and ONNX Runtime on.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="Format of --check.")],
    limit: Annotated[int, typer.Option(help="Compare on the first N examples.")] = 500,
) -> None:
    """Write model.onnx next to the model; refuse (and remove it) if any prediction differs from PyTorch's."""
    from relenc.data.readers import read_dataset
    from relenc.errors import RelencError
    from relenc.models.extractor import RelationExtractor, model_root
    from relenc.models.onnx import OnnxPredictor, export_onnx

    extractor = RelationExtractor.from_pretrained(model_dir)  # an error names a directory that is neither
    directory = model_root(model_dir) or model_dir
    examples = read_dataset(check, fmt)[:limit]
    path = export_onnx(extractor, directory, examples)
    torch_preds = extractor.predict(examples, precision="fp32")
    ort_preds = OnnxPredictor(directory).predict(examples)
    same = sum(a.label == b.label for a, b in zip(torch_preds, ort_preds, strict=True))
    max_diff = max(abs(a.score - b.probabilities[a.label]) for a, b in zip(torch_preds, ort_preds, strict=True))
    report = {"onnx": str(path), "examples": len(examples), "same_label": same, "max_probability_difference": max_diff}
    print(json.dumps(report))
    if same != len(examples):
        path.unlink()
        raise RelencError(f"ONNX and PyTorch disagree on {len(examples) - same} of {len(examples)} examples")
