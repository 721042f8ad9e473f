"""A sentence with all its entity mentions and the relations between them: the record of end-to-end data.

:class:`Example` is one (head, tail) pair; end-to-end extraction is judged on whole sentences, where the system
must find the mentions (spans and types) itself. A :class:`Sentence` holds the gold (or predicted) mentions and
relations of one sentence, and turns into the pair examples a relation classifier trains on. Construction checks the
invariants, so a ``Sentence`` that exists is a valid one: mentions inside the sentence, relations between two
different mentions that exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from relenc.data.example import Example, Span
from relenc.errors import DataError


@dataclass(frozen=True)
class Mention:
    """An entity mention: tokens ``[start, end)`` and its type (``Peop``, ``Org``, ...)."""

    start: int
    end: int
    type: str


@dataclass(frozen=True)
class Relation:
    """A directed relation between two mentions of a sentence, by their index in :attr:`Sentence.mentions`."""

    type: str
    head: int
    tail: int


@dataclass(frozen=True)
class Sentence:
    """Tokens, every mention, every relation."""

    id: str
    tokens: tuple[str, ...]
    mentions: tuple[Mention, ...]
    relations: tuple[Relation, ...] = ()

    def __post_init__(self) -> None:
        if not self.tokens or not all(isinstance(t, str) and t for t in self.tokens):
            raise DataError("the sentence needs tokens, each a non-empty string")
        for i, m in enumerate(self.mentions):
            if not (isinstance(m.start, int) and isinstance(m.end, int) and 0 <= m.start < m.end <= len(self.tokens)):
                raise DataError(f"entity {i} [{m.start}, {m.end}) is not a span of the {len(self.tokens)} tokens")
            if not isinstance(m.type, str) or not m.type:
                raise DataError(f"entity {i} has no type")
        for i, r in enumerate(self.relations):
            for role, index in (("head", r.head), ("tail", r.tail)):
                if not isinstance(index, int) or not 0 <= index < len(self.mentions):
                    raise DataError(f"relation {i}: {role} {index!r} is not one of the {len(self.mentions)} entities")
            if r.head == r.tail:
                raise DataError(f"relation {i} links entity {r.head} to itself")
            if not isinstance(r.type, str) or not r.type:
                raise DataError(f"relation {i} has no type")

    def span(self, index: int) -> Span:
        """Mention ``index`` as an :class:`Span` (with its surface text and type)."""
        m = self.mentions[index]
        return Span(m.start, m.end, " ".join(self.tokens[m.start : m.end]), m.type)

    def pair_examples(self, negative: str = "no_relation") -> list[Example]:
        """Every ordered pair of non-overlapping mentions as a relation example: the relation's type where the
        sentence has one from head to tail, else ``negative``. This is what a relation classifier for end-to-end
        extraction learns from: at prediction time it sees every pair of the mentions found."""
        labels = {(r.head, r.tail): r.type for r in self.relations}
        examples = []
        for h in range(len(self.mentions)):
            for t in range(len(self.mentions)):
                head, tail = self.span(h), self.span(t)
                if h == t or head.overlaps(tail):
                    continue
                label = labels.get((h, t), negative)
                examples.append(Example(f"{self.id}:{h}-{t}", self.tokens, head, tail, label))
        return examples
