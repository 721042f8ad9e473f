"""Mining positive sentence pairs from raw text for self-supervised relation pre-training.

Two sentences of one document that both mention the same two entity chains form a positive pair: they probably
express the same relation between the same entities. Pipeline: read documents -> spaCy sentence split and NER ->
mentions (named entities, plus he/she pronouns) -> chains (:mod:`relenc.pretraining.chains`) -> for every pair of
chains that co-occurs in two or more sentences, pairs of those sentences, with the two chains marked as head and
tail in the same order in both. Entity pairs that co-occur in one sentence only yield nothing.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relenc.data.readers._common import example_from_char_spans, json_objects, read_text
from relenc.data.readers.jsonl import example_to_dict
from relenc.errors import DataError
from relenc.io import write_lines_atomic
from relenc.nlp import DEFAULT_SPACY_MODEL, load_spacy
from relenc.pretraining.chains import FEMALE, MALE, Chain, Mention, NameChains, agree
from relenc.progress import progress_bar

DEFAULT_TYPES = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW", "LANGUAGE"}
)
_DOC = re.compile(r'<doc id="([^"]*)"[^>]*>\n(.*?)</doc>', re.S)


@dataclass(frozen=True)
class Document:
    id: str
    text: str


@dataclass
class MiningStats:
    documents: int = 0
    sentences: int = 0
    mentions: int = 0
    chains: int = 0
    entity_pairs_cooccurring: int = 0
    entity_pairs_in_two_or_more_sentences: int = 0
    pairs: int = 0
    duplicates_dropped: int = 0
    pairs_per_entity_pair: Counter[int] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        per = self.pairs_per_entity_pair
        n = sum(per.values())
        return {
            "documents": self.documents,
            "sentences": self.sentences,
            "mentions": self.mentions,
            "chains": self.chains,
            "entity_pairs_cooccurring": self.entity_pairs_cooccurring,
            "entity_pairs_in_two_or_more_sentences": self.entity_pairs_in_two_or_more_sentences,
            "pairs": self.pairs,
            "duplicates_dropped": self.duplicates_dropped,
            "pairs_per_entity_pair_mean": round(sum(k * v for k, v in per.items()) / n, 3) if n else 0.0,
            "pairs_per_entity_pair_max": max(per) if per else 0,
        }


def read_documents(path: str | Path) -> Iterator[Document]:
    """Documents from a file or a folder (recursively): WikiExtractor ``<doc>`` files, JSONL with ``text``, or text.

    A plain-text file is one document; a JSONL file has one ``{"id": ..., "text": ...}`` object per line.
    """
    root = Path(path)
    if not root.exists():
        raise DataError("file or folder not found", root)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for file in files:
        content = read_text(file)
        if file.suffix == ".jsonl":
            for number, record in json_objects(content, file, "a string field 'text'"):
                if not isinstance(record.get("text"), str):
                    raise DataError("each line needs a string field 'text'", file, f"line {number}")
                yield Document(str(record.get("id", f"{file.name}:{number}")), record["text"])
        elif "<doc " in content:
            for match in _DOC.finditer(content):
                body = match.group(2).split("\n", 1)  # the first line is the title
                text = body[1] if len(body) > 1 else ""
                if text.strip():
                    yield Document(match.group(1), text)
        elif content.strip():
            yield Document(file.stem, content)


def document_mentions(doc: Any, types: frozenset[str]) -> list[Mention]:
    """Named-entity and he/she pronoun mentions of a spaCy ``Doc``, in text order."""
    sentence_of = {}
    for k, sent in enumerate(doc.sents):
        for token in sent:
            sentence_of[token.i] = k
    mentions = []
    entity_tokens: set[int] = set()
    for ent in doc.ents:
        if ent.label_ not in types:
            continue
        entity_tokens.update(range(ent.start, ent.end))
        title = doc[ent.start - 1].text if ent.start > 0 else ""
        mentions.append(Mention(sentence_of[ent.start], ent.start_char, ent.end_char, ent.text, ent.label_, title))
    for token in doc:
        if token.i not in entity_tokens and token.lower_ in MALE | FEMALE and token.pos_ == "PRON":
            mentions.append(Mention(sentence_of[token.i], token.idx, token.idx + len(token.text), token.text, "PRON"))
    mentions.sort(key=lambda m: m.start)
    return mentions


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
                    "entities": [_chain_name(chains[a], mentions), _chain_name(chains[b], mentions)],
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


def _chain_name(chain: Chain, mentions: list[Mention]) -> str:
    named = [mentions[m].text for m in chain.mentions if mentions[m].type != "PRON"]
    return max(named, key=len) if named else mentions[chain.mentions[0]].text


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


def mine_pairs(
    documents: Iterable[Document],
    output: str | Path,
    spacy_model: str = DEFAULT_SPACY_MODEL,
    types: frozenset[str] = DEFAULT_TYPES,
    require_agreement: bool = False,
    max_pairs_per_entity_pair: int = 10,
    max_documents: int | None = None,
    progress: bool = True,
) -> MiningStats:
    """Mine pairs from documents into ``output`` (JSONL, written atomically); return the statistics."""
    nlp = load_spacy(spacy_model)
    docs = list(itertools.islice(documents, max_documents))
    stats = MiningStats()

    def lines() -> Iterator[str]:
        with progress_bar(enabled=progress, transient=True) as bar:
            task = bar.add_task("mining pairs", total=len(docs))
            texts = ((d.text, d.id) for d in docs)
            for spacy_doc, doc_id in nlp.pipe(texts, as_tuples=True, batch_size=16):
                for record in mine_document(
                    spacy_doc, doc_id, types, require_agreement, max_pairs_per_entity_pair, stats=stats
                ):
                    yield json.dumps(record, ensure_ascii=False)
                bar.advance(task)

    write_lines_atomic(output, lines())
    return stats
