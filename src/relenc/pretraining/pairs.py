"""Mining positive sentence pairs from raw text for self-supervised pre-training.

Two sentences of one document that both mention the same two entity chains form a positive pair: they probably
express the same relation between the same entities. Pipeline: read documents -> spaCy sentence split and NER ->
mentions (named entities, plus he/she pronouns) -> chains (:mod:`relenc.chains`) -> for every pair of
chains that co-occurs in two or more sentences, pairs of those sentences, with the two chains marked as head and
tail in the same order in both. Entity pairs that co-occur in one sentence only yield nothing.

Precision filters (each a :class:`MiningSettings` field; the defaults come from 100 hand-labelled pairs of the large
Wikipedia run, where 55 were right: see ``docs/results.md``): only people, organisations, places and facilities are
entities (``types``: nationalities, works and events gave 2 right pairs of 17); a possessive pronoun ("his band")
marks no argument (it still links its chain: in the sample most wrong pronoun links were possessive tails); head and
tail at most ``max_entity_distance`` words apart in both sentences (far apart, a sentence mostly says something else
about them); head and tail not items of one list (``drop_lists``: "Canada, [[Finland]], Sweden and <<Norway>>" says
nothing of the two; a second labelled sample found 8 of 100 pairs so); and no two sentences that share
``near_duplicate`` of their words (a copy teaches nothing).

``drop_fragments`` (off by default) also drops examples whose head or tail is a piece of a longer name ("<<St.>>
[[James Seminary]]", "<<Highway>> 2"): 17 of a third labelled sample's 100 pairs had a wrong entity, most of them such
pieces, but on the two samples it was not designed on it dropped as many true pairs as false ones.

``arguments`` can also keep pronouns (``names``) or pronouns and short names (``full-names``) from being a relation
example's head or tail; they still link their chains. Of 200 labelled pairs, those with a pronoun argument were
right 9 of 34 times, a short name 42 of 82, full names only 59 of 84; but a fresh sample mined with ``full-names``
was right 50 of 100 times (wrong entities and lists took the place of wrong pronoun links), no better than the
default's 55, on half the pairs. So the default keeps every mention but possessives.

Each relation pair carries up to ``max_hard_negatives`` hard negatives: sentences of the same document that mention
its head with another tail (and not its tail), marked with that head and the other entity nearest to it. They are
what a name-matching shortcut gets wrong, so the loss learns more from them than from random in-batch sentences.

With ``kind="entity"`` the records are entity-chain pairs instead, for the entity encoder: two sentences that
mention one chain, which is marked as the head in both (the tail is the other entity nearest to it, since the
entity encoder always reads marked pairs). Every chain of the corpus counts, not only the heads of relation pairs.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal

from relenc.chains import Chain, Mention, NameChains, agree, document_mentions, naming_mention, normalise
from relenc.data.readers._common import example_from_char_spans
from relenc.data.readers.jsonl import example_to_dict
from relenc.errors import DataError
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy
from relenc.pretraining.corpus import Document

if TYPE_CHECKING:
    from spacy.language import Language

#: spaCy's entity types that mining reads by default: the arguments of most relations between named entities.
DEFAULT_TYPES = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC"})
_SPACY_BATCH = 16  # documents per nlp.pipe batch: fixed, so that the batches (and so the output) never vary
Kind = Literal["relation", "entity"]
KINDS: tuple[Kind, ...] = ("relation", "entity")
#: Which mentions of a chain may be a relation example's head or tail (every mention still links its chain).
Arguments = Literal["all", "names", "full-names"]
ARGUMENTS: tuple[Arguments, ...] = ("all", "names", "full-names")
Record = dict[str, Any]  # a JSON-ready record: one line of a shard


@dataclass(frozen=True)
class MiningSettings:
    """Everything that decides which pairs a document gives: a resumed run must use the same."""

    spacy_model: str = DEFAULT_SPACY_MODEL
    types: frozenset[str] = DEFAULT_TYPES
    require_agreement: bool = False
    max_pairs_per_entity_pair: int = 10  # per chain for entity-chain pairs
    max_sentence_chars: int = 600
    max_entity_distance: int | None = 15  # words between head and tail in a relation example (None: any)
    near_duplicate: float = 0.8  # drop pairs whose sentences share this fraction of their words (Jaccard)
    drop_lists: bool = True  # drop relation examples whose head and tail are items of one list
    drop_fragments: bool = False  # drop relation examples whose head or tail is a piece of a longer name
    arguments: Arguments = "all"  # relation examples: mentions that may be head or tail (see ARGUMENTS)
    max_hard_negatives: int = 3
    kind: Kind = "relation"

    def to_json(self) -> dict[str, Any]:
        """JSON values, the types sorted, so that equal settings give equal JSON (compared when resuming)."""
        return {**asdict(self), "types": sorted(self.types)}


@dataclass
class MiningStats:
    """Counts of a mining run or of a part of one; parts add up with :meth:`merge`."""

    documents: int = 0
    sentences: int = 0
    mentions: int = 0
    chains: int = 0
    entity_pairs_cooccurring: int = 0
    entity_pairs_in_two_or_more_sentences: int = 0
    pairs: int = 0
    hard_negatives: int = 0  # hard-negative sentences written (a sentence counts once per record carrying it)
    duplicates_dropped: int = 0  # sentence pairs that were (near) copies
    too_far_dropped: int = 0  # relation examples whose head and tail were more than max_entity_distance apart
    lists_dropped: int = 0  # relation examples whose head and tail were items of one list
    fragments_dropped: int = 0  # relation examples whose head or tail was a piece of a longer name
    pairs_per_entity_pair: Counter[int] = field(default_factory=Counter)

    def merge(self, other: MiningStats) -> None:
        """Add ``other``'s counts to these (a chunk's to its shard's, a shard's to the run's)."""
        for f in fields(self):
            if f.name != "pairs_per_entity_pair":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        self.pairs_per_entity_pair.update(other.pairs_per_entity_pair)

    def to_record(self) -> dict[str, Any]:
        """Every count as JSON, the histogram included, so that :meth:`from_record` restores it exactly (a
        resumed run's totals add up the shards already in its manifest)."""
        record = asdict(self)
        record["pairs_per_entity_pair"] = {str(k): v for k, v in sorted(self.pairs_per_entity_pair.items())}
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> MiningStats:
        # a count an older relenc did not keep (hard_negatives, too_far_dropped, lists_dropped, ...) was zero
        counts = {f.name: int(record.get(f.name, 0)) for f in fields(cls) if f.name != "pairs_per_entity_pair"}
        histogram = Counter({int(k): int(v) for k, v in record["pairs_per_entity_pair"].items()})
        return cls(**counts, pairs_per_entity_pair=histogram)

    def to_dict(self) -> dict[str, Any]:
        """The summary a user reads: the counts, and the histogram as its mean and maximum."""
        per = self.pairs_per_entity_pair
        n = sum(per.values())
        summary = {k: v for k, v in self.to_record().items() if k != "pairs_per_entity_pair"}
        summary["pairs_per_entity_pair_mean"] = round(sum(k * v for k, v in per.items()) / n, 3) if n else 0.0
        summary["pairs_per_entity_pair_max"] = max(per) if per else 0
        return summary


