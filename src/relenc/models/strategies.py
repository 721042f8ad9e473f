"""The encoding strategies, listed once: which encoders a model has and which parts (h, t, m) it reads from each.

``ht``, ``mask``, ``ht_mask`` and ``hybrid`` differ in this table alone; the model, the trainer, prediction and
embedding never branch on the strategy name. The CLI's choices, the run config, the experiment grid, few-shot
evaluation and the docs all read :data:`STRATEGIES`.

This module imports nothing heavy (no torch), so ``relenc --help`` and config validation can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: The vectors an encoder can give: h (head marker), t (tail marker), m (the prompt's mask token).
Part = Literal["h", "t", "m"]
PARTS: tuple[Part, ...] = ("h", "t", "m")
#: How h and t are read: at the entity-start marker (the paper's single token), or as the mean of the mention's word
#: pieces. m is always the mask token's vector.
Pooling = Literal["start", "mean"]
POOLINGS: tuple[Pooling, ...] = ("start", "mean")


@dataclass(frozen=True)
class Strategy:
    """``reads`` maps an encoder role to the parts taken from it, in feature order."""

    name: str
    reads: tuple[tuple[str, tuple[Part, ...]], ...]
    paper_name: str
    description: str

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role, _ in self.reads)

    @property
    def parts(self) -> tuple[Part, ...]:
        """Every part the classifier reads, in feature order (``[h; t; m]`` for ``ht_mask``)."""
        return tuple(part for _, parts in self.reads for part in parts)

    def role_of(self, part: str) -> str:
        """The encoder role a part is read from."""
        for role, parts in self.reads:
            if part in parts:
                return role
        raise KeyError(part)

    def needs_prompt(self, role: str) -> bool:
        """An encoder gets the prompt (``... is [MASK].``) exactly when m is read from it."""
        return "m" in dict(self.reads)[role]


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("ht", (("main", ("h", "t")),), "[H,T]", "head and tail marker embeddings [h; t]"),
        Strategy("mask", (("main", ("m",)),), "[MASK]", "the prompt's mask-token embedding m"),
        Strategy("ht_mask", (("main", ("h", "t", "m")),), "[H,T,MASK]", "[h; t; m] from one encoder"),
        Strategy(
            "hybrid",
            (("entity", ("h", "t")), ("relation", ("m",))),
            "[H,T]+MASK",
            "[h; t] from an entity encoder, m from a separately trained relation encoder",
        ),
    )
}
#: The strategy names, in the paper's order: what CLI choices and config validation accept.
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)
#: The strategies with one encoder: what a plain encoder (or a pre-trained one) can be read with.
SINGLE_ENCODER: tuple[str, ...] = tuple(name for name, s in STRATEGIES.items() if len(s.roles) == 1)
StrategyName = Literal["ht", "mask", "ht_mask", "hybrid"]


def get_strategy(name: str) -> Strategy:
    """The strategy called ``name``; a RelencError lists the choices for any other name."""
    try:
        return STRATEGIES[name]
    except KeyError:
        from relenc.errors import RelencError

        raise RelencError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}") from None


def check_parts(parts: tuple[str, ...] | list[str], available: tuple[str, ...], what: str) -> tuple[Part, ...]:
    """``parts`` validated against what ``what`` gives (a RelencError says what it does give), duplicates dropped."""
    from relenc.errors import RelencError

    out: list[Part] = []
    for part in parts:
        if part not in PARTS:
            raise RelencError(f"unknown part {part!r}; parts are h (head), t (tail) and m (mask)")
        if part not in available:
            raise RelencError(f"{what} gives the parts {', '.join(available)}, not {part!r}")
        if part not in out:
            out.append(part)
    if not out:
        raise RelencError("no part to embed; choose from h, t and m")
    return tuple(out)
