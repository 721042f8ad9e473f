"""The span-based entity recognizer: candidates, word-piece mapping, learning a toy set, saving and loading."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import torch

from relenc.data.sentence import Mention, Sentence
from relenc.models.spans import EntityRecognizer
from relenc.training.config import EntityTrainConfig
from relenc.training.entities import build_recognizer, evaluate_entities, fit_entities


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split(" "))


SENTENCES = [
    Sentence("1", _words("Alice works for Acme Corp ."), (Mention(0, 1, "Peop"), Mention(3, 5, "Org"))),
    Sentence("2", _words("Bob lives in Paris ."), (Mention(0, 1, "Peop"), Mention(3, 4, "Loc"))),
    Sentence("3", _words("Initech is based in Austin ."), (Mention(0, 1, "Org"), Mention(4, 5, "Loc"))),
    Sentence("4", _words("Carol met Dave in Rome ."), (Mention(0, 1, "Peop"), Mention(2, 3, "Peop"))),
]


def test_candidates_and_word_piece_mapping(tiny_encoder: str) -> None:
    recognizer = EntityRecognizer.build(tiny_encoder, ["Peop", "Org", "Loc"], max_width=2)
    assert recognizer.candidates(3) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)]
    tokens = ("Acme-Corp", "hired", "Bob")
    batch = recognizer.batch([tokens], [[(0, 1), (2, 3)]])
    pieces = recognizer.tokenizer.convert_ids_to_tokens(batch.input_ids[0].tolist())
    start, end = int(batch.starts[0, 0]), int(batch.ends[0, 0])
    assert "".join(p.removeprefix("##") for p in pieces[start : end + 1]) == "acme-corp"  # all pieces of one word
    assert pieces[int(batch.starts[0, 1])] == "bob" and batch.widths[0].tolist() == [1, 1]
    glued = recognizer.batch([("He", "saw", "Kosovo.")], [[(2, 3)]])  # CoNLL04 glues a sentence's last full stop
    pieces = recognizer.tokenizer.convert_ids_to_tokens(glued.input_ids[0].tolist())
    assert pieces[int(glued.ends[0, 0])] != "." and pieces[int(glued.ends[0, 0]) + 1] == "."
    rng = random.Random(0)
    spans = recognizer.training_spans(SENTENCES[0], negatives=3, rng=rng)
    assert spans[:2] == [(0, 1), (3, 5)] and len(spans) == 5
    assert recognizer.targets(SENTENCES[0], spans)[:2] == [3, 2]  # types sorted: Loc 1, Org 2, Peop 3 (0: none)


def test_learns_a_toy_set_and_round_trips(tiny_encoder: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    recognizer = EntityRecognizer.build(tiny_encoder, ["Peop", "Org", "Loc"], max_width=3)
    cfg = EntityTrainConfig(epochs=30, batch_size=4, lr=1e-3, head_lr=5e-3, negatives=10, precision="fp32", seed=13)
    best = fit_entities(recognizer, SENTENCES, SENTENCES, cfg, tmp_path / "ner", progress=False)
    assert best["f1"] >= 90.0, best
    loaded = EntityRecognizer.from_pretrained(tmp_path / "ner")
    assert evaluate_entities(loaded, SENTENCES, "fp32")["f1"] == best["f1"]
    found = loaded.predict([s.tokens for s in SENTENCES], precision="fp32")
    for mentions in found:  # decoded mentions never overlap
        spans = sorted((m.start, m.end) for m, _ in mentions)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_without_dev_every_epoch_trains_and_the_last_is_kept(tiny_encoder: str, tmp_path: Path) -> None:
    """A final fit (no dev sentences) keeps the recognizer of its last epoch; the results say so and carry no
    dev score. Its run with the same seed and epochs on dev-less data is the same recognizer every time."""
    cfg = EntityTrainConfig(epochs=2, batch_size=2, negatives=4, precision="fp32", seed=3)
    heads = []
    for name in ("a", "b"):
        recognizer = build_recognizer(tiny_encoder, ["Loc", "Org", "Peop"], cfg)
        best = fit_entities(recognizer, SENTENCES, [], cfg, tmp_path / name, False)
        assert best["epoch"] == 2 and best["dev"] is None and best["seed"] == 3 and "f1" not in best
        heads.append((tmp_path / name / "span_head.safetensors").read_bytes())
    assert heads[0] == heads[1]
    assert EntityRecognizer.from_pretrained(tmp_path / "a").predict([SENTENCES[0].tokens], precision="fp32")


def test_max_pool_takes_the_maximum_over_each_spans_pieces() -> None:
    from relenc.models.spans import _max_pool

    hidden = torch.randn(2, 7, 5)
    starts = torch.tensor([[0, 2, 6], [1, 1, 0]])
    ends = torch.tensor([[0, 5, 6], [3, 1, 0]])
    rows = torch.arange(2)[:, None]
    pooled = _max_pool(hidden, rows, starts, ends)
    for b in range(2):
        for s in range(3):
            expected = hidden[b, starts[b, s] : ends[b, s] + 1].max(dim=0).values
            assert torch.equal(pooled[b, s], expected)


def test_both_span_representations_round_trip(tiny_encoder: str, tmp_path: Path) -> None:
    tokens = [s.tokens for s in SENTENCES]
    for representation in ("ends", "ends+max+cls"):
        recognizer = EntityRecognizer.build(tiny_encoder, ["Peop", "Org"], max_width=3, representation=representation)
        hidden = recognizer.model.encoder.config.hidden_size
        vectors = 4 if representation != "ends" else 2
        assert recognizer.model.classifier[1].in_features == vectors * hidden + 25 + 4 * 16  # width, 4 word shapes
        recognizer.save_pretrained(tmp_path / representation)
        loaded = EntityRecognizer.from_pretrained(tmp_path / representation)
        assert loaded.config.representation == representation
        assert torch.equal(loaded.model.shape.weight, recognizer.model.shape.weight)  # type: ignore[union-attr]
        before = recognizer.predict(tokens, precision="fp32")
        assert [[(m, round(p, 5)) for m, p in row] for row in loaded.predict(tokens, precision="fp32")] == [
            [(m, round(p, 5)) for m, p in row] for row in before
        ]


def test_word_shapes_keep_the_casing_a_lowercasing_tokenizer_drops(tiny_encoder: str) -> None:
    from relenc.models.spans import SHAPES, word_shape

    shapes = {w: SHAPES[word_shape(w)] for w in ("apple", "Apple", "IBM", "I", "iPhone", "1984", "B-52", ".", "--")}
    assert shapes == {
        "apple": "lower",
        "Apple": "title",
        "IBM": "upper",
        "I": "title",
        "iPhone": "mixed",
        "1984": "digit",
        "B-52": "digit",
        ".": "punct",
        "--": "punct",
    }
    recognizer = EntityRecognizer.build(tiny_encoder, ["Org"], max_width=2)
    batch = recognizer.batch([("the", "IBM", "team")], [[(0, 1), (1, 2), (1, 3)]])
    named = [[SHAPES[i] for i in row] for row in batch.shapes[0].tolist()]  # first, last, before, after
    assert named == [
        ["lower", "lower", "start", "upper"],
        ["upper", "upper", "lower", "lower"],
        ["upper", "lower", "lower", "end"],
    ]


def test_a_recognizer_saved_before_word_shapes_still_loads(tiny_encoder: str, tmp_path: Path) -> None:
    import json

    from relenc.models.spans import CONFIG_NAME

    old = EntityRecognizer.build(tiny_encoder, ["Peop", "Org"], max_width=3, shape_dim=0)
    old.save_pretrained(tmp_path / "old")
    config = json.loads((tmp_path / "old" / CONFIG_NAME).read_text())
    del config["shape_dim"]  # the config as recognizers without shapes wrote it
    (tmp_path / "old" / CONFIG_NAME).write_text(json.dumps(config))
    loaded = EntityRecognizer.from_pretrained(tmp_path / "old")
    assert loaded.config.shape_dim == 0 and loaded.model.shape is None
    weight = old.model.classifier[1].weight
    assert torch.equal(loaded.model.classifier[1].weight, weight)


def _ruler_pipeline(directory: Path, patterns: list[dict[str, str]]) -> str:
    """A spaCy pipeline whose only entity finder is a rule list: NER tags known in advance."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns(patterns)
    nlp.to_disk(directory)
    return str(directory)