@dataclass
class ChunkResult:
    """What a chunk of documents gives: its pairs as JSON lines, in document order, and its counts."""

    lines: list[str]
    stats: MiningStats


def mine_chunk(documents: Sequence[Document], settings: MiningSettings) -> ChunkResult:
    """Mine a chunk of documents: the unit of work of a worker process (or of any other map, e.g. Ray's).

    A pure function of its arguments, so a chunk gives the same lines whichever process runs it, and runs can be
    split across workers and resumed without changing the output. The spaCy pipeline is loaded once per process.
    """
    nlp = _pipeline(settings.spacy_model)
    stats = MiningStats()
    lines: list[str] = []
    texts = ((d.text, d.id) for d in documents)
    for spacy_doc, doc_id in nlp.pipe(texts, as_tuples=True, batch_size=_SPACY_BATCH):
        records = mine_document(spacy_doc, doc_id, settings, stats=stats)
        lines.extend(json.dumps(record, ensure_ascii=False) for record in records)
    return ChunkResult(lines, stats)


@functools.cache
def _pipeline(name: str) -> Language:
    """The spaCy pipeline, loaded on a process's first chunk and kept for the next ones.

    Without its lemmatizer, which nothing here reads (mentions need sentences, entities and part-of-speech tags):
    7% faster, the same pairs.
    """
    return load_spacy(name, exclude=("lemmatizer",))


