"""Naming a document's mentions after their entities: "He" and "Cook" after "Tim Cook" are named "Tim Cook".

A triple from "He was born in Alabama." says little unless it says who "He" is. Before pairing, the pipeline passes
a document's mentions to :func:`resolve`: they are chained with the rules of :mod:`relenc.chains` (the same name, an
acronym, a person's first or last name; he/she to the nearest preceding person of that gender, at most two sentences
back), and each is named after its chain's longest name. A pronoun becomes a mention only when it is linked and not
possessive ("his", "her company"); it keeps its own offsets (the classifier reads the sentence it is in) and takes
the type of the person it refers to, so type-pair filters treat it as that person. they/it are never linked: the
rules cannot tell their referents apart.

Mentions without a type (noun-chunk heads for nominal relations, or a caller's untyped entities) are not names, or
cannot be told to be people: they pass through unnamed. The cost is about linear in the document's length.

Imports allowed: :mod:`relenc.chains` (shared with pre-training, which the pipeline may not import) and
:mod:`relenc.pipeline.entity`. spaCy is not imported: only the ``Doc`` given is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from relenc.chains import PERSON_TYPES, Chain, Mention, NameChains, naming_mention, span_mentions
from relenc.pipeline.entity import Entity

#: The person types :func:`resolve` assumes (any case): spaCy's and TACRED/KBP's PERSON, PER, CoNLL04's Peop.
DEFAULT_PERSON_TYPES = PERSON_TYPES


def resolve(doc: Any, entities: Sequence[Entity], person_types: Iterable[str] = DEFAULT_PERSON_TYPES) -> list[Entity]:
    """``entities`` of the spaCy ``doc`` (offsets into ``doc.text``), named, plus the pronouns linked to them.

    Each entity whose chain's name differs from its text gets that ``name``; every he/him/his/she/her pronoun linked
    to a person among them is added as a mention with its own offsets, the person's type and name. The result is in
    text order. ``person_types`` are the entity types of people (any case); pronouns link only to those.
    """
    typed = [i for i, e in enumerate(entities) if e.type is not None]
    found = span_mentions(doc, [(entities[i].start, entities[i].end, entities[i].type or "") for i in typed])
    order = sorted(range(len(found)), key=lambda k: found[k].start)  # found: the typed entities, then pronouns
    mentions = [found[k] for k in order]
    builder = NameChains(pronouns=True, person_types=person_types)
    named = list(entities)
    taken = {(e.start, e.end) for e in entities}  # an untyped entity may be a pronoun: not twice
    pronouns = []
    for chain in builder.build(mentions):
        name = naming_mention(chain, mentions).text
        referents = _referent_types(chain, mentions, builder.person_types)
        for m in chain.mentions:
            k = order[m]
            if k < len(typed) and entities[typed[k]].text != name:
                named[typed[k]] = replace(entities[typed[k]], name=name)
            elif k >= len(typed) and (mentions[m].start, mentions[m].end) not in taken:
                if mentions[m].possessive:  # "his neighbor": links the chain, but is no argument of its own
                    continue
                pronouns.append(Entity(mentions[m].text, mentions[m].start, mentions[m].end, referents[m], name))
    return sorted(named + pronouns, key=lambda e: e.start)


def _referent_types(chain: Chain, mentions: Sequence[Mention], person_types: frozenset[str]) -> dict[int, str]:
    """The type of the person each pronoun of ``chain`` refers to: the chain's nearest earlier person mention.

    That is the mention the pronoun was linked through; the chain's own type may be another (a GPE "Washington"
    and a PERSON "Washington" share a chain).
    """
    types: dict[int, str] = {}
    last = chain.type
    for m in chain.mentions:
        mention = mentions[m]
        if mention.type == "PRON":
            types[m] = last
        elif mention.type.upper() in person_types:
            last = mention.type
    return types
