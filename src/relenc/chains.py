"""Entity chains inside a document: which mentions refer to the same entity.

No neural coreference model runs offline, so relenc builds chains with rules over named entities:

- **names**: mentions with the same normalised text (case, punctuation, a leading "the", possessive "'s"), an
  acronym and its expansion ("IBM" / "International Business Machines"), and a person's partial name ("Obama" after
  "Barack Obama");
- **pronouns** (optional): he/him/his/she/her/hers resolve to the nearest preceding person chain that agrees in
  gender (a chain's gender is learnt from titles such as "Mr." and from pronouns already resolved to it); they/them/
  their and it/its are left alone, as too ambiguous for rules.

Two steps use the chains: pair mining for pre-training (:mod:`relenc.pretraining.pairs`: two sentences about the
same two entities) and the extraction pipeline (:mod:`relenc.pipeline.coref`: "He" named after "Tim Cook"). The
layering forbids the pipeline to import pre-training, so the chains sit here, shared. Which types are people varies
with the recognizer (spaCy's PERSON, CoNLL04's Peop, PER), so it is a setting; types compare case-insensitively.

Any other chain builder fits the :class:`ChainBuilder` protocol (``build(mentions) -> list[Chain]``), e.g. an
adapter around a neural coreference model where one is installed; :func:`agree` keeps only the links two builders
share, as the authors did with two coreference systems.

Cost: finding a mention's chain looks up its name keys in an index, so building is about linear in the number of
mentions (a long document has thousands), not quadratic. spaCy is not imported: :func:`span_mentions` reads the
``Doc`` it is given. Imports allowed: :mod:`relenc.errors` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from relenc.errors import DataError

PERSON_TYPES = frozenset({"PERSON", "PER", "PEOP"})
MALE = frozenset({"he", "him", "his", "himself"})
FEMALE = frozenset({"she", "her", "hers", "herself"})
PRONOUNS = MALE | FEMALE  # the pronouns rules can resolve; they/it are too ambiguous
MALE_TITLES = frozenset({"mr", "sir", "king", "lord", "prince", "father", "brother"})
FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "madam", "queen", "lady", "princess", "mother", "sister"})
_STOP = frozenset({"of", "the", "and", "for", "&", "de", "la", "in"})

Key = tuple[str, str]  # ("name" | "part" | "acr", text): a name key of the alias index


@dataclass(frozen=True)
class Mention:
    """A mention in a document: sentence index, character span in the document, text, type (NER label or PRON)."""

    sentence: int
    start: int
    end: int
    text: str
    type: str
    title: str = ""  # the word before the mention, for "Mr." / "Mrs."
    possessive: bool = False  # "his", "her" before a noun: links its chain, but names no argument of a relation


@dataclass
class Chain:
    """Mentions (indices into the document's mention list, ascending) that refer to one entity."""

    mentions: list[int] = field(default_factory=list)
    type: str = ""
    gender: str | None = None


class ChainBuilder(Protocol):
    def build(self, mentions: Sequence[Mention]) -> list[Chain]: ...


def document_mentions(doc: Any, types: frozenset[str]) -> list[Mention]:
    """Named-entity and he/she pronoun mentions of a spaCy ``Doc``, in text order."""
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in types]
    return sorted(span_mentions(doc, spans), key=lambda m: m.start)


def span_mentions(doc: Any, spans: Sequence[tuple[int, int, str]]) -> list[Mention]:
    """Mentions of the ``(start, end, type)`` character spans of a spaCy ``Doc`` (end exclusive), in the order
    given, then its he/she pronouns outside every span, in text order.

    The spans may be spaCy's own entities or another recognizer's (with its own type names). The tagger finds the
    pronouns (``pos_ == "PRON"``, possessive "his"/"her" included); a pipeline without one gives none.
    """
    sentence_of = [0] * len(doc)
    for k, sent in enumerate(doc.sents):
        sentence_of[sent.start : sent.end] = [k] * len(sent)
    covered: set[int] = set()
    mentions = []
    for start, end, type_ in spans:
        span = doc.char_span(start, end, alignment_mode="expand")  # a binary search, not a scan of the doc
        if span is None:
            raise DataError(f"mention [{start}, {end}) is not inside the document's {len(doc.text)} characters")
        covered.update(range(span.start, span.end))
        title = doc[span.start - 1].text if span.start > 0 else ""
        mentions.append(Mention(sentence_of[span.start], start, end, doc.text[start:end], type_, title))
    for token in doc:
        if token.i not in covered and token.lower_ in PRONOUNS and token.pos_ == "PRON":
            end = token.idx + len(token.text)
            possessive = token.tag_ == "PRP$"
            mentions.append(Mention(sentence_of[token.i], token.idx, end, token.text, "PRON", possessive=possessive))
    return mentions


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