def mine_document(
    doc: Any, doc_id: str, settings: MiningSettings | None = None, stats: MiningStats | None = None
) -> list[Record]:
    """The records of one spaCy-processed document (positive pairs of ``settings.kind``), JSON-ready."""
    settings = settings or MiningSettings()
    stats = stats if stats is not None else MiningStats()
    mentions = document_mentions(doc, settings.types)
    chains = NameChains(pronouns=True).build(mentions)
    if settings.require_agreement:
        chains = agree(chains, NameChains(pronouns=False).build(mentions))
    sentences = list(doc.sents)
    stats.documents += 1
    stats.sentences += len(sentences)
    stats.mentions += len(mentions)
    stats.chains += len(chains)
    arguments = settings.arguments if settings.kind == "relation" else "all"
    first = _first_mentions(chains, mentions, arguments)
    document = _Document(doc_id, sentences, mentions, chains, first, settings)
    records = _entity_records(document, stats) if settings.kind == "entity" else _relation_records(document, stats)
    stats.pairs += len(records)
    return records


@dataclass(frozen=True)
class _Document:
    """One document's sentences, mentions and chains; ``first``: per sentence, the first mention of each chain in
    it (what a sentence example marks)."""

    id: str
    sentences: list[Any]
    mentions: list[Mention]
    chains: list[Chain]
    first: dict[int, dict[int, Mention]]
    settings: MiningSettings

    def example(self, sentence: int, head: int, tail: int) -> Record | None:
        """Sentence ``sentence`` with chains ``head`` and ``tail`` marked, or None if unusable."""
        present = self.first[sentence]
        where = f"{self.id}:{sentence}"
        return _sentence_example(
            self.sentences[sentence], present[head], present[tail], where, self.settings.max_sentence_chars
        )

    def relation_example(self, sentence: int, head: int, tail: int, stats: MiningStats) -> Record | None:
        """:meth:`example`, unless head and tail are more than ``max_entity_distance`` words apart, items of one
        list (``drop_lists``) or one of them a piece of a longer name (``drop_fragments``)."""
        record = self.example(sentence, head, tail)
        if record is None:
            return None
        limit = self.settings.max_entity_distance
        if limit is not None and _distance(record) > limit:
            stats.too_far_dropped += 1
            return None
        if self.settings.drop_lists and self.in_one_list(sentence, head, tail):
            stats.lists_dropped += 1
            return None
        if self.settings.drop_fragments and (self.is_fragment(sentence, head) or self.is_fragment(sentence, tail)):
            stats.fragments_dropped += 1
            return None
        return record

    def in_one_list(self, sentence: int, head: int, tail: int) -> bool:
        """Whether only list glue (commas, "and", brackets) and other mentions stand between the two chains'
        mentions in ``sentence``, with another mention or a comma and a conjunction among it: "A, B and C", "A, and
        C", "A (X), B (Y), C". "Denpasar, Bali" (a place and its region) and "A and B" are no list."""
        first, second = sorted((self.first[sentence][head], self.first[sentence][tail]), key=lambda m: m.start)
        text = self.sentences[sentence].doc.text
        inside = [m for m in self.mentions if first.end <= m.start and m.end <= second.start and m.type != "PRON"]
        cursor, glue = first.end, []
        for m in sorted(inside, key=lambda m: m.start):
            glue.append(text[cursor : m.start])
            cursor = m.end
        words = _GLUE_TOKEN.findall(" ".join([*glue, text[cursor : second.start]]).lower())
        if not set(words) <= _LIST_GLUE:
            return False
        return bool(inside) or ("," in words and bool(_CONJUNCTIONS & set(words)))

    def is_fragment(self, sentence: int, chain: int) -> bool:
        """Whether the chain's mention in ``sentence`` looks like a piece of a longer name: glued (by a space) to a
        capitalised word, a short number or "&" ("<<St.>> James Seminary", "Calle Cristina and <<Calle>> Mayor",
        "<<Highway>> 2", "31 <<Avenue>>", "Steel & <<Coal Company>>"). A person's name may follow a capitalised
        title ("President Obama"), a name may be followed by an acronym ("Apple CEO"), and the sentence's first word
        is capitalised anyway."""
        mention = self.first[sentence][chain]
        sent = self.sentences[sentence]
        text = sent.doc.text
        if "&" in mention.text:
            return True
        after = text[mention.end : sent.end_char]
        if _NAME_AFTER.match(after):
            return True
        before = text[sent.start_char : mention.start]
        word = _NAME_BEFORE.search(before)
        if word is None or not before[: word.start(1)].strip():  # nothing, or the sentence's first word
            return False
        return mention.type != "PERSON" or not word.group(1)[0].isupper()

    def mention_example(self, chain: int, sentence: int) -> Record | None:
        """Sentence ``sentence`` with ``chain`` as the head and the other chain nearest to it as the tail."""
        other = self.nearest_other(sentence, chain)
        return None if other is None else self.example(sentence, chain, other)

    def nearest_other(self, sentence: int, chain: int) -> int | None:
        """The other chain of the sentence whose mention is nearest to ``chain``'s (the earlier of equals)."""
        present = self.first[sentence]
        anchor = present[chain].start
        others = (c for c in present if c != chain)
        return min(others, key=lambda c: (abs(present[c].start - anchor), present[c].start), default=None)

    def name(self, chain: int) -> str:
        return naming_mention(self.chains[chain], self.mentions).text


