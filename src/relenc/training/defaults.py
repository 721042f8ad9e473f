"""Recipe defaults: the settings measurements found best, which ``relenc train`` applies wherever the user set nothing.

A pydantic default is one value for every run, but the best budget depends on the data and the model: CoNLL04's
sentences hold few distinct relation mentions, so each must be seen more often than SemEval's. A :class:`Recipe`
says when it applies and what it sets; the first recipe that applies is taken, and a flag or a field that the config
file sets (even to the library's default) always wins over it. Each recipe names the measurement behind it, in
``docs/results.md``, so the plain command gives the best known result and the docs say why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from relenc.data.readers import is_end_to_end
from relenc.models.encoders import alias_of
from relenc.training.config import RunConfig


@dataclass(frozen=True)
class Recipe:
    """``values`` (dotted config fields) for the runs ``applies`` accepts; ``measured`` says where it was found."""

    name: str
    applies: Callable[[RunConfig], bool]
    values: dict[str, Any]
    measured: str

    def describe(self, values: dict[str, Any]) -> str:
        """The line a run prints when the recipe sets ``values``: which recipe, and what it set."""
        return f"recipe {self.name}: " + ", ".join(f"{key.split('.')[-1]} {value}" for key, value in values.items())


#: What an end-to-end run changes from the defaults of a pair classifier: one encoder read at the typed entity markers
#: (the recognizer gives the types), a higher learning rate and more epochs. On CoNLL04 (MiniLM, seed 13) lr 1e-4 for
#: 8 epochs gave dev 81.0 on gold mentions and test strict micro-F1 61.9, where the pair classifier's lr 5e-5 for 4
#: epochs gave 77.3 and 59.0: CoNLL04's 12,000 pairs hold far fewer distinct relation mentions than SemEval's 8,000
#: sentences, so each is seen more often.
END_TO_END = Recipe(
    "end-to-end",
    lambda config: is_end_to_end(config.training.format),
    {"model.strategy": "ht", "model.input.markers": "punct", "training.lr": 1e-4, "training.epochs": 8.0},
    "docs/results.md, Raw text to triples: second run",
)


def _ht_on_minilm(config: RunConfig) -> bool:
    """``ht`` on MiniLM's weights, which a user may name by alias, Hugging Face id or local directory."""
    return config.model.strategy == "ht" and alias_of(config.model.encoder) == "minilm"


#: ``ht`` on MiniLM from KBP37: 4 epochs. On its whole training set (15,917 sentences, twice SemEval's) 4 epochs gave
#: test micro-F1 67.23 ± 0.28 against 65.89 ± 0.35 for 2 (3 seeds, dev +1.22), and 6 epochs less than 4 (seed 13:
#: dev 66.35 against 66.50, test 66.36 against 67.42): a larger training set needs fewer passes.
HT_MINILM_KBP37 = Recipe(
    "ht on minilm, kbp37",
    lambda config: config.training.format == "kbp37" and _ht_on_minilm(config),
    {"training.epochs": 4.0},
    "docs/results.md, KBP37 on its whole training set",
)

#: ``ht`` on MiniLM from other sentence pairs: 6 epochs instead of 3. At 3 epochs SemEval's dev F1 still climbs by
#: 1.5 points in the last epoch; 6 epochs raised it by 1.9 (seed 13) and 10 epochs by less, lr 1e-4 not at all
#: (chosen on dev; the trainer keeps the best dev model, so a longer budget costs time, not accuracy). Mean pooling
#: and R-Drop on top added +0.13 ± 0.51 (3 seeds) for 1.7x the time, so they are left out. A 20-trial Optuna search
#: over lr, epochs, warm-up, weight decay, batch size, layer decay, head lr and dropout found no better dev F1, and
#: its best trial scored -0.36 ± 0.18 against this on test (3 seeds, paired).
HT_MINILM = Recipe(
    "ht on minilm",
    _ht_on_minilm,
    {"training.epochs": 6.0},
    "docs/results.md, Fine-tuning recipe features: the budget; the search: relenc tune on SemEval",
)

RECIPES: tuple[Recipe, ...] = (END_TO_END, HT_MINILM_KBP37, HT_MINILM)


def given(base: RunConfig, flags: dict[str, Any], dotted: str) -> bool:
    """Whether the user chose ``dotted``: a flag that is not None, or a field the config file sets explicitly (a
    sibling field set in the file does not count)."""
    if flags.get(dotted) is not None:
        return True
    node: Any = base
    *parents, leaf = dotted.split(".")
    for name in parents:
        if name not in node.model_fields_set:
            return False
        node = getattr(node, name)
    return leaf in node.model_fields_set


def recipe_defaults(base: RunConfig, flags: dict[str, Any]) -> tuple[Recipe | None, dict[str, Any]]:
    """The first recipe that applies to the run the user asked for (``base`` with the flags), and those of its
    values the user did not choose: the overrides that make a plain ``relenc train`` the best known run."""
    asked = base.override(**flags)  # None: the flag was not given
    for recipe in RECIPES:
        if recipe.applies(asked):
            return recipe, {key: value for key, value in recipe.values.items() if not given(base, flags, key)}
    return None, {}


def apply_recipe(base: RunConfig, flags: dict[str, Any]) -> dict[str, Any]:
    """``flags`` plus what :func:`recipe_defaults` adds, for ``base.override``; the recipe applied is printed, so
    the user sees which settings they did not choose. The one way ``relenc train`` and ``relenc distill`` use it."""
    recipe, values = recipe_defaults(base, flags)
    if recipe is not None and values:
        Console(stderr=True).print(recipe.describe(values))
    return flags | values
