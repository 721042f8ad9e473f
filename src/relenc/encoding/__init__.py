"""Input construction (:mod:`~relenc.encoding.builder`: markers, prompt, truncation, positions) and batching
(:mod:`~relenc.encoding.collate`: padding, length buckets).

Imports allowed: :mod:`relenc.data` and :mod:`relenc.errors` only, so models, training and evaluation share one
encoding. Importing this package loads transformers and torch (the re-exports below).
"""

from relenc.encoding.builder import DEFAULT_TEMPLATE, LEGACY_TEMPLATE, Encoded, InputBuilder, InputConfig
from relenc.encoding.collate import collate, length_buckets

__all__ = ["DEFAULT_TEMPLATE", "LEGACY_TEMPLATE", "Encoded", "InputBuilder", "InputConfig", "collate", "length_buckets"]
