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
    """Write model.onnx next to the model, only if every prediction on --check is the same as PyTorch's."""
    from relenc.data.readers import read_dataset
    from relenc.errors import RelencError
    from relenc.models.extractor import RelationExtractor, model_root
    from relenc.models.onnx import ONNX_NAME, OnnxPredictor, export_onnx

    extractor = RelationExtractor.from_pretrained(model_dir)  # an error names a directory that is neither
    directory = model_root(model_dir) or model_dir
    examples = read_dataset(check, fmt)[:limit]
    torch_preds = extractor.predict(examples, precision="fp32")
    report: dict[str, object] = {"onnx": str(directory / ONNX_NAME), "examples": len(examples)}

    def same_as_pytorch(graph: Path) -> None:
        """Refuse the new graph (an earlier model.onnx stays) unless onnxruntime gives PyTorch's labels."""
        ort_preds = OnnxPredictor(directory, graph=graph).predict(examples)
        same = sum(a.label == b.label for a, b in zip(torch_preds, ort_preds, strict=True))
        diff = max(abs(a.score - b.probabilities[a.label]) for a, b in zip(torch_preds, ort_preds, strict=True))
        report.update(same_label=same, max_probability_difference=diff)
        if same != len(examples):
            print(json.dumps(report | {"onnx": None}))
            raise RelencError(
                f"ONNX and PyTorch disagree on {len(examples) - same} of {len(examples)} examples of {check}: "
                f"{ONNX_NAME} left as it was"
            )

    export_onnx(extractor, directory, examples, check=same_as_pytorch)
    print(json.dumps(report))
