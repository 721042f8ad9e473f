"""Data layer: the :class:`Example` record, readers and writers for each format, label sets and splits."""

from relenc.data.example import Example, Span

__all__ = ["Example", "Span"]
