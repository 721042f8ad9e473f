"""The extraction pipeline on tokenised sentences (SpERT-style data): predicted sentences, scored end to end.

Evaluation must judge exactly what a user gets from raw text, so it runs the same :class:`Pipeline` (recognizer,
candidates, classifier, decisions); only the sentence splitting and tokenisation are the data's own, so a predicted
mention lines up with a gold one token for token. Each sentence becomes a one-sentence spaCy ``Doc`` of its tokens,
and the triples come back as :class:`~relenc.data.sentence.Sentence` records with every predicted mention and the
relations between them, each with its score: :func:`at_threshold` keeps those a threshold keeps, which is how
:func:`tune_threshold` finds the no-relation threshold with the best strict micro-F1 from one pass over dev.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from relenc.data.sentence import Mention, Relation, Sentence
from relenc.evaluation.end2end import score_end2end
from relenc.pipeline.entity import Entity
from relenc.pipeline.extract import Pipeline


@dataclass(frozen=True)
class ScoredSentence:
    """A predicted sentence (its mentions, no relations) and its relations with their scores."""

    sentence: Sentence
    relations: tuple[tuple[Relation, float], ...]


def sentence_docs(sentences: Sequence[Sentence]) -> list[Any]:
    """One spaCy ``Doc`` per sentence: its tokens joined by single spaces, and one sentence (no splitting)."""
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    vocab = Vocab()
    docs = []
    for s in sentences:
        starts: list[bool | int | None] = [True]
        starts += [False] * (len(s.tokens) - 1)
        docs.append(Doc(vocab, words=list(s.tokens), sent_starts=starts))
    return docs


def predict_sentences(pipeline: Pipeline, sentences: Sequence[Sentence]) -> list[ScoredSentence]:
    """The pipeline's mentions and relations for each sentence (its gold mentions and relations are not used).

    Mentions are not named after their entities here (:mod:`relenc.pipeline.coref`): a sentence is judged on its
    own mentions, and naming would merge the triples of two mentions of one entity into one.
    """
    pipeline = Pipeline(pipeline.model, replace(pipeline.config, resolve_mentions=False))
    docs = sentence_docs(sentences)
    found = pipeline.find(docs)
    triples = pipeline.triples(len(docs), found.candidates, pipeline.classify(found.candidates))
    return [
        _scored(sentence, doc, mentions, doc_triples)
        for sentence, doc, mentions, doc_triples in zip(sentences, docs, found.mentions, triples, strict=True)
    ]


def _scored(sentence: Sentence, doc: Any, mentions: Sequence[Entity], triples: Sequence[Any]) -> ScoredSentence:
    """Map character offsets back to token spans, and triples to relations between mention indices."""
    index = {(e.start, e.end): k for k, e in enumerate(mentions)}
    spans = [doc.char_span(e.start, e.end) for e in mentions]
    predicted = tuple(
        Mention(span.start, span.end, e.type or "entity") for span, e in zip(spans, mentions, strict=True)
    )
    relations = tuple(
        (Relation(t.relation, index[(t.head.start, t.head.end)], index[(t.tail.start, t.tail.end)]), t.score)
        for t in triples
    )
    return ScoredSentence(Sentence(sentence.id, sentence.tokens, predicted), relations)


def at_threshold(scored: Sequence[ScoredSentence], threshold: float) -> list[Sentence]:
    """The predicted sentences with the relations scoring at least ``threshold``."""
    return [replace(s.sentence, relations=tuple(r for r, score in s.relations if score >= threshold)) for s in scored]


def tune_threshold(gold: Sequence[Sentence], scored: Sequence[ScoredSentence]) -> tuple[float, float]:
    """The threshold with the best strict micro-F1 on ``gold`` and that F1, from predictions made at threshold 0.

    Candidates are the distinct scores themselves (between two of them F1 cannot change) and 0.5; a tie goes to the
    lower threshold, the one that keeps more triples, except that a dev set on which nothing scores keeps the plain
    default, 0.5. Scores below 0.5 are candidates too: with many labels the best label's probability can be low
    and still right.
    """
    f1_at = {t: score_end2end(gold, at_threshold(scored, t)).strict_micro.f1 for t in _candidates(scored)}
    best = max(f1_at.values())
    if best <= 0.0:
        return 0.5, f1_at[0.5]
    return min(t for t, f1 in f1_at.items() if f1 == best), best


def _candidates(scored: Sequence[ScoredSentence]) -> list[float]:
    return sorted({score for s in scored for _, score in s.relations} | {0.5})


def spert_records(scored: Sequence[ScoredSentence], threshold: float = 0.0) -> list[dict[str, Any]]:
    """Predicted sentences as SpERT JSON records (what ``--format spert`` reads), each relation with its score."""
    records = []
    for s in scored:
        sentence = s.sentence
        records.append(
            {
                "orig_id": sentence.id,
                "tokens": list(sentence.tokens),
                "entities": [{"type": m.type, "start": m.start, "end": m.end} for m in sentence.mentions],
                "relations": [
                    {"type": r.type, "head": r.head, "tail": r.tail, "score": score}
                    for r, score in s.relations
                    if score >= threshold
                ],
            }
        )
    return records
