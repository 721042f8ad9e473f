"""``relenc embed``: a data file's relation embeddings, as .npy or Parquet, from a model or a plain encoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from relenc.data.readers import read_dataset
from relenc.models.extractor import RelationExtractor

if TYPE_CHECKING:
    from conftest import RunCli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


def test_embed_a_model_to_npy(model_dir: str, tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "vectors"
    code, stdout, stderr = run_cli(["embed", model_dir, str(FIXTURE), "-o", str(out), "--no-progress"])
    assert code == 0, stderr
    info = json.loads(stdout)
    assert info["kind"] == "ht_mask" and info["parts"] == ["h", "t", "m"] and info["count"] == 8
    assert json.loads((out / "embeddings.json").read_text())["dimensions"] == {"h": 32, "t": 32, "m": 32}
    examples = read_dataset(FIXTURE, "jsonl")
    assert json.loads((out / "ids.json").read_text()) == [ex.id for ex in examples]
    expected = RelationExtractor.from_pretrained(model_dir).embed(examples)
    for part in "htm":
        np.testing.assert_array_equal(np.load(out / f"{part}.npy"), expected[part])
    # rerunning replaces an earlier embeddings directory, here with fewer parts
    code, _, stderr = run_cli(["embed", model_dir, str(FIXTURE), "-o", str(out), "--parts", "m", "--no-progress"])
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["embeddings.json", "ids.json", "m.npy"]
    assert oct(out.stat().st_mode & 0o777) == "0o755"


def test_embed_an_encoder_to_parquet(tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "vectors"
    args = ["embed", tiny_encoder, str(FIXTURE), "-o", str(out), "--strategy", "ht", "--normalize"]
    code, stdout, stderr = run_cli([*args, "--format-out", "parquet", "--no-progress"])
    assert code == 0, stderr
    assert json.loads(stdout)["kind"] == "encoder"
    table = pq.read_table(out / "embeddings.parquet")
    assert table.column_names == ["id", "label", "h", "t"]
    h = np.stack(table.column("h").to_numpy(zero_copy_only=False))
    assert h.shape == (8, 32)
    np.testing.assert_allclose(np.linalg.norm(h, axis=1), 1.0, rtol=1e-5)
    assert table.column("label").to_pylist()[0] == "per:employee_of"


def test_embed_errors_name_the_problem(model_dir: str, tiny_encoder: str, tmp_path: Path, run_cli: RunCli) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, stderr = run_cli(["embed", model_dir, str(FIXTURE), "-o", str(mine), "--no-progress"])
    assert code == 2 and "is not a `relenc embed` output" in stderr
    assert (mine / "notes.txt").read_text() == "keep me"  # never overwritten
    code, _, stderr = run_cli(["embed", model_dir, str(FIXTURE), "-o", str(tmp_path / "x"), "--parts", "h,q"])
    assert code == 2 and "error: unknown part 'q'" in stderr
    code, _, stderr = run_cli(["embed", model_dir, str(FIXTURE), "-o", str(tmp_path / "x"), "--strategy", "mask"])
    assert code == 2 and "is a ht_mask model; --strategy applies to encoders" in stderr
    code, _, stderr = run_cli(["embed", tiny_encoder, str(FIXTURE), "-o", str(tmp_path / "no" / "such" / "dir")])
    assert code == 2 and "does not exist" in stderr
    assert not (tmp_path / "x").exists()
