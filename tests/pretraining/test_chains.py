"""Chains from rules: names, acronyms, partial names, pronouns; agreement of two builders."""

from __future__ import annotations

from relenc.chains import Chain, Mention, NameChains, acronym, agree, normalise


def m(sentence: int, text: str, type_: str, title: str = "") -> Mention:
    return Mention(sentence, 0, len(text), text, type_, title)


def texts(chains: list[Chain], mentions: list[Mention]) -> list[list[str]]:
    return [[mentions[i].text for i in c.mentions] for c in chains]


def test_normalise_and_acronym() -> None:
    assert normalise("The I.B.M.'s") == "ibm"
    assert acronym("International Business Machines") == "ibm"
    assert acronym("Bank of America") == "ba"
    assert acronym("Paris") == ""


def test_names_acronyms_and_partial_person_names() -> None:
    mentions = [
        m(0, "Barack Obama", "PERSON"),
        m(0, "International Business Machines", "ORG"),
        m(1, "Obama", "PERSON"),
        m(1, "IBM", "ORG"),
        m(2, "the international business machines", "ORG"),
        m(2, "Michelle Obama", "PERSON"),
    ]
    chains = NameChains().build(mentions)
    assert texts(chains, mentions) == [
        ["Barack Obama", "Obama"],
        ["International Business Machines", "IBM", "the international business machines"],
        ["Michelle Obama"],
    ]


def test_short_name_before_full_name() -> None:
    mentions = [m(0, "Lineker", "PERSON"), m(1, "Everton", "ORG"), m(2, "Gary Winston Lineker", "PERSON")]
    assert texts(NameChains().build(mentions), mentions) == [["Lineker", "Gary Winston Lineker"], ["Everton"]]


def test_pronouns_follow_gender() -> None:
    mentions = [
        m(0, "Barack Obama", "PERSON"),
        m(1, "He", "PRON"),
        m(1, "Michelle Robinson", "PERSON"),
        m(2, "She", "PRON"),
        m(2, "him", "PRON"),
        m(3, "Smith", "PERSON", title="Mrs."),
        m(3, "he", "PRON"),
    ]
    chains = NameChains().build(mentions)
    assert texts(chains, mentions) == [
        ["Barack Obama", "He", "him"],
        ["Michelle Robinson", "She"],
        ["Smith"],  # Mrs. Smith is female, so "he" does not attach; Barack Obama is too far back
    ]
    assert chains[2].gender == "female"


def test_pronouns_can_be_switched_off_and_agreement() -> None:
    mentions = [m(0, "Ann Lee", "PERSON"), m(1, "She", "PRON"), m(1, "Lee", "PERSON")]
    with_pronouns = NameChains().build(mentions)
    names_only = NameChains(pronouns=False).build(mentions)
    assert texts(names_only, mentions) == [["Ann Lee", "Lee"]]
    assert texts(agree(with_pronouns, names_only), mentions) == [["Ann Lee", "Lee"]]
