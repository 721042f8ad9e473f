"""Dataset statistics: size, label distribution, negative share, lengths, entity-type pairs per relation.

What one needs to know before training: how skewed the labels are, how large the negative class is, and whether
``max_length`` will truncate sentences (hence the word-piece lengths, measured with the encoder's own tokenizer).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from relenc.data.example import Example
from relenc.data.labels import detect_negative_label

PERCENTILES = (50, 90, 95, 99)


def length_percentiles(lengths: Sequence[int]) -> dict[str, int]:
    """``{"p50", "p90", "p95", "p99", "max"}`` by the nearest-rank rule (numpy's ``inverted_cdf``).

    ``p95`` is the smallest observed length that at least 95% of the examples do not exceed: read it as "a
    ``max_length`` of p95 truncates at most 5% of the examples".
    """
    if not lengths:
        return {}
    values = np.asarray(lengths)
    out = {f"p{p}": int(np.percentile(values, p, method="inverted_cdf")) for p in PERCENTILES}
    out["max"] = int(values.max())
    return out


def dataset_stats(examples: Sequence[Example], tokenizer: Any = None) -> dict[str, Any]:
    """Statistics of a list of examples, as a JSON-ready dict.

    Keys: ``examples``, ``unlabelled``, ``labels`` (label -> count, most frequent first, ties by name),
    ``negative_label`` (detected by name, ``None`` if there is none), ``negative_share`` (of the labelled
    examples), ``token_length`` (percentiles), ``wordpiece_length`` (only with a Hugging Face ``tokenizer``: the
    tokens joined by spaces, no entity markers, no special tokens), and ``entity_type_pairs`` (relation ->
    ``"HEAD_TYPE-TAIL_TYPE"`` -> count, only when examples have both types).
    """
    counts = Counter(ex.label for ex in examples if ex.label is not None)
    labelled = sum(counts.values())
    negative = detect_negative_label(counts)
    stats: dict[str, Any] = {
        "examples": len(examples),
        "unlabelled": len(examples) - labelled,
        "labels": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        "negative_label": negative,
        "negative_share": round(counts[negative] / labelled, 4) if negative is not None else 0.0,
        "token_length": length_percentiles([len(ex.tokens) for ex in examples]),
    }
    if tokenizer is not None and examples:
        encoded = tokenizer([" ".join(ex.tokens) for ex in examples], add_special_tokens=False)
        stats["wordpiece_length"] = length_percentiles([len(ids) for ids in encoded["input_ids"]])
    pairs: dict[str, Counter[str]] = defaultdict(Counter)
    for ex in examples:
        if ex.label is not None and ex.head.type and ex.tail.type:
            pairs[ex.label][f"{ex.head.type}-{ex.tail.type}"] += 1
    if pairs:
        stats["entity_type_pairs"] = {
            label: dict(sorted(c.items(), key=lambda item: (-item[1], item[0]))) for label, c in sorted(pairs.items())
        }
    return stats
