"""Input construction (markers, prompt, truncation, positions) and batching."""

from relenc.encoding.builder import DEFAULT_TEMPLATE, LEGACY_TEMPLATE, Encoded, InputBuilder, InputConfig
from relenc.encoding.collate import collate, length_buckets

__all__ = ["DEFAULT_TEMPLATE", "LEGACY_TEMPLATE", "Encoded", "InputBuilder", "InputConfig", "collate", "length_buckets"]
