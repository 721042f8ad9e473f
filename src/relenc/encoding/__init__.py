"""Input construction (markers, prompt, truncation, positions) and batching."""

from relenc.encoding.builder import Encoded, InputBuilder, InputConfig
from relenc.encoding.collate import collate, length_buckets

__all__ = ["Encoded", "InputBuilder", "InputConfig", "collate", "length_buckets"]
