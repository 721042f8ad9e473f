"""relenc: relation extraction with entity and relation embeddings.

The public API: :class:`RelationExtractor` (build, train, save, load, predict), :class:`Example` and
:class:`Span` (the record every reader produces), :func:`read_dataset`, and ``__version__``, the installed
distribution's version: pyproject.toml is the only place that states it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relenc.data.example import Example, Span
    from relenc.data.readers import read_dataset
    from relenc.models.extractor import RelationExtractor

__all__ = ["Example", "RelationExtractor", "Span", "__version__", "read_dataset"]
__version__: str  # set on first use, by __getattr__


def __getattr__(name: str) -> Any:
    """Import lazily, so that ``relenc --help`` and the data tools do not pay for torch (or, for the version, for
    reading the package metadata)."""
    if name == "__version__":
        globals()["__version__"] = version = _installed_version()
        return version
    if name in ("Example", "Span"):
        from relenc.data import example

        return getattr(example, name)
    if name == "read_dataset":
        from relenc.data.readers import read_dataset

        return read_dataset
    if name == "RelationExtractor":
        from relenc.models.extractor import RelationExtractor

        return RelationExtractor
    raise AttributeError(name)


def _installed_version() -> str:
    """The version pip installed relenc with; ``0+unknown`` for a source tree on ``sys.path`` that was never installed
    (``PYTHONPATH=src``), where there is no metadata to read: a valid version string that claims no release."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relenc")
    except PackageNotFoundError:
        return "0+unknown"