def naming_mention(chain: Chain, mentions: Sequence[Mention]) -> Mention:
    """The mention that names the chain's entity: its longest name, not a pronoun; of names equal but for an
    article or punctuation ("The Boston Globe", "Boston Globe"), the barest, then the first.

    A chain of pronouns alone (possible from another :class:`ChainBuilder`) is named by its first mention.
    """
    named = [mentions[m] for m in chain.mentions if mentions[m].type != "PRON"]
    return max(named, key=lambda m: (len(normalise(m.text)), -len(m.text))) if named else mentions[chain.mentions[0]]


def _is_alias(short: Mention, long: Mention, person_types: frozenset[str]) -> bool:
    """``short`` names the same entity as the earlier ``long``: acronym, or a person's first/last name."""
    s, full = normalise(short.text), normalise(long.text)
    if not s or not full or s == full:
        return bool(s) and s == full
    if short.type.upper() in person_types and long.type.upper() in person_types:
        parts = full.split()
        return len(parts) > 1 and s in (parts[-1], parts[0]) and " " not in s
    return len(s) > 1 and s.replace(" ", "") == acronym(long.text) and short.type == long.type


def _offered(mention: Mention) -> set[Key]:
    """Keys under which ``mention`` can be the longer name in :func:`_is_alias`: its name, first and last word,
    acronym."""
    name = normalise(mention.text)
    words = name.split()
    if len(words) < 2:
        return {("name", name)}  # a one-word name has no acronym and no parts
    return {("name", name), ("acr", acronym(mention.text)), ("part", words[0]), ("part", words[-1])}


def _sought(mention: Mention) -> set[Key]:
    """Keys under which ``mention`` can be the shorter name in :func:`_is_alias`: every key that could match one of
    :func:`_offered`, so that looking them up finds a superset of the chains it is an alias in."""
    name = normalise(mention.text)
    return {("name", name), ("part", name), ("acr", name.replace(" ", ""))}


def _name_key(mention: Mention) -> tuple[str, str]:
    """(normalised name, type): all that :func:`_is_alias` reads of a mention."""
    return normalise(mention.text), mention.type


class _Index:
    """Chains by name key: the few chains a name could alias, instead of every chain of the document."""

    def __init__(self) -> None:
        self._chains: dict[Key, set[int]] = {}

    def add(self, chain: int, keys: Iterable[Key]) -> None:
        for key in keys:
            self._chains.setdefault(key, set()).add(chain)

    def lookup(self, keys: Iterable[Key]) -> set[int]:
        return set().union(*(self._chains.get(key, ()) for key in keys))


class _Building:
    """Chains under construction: the chains, each mention's chain, and indexes that keep finding a chain cheap.

    ``names`` holds each chain's distinct (normalised name, type) mentions: :func:`_is_alias` depends only on
    those, so checking them is checking every mention of the chain.
    """

    def __init__(self, mentions: Sequence[Mention], person_types: frozenset[str]) -> None:
        self.mentions = mentions
        self.person_types = person_types
        self.chains: list[Chain] = []
        self.chain_of: dict[int, int] = {}
        self.exact: dict[tuple[str, str], int] = {}  # (normalised name, type) -> the chain of its first mention
        self.names: list[dict[tuple[str, str], Mention]] = []
        self.index = _Index()

    def add(self, i: int, chain: int | None) -> int:
        """Put mention ``i`` in ``chain`` (None: a new one); its chain."""
        mention = self.mentions[i]
        if chain is None:
            self.chains.append(Chain(type=mention.type))
            self.names.append({})
            chain = len(self.chains) - 1
        self.chains[chain].mentions.append(i)  # mentions come in index order, so the list stays sorted
        self.chain_of[i] = chain
        key = _name_key(mention)
        if mention.type != "PRON":
            self.exact.setdefault(key, chain)
        if key not in self.names[chain]:
            self.names[chain][key] = mention
            self.index.add(chain, _offered(mention))
        return chain

    def find_named(self, mention: Mention) -> int | None:
        """The first chain with a mention of the same name and type, else the first with a name it aliases."""
        exact = self.exact.get(_name_key(mention))
        if exact is not None:
            return exact
        for c in sorted(self.index.lookup(_sought(mention))):
            if any(_is_alias(mention, other, self.person_types) for other in self.names[c].values()):
                return c
        return None


