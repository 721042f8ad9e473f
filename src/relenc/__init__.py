"""relenc: relation extraction with entity and relation embeddings.

The public API: :class:`RelationExtractor` (build, train, save, load, predict), :class:`Example` and
:class:`Span` (the record every reader produces), :func:`read_dataset`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from relenc.data.example import Example, Span
    from relenc.data.readers import read_dataset
    from relenc.models.extractor import RelationExtractor

__all__ = ["Example", "RelationExtractor", "Span", "__version__", "read_dataset"]


def __getattr__(name: str) -> Any:
    """Import lazily, so that ``relenc --help`` and the data tools do not pay for torch."""
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
