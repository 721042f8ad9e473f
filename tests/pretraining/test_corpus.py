"""Reading a corpus for mining: three formats, three codecs (streamed), many inputs, stable ids, clear errors."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest

from relenc.errors import DataError, RelencError
from relenc.pretraining.corpus import open_corpus

WIKI = (
    '<doc id="12" url="x" title="A">\nA\n\nFirst line here.\nSecond.\n</doc>\n'
    '<doc id="13" url="y" title="B">\nB\n</doc>\n'  # a title and no text: skipped
    '<doc id="14" url="z" title="C">\nC\nThird.\n</doc>\n'
)
TEXT = "Para one.\nStill one.\n\n\nPara two.\n"
JSONL = '{"id": "x", "text": "Hello there."}\n\n{"text": "No id."}\n'
COMPRESS = {"": lambda b: b, ".xz": lzma.compress, ".gz": gzip.compress, ".bz2": bz2.compress}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(COMPRESS[path.suffix if path.suffix in COMPRESS else ""](data))
    return path


def documents(*inputs: Path, input_format: str = "auto") -> list[tuple[str, str]]:
    return [(d.id, d.text) for d in open_corpus(inputs, input_format).documents()]  # type: ignore[arg-type]


@pytest.mark.parametrize("codec", ["", ".xz", ".gz", ".bz2"])
def test_every_format_through_every_codec(tmp_path: Path, codec: str) -> None:
    root = tmp_path / "corpus"
    write(root / "b" / f"wiki_00{codec}", WIKI)
    write(root / "a" / f"notes.txt{codec}", TEXT)
    write(root / "c" / f"docs.jsonl{codec}", JSONL)
    # sorted walk; ids are <folder>/<path without the codec>#<doc id, or line number>; the same for every codec
    assert documents(root) == [
        ("corpus/a/notes.txt#1", "Para one.\nStill one."),
        ("corpus/a/notes.txt#5", "Para two."),
        ("corpus/b/wiki_00#12", "First line here.\nSecond."),
        ("corpus/b/wiki_00#14", "Third."),
        ("corpus/c/docs.jsonl#x", "Hello there."),
        ("corpus/c/docs.jsonl#3", "No id."),
    ]


def test_folders_skip_what_is_not_a_corpus_and_files_given_by_name_are_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data / "text" / "wiki_04.xz", WIKI)
    write(data / "SOURCE.md", "# About this corpus\n")
    write(data / "SHA256SUMS", "abc  text/wiki_04.xz\n")
    write(data / ".hidden" / "wiki_00", WIKI)
    corpus = open_corpus([data, write(tmp_path / "extra", "Plain words.\n")])
    assert [f.name for f in corpus.files] == ["data/text/wiki_04", "extra"]
    assert [f.format for f in corpus.files] == ["wiki", "text"]
    assert sorted(Path(p).name for p in corpus.skipped) == ["SHA256SUMS", "SOURCE.md"]


def test_an_explicit_format_reads_every_file_of_a_folder(tmp_path: Path) -> None:
    write(tmp_path / "notes" / "monday", "Met Ann.\n")
    write(tmp_path / "notes" / "tuesday.md", "Met Bob.\n")
    assert documents(tmp_path / "notes") == []  # neither is recognised by its name or content
    assert documents(tmp_path / "notes", input_format="text") == [
        ("notes/monday#1", "Met Ann."),
        ("notes/tuesday.md#1", "Met Bob."),
    ]


def test_an_explicit_format_overrides_detection(tmp_path: Path) -> None:
    lines = write(tmp_path / "page.txt", '<doc id="1" title="T">\nT\nBody.\n</doc>\n')
    assert documents(lines, input_format="wiki") == [("page.txt#1", "Body.")]
    assert documents(lines) == [("page.txt#1", '<doc id="1" title="T">\nT\nBody.\n</doc>')]


@pytest.mark.parametrize(
    ("name", "content", "problem", "line"),
    [
        ("cut.gz", '<doc id="1" title="T">\nT\nBody.\n', "has no </doc>", 1),
        ("two.bz2", '<doc id="1" title="T">\nT\n<doc id="2" title="U">\n', "<doc> inside another", 3),
        ("stray", '<doc id="1" title="T">\nT\n</doc>\nstray text\n', "text outside a <doc>", 4),
        ("noid", '<doc title="T">\nT\n</doc>\n', 'without an id="..."', 1),
        ("again", '<doc id="1">\nT\nA.\n</doc>\n<doc id="1">\nT\nB.\n</doc>\n', "already used at line 1", 5),
        ("bad.jsonl.xz", '{"text": "ok"}\n{"text": 3}\n', "string field 'text'", 2),
        ("bad.jsonl", '{"text": "ok"}\n{"text": \n', "invalid JSON", 2),
        ("latin.txt.gz", "caf\xe9\n".encode("latin-1"), "not UTF-8", 1),
    ],
)
def test_bad_input_names_the_file_and_line(
    tmp_path: Path, name: str, content: str | bytes, problem: str, line: int
) -> None:
    path = write(tmp_path / name, content)  # detected as wiki by its first line, or as jsonl or text by its name
    with pytest.raises(DataError, match=problem) as info:
        documents(path)
    assert info.value.source == str(path) and (info.value.location or "").split(",")[0] == f"line {line}"


def test_a_broken_compressed_stream_is_a_data_error(tmp_path: Path) -> None:
    data = lzma.compress(WIKI.encode() * 200)
    path = tmp_path / "wiki_00.xz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot decompress") as info:
        documents(path, input_format="wiki")
    assert info.value.source == str(path) and (info.value.location or "").startswith("line ")


def test_inputs_that_would_repeat_documents_or_ids_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "notes.txt", TEXT)
    b = write(tmp_path / "b" / "notes.txt.gz", TEXT)
    with pytest.raises(RelencError, match="the same ids"):
        open_corpus([a, b])
    with pytest.raises(RelencError, match="given twice"):
        open_corpus([tmp_path / "a", a])
    with pytest.raises(DataError, match="not found"):
        open_corpus([tmp_path / "missing"])
