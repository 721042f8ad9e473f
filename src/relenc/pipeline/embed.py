"""``relenc embed SOURCE INPUT --output DIR``: the relation embeddings of a data file, written to a directory.

SOURCE is a trained model (or run) directory, read at its own parts, or an encoder (``minilm``, ``mpnet``, a
``relenc pretrain`` output, a Hugging Face name or directory) read as a one-encoder strategy. The directory holds::

    embeddings.json     what was embedded: source, strategy, parts, dimensions, count, normalised or not, the input
    ids.json            the example ids, in input order (with .npy)
    h.npy, t.npy, m.npy one float32 matrix per part, a row per example (``--format-out npy``)
    embeddings.parquet  or one table: id, label, and a fixed-size list column per part (``--format-out parquet``)

The directory appears whole or not at all (written beside it, then swapped in), and an existing directory is only
replaced if it holds an earlier ``relenc embed`` output: anything else is refused, never overwritten.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from relenc.data.example import Example
from relenc.errors import RelencError
from relenc.io import atomic_dir

if TYPE_CHECKING:
    from relenc.models.extractor import RelationExtractor

MANIFEST = "embeddings.json"


@dataclass(frozen=True)
class EmbeddingsInfo:
    """What ``embeddings.json`` records, so the vectors can be trusted and reproduced without the command line."""

    source: str
    kind: str  # the model's strategy, or "encoder"
    strategy: str
    parts: list[str]
    dimensions: dict[str, int]
    count: int
    normalized: bool
    input: str
    input_format: str
    format: str
    relenc_version: str


def load_embedder(source: str, strategy: str | None = None) -> RelationExtractor:
    """A model directory as trained (``strategy`` must then be None or the model's), or an encoder read as
    ``strategy`` (default ``ht_mask``: h, t and m from one pass over the sentence with the prompt)."""
    from relenc.models.extractor import RelationExtractor, model_root

    path = Path(source).expanduser()
    if model_root(path) is not None:
        model = RelationExtractor.from_pretrained(path)
        if strategy is not None and strategy != model.spec.name:
            raise RelencError(
                f"{source} is a {model.spec.name} model; --strategy applies to encoders (to read one of its encoders "
                f"as {strategy}, give its directory, {path}/.../encoders/<role>)"
            )
        return model
    return RelationExtractor.from_encoder(source, strategy or "ht_mask")


def embed_file(
    source: str,
    input_path: str,
    input_format: str,
    output: str | Path,
    parts: Sequence[str] | None = None,
    strategy: str | None = None,
    normalize: bool = False,
    out_format: str = "npy",
    batch_size: int = 64,
    precision: str = "auto",
    progress: bool = True,
) -> EmbeddingsInfo:
    """Embed every example of ``input_path`` and write the vectors to ``output``; return what was written."""
    from relenc import __version__
    from relenc.data.readers import read_dataset

    if out_format not in ("npy", "parquet"):
        raise RelencError(f"--format-out must be npy or parquet, got {out_format!r}")
    target = Path(output)
    _check_replaceable(target)
    examples = read_dataset(input_path, input_format)
    if not examples:
        raise RelencError(f"{input_path}: no examples to embed")
    extractor = load_embedder(source, strategy)
    vectors = extractor.embed(
        examples, parts, normalize=normalize, batch_size=batch_size, precision=precision, progress=progress
    )
    info = EmbeddingsInfo(
        source=source,
        kind=extractor.spec.name if extractor.has_classifier else "encoder",
        strategy=extractor.spec.name,
        parts=list(vectors),
        dimensions={part: int(matrix.shape[1]) for part, matrix in vectors.items()},
        count=len(examples),
        normalized=normalize,
        input=input_path,
        input_format=input_format,
        format=out_format,
        relenc_version=__version__,
    )
    with atomic_dir(target) as tmp:
        if out_format == "parquet":
            _write_parquet(tmp / "embeddings.parquet", examples, vectors)
        else:
            for part, matrix in vectors.items():
                np.save(tmp / f"{part}.npy", matrix)
            (tmp / "ids.json").write_text(json.dumps([ex.id for ex in examples]), encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
    return info


def _check_replaceable(target: Path) -> None:
    """Refuse an output that exists and is not an earlier embeddings directory (a file, or anything else)."""
    if not target.exists():
        if not target.parent.exists():
            raise RelencError(f"{target}: its directory {target.parent} does not exist")
        return
    if not target.is_dir() or not (target / MANIFEST).is_file():
        raise RelencError(
            f"{target} exists and is not a `relenc embed` output (no {MANIFEST}); choose a new directory, or remove "
            "it yourself"
        )


def _write_parquet(path: Path, examples: Sequence[Example], vectors: dict[str, np.ndarray]) -> None:
    """One row per example: id, label (null when unlabelled) and one fixed-size float32 list per part."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise RelencError(
            "Parquet output needs pyarrow: pip install 'relenc[parquet]' (or use --format-out npy)"
        ) from exc
    columns = {
        "id": pa.array([ex.id for ex in examples], pa.string()),
        "label": pa.array([ex.label for ex in examples], pa.string()),
    }
    for part, matrix in vectors.items():
        flat = pa.array(np.ascontiguousarray(matrix, dtype=np.float32).ravel(), pa.float32())
        columns[part] = pa.FixedSizeListArray.from_arrays(flat, matrix.shape[1])
    pq.write_table(pa.table(columns), path)