def _relation_records(doc: _Document, stats: MiningStats) -> list[Record]:
    """Pairs of sentences about the same two chains, each with the hard negatives of its head."""
    by_pair: dict[tuple[int, int], list[int]] = {}
    for s, present in sorted(doc.first.items()):
        for a, b in itertools.combinations(sorted(present), 2):
            by_pair.setdefault((a, b), []).append(s)
    stats.entity_pairs_cooccurring += len(by_pair)
    records = []
    for (a, b), sents in by_pair.items():
        if len(sents) < 2:
            continue
        stats.entity_pairs_in_two_or_more_sentences += 1
        example = functools.partial(doc.relation_example, head=a, tail=b, stats=stats)
        pairs = _sentence_pairs(sents, example, doc.settings, stats)
        hard = _hard_negatives(doc, a, b) if pairs else []
        stats.hard_negatives += len(hard) * len(pairs)
        names = [doc.name(a), doc.name(b)]
        records += [
            {"id": f"{doc.id}:{a}-{b}:{k}", "entities": names, "a": x, "b": y, "hard_negatives": hard}
            for k, (x, y) in enumerate(pairs, 1)
        ]
    return records


def _hard_negatives(doc: _Document, head: int, tail: int) -> list[Record]:
    """Up to ``max_hard_negatives`` sentences (in document order, one example each) that mention ``head`` but not
    ``tail``, marked with ``head`` and the other chain nearest to it: the same head with another tail."""
    found: list[Record] = []
    for s, present in sorted(doc.first.items()):
        if len(found) >= doc.settings.max_hard_negatives:
            break
        if head in present and tail not in present and (example := doc.mention_example(head, s)) is not None:
            found.append(example)
    return found


def _entity_records(doc: _Document, stats: MiningStats) -> list[Record]:
    """Pairs of sentences that mention the same chain, marked as the head in both."""
    by_chain: dict[int, list[int]] = {}
    for s, present in sorted(doc.first.items()):
        for c in sorted(present):
            by_chain.setdefault(c, []).append(s)
    records = []
    for c, sents in sorted(by_chain.items()):
        if len(sents) < 2:
            continue
        pairs = _sentence_pairs(sents, functools.partial(doc.mention_example, c), doc.settings, stats)
        name = doc.name(c)
        records += [
            {"id": f"{doc.id}:{c}:{k}", "kind": "entity", "entity": name, "a": x, "b": y}
            for k, (x, y) in enumerate(pairs, 1)
        ]
    return records


