"""``relenc.__version__`` is the installed distribution's, read from its metadata: pyproject.toml states it once."""

from __future__ import annotations

import importlib.metadata

import pytest

import relenc


def test_version_is_the_package_metadata() -> None:
    assert relenc.__version__ == importlib.metadata.version("relenc")
    from relenc import __version__

    assert __version__ == relenc.__version__


def test_a_source_tree_that_was_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert relenc._installed_version() == "0+unknown"