def test_spacy_ner_tags_reach_the_span_head_and_round_trip(tiny_encoder: str, tmp_path: Path) -> None:
    from relenc.models.spans import TAG_EDGES

    patterns = [{"label": "ORG", "pattern": "Acme Corp"}, {"label": "GPE", "pattern": "Paris"}]
    ner_model = _ruler_pipeline(tmp_path / "ruler", patterns)
    recognizer = EntityRecognizer.build(tiny_encoder, ["Org", "Loc"], max_width=2, ner_dim=8, ner_model=ner_model)
    assert recognizer.config.ner_labels == ("GPE", "ORG")
    names = [*TAG_EDGES, "B-GPE", "I-GPE", "B-ORG", "I-ORG"]
    batch = recognizer.batch([("Alice", "joined", "Acme", "Corp"), ("Paris",)], [[(2, 4), (1, 3)], [(0, 1)]])
    assert [[names[i] for i in row] for row in batch.tags[0].tolist()] == [
        ["B-ORG", "I-ORG", "O", "end"],  # first, last, before, after
        ["O", "B-ORG", "O", "I-ORG"],  # a span that cuts the name in two: its neighbour is inside it
    ]
    assert [names[i] for i in batch.tags[1, 0].tolist()] == ["B-GPE", "B-GPE", "start", "end"]
    hidden = recognizer.model.encoder.config.hidden_size
    assert recognizer.model.classifier[1].in_features == 4 * hidden + 25 + 4 * 16 + 4 * 8
    recognizer.save_pretrained(tmp_path / "ner")
    loaded = EntityRecognizer.from_pretrained(tmp_path / "ner")
    assert loaded.config == recognizer.config
    assert torch.equal(loaded.model.ner.weight, recognizer.model.ner.weight)  # type: ignore[union-attr]
    tokens = [s.tokens for s in SENTENCES]
    assert [[m for m, _ in row] for row in loaded.predict(tokens, precision="fp32")] == [
        [m for m, _ in row] for row in recognizer.predict(tokens, precision="fp32")
    ]


def test_a_ner_pipeline_with_labels_the_recognizer_never_saw_is_an_error(tiny_encoder: str, tmp_path: Path) -> None:
    import pytest

    from relenc.errors import RelencError

    ner_model = _ruler_pipeline(tmp_path / "ruler", [{"label": "ORG", "pattern": "Acme"}])
    recognizer = EntityRecognizer.build(
        tiny_encoder, ["Org"], max_width=2, ner_dim=8, ner_model=ner_model, ner_labels=("GPE",)
    )
    with pytest.raises(RelencError, match=r"gives tags \['B-ORG'\].*install the pipeline it was trained with"):
        recognizer.batch([("Acme", "grew")], [[(0, 1)]])