def _sentence_pairs(
    sentences: list[int], example: Callable[[int], Record | None], settings: MiningSettings, stats: MiningStats
) -> list[tuple[Record, Record]]:
    """Up to ``max_pairs_per_entity_pair`` pairs of the sentences (in order) whose examples are usable and whose
    words differ (a repeated sentence is no second view); each sentence's example is made once."""
    view = functools.cache(example)
    pairs: list[tuple[Record, Record]] = []
    seen: set[tuple[str, str]] = set()
    for s1, s2 in itertools.combinations(sentences, 2):
        if len(pairs) >= settings.max_pairs_per_entity_pair:
            break
        x, y = view(s1), view(s2)
        if x is None or y is None:
            continue
        key = (x["text"], y["text"])
        if key in seen or _overlap(x, y) >= settings.near_duplicate:
            stats.duplicates_dropped += 1
            continue
        seen.add(key)
        pairs.append((x, y))
    if pairs:
        stats.pairs_per_entity_pair[len(pairs)] += 1
    return pairs


_GLUE_TOKEN = re.compile(r"\w+|[^\w\s]")
_CONJUNCTIONS = frozenset({"and", "or", "&"})
_LIST_GLUE = _CONJUNCTIONS | frozenset({",", ";", "(", ")", "/", '"'})
# a word glued by spaces to a mention that makes it part of a longer name: capitalised, a short number, "&"; after
# the mention not an acronym ("Apple CEO Tim Cook" is no fragment)
_NAME_AFTER = re.compile(r"[ \t]+(?:&|\d|[A-Z](?![A-Z\d]+\b))")
_NAME_BEFORE = re.compile(r"(?:^|\s)(&(?:amp;)?|[A-Z][\w.'-]*|\d{1,3})[ \t]+$")


def _overlap(x: Record, y: Record) -> float:
    """The Jaccard overlap of two examples' words (lower case): 1.0 for the same sentence."""
    a, b = {w.lower() for w in x["tokens"]}, {w.lower() for w in y["tokens"]}
    return len(a & b) / len(a | b) if a | b else 1.0


def _distance(record: Record) -> int:
    """Words between an example's head and tail."""
    h, t = record["h"], record["t"]
    return max(0, max(h["start"], t["start"]) - min(h["end"], t["end"]))


def _first_mentions(
    chains: list[Chain], mentions: list[Mention], arguments: Arguments = "all"
) -> dict[int, dict[int, Mention]]:
    """Per sentence, the first mention of each chain in it that can be an argument: never a possessive pronoun;
    with ``arguments="names"`` no pronoun; with ``"full-names"`` only the chain's full name ("Joe Gibbs", not
    "Gibbs" or "he"), up to case, punctuation and a leading "the"."""
    first: dict[int, dict[int, Mention]] = {}
    for c, chain in enumerate(chains):
        full = normalise(naming_mention(chain, mentions).text) if arguments == "full-names" else None
        for m in chain.mentions:
            mention = mentions[m]
            if mention.possessive or (arguments != "all" and mention.type == "PRON"):
                continue
            if arguments == "full-names" and normalise(mention.text) != full:
                continue
            first.setdefault(mention.sentence, {}).setdefault(c, mention)
    return first


def _sentence_example(sent: Any, head: Mention, tail: Mention, id_: str, max_chars: int) -> Record | None:
    """The sentence as a generic-JSONL example with head and tail marked, or None if unusable."""
    text = sent.text
    if len(text) > max_chars:
        return None
    offset = sent.start_char
    h = (head.start - offset, head.end - offset)
    t = (tail.start - offset, tail.end - offset)
    if h[0] < t[1] and t[0] < h[1]:
        return None
    try:
        example = example_from_char_spans(id_, text, h, t, None, head.type, tail.type)
    except DataError:
        return None  # a span the tokenizer cannot honour (e.g. only whitespace): skip this sentence, not the job
    return example_to_dict(example)
