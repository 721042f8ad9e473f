"""Entity chains inside a document: which mentions refer to the same entity.

No neural coreference model runs offline, so relenc builds chains with rules over spaCy's named entities:

- **names**: mentions with the same normalised text (case, punctuation, a leading "the", possessive "'s"), an
  acronym and its expansion ("IBM" / "International Business Machines"), and a person's partial name ("Obama" after
  "Barack Obama");
- **pronouns** (optional): he/him/his/she/her/hers resolve to the nearest preceding PERSON chain that agrees in
  gender (a chain's gender is learnt from titles such as "Mr." and from pronouns already resolved to it); they/them/
  their and it/its are left alone, as too ambiguous for rules.

Any other chain builder fits the :class:`ChainBuilder` protocol (``build(mentions) -> list[Chain]``), e.g. an
adapter around a neural coreference model where one is installed; :func:`agree` keeps only the links two builders
share, as the authors did with two coreference systems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

PERSON_TYPES = frozenset({"PERSON", "PER"})
MALE = frozenset({"he", "him", "his", "himself"})
FEMALE = frozenset({"she", "her", "hers", "herself"})
MALE_TITLES = frozenset({"mr", "sir", "king", "lord", "prince", "father", "brother"})
FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "madam", "queen", "lady", "princess", "mother", "sister"})
_STOP = frozenset({"of", "the", "and", "for", "&", "de", "la", "in"})


@dataclass(frozen=True)
class Mention:
    """A mention in a document: sentence index, character span in the document, text, type (NER label or PRON)."""

    sentence: int
    start: int
    end: int
    text: str
    type: str
    title: str = ""  # the word before the mention, for "Mr." / "Mrs."


@dataclass
class Chain:
    """Mentions (indices into the document's mention list) that refer to one entity."""

    mentions: list[int] = field(default_factory=list)
    type: str = ""
    gender: str | None = None


class ChainBuilder(Protocol):
    def build(self, mentions: Sequence[Mention]) -> list[Chain]: ...


def normalise(text: str) -> str:
    """Lower case, no punctuation, no leading article, no possessive: "The I.B.M.'s" -> "ibm"."""
    text = re.sub(r"['\u2019]s$", "", text.strip())
    text = re.sub(r"[^\w\s]", "", text.lower())
    words = text.split()
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def acronym(text: str) -> str:
    """Initials of the content words: "International Business Machines" -> "ibm"."""
    words = [w for w in normalise(text).split() if w not in _STOP]
    return "".join(w[0] for w in words) if len(words) > 1 else ""


def _is_alias(short: Mention, long: Mention) -> bool:
    """``short`` names the same entity as the earlier ``long``: acronym, or a person's first/last name."""
    s, full = normalise(short.text), normalise(long.text)
    if not s or not full or s == full:
        return bool(s) and s == full
    if short.type in PERSON_TYPES and long.type in PERSON_TYPES:
        parts = full.split()
        return len(parts) > 1 and s in (parts[-1], parts[0]) and " " not in s
    return len(s) > 1 and s.replace(" ", "") == acronym(long.text) and short.type == long.type


class NameChains:
    """Chains from names alone (exact, normalised, acronyms, partial person names), optionally plus pronouns."""

    def __init__(self, pronouns: bool = True, max_pronoun_distance: int = 2) -> None:
        self.pronouns = pronouns
        self.max_pronoun_distance = max_pronoun_distance

    def build(self, mentions: Sequence[Mention]) -> list[Chain]:
        chains: list[Chain] = []
        chain_of: dict[int, int] = {}
        for i, mention in enumerate(mentions):
            if mention.type == "PRON":
                if self.pronouns:
                    self._resolve_pronoun(i, mention, mentions, chains, chain_of)
                continue
            target = self._find_named(mention, mentions, chains)
            if target is None:
                chains.append(Chain(type=mention.type))
                target = len(chains) - 1
            chains[target].mentions.append(i)
            chain_of[i] = target
            title = mention.title.lower().rstrip(".")
            if title in MALE_TITLES:
                chains[target].gender = chains[target].gender or "male"
            elif title in FEMALE_TITLES:
                chains[target].gender = chains[target].gender or "female"
        return _merge_late_aliases([c for c in chains if c.mentions], mentions)

    @staticmethod
    def _find_named(mention: Mention, mentions: Sequence[Mention], chains: list[Chain]) -> int | None:
        key = normalise(mention.text)
        for c, chain in enumerate(chains):
            for j in chain.mentions:
                other = mentions[j]
                if normalise(other.text) == key and other.type == mention.type:
                    return c
        for c, chain in enumerate(chains):
            if any(_is_alias(mention, mentions[j]) for j in chain.mentions):
                return c
        return None

    def _resolve_pronoun(
        self, i: int, pron: Mention, mentions: Sequence[Mention], chains: list[Chain], chain_of: dict[int, int]
    ) -> None:
        word = pron.text.lower()
        gender = "male" if word in MALE else "female" if word in FEMALE else None
        if gender is None:
            return
        for j in range(i - 1, -1, -1):
            candidate = mentions[j]
            if pron.sentence - candidate.sentence > self.max_pronoun_distance:
                return
            if j not in chain_of or candidate.type not in PERSON_TYPES:
                continue
            chain = chains[chain_of[j]]
            if chain.gender not in (None, gender):
                continue
            chain.gender = gender
            chain.mentions.append(i)
            chain.mentions.sort()
            chain_of[i] = chain_of[j]
            return


def _merge_late_aliases(chains: list[Chain], mentions: Sequence[Mention]) -> list[Chain]:
    """Join a chain of short names to a later chain whose full name they abbreviate ("Lineker" ... "Gary Lineker")."""
    merged: list[Chain] = []
    for chain in chains:
        named = [mentions[m] for m in chain.mentions if mentions[m].type != "PRON"]
        target = None
        for other in merged:
            others = [mentions[m] for m in other.mentions if mentions[m].type != "PRON"]
            if named and others and (_abbreviates(named, others) or _abbreviates(others, named)):
                target = other
                break
        if target is None:
            merged.append(chain)
            continue
        target.mentions = sorted(target.mentions + chain.mentions)
        target.gender = target.gender or chain.gender
    return merged


def _abbreviates(shorts: Sequence[Mention], fulls: Sequence[Mention]) -> bool:
    """Every mention in ``shorts`` is one word naming a person of ``fulls`` (its first or last name)."""
    return all(" " not in normalise(s.text) and any(_is_alias(s, f) for f in fulls) for s in shorts)


def agree(a: Sequence[Chain], b: Sequence[Chain]) -> list[Chain]:
    """Chains whose links both builders make: two mentions stay together only if both put them together."""
    where_b = {m: k for k, chain in enumerate(b) for m in chain.mentions}
    out: list[Chain] = []
    for chain in a:
        groups: dict[int, list[int]] = {}
        for m in chain.mentions:
            if m in where_b:
                groups.setdefault(where_b[m], []).append(m)
        out += [Chain(sorted(ms), chain.type, chain.gender) for ms in groups.values()]
    return out
