"""dataset_stats: counts, label order, negative label and share, length percentiles, type pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from relenc.data.example import Example, Span
from relenc.data.readers import read_dataset
from relenc.data.stats import dataset_stats, length_percentiles

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def example(n_tokens: int, label: str | None, head_type: str | None = None, tail_type: str | None = None) -> Example:
    tokens = tuple(f"w{i}" for i in range(n_tokens))
    return Example("x", tokens, Span(0, 1, "w0", head_type), Span(1, 2, "w1", tail_type), label)


def test_counts_labels_and_negative_share() -> None:
    examples = [example(3, "b")] * 2 + [example(3, "no_relation")] * 3 + [example(3, "a")] * 2 + [example(3, None)]
    stats = dataset_stats(examples)
    assert stats["examples"] == 8 and stats["unlabelled"] == 1
    assert list(stats["labels"].items()) == [("no_relation", 3), ("a", 2), ("b", 2)]  # count desc, then name
    assert stats["negative_label"] == "no_relation"
    assert stats["negative_share"] == round(3 / 7, 4)  # of the labelled examples


def test_no_negative_label() -> None:
    stats = dataset_stats([example(3, "P26"), example(3, "P177")])
    assert stats["negative_label"] is None and stats["negative_share"] == 0.0


def test_length_percentiles_are_observed_lengths() -> None:
    lengths = list(range(1, 101))
    assert length_percentiles(lengths) == {"p50": 50, "p90": 90, "p95": 95, "p99": 99, "max": 100}
    assert length_percentiles([7]) == {"p50": 7, "p90": 7, "p95": 7, "p99": 7, "max": 7}
    assert length_percentiles([]) == {}
    stats = dataset_stats([example(n, "a") for n in (2, 4, 10)])
    assert stats["token_length"]["max"] == 10 and stats["token_length"]["p50"] == 4


class SplitOnE:
    """A stand-in word-piece tokenizer: splits words at the letter 'e' and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []

    def __call__(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, Any]:
        self.calls.append((texts, add_special_tokens))
        return {"input_ids": [[0] * sum(len(w.split("e")) for w in text.split()) for text in texts]}


def test_wordpiece_lengths_only_with_a_tokenizer() -> None:
    examples = read_dataset(FIX / "semeval.txt", "semeval")
    assert "wordpiece_length" not in dataset_stats(examples)
    tokenizer = SplitOnE()
    stats = dataset_stats(examples, tokenizer)
    assert tokenizer.calls == [(["The author of the book spoke .", "A cup ' s handle broke ."], False)]
    # "The author of the book spoke ." -> 2+1+1+2+1+2+1 = 10 pieces; "A cup ' s handle broke ." -> 1+1+1+1+2+2+1 = 9
    assert stats["wordpiece_length"] == {"p50": 9, "p90": 10, "p95": 10, "p99": 10, "max": 10}


def test_entity_type_pairs_per_relation() -> None:
    examples = [example(3, "r", "PER", "ORG")] * 2 + [example(3, "r", "PER", "LOC"), example(3, "s", "PER", None)]
    assert dataset_stats(examples)["entity_type_pairs"] == {"r": {"PER-ORG": 2, "PER-LOC": 1}}
    assert "entity_type_pairs" not in dataset_stats([example(3, "r")])


def test_empty_dataset() -> None:
    stats = dataset_stats([])
    assert stats["examples"] == 0 and stats["labels"] == {} and stats["token_length"] == {}
