"""The entity mention the extraction pipeline pairs and reports: text, character offsets, type, and its name.

It has a module of its own because both the pipeline (:mod:`relenc.pipeline.extract`) and mention naming
(:mod:`relenc.pipeline.coref`, which extract calls) build entities; in either module the other would import it back.
Imports allowed: nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entity:
    """A mention with character offsets into the document (end exclusive); ``name`` is the full name of the entity
    it refers to, when that differs from its text (a pronoun or a short name resolved within the document)."""

    text: str
    start: int
    end: int
    type: str | None = None
    name: str | None = None

    @property
    def key(self) -> str:
        """What the mention names, for telling triples apart: its entity's full name, or its own text."""
        return self.name or self.text
