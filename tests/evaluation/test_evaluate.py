"""``evaluate``: gold labels the model never saw are scored as misses (micro and official SemEval), with a warning;
what cannot be scored is an error naming the file and the record."""

from __future__ import annotations

import pytest

from relenc.data.example import Example, Span
from relenc.data.labels import LabelSet
from relenc.encoding.builder import InputConfig, TooLongError
from relenc.errors import DataError, RelencError
from relenc.evaluation.evaluate import evaluate
from relenc.evaluation.scorers import micro_prf, semeval_official
from relenc.models.extractor import RelationExtractor

SOURCE = "test.jsonl"


def example(id_: str, label: str | None, gap: int = 1) -> Example:
    """``Alice`` and ``Acme`` with ``gap`` words between them."""
    tokens = ("Alice", *(["works"] * gap), "Acme")
    n = len(tokens)
    return Example(id_, tokens, Span(0, 1, "Alice"), Span(n - 1, n, "Acme"), label)


@pytest.fixture(scope="module")
def micro_model(tiny_encoder: str) -> RelationExtractor:
    labels = LabelSet.from_labels(["no_relation", "per:employee_of", "org:founded_by"])
    return RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig(max_length=32)})


@pytest.fixture(scope="module")
def semeval_model(tiny_encoder: str) -> RelationExtractor:
    """Knows 3 of the 19 SemEval labels, as a model trained on a subset would."""
    labels = LabelSet.from_labels(["Other", "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"])
    return RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()})


def test_unknown_gold_labels_are_misses_in_the_micro_metric(
    micro_model: RelationExtractor, capsys: pytest.CaptureFixture[str]
) -> None:
    gold = ["per:employee_of", "org:founded_by", "no_relation", "P1366", "P1366", "P17"]
    examples = [example(str(i), label) for i, label in enumerate(gold)]
    result = evaluate(micro_model, examples, "micro", source=SOURCE)
    predicted = [p.label for p in result.predictions]
    assert not {"P1366", "P17"} & set(predicted)
    expected = micro_prf(gold, predicted, "no_relation")
    assert (result.precision, result.recall, result.f1) == pytest.approx(
        (expected.precision, expected.recall, expected.f1)
    )
    # the recall denominator holds all five positive gold labels, the three unknown ones included
    correct = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p and p != "no_relation")
    assert result.recall == pytest.approx(100.0 * correct / 5)
    assert result.unknown_labels == {"P1366": 2, "P17": 1}
    rows = {row["label"]: row for row in result.per_relation}
    assert (rows["P1366"]["support"], rows["P1366"]["recall"], rows["P1366"]["predicted"]) == (2, 0.0, 0)
    err = capsys.readouterr().err
    assert err == (
        f"warning: {SOURCE}: 3 of 6 examples have gold labels the model was never trained on; they are scored as "
        "misses: 'P1366' (2), 'P17' (1)\n"
    )


def test_unknown_gold_labels_are_misses_in_the_official_semeval_metric(
    semeval_model: RelationExtractor, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SemEval relation the model lacks gets its row in the official macro average, with recall 0."""
    gold = ["Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Other", "Message-Topic(e1,e2)", "Message-Topic(e2,e1)"]
    examples = [example(str(i), label) for i, label in enumerate(gold)]
    result = evaluate(semeval_model, examples, "semeval", source=SOURCE)
    predicted = [p.label for p in result.predictions]
    official = semeval_official(gold, predicted)
    assert (result.precision, result.recall, result.f1) == pytest.approx(
        (official.precision, official.recall, official.f1)
    )
    rows = {row.label: row for row in official.per_relation}
    assert set(rows) == {"Cause-Effect", "Message-Topic", "Other"}  # two relations enter the macro average
    assert (rows["Message-Topic"].support, rows["Message-Topic"].recall, rows["Message-Topic"].f1) == (2, 0.0, 0.0)
    assert result.f1 == pytest.approx(rows["Cause-Effect"].f1 / 2)
    assert result.unknown_labels == {"Message-Topic(e1,e2)": 1, "Message-Topic(e2,e1)": 1}
    assert "'Message-Topic(e1,e2)' (1), 'Message-Topic(e2,e1)' (1)" in capsys.readouterr().err


def test_what_the_semeval_scorer_cannot_score_is_refused_before_predicting(
    micro_model: RelationExtractor, semeval_model: RelationExtractor
) -> None:
    with pytest.raises(DataError, match=r"^test\.jsonl, record 2 \(id 'b'\): gold label 'P17' is not a SemEval"):
        evaluate(semeval_model, [example("a", "Other"), example("b", "P17")], "semeval", source=SOURCE)
    with pytest.raises(RelencError, match="the model predicts labels that are not SemEval-2010 Task 8 labels"):
        evaluate(micro_model, [example("a", "Other")], "semeval", source=SOURCE)


def test_an_example_too_long_to_encode_names_the_file_and_the_record(micro_model: RelationExtractor) -> None:
    examples = [example("near", "no_relation"), example("far", "no_relation", gap=60)]
    with pytest.raises(TooLongError) as info:
        evaluate(micro_model, examples, "micro", source=SOURCE)
    assert str(info.value).startswith(f"{SOURCE}, record 2 (id 'far'): too long to encode")


def test_no_examples_or_an_unlabelled_one_is_an_error(micro_model: RelationExtractor) -> None:
    with pytest.raises(DataError, match=r"^test\.jsonl: no examples to evaluate"):
        evaluate(micro_model, [], "micro", source=SOURCE)
    with pytest.raises(DataError, match=r"^test\.jsonl, record 2 \(id 'b'\): example has no gold label"):
        evaluate(micro_model, [example("a", "no_relation"), example("b", None)], "micro", source=SOURCE)
