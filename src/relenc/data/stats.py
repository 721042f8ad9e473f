"""Dataset statistics: counts, label distribution, negative share, lengths, entity-type pairs per relation."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from relenc.data.example import Example
from relenc.data.labels import detect_negative_label

PERCENTILES = (50, 90, 95, 99)


def _percentiles(values: Sequence[int]) -> dict[str, int]:
    if not values:
        return {}
    arr = np.asarray(values)
    out = {f"p{p}": int(np.percentile(arr, p, method="higher")) for p in PERCENTILES}
    out["max"] = int(arr.max())
    return out


def dataset_stats(examples: Sequence[Example], tokenizer: Any = None) -> dict[str, Any]:
    """Statistics of a list of examples; word-piece lengths only when a tokenizer is given."""
    labels = Counter(ex.label for ex in examples if ex.label is not None)
    negative = detect_negative_label(labels)
    n = len(examples)
    stats: dict[str, Any] = {
        "examples": n,
        "unlabelled": sum(1 for ex in examples if ex.label is None),
        "labels": dict(labels.most_common()),
        "negative_label": negative,
        "negative_share": round(labels[negative] / n, 4) if negative and n else 0.0,
        "token_length": _percentiles([len(ex.tokens) for ex in examples]),
    }
    if tokenizer is not None and examples:
        enc = tokenizer([" ".join(ex.tokens) for ex in examples], add_special_tokens=False)
        stats["wordpiece_length"] = _percentiles([len(ids) for ids in enc["input_ids"]])
    pairs: dict[str, Counter[str]] = defaultdict(Counter)
    for ex in examples:
        if ex.label is not None and ex.head.type and ex.tail.type:
            pairs[ex.label][f"{ex.head.type}-{ex.tail.type}"] += 1
    if pairs:
        stats["entity_type_pairs"] = {label: dict(c.most_common()) for label, c in sorted(pairs.items())}
    return stats
