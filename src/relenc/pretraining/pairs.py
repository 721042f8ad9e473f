"""Mining positive sentence pairs from raw text for self-supervised relation pre-training.

Two sentences of one document that both mention the same two entity chains form a positive pair: they probably
express the same relation between the same entities. Pipeline: read documents -> spaCy sentence split and NER ->
mentions (named entities, plus he/she pronouns) -> chains (:mod:`relenc.chains`) -> for every pair of
chains that co-occurs in two or more sentences, pairs of those sentences, with the two chains marked as head and
tail in the same order in both. Entity pairs that co-occur in one sentence only yield nothing.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from relenc.chains import Chain, Mention, NameChains, agree, document_mentions, naming_mention
from relenc.data.readers._common import example_from_char_spans
from relenc.data.readers.jsonl import example_to_dict
from relenc.errors import DataError
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy
from relenc.pretraining.corpus import Document

if TYPE_CHECKING:
    from spacy.language import Language

DEFAULT_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW", "LANGUAGE"}
)
_SPACY_BATCH = 16  # documents per nlp.pipe batch: fixed, so that the batches (and so the output) never vary


@dataclass(frozen=True)
class MiningSettings:
    """Everything that decides which pairs a document gives: a resumed run must use the same."""

    spacy_model: str = DEFAULT_SPACY_MODEL
    types: frozenset[str] = DEFAULT_TYPES
    require_agreement: bool = False
    max_pairs_per_entity_pair: int = 10
    max_sentence_chars: int = 600

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
    duplicates_dropped: int = 0
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
        counts = {f.name: int(record[f.name]) for f in fields(cls) if f.name != "pairs_per_entity_pair"}
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
        records = mine_document(
            spacy_doc,
            doc_id,
            settings.types,
            settings.require_agreement,
            settings.max_pairs_per_entity_pair,
            settings.max_sentence_chars,
            stats=stats,
        )
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
    doc: Any,
    doc_id: str,
    types: frozenset[str] = DEFAULT_TYPES,
    require_agreement: bool = False,
    max_pairs_per_entity_pair: int = 10,
    max_sentence_chars: int = 600,
    stats: MiningStats | None = None,
) -> list[dict[str, Any]]:
    """Positive pairs of one spaCy-processed document, as JSON-ready records."""
    stats = stats if stats is not None else MiningStats()
    mentions = document_mentions(doc, types)
    chains = NameChains(pronouns=True).build(mentions)
    if require_agreement:
        chains = agree(chains, NameChains(pronouns=False).build(mentions))
    sentences = list(doc.sents)
    stats.documents += 1
    stats.sentences += len(sentences)
    stats.mentions += len(mentions)
    stats.chains += len(chains)
    first, by_pair = _cooccurrences(chains, mentions)
    stats.entity_pairs_cooccurring += len(by_pair)
    records = []
    for (a, b), sents in by_pair.items():
        if len(sents) < 2:
            continue
        stats.entity_pairs_in_two_or_more_sentences += 1
        made = 0
        seen: set[tuple[str, str]] = set()
        for s1, s2 in itertools.combinations(sents, 2):
            if made >= max_pairs_per_entity_pair:
                break
            x = _sentence_example(sentences[s1], first[s1][a], first[s1][b], f"{doc_id}:{s1}", max_sentence_chars)
            y = _sentence_example(sentences[s2], first[s2][a], first[s2][b], f"{doc_id}:{s2}", max_sentence_chars)
            if x is None or y is None:
                continue
            key = (x["text"], y["text"])
            if key in seen or x["text"] == y["text"]:
                stats.duplicates_dropped += 1
                continue
            seen.add(key)
            made += 1
            records.append(
                {
                    "id": f"{doc_id}:{a}-{b}:{made}",
                    "entities": [naming_mention(chains[a], mentions).text, naming_mention(chains[b], mentions).text],
                    "a": x,
                    "b": y,
                }
            )
        if made:
            stats.pairs_per_entity_pair[made] += 1
    stats.pairs += len(records)
    return records


def _cooccurrences(
    chains: list[Chain], mentions: list[Mention]
) -> tuple[dict[int, dict[int, Mention]], dict[tuple[int, int], list[int]]]:
    """Per sentence, the first mention of each chain in it; per pair of chains, the sentences that mention both
    (the candidates for a positive pair: two sentences about the same entity pair)."""
    first: dict[int, dict[int, Mention]] = {}
    for c, chain in enumerate(chains):
        for m in chain.mentions:
            mention = mentions[m]
            first.setdefault(mention.sentence, {}).setdefault(c, mention)
    by_pair: dict[tuple[int, int], list[int]] = {}
    for s, present in sorted(first.items()):
        for a, b in itertools.combinations(sorted(present), 2):
            by_pair.setdefault((a, b), []).append(s)
    return first, by_pair


def _sentence_example(sent: Any, head: Mention, tail: Mention, id_: str, max_chars: int) -> dict[str, Any] | None:
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
