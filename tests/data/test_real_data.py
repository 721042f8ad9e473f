"""The readers reproduce the published counts of the real datasets in ../shared/data (see each SOURCE.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from relenc.data.readers import read_dataset
from relenc.data.splits import dev_split

pytestmark = pytest.mark.integration
SEM = "semeval2010_task8/SemEval2010_task8_all_data"


@pytest.mark.parametrize(
    ("path", "fmt", "count", "negative", "n_negative", "n_labels"),
    [
        (f"{SEM}/SemEval2010_task8_training/TRAIN_FILE.TXT", "semeval", 8000, "Other", 1410, 19),
        (f"{SEM}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT", "semeval", 2717, "Other", 454, 19),
        ("kbp37/train.txt", "kbp37", 15917, "no_relation", 1545, 37),
        ("kbp37/dev.txt", "kbp37", 1724, "no_relation", 210, 37),
        ("kbp37/test.txt", "kbp37", 3405, "no_relation", 419, 37),
        ("tacred_sample/train.json", "tacred", 20, "no_relation", 18, 2),
        ("tacred_sample/dev.json", "tacred", 20, "no_relation", 13, 5),
        ("tacred_sample/test.json", "tacred", 20, "no_relation", 16, 5),
        ("fewrel/val_wiki.json", "fewrel", 11200, None, 0, 16),
        ("fewrel/val_nyt.json", "fewrel", 2500, None, 0, 25),
    ],
)
def test_published_counts(
    real_data: Path, path: str, fmt: str, count: int, negative: str | None, n_negative: int, n_labels: int
) -> None:
    examples = read_dataset(real_data / path, fmt)
    labels = Counter(ex.label for ex in examples)
    assert len(examples) == count
    assert len(labels) == n_labels
    if negative:
        assert labels[negative] == n_negative
    assert len({ex.id for ex in examples}) == count, "dataset ids are kept and unique"


def test_semeval_label_distribution_and_ids(real_data: Path) -> None:
    train = read_dataset(real_data / SEM / "SemEval2010_task8_training/TRAIN_FILE.TXT", "semeval")
    labels = Counter(ex.label for ex in train)
    assert labels["Cause-Effect(e2,e1)"] == 659
    assert labels["Entity-Destination(e2,e1)"] == 1
    assert labels["Member-Collection(e2,e1)"] == 612
    assert (train[0].id, train[-1].id) == ("1", "8000")
    assert train[0].head.text == "configuration" and train[0].tail.text == "elements"


def test_kbp37_ids_are_global(real_data: Path) -> None:
    test = read_dataset(real_data / "kbp37/test.txt", "kbp37")
    assert (test[0].id, test[-1].id) == ("17641", "21045")


def test_semeval_dev_split_is_seeded_and_stratified(real_data: Path) -> None:
    train = read_dataset(real_data / SEM / "SemEval2010_task8_training/TRAIN_FILE.TXT", "semeval")
    tr, dev = dev_split(train, 0.1, seed=13)
    assert len(tr) + len(dev) == 8000 and 790 <= len(dev) <= 810
    assert dev == dev_split(train, 0.1, seed=13)[1]
    dev_labels = Counter(ex.label for ex in dev)
    assert dev_labels["Other"] == 141  # 10% of 1,410
    assert "Entity-Destination(e2,e1)" not in dev_labels  # a single example stays in train
