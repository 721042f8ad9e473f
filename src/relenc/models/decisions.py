"""How a model's pair predictions become triples on raw text: the no-relation threshold and the argument types.

A classifier trained on gold pairs says nothing about two things end-to-end extraction needs: how sure a positive
prediction must be before it is worth a triple (on raw text most candidate pairs are unrelated, and the best cut is
rarely the argmax), and which entity types a relation can link (``Live_In`` links a person to a place, never two
places). Both are learnt once, when the model is trained, and stored with it as ``decisions.json``, so extraction
applies them by default and a user can still override or switch them off:

* ``threshold``: a positive prediction scoring below it counts as no relation; tuned on dev for the best F1;
* ``argument_types``: per relation, the (head type, tail type) pairs seen in training; a relation is never
  predicted between mentions of other types (the most probable allowed label is taken instead).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relenc.data.example import Example
from relenc.errors import RelencError
from relenc.io import write_text_atomic

DECISIONS_NAME = "decisions.json"
#: The threshold of a model that stores none (one trained on pairs only): the positive class must be the likelier.
DEFAULT_THRESHOLD = 0.5

ArgumentTypes = dict[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Decisions:
    """The stored decision rules of an end-to-end model (see the module docstring)."""

    threshold: float = DEFAULT_THRESHOLD
    argument_types: ArgumentTypes = field(default_factory=dict)
    tuned: dict[str, Any] = field(default_factory=dict)  # how the threshold was chosen: data, metric, F1

    def allows(self, relation: str, head_type: str | None, tail_type: str | None) -> bool:
        """Whether ``relation`` may link mentions of these types; unknown types or relations are not constrained."""
        allowed = self.argument_types.get(relation)
        if allowed is None or head_type is None or tail_type is None:
            return True
        return (head_type, tail_type) in allowed

    def save(self, directory: str | Path) -> None:
        data = {
            "threshold": self.threshold,
            "argument_types": {r: sorted(list(p) for p in pairs) for r, pairs in sorted(self.argument_types.items())},
            "tuned": self.tuned,
        }
        write_text_atomic(Path(directory) / DECISIONS_NAME, json.dumps(data, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> Decisions | None:
        """The decisions stored in a model directory; None if it has none; a damaged file is an error naming it."""
        path = Path(directory) / DECISIONS_NAME
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            types = {r: frozenset((str(h), str(t)) for h, t in pairs) for r, pairs in data["argument_types"].items()}
            threshold = float(data["threshold"])
            tuned = dict(data.get("tuned", {}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RelencError(f"{path}: not a readable decisions file ({exc}); train the model again") from exc
        if not 0.0 <= threshold <= 1.0:
            raise RelencError(f"{path}: threshold {threshold} is not a probability; train the model again")
        return cls(threshold, types, tuned)


def learn_argument_types(examples: Iterable[Example], negative: str | None) -> ArgumentTypes:
    """Per relation, the (head type, tail type) pairs of its training examples (typed ones only).

    A relation seen only between untyped mentions gets no entry, so it stays unconstrained.
    """
    seen: dict[str, set[tuple[str, str]]] = {}
    for ex in examples:
        if ex.label is None or ex.label == negative or not ex.head.type or not ex.tail.type:
            continue
        seen.setdefault(ex.label, set()).add((ex.head.type, ex.tail.type))
    return {relation: frozenset(pairs) for relation, pairs in seen.items()}
