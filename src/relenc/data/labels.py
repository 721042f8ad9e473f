"""Label sets: the ordered list of relation labels a model predicts, and which of them means "no relation"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from relenc.errors import DataError

#: Names used for the negative class by the datasets we read, in the order they are tried.
NEGATIVE_LABELS: tuple[str, ...] = ("no_relation", "Other", "NA", "P0")


def detect_negative_label(labels: Iterable[str]) -> str | None:
    """Return the dataset's negative label if one of the known names occurs, else ``None`` (e.g. FewRel)."""
    present = set(labels)
    for name in NEGATIVE_LABELS:
        if name in present:
            return name
    return None


@dataclass(frozen=True)
class LabelSet:
    """An ordered, duplicate-free tuple of labels; ``negative`` is one of them or ``None``."""

    labels: tuple[str, ...]
    negative: str | None = None

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise DataError("the label set has duplicate labels")
        if not self.labels:
            raise DataError("the label set is empty")
        if self.negative is not None and self.negative not in self.labels:
            raise DataError(f"negative label {self.negative!r} is not one of the labels")

    @classmethod
    def from_labels(cls, labels: Iterable[str | None], negative: str | None = "auto") -> LabelSet:
        """Build a sorted label set from observed labels (``None`` ignored).

        ``negative="auto"`` detects the negative label by name; pass a name to force one, or ``None`` for none.
        The negative label, when there is one, always gets index 0 so that models agree on it.
        """
        seen = sorted({label for label in labels if label is not None})
        neg = detect_negative_label(seen) if negative == "auto" else negative
        if neg is not None and neg not in seen:
            seen.append(neg)
        ordered = ([neg] if neg is not None else []) + [label for label in seen if label != neg]
        return cls(tuple(ordered), neg)

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self.labels

    def index(self, label: str) -> int:
        """The label's id; an unknown label is a :class:`DataError` that lists the known ones."""
        try:
            return self.labels.index(label)
        except ValueError:
            known = ", ".join(self.labels[:12]) + (" ..." if len(self.labels) > 12 else "")
            raise DataError(f"unknown label {label!r}; the model knows: {known}") from None

    @property
    def positive(self) -> tuple[str, ...]:
        return tuple(label for label in self.labels if label != self.negative)
