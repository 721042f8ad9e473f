"""Data layer: the :class:`Example` record, readers and writers for each format, the word tokenizer, label sets,
splits, dataset statistics, and where the shared datasets live (:func:`relenc.data.paths.data_dir`).

The bottom layer: it imports only :mod:`relenc.errors` and :mod:`relenc.io` from relenc, and neither torch nor
transformers (numpy, for the statistics), so the data tools start fast and every other package may import it.
"""

from relenc.data.example import Example, Span

__all__ = ["Example", "Span"]
