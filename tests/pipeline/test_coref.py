"""Naming mentions within a document: pronouns and short names named after their entity, offsets kept."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

pytest.importorskip("spacy")

from relenc.pipeline.coref import resolve
from relenc.pipeline.entity import Entity

COOK = (
    "Tim Cook is the chief executive of Apple, which is based in Cupertino. He was born in Alabama. "
    "Cook said his company would grow."
)


def ner(doc: Any) -> list[Entity]:
    """spaCy's named entities, as the pipeline keeps them (no dates or numbers)."""
    return [Entity(e.text, e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ not in {"DATE", "TIME"}]


def at(text: str, mention: str, type_: str, after: int = 0) -> Entity:
    start = text.index(mention, after)
    return Entity(mention, start, start + len(mention), type_)


def by_offsets(entities: list[Entity]) -> dict[tuple[int, int], Entity]:
    return {(e.start, e.end): e for e in entities}


def assert_offsets_kept(text: str, given: list[Entity], resolved: list[Entity]) -> None:
    """Every mention is a slice of the text, in text order; the given entities come back unchanged but for a name,
    and the others are named pronouns."""
    assert all(text[e.start : e.end] == e.text for e in resolved)
    assert [e.start for e in resolved] == sorted(e.start for e in resolved)
    back = by_offsets([replace(e, name=None) for e in resolved])
    assert [back[(e.start, e.end)] for e in given] == given
    added = [e for e in resolved if (e.start, e.end) not in by_offsets(given)]
    assert all(e.text.lower() in {"he", "him", "his", "she", "her"} and e.name for e in added)


def test_pronoun_and_short_name_are_named_after_the_full_name(nlp: Any) -> None:
    given = ner(nlp(COOK))
    resolved = by_offsets(resolve(nlp(COOK), given))
    he = COOK.index("He was")
    assert resolved[(he, he + 2)] == Entity("He", he, he + 2, "PERSON", "Tim Cook")
    cook = COOK.index("Cook said")
    assert resolved[(cook, cook + 4)] == Entity("Cook", cook, cook + 4, "PERSON", "Tim Cook")
    his = COOK.index("his")
    assert (his, his + 3) not in resolved  # possessive: it links the chain, but is no relation argument
    assert resolved[(0, 8)] == Entity("Tim Cook", 0, 8, "PERSON")  # its own name: nothing to add
    assert resolved[(35, 40)].name is None and resolved[(35, 40)].text == "Apple"
    assert len(resolved) == len(given) + 1  # "He" added; "his" not


def test_offsets_are_kept_exactly(nlp: Any) -> None:
    given = ner(nlp(COOK))
    resolved = resolve(nlp(COOK), given)
    assert_offsets_kept(COOK, given, resolved)
    assert [replace(e, name=None) for e in resolved if e.type != "PERSON"] == [e for e in given if e.type != "PERSON"]


def test_pronoun_of_the_other_gender_is_not_linked(nlp: Any) -> None:
    she = "Mr. Smith founded Acme in Boston. She left the company."
    assert [e.text for e in resolve(nlp(she), ner(nlp(she)))] == ["Smith", "Acme", "Boston"]
    he = she.replace("She", "He")  # the same sentence with the title's gender is linked
    assert [(e.text, e.name) for e in resolve(nlp(he), ner(nlp(he)))][-1] == ("He", "Smith")


def test_pronoun_without_a_preceding_person_is_not_linked(nlp: Any) -> None:
    no_person = "The report came out on Monday. He denied it."
    assert resolve(nlp(no_person), ner(nlp(no_person))) == []
    before = "He met Tim Cook in Paris."  # the person comes after the pronoun: no cataphora
    assert [e.text for e in resolve(nlp(before), ner(nlp(before)))] == ["Tim Cook", "Paris"]


def test_conll04_types_and_configured_person_types(nlp: Any) -> None:
    text = "Angela Merkel visited Paris. Merkel met the mayor there. She praised the city."
    given = [at(text, "Angela Merkel", "Peop"), at(text, "Paris", "Loc"), at(text, "Merkel", "Peop", after=20)]
    resolved = resolve(nlp(text), given)
    assert [(e.text, e.type, e.name) for e in resolved] == [
        ("Angela Merkel", "Peop", None),
        ("Paris", "Loc", None),
        ("Merkel", "Peop", "Angela Merkel"),
        ("She", "Peop", "Angela Merkel"),
    ]
    assert_offsets_kept(text, given, resolved)
    humans = [replace(e, type="Human" if e.type == "Peop" else e.type) for e in given]
    assert [e.name for e in resolve(nlp(text), humans)] == [None, None, None]  # Human is no person type by default
    named = resolve(nlp(text), humans, person_types={"HUMAN"})
    assert [(e.text, e.type, e.name) for e in named][2:] == [
        ("Merkel", "Human", "Angela Merkel"),
        ("She", "Human", "Angela Merkel"),
    ]


def test_untyped_mentions_pass_through(nlp: Any) -> None:
    text = "Tim Cook visited Paris. He liked it."
    given = [Entity("Tim Cook", 0, 8), Entity("Paris", 17, 22), Entity("He", 24, 26)]
    assert resolve(nlp(text), given) == given
    typed_person = [replace(given[0], type="PERSON"), given[1], given[2]]  # "He" is given already: not added twice
    assert resolve(nlp(text), typed_person) == typed_person


def test_non_ascii_text_before_the_mentions(nlp: Any) -> None:
    text = "Café Müller 🙂 \u2013 „Straße“ in Zürich. Tim Cook visited Zürich. He liked it, and Cook stayed."
    visited, stayed = text.index("visited"), text.index("and Cook")
    given = [at(text, "Tim Cook", "PERSON"), at(text, "Zürich", "GPE", visited), at(text, "Cook", "PERSON", stayed)]
    resolved = resolve(nlp(text), given)
    he = text.index("He ")
    assert [(e.text, e.start, e.end, e.name) for e in resolved] == [
        ("Tim Cook", given[0].start, given[0].end, None),
        ("Zürich", given[1].start, given[1].end, None),
        ("He", he, he + 2, "Tim Cook"),
        ("Cook", given[2].start, given[2].end, "Tim Cook"),
    ]
    assert_offsets_kept(text, given, resolved)


def test_a_possessive_pronoun_is_no_mention(nlp: Any) -> None:
    """ "his neighbor, Robert Hayes": "his" links to John Miller's chain, but as a relation argument it would pair
    with Robert Hayes and give a triple the text does not state."""
    text = "Police said John Miller shot and killed his neighbor, Robert Hayes, on Sunday."
    doc = nlp(text)
    people = [
        Entity(name, text.index(name), text.index(name) + len(name), "PERSON")
        for name in ("John Miller", "Robert Hayes")
    ]
    assert [e.text for e in resolve(doc, people)] == ["John Miller", "Robert Hayes"]
