"""Encoding strategies: which encoders a model has and which vectors (h, t, m) it reads from each.

``ht``, ``mask``, ``ht_mask`` and ``hybrid`` differ in this table alone; the model, the trainer and prediction
never branch on the strategy name.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The vectors an encoder can give: h (head marker), t (tail marker), m (the prompt's mask token).
Vector = str


@dataclass(frozen=True)
class StrategySpec:
    """``reads`` maps an encoder role to the vectors taken from it, in feature order."""

    name: str
    reads: tuple[tuple[str, tuple[Vector, ...]], ...]

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role, _ in self.reads)

    def needs_prompt(self, role: str) -> bool:
        return "m" in dict(self.reads)[role]

    @property
    def n_vectors(self) -> int:
        return sum(len(vectors) for _, vectors in self.reads)


STRATEGY_SPECS: dict[str, StrategySpec] = {
    "ht": StrategySpec("ht", (("main", ("h", "t")),)),
    "mask": StrategySpec("mask", (("main", ("m",)),)),
    "ht_mask": StrategySpec("ht_mask", (("main", ("h", "t", "m")),)),
    "hybrid": StrategySpec("hybrid", (("entity", ("h", "t")), ("relation", ("m",)))),
}


def strategy_spec(name: str) -> StrategySpec:
    try:
        return STRATEGY_SPECS[name]
    except KeyError:
        from relenc.errors import RelencError

        raise RelencError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_SPECS)}") from None
