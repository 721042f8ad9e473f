"""``relenc extract``'s files on hostile input: what it refuses, what it keeps, and how it resumes after a crash."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("spacy")

from relenc.errors import DataError, RelencError
from relenc.models.extractor import RelationExtractor
from relenc.nlp import load_spacy
from relenc.pipeline import batch
from relenc.pipeline.batch import BatchStats, extract_file, job_settings
from relenc.pipeline.extract import ExtractionConfig, Pipeline

if TYPE_CHECKING:
    from conftest import RunCli

TEXTS = [
    "Barack Obama visited Paris in May.",
    "Angela Merkel met Emmanuel Macron in Berlin.",
    "Marie Curie worked in Paris with Pierre Curie.",
    "Ann Lee moved from London to Rome with Tom Hanks.",
    "Tim Cook runs Apple in Cupertino.",
    "John Smith lives in Boston.",
]
JOB = {"model": "m", "config": {"threshold": 0.5}}


@pytest.fixture(scope="module")
def pipe(model_dir: str) -> Pipeline:
    return Pipeline(
        RelationExtractor.from_pretrained(model_dir), ExtractionConfig(keep_negative=True), nlp=load_spacy()
    )


def write_docs(path: Path, ids: list[str], texts: list[str] = TEXTS) -> Path:
    path.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts, strict=True)))
    return path


def run(pipe: Pipeline, source: Path, out: Path, **kwargs: Any) -> BatchStats:
    kwargs.setdefault("job", JOB)
    return extract_file(pipe, source, out, chunk=2, progress=False, **kwargs)


class Killed(BaseException):
    """As good as a kill -9 for the code under test: no ``except`` in relenc catches it."""


def crash_after(pipe: Pipeline, monkeypatch: pytest.MonkeyPatch, chunks: int) -> None:
    """Make the pipeline die (as a kill would) when asked for chunk ``chunks + 1``."""
    calls = {"n": 0}
    real = pipe.extract_many

    def extract_many(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > chunks:
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(pipe, "extract_many", extract_many)


def partial_of(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")


def state_of(out: Path) -> Path:
    return out.with_name(f".{out.name}.relenc.json")


@pytest.fixture
def reference(pipe: Pipeline, tmp_path: Path) -> Callable[[Path], bytes]:
    """The bytes of an uninterrupted run of ``source``, in a directory of its own."""

    def full(source: Path) -> bytes:
        out = tmp_path / "reference" / "out.jsonl"
        run(pipe, source, out)
        return out.read_bytes()

    return full


def test_a_crash_mid_job_loses_nothing_and_the_rerun_gives_the_uninterrupted_output(
    pipe: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Callable[[Path], bytes]
) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as patch:
        crash_after(pipe, patch, chunks=2)
        with pytest.raises(Killed):
            run(pipe, source, out)
    assert not out.exists()  # no OUT until the job is complete
    done = partial_of(out).read_bytes()
    assert done.count(b"\n") == 4
    with partial_of(out).open("ab") as fh:  # a kill -9 in the middle of writing the 5th line
        fh.write(b'{"id": "d4", "relat')
    stats = run(pipe, source, out)
    assert (stats.skipped, stats.documents) == (4, 2)
    assert out.read_bytes() == reference(source)
    assert not partial_of(out).exists()


def test_a_kill_between_recording_and_renaming_is_finished_by_the_rerun(
    pipe: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Callable[[Path], bytes]
) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    with monkeypatch.context() as patch:
        real_replace = os.replace

        def replace(src: Any, dst: Any) -> None:  # the state file is written; OUT is not renamed in yet
            if Path(dst) == out:
                raise Killed
            real_replace(src, dst)

        patch.setattr(batch.os, "replace", replace)
        with pytest.raises(Killed):
            run(pipe, source, out)
    assert not out.exists() and partial_of(out).exists()
    stats = run(pipe, source, out)
    assert (stats.skipped, stats.documents) == (6, 0)
    assert out.read_bytes() == reference(source)


def test_a_finished_output_is_only_ever_replaced_whole(pipe: Pipeline, tmp_path: Path) -> None:
    ids = [f"d{i}" for i in range(6)]
    source = write_docs(tmp_path / "docs.jsonl", ids[:4], TEXTS[:4])
    out = tmp_path / "out.jsonl"
    run(pipe, source, out)
    first = out.read_bytes()
    assert run(pipe, source, out) == BatchStats(skipped=4)  # nothing to add: OUT is left as it is
    assert out.read_bytes() == first
    write_docs(source, ids)  # two more documents: appended to a copy, which then replaces OUT
    assert run(pipe, source, out).documents == 2
    assert out.read_bytes().startswith(first) and out.read_bytes().count(b"\n") == 6


def test_duplicate_ids_survive_a_resume_and_are_named(
    pipe: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: Callable[[Path], bytes]
) -> None:
    ids = ["a", "b", "a", "c", "a", "b"]
    source = write_docs(tmp_path / "docs.jsonl", ids)
    out = tmp_path / "out.jsonl"
    warnings: list[str] = []
    with monkeypatch.context() as patch:
        crash_after(pipe, patch, chunks=1)
        with pytest.raises(Killed):
            run(pipe, source, out, notify=warnings.append)
    stats = run(pipe, source, out, notify=warnings.append)
    assert (stats.skipped, stats.documents) == (2, 4)  # the later 'a' and 'b' are not taken for done ones
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ids
    assert out.read_bytes() == reference(source)
    assert len(warnings) == 1  # from the rerun: the crashed run never read the input to its end
    assert "document ids used more than once: 'a', 'b';" in warnings[0] and str(source) in warnings[0]


def test_an_output_it_did_not_write_is_refused_and_kept(pipe: Pipeline, tmp_path: Path) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    foreign = b'{"id": "d0", "relations": []}\n{"id": "d1", "note": "mine, no newline"}'
    out.write_bytes(foreign)
    with pytest.raises(RelencError, match=r"out.jsonl exists and was not written by relenc extract.*--overwrite"):
        run(pipe, source, out)
    assert out.read_bytes() == foreign and not partial_of(out).exists()
    stats = run(pipe, source, out, overwrite=True)  # replaced, but only by the whole new output
    assert (stats.skipped, stats.documents) == (0, 6)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [f"d{i}" for i in range(6)]


def test_an_output_changed_since_it_was_written_is_refused(pipe: Pipeline, tmp_path: Path) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    run(pipe, source, out)
    out.write_bytes(out.read_bytes()[:-1])  # someone cut its last newline
    with pytest.raises(RelencError, match="was not written by relenc extract \\(or was changed since\\)"):
        run(pipe, source, out)


def test_the_output_of_another_input_or_other_settings_is_refused(pipe: Pipeline, tmp_path: Path) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    other = write_docs(tmp_path / "other.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    run(pipe, source, out)
    kept = out.read_bytes()
    with pytest.raises(RelencError, match=r"is the output of another input \(.*docs.jsonl\)"):
        run(pipe, other, out)
    with pytest.raises(RelencError, match=r"is the output of this input with other settings \(threshold\)"):
        run(pipe, source, out, job={"model": "m", "config": {"threshold": 0.9}})
    assert out.read_bytes() == kept
    assert run(pipe, other, out, overwrite=True).documents == 6
    assert json.loads(state_of(out).read_text())["job"]["input"] == str(other.resolve())


def test_a_changed_input_is_refused_not_mixed(pipe: Pipeline, tmp_path: Path) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    run(pipe, source, out)
    kept = out.read_bytes()
    write_docs(source, ["d0", "x1", "d2", "d3", "d4", "d5"])
    with pytest.raises(RelencError, match=r"docs.jsonl, line 2: document id 'x1', but .* is for id 'd1'"):
        run(pipe, source, out)
    write_docs(source, [f"d{i}" for i in range(4)], TEXTS[:4])
    with pytest.raises(RelencError, match="has 2 more lines than"):
        run(pipe, source, out)
    assert out.read_bytes() == kept


def test_output_that_is_the_input_is_refused_by_any_path(pipe: Pipeline, tmp_path: Path) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(source)
    os.link(source, tmp_path / "hard.jsonl")
    kept = source.read_bytes()
    for out in (source, tmp_path / "sub" / ".." / "docs.jsonl", tmp_path / "link.jsonl", tmp_path / "hard.jsonl"):
        with pytest.raises(RelencError, match="is the input"):
            run(pipe, source, out, overwrite=True)
    assert source.read_bytes() == kept


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", r"empty.txt: no documents: the file is empty or all blank"),
        ("blank.jsonl", b"\n  \n\t\n", r"blank.jsonl: no documents"),
        ("latin1.txt", "ok\ncaf\xe9\n".encode("latin-1"), r"latin1.txt, line 2: not UTF-8"),
        ("binary.bin", b"\x1f\x8b\x08\x00 data\x00\x00\n", r"binary.bin, line 1: .*(not UTF-8|NUL byte)"),
        ("nul.txt", b"text\nbin\x00ary\n", r"nul.txt, line 2: holds a NUL byte"),
        ("array.json", b'[{"id": "a", "text": "x"}]\n', r"array.json: a .json file: .*name a JSON-lines file .jsonl"),
        ("ids.jsonl", b'{"id": null, "text": "x"}\n', r"ids.jsonl, line 1: 'id' must be a string or an integer"),
        ("ents.jsonl", b'{"text": "x", "entities": "x"}\n', r"ents.jsonl, line 1: entities need text, start and end"),
    ],
)
def test_bad_input_is_one_error_naming_the_file_and_line_and_writes_nothing(
    pipe: Pipeline, tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    source = tmp_path / name
    source.write_bytes(data)
    out = tmp_path / "out" / "out.jsonl"
    with pytest.raises(DataError, match=message):
        run(pipe, source, out)
    assert not out.parent.exists()  # no output, no partial file, no state file: not even the directory


def test_a_bad_line_keeps_the_documents_before_it_and_says_how_to_go_on(
    pipe: Pipeline, tmp_path: Path, reference: Callable[[Path], bytes]
) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    good = source.read_text()
    lines = good.splitlines(keepends=True)
    source.write_text("".join(lines[:4]) + "{not json\n" + "".join(lines[5:]))
    out = tmp_path / "out.jsonl"
    with pytest.raises(DataError, match=r"line 5, column 2: invalid JSON.*the 4 documents before it are kept in"):
        run(pipe, source, out)
    assert not out.exists() and partial_of(out).read_bytes().count(b"\n") == 4
    source.write_text(good)
    assert run(pipe, source, out).skipped == 4
    assert out.read_bytes() == reference(source)


def test_job_settings_are_json_and_leave_out_compile(model_dir: str) -> None:
    config = ExtractionConfig(allowed_types={"per:met": {("PER", "PER")}}, entity_types=frozenset({"PER"}))
    settings = job_settings(model_dir, config)
    assert settings == job_settings(model_dir, ExtractionConfig(**{**config.__dict__, "compile": True}))
    assert settings["model"] == str(Path(model_dir).resolve())
    assert settings["config"]["allowed_types"] == {"per:met": [["PER", "PER"]]}
    assert json.loads(json.dumps(settings)) == settings


def test_cli_refuses_a_text_file_as_out_in_one_line(model_dir: str, tmp_path: Path, run_cli: RunCli) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "notes.txt"
    out.write_text("my notes\nnot JSON at all")
    code, stdout, stderr = run_cli(["extract", str(source), str(out), "--model", model_dir, "--no-progress"])
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {out} exists and was not written by relenc")
    assert out.read_text() == "my notes\nnot JSON at all"


def test_cli_failure_leaves_no_output_file(tmp_path: Path, run_cli: RunCli) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    out = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(["extract", str(source), str(out), "--model", str(tmp_path / "nowhere"), "--no-progress"])
    assert code == 2 and stderr.startswith("error: ") and "nowhere" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs.jsonl"]


def test_cli_empty_input_is_an_error(model_dir: str, tmp_path: Path, run_cli: RunCli) -> None:
    source = tmp_path / "docs.txt"
    source.write_text("\n\n")
    out = tmp_path / "out.jsonl"
    code, _, stderr = run_cli(["extract", str(source), str(out), "--model", model_dir, "--no-progress"])
    assert code == 2 and stderr == (
        f"error: {source}: no documents: the file is empty or all blank; relenc extract reads UTF-8 plain text "
        '(one document per line) or JSON lines (.jsonl: one {"id", "text"} object per line)\n'
    )  # before the model is loaded: not a word more
    assert not out.exists()


def test_the_repeated_ids_warning_names_ten_and_counts_the_rest() -> None:
    message = batch._repeated_ids_warning(Path("docs.jsonl"), [f"id{i}" for i in range(12)])
    assert message.startswith("warning: docs.jsonl: document ids used more than once: 'id0', 'id1',")
    assert "'id9' and 2 more;" in message and "'id10'" not in message


def test_cli_refuses_an_unwritable_out_before_any_work(tmp_path: Path, run_cli: RunCli) -> None:
    source = write_docs(tmp_path / "docs.jsonl", [f"d{i}" for i in range(6)])
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "a-file" / "out.jsonl"
    code, _, stderr = run_cli(["extract", str(source), str(out), "--model", str(tmp_path / "unused"), "--no-progress"])
    assert code == 2 and stderr.startswith(f"error: {out}: cannot be created because") and stderr.count("\n") == 1