class NameChains:
    """Chains from names alone (exact, normalised, acronyms, partial person names), optionally plus pronouns.

    ``person_types`` are the entity types of people (any case): partial names and pronouns link only to them.
    """

    def __init__(
        self, pronouns: bool = True, max_pronoun_distance: int = 2, person_types: Iterable[str] = PERSON_TYPES
    ) -> None:
        self.pronouns = pronouns
        self.max_pronoun_distance = max_pronoun_distance
        self.person_types = frozenset(t.upper() for t in person_types)

    def build(self, mentions: Sequence[Mention]) -> list[Chain]:
        building = _Building(mentions, self.person_types)
        for i, mention in enumerate(mentions):
            if mention.type == "PRON":
                if self.pronouns:
                    self._resolve_pronoun(i, building)
                continue
            chain = building.chains[building.add(i, building.find_named(mention))]
            title = mention.title.lower().rstrip(".")
            if title in MALE_TITLES:
                chain.gender = chain.gender or "male"
            elif title in FEMALE_TITLES:
                chain.gender = chain.gender or "female"
        return _merge_late_aliases(building.chains, mentions, self.person_types)

    def _resolve_pronoun(self, i: int, building: _Building) -> None:
        """Link pronoun ``i`` to the nearest preceding person chain of its gender, a few sentences back at most."""
        mentions, pron = building.mentions, building.mentions[i]
        word = pron.text.lower()
        gender = "male" if word in MALE else "female" if word in FEMALE else None
        if gender is None:
            return
        for j in range(i - 1, -1, -1):
            candidate = mentions[j]
            if pron.sentence - candidate.sentence > self.max_pronoun_distance:
                return
            if j not in building.chain_of or candidate.type.upper() not in self.person_types:
                continue
            chain = building.chains[building.chain_of[j]]
            if chain.gender not in (None, gender):
                continue
            chain.gender = gender
            building.add(i, building.chain_of[j])
            return


def _merge_late_aliases(chains: list[Chain], mentions: Sequence[Mention], person_types: frozenset[str]) -> list[Chain]:
    """Join a chain of short names to a later chain whose full name they abbreviate ("Lineker" ... "Gary Lineker").

    Each chain is checked against the earlier chains that share a name key with it (a superset of those it could
    join), the first match winning, as a check against every earlier chain would do.
    """
    merged: list[Chain] = []
    names: list[dict[tuple[str, str], Mention]] = []  # per merged chain, its distinct named mentions
    offering, seeking = _Index(), _Index()
    for chain in chains:
        named = {_name_key(mentions[m]): mentions[m] for m in chain.mentions if mentions[m].type != "PRON"}
        offered = set().union(*map(_offered, named.values()))
        sought = set().union(*map(_sought, named.values()))
        candidates = sorted(offering.lookup(sought) | seeking.lookup(offered))
        target = next((t for t in candidates if _either_abbreviates(named, names[t], person_types)), None)
        if target is None:
            merged.append(chain)
            names.append(named)
            target = len(merged) - 1
        else:
            merged[target].mentions += chain.mentions
            merged[target].gender = merged[target].gender or chain.gender
            names[target] = named | names[target]
        offering.add(target, offered)
        seeking.add(target, sought)
    for chain in merged:
        chain.mentions.sort()
    return merged


def _either_abbreviates(
    a: dict[tuple[str, str], Mention], b: dict[tuple[str, str], Mention], person_types: frozenset[str]
) -> bool:
    shorts, fulls = list(a.values()), list(b.values())
    return bool(shorts and fulls) and (
        _abbreviates(shorts, fulls, person_types) or _abbreviates(fulls, shorts, person_types)
    )


def _abbreviates(shorts: Sequence[Mention], fulls: Sequence[Mention], person_types: frozenset[str]) -> bool:
    """Every mention in ``shorts`` is one word naming a person of ``fulls`` (its first or last name)."""
    return all(" " not in normalise(s.text) and any(_is_alias(s, f, person_types) for f in fulls) for s in shorts)


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
