"""The readers reproduce the published counts of the real datasets (each folder's SOURCE.md in the data dir)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from relenc.data.example import Example
from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import write_jsonl
from relenc.data.splits import dev_split

pytestmark = pytest.mark.integration
SEM = "semeval2010_task8/SemEval2010_task8_all_data"
SEM_TRAIN = f"{SEM}/SemEval2010_task8_training/TRAIN_FILE.TXT"
SEM_TEST = f"{SEM}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"

# "label train test" (semeval) and "label train dev test" (kbp37), copied from the SOURCE.md tables.
SEMEVAL_LABELS = """
Cause-Effect(e1,e2) 344 134
Cause-Effect(e2,e1) 659 194
Component-Whole(e1,e2) 470 162
Component-Whole(e2,e1) 471 150
Content-Container(e1,e2) 374 153
Content-Container(e2,e1) 166 39
Entity-Destination(e1,e2) 844 291
Entity-Destination(e2,e1) 1 1
Entity-Origin(e1,e2) 568 211
Entity-Origin(e2,e1) 148 47
Instrument-Agency(e1,e2) 97 22
Instrument-Agency(e2,e1) 407 134
Member-Collection(e1,e2) 78 32
Member-Collection(e2,e1) 612 201
Message-Topic(e1,e2) 490 210
Message-Topic(e2,e1) 144 51
Product-Producer(e1,e2) 323 108
Product-Producer(e2,e1) 394 123
Other 1410 454
"""
KBP37_LABELS = """
no_relation 1545 210 419
org:alternate_names(e1,e2) 278 36 68
org:alternate_names(e2,e1) 233 27 57
org:city_of_headquarters(e1,e2) 980 119 230
org:city_of_headquarters(e2,e1) 287 38 75
org:country_of_headquarters(e1,e2) 618 71 134
org:country_of_headquarters(e2,e1) 388 48 94
org:founded(e1,e2) 252 34 68
org:founded(e2,e1) 141 19 39
org:founded_by(e1,e2) 187 20 42
org:founded_by(e2,e1) 168 14 38
org:members(e1,e2) 217 28 55
org:members(e2,e1) 486 54 105
org:stateorprovince_of_headquarters(e1,e2) 399 49 93
org:stateorprovince_of_headquarters(e2,e1) 118 16 33
org:subsidiaries(e1,e2) 402 49 90
org:subsidiaries(e2,e1) 430 54 103
org:top_members/employees(e1,e2) 265 31 65
org:top_members/employees(e2,e1) 311 37 71
per:alternate_names(e1,e2) 93 12 23
per:alternate_names(e2,e1) 84 12 23
per:cities_of_residence(e1,e2) 425 51 110
per:cities_of_residence(e2,e1) 238 31 63
per:countries_of_residence(e1,e2) 955 86 169
per:countries_of_residence(e2,e1) 705 56 97
per:country_of_birth(e1,e2) 250 36 61
per:country_of_birth(e2,e1) 105 14 28
per:employee_of(e1,e2) 1862 168 338
per:employee_of(e2,e1) 1610 105 230
per:origin(e1,e2) 127 14 32
per:origin(e2,e1) 139 14 33
per:spouse(e1,e2) 139 15 30
per:spouse(e2,e1) 119 14 27
per:stateorprovinces_of_residence(e1,e2) 491 45 81
per:stateorprovinces_of_residence(e2,e1) 229 21 44
per:title(e1,e2) 221 32 58
per:title(e2,e1) 420 44 79
"""
TACRED_LABELS = {
    "train": {"no_relation": 18, "org:city_of_headquarters": 2},
    "dev": {"no_relation": 13, "per:title": 4, "org:website": 1, "per:cities_of_residence": 1, "per:date_of_death": 1},
    "test": {"no_relation": 16, "per:title": 1, "per:origin": 1, "org:top_members/employees": 1, "per:age": 1},
}


def table(text: str, column: int) -> dict[str, int]:
    rows = [line.split() for line in text.strip().splitlines()]
    return {row[0]: int(row[column]) for row in rows}


def read(root: Path, path: str, fmt: str) -> list[Example]:
    examples = read_dataset(root / path, fmt)
    assert len({ex.id for ex in examples}) == len(examples), "ids are kept and unique"
    return examples


@pytest.mark.parametrize(
    ("path", "column", "count", "first_id"), [(SEM_TRAIN, 1, 8000, "1"), (SEM_TEST, 2, 2717, "8001")]
)
def test_semeval_counts_per_label(real_data: Path, path: str, column: int, count: int, first_id: str) -> None:
    examples = read(real_data, path, "semeval")
    assert len(examples) == count
    assert Counter(ex.label for ex in examples) == table(SEMEVAL_LABELS, column)
    assert examples[0].id == first_id and examples[-1].id == str(int(first_id) + count - 1)
    for ex in examples:
        assert ex.text is not None
        for span in (ex.head, ex.tail):
            assert span.char_start is not None and ex.text[span.char_start : span.char_end] == span.text


def test_semeval_first_record_and_unlabelled_test_file(real_data: Path) -> None:
    first = read(real_data, SEM_TRAIN, "semeval")[0]
    assert (first.head.text, first.tail.text, first.label) == ("configuration", "elements", "Component-Whole(e2,e1)")
    unlabelled = read(real_data, f"{SEM}/SemEval2010_task8_testing/TEST_FILE.txt", "semeval")
    assert len(unlabelled) == 2717 and all(ex.label is None for ex in unlabelled)
    assert [ex.tokens for ex in unlabelled] == [ex.tokens for ex in read(real_data, SEM_TEST, "semeval")]


@pytest.mark.parametrize(
    ("split", "column", "count", "ids", "empty"),
    [("train", 1, 15917, (0, 15916), 110), ("dev", 2, 1724, (15917, 17640), 10), ("test", 3, 3405, (17641, 21045), 26)],
)
def test_kbp37_counts_per_label(
    real_data: Path, split: str, column: int, count: int, ids: tuple[int, int], empty: int
) -> None:
    examples = read(real_data, f"kbp37/{split}.txt", "kbp37")
    assert len(examples) == count
    assert Counter(ex.label for ex in examples) == table(KBP37_LABELS, column)
    assert (examples[0].id, examples[-1].id) == tuple(str(i) for i in ids)
    assert sum(1 for ex in examples if "empty_entity" in ex.meta) == empty
    assert all(ex.text == " ".join(ex.tokens) for ex in examples)


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_tacred_sample(real_data: Path, split: str) -> None:
    examples = read(real_data, f"tacred_sample/{split}.json", "tacred")
    assert len(examples) == 20
    assert Counter(ex.label for ex in examples) == TACRED_LABELS[split]
    assert all(ex.head.type and ex.tail.type and ex.text is None for ex in examples)


@pytest.mark.parametrize(("name", "relations", "per_relation"), [("val_wiki", 16, 700), ("val_nyt", 25, 100)])
def test_fewrel(real_data: Path, name: str, relations: int, per_relation: int) -> None:
    examples = read(real_data, f"fewrel/{name}.json", "fewrel")
    assert len(examples) == relations * per_relation
    assert set(Counter(ex.label for ex in examples).values()) == {per_relation}
    assert len({ex.label for ex in examples}) == relations
    assert all(ex.meta["head_id"].startswith("Q") and ex.meta["tail_id"].startswith("Q") for ex in examples)


def test_semeval_dev_split(real_data: Path) -> None:
    train = read(real_data, SEM_TRAIN, "semeval")
    tr, dev = dev_split(train, 0.1, seed=13)
    assert (len(tr), len(dev)) == (7201, 799)  # the numbers docs/data-formats.md gives
    assert dev_split(train, 0.1, seed=13) == (tr, dev)
    dev_labels = Counter(ex.label for ex in dev)
    assert dev_labels["Other"] == 141  # 10% of 1,410
    assert "Entity-Destination(e2,e1)" not in dev_labels  # its single example stays in train


@pytest.mark.parametrize(
    ("path", "fmt"), [(SEM_TEST, "semeval"), ("kbp37/dev.txt", "kbp37"), ("fewrel/val_nyt.json", "fewrel")]
)
def test_real_files_round_trip_through_jsonl(real_data: Path, path: str, fmt: str, tmp_path: Path) -> None:
    examples = read(real_data, path, fmt)
    out = tmp_path / "out.jsonl"
    write_jsonl(examples, out)
    again = read_dataset(out, "jsonl")
    assert again == examples
    assert [ex.meta for ex in again] == [ex.meta for ex in examples]
