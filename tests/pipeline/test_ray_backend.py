"""``relenc extract --engine ray`` on a local 2-CPU Ray instance: the local engine's bytes, resume, error records."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("spacy")  # sentences come from spaCy even when the entities are given

from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor
from relenc.nlp import load_spacy
from relenc.pipeline.batch import BatchStats, extract_file
from relenc.pipeline.extract import ExtractionConfig, Pipeline
from relenc.pipeline.ray_backend import extract_file_ray

if TYPE_CHECKING:
    from conftest import RunCli

TEXT = "Barack Obama visited Paris in May. Angela Merkel met Emmanuel Macron in Berlin."
MERKEL, MACRON, BERLIN = (
    {"text": "Angela Merkel", "start": 35, "end": 48, "type": "PER"},
    {"text": "Emmanuel Macron", "start": 53, "end": 68, "type": "PER"},
    {"text": "Berlin", "start": 72, "end": 78, "type": "LOC"},
)
DOCUMENTS = [
    {"id": "ner-1", "text": TEXT},  # spaCy NER
    {"id": "bad", "text": "Bob lives.", "entities": [{"text": "Bob", "start": 5, "end": 8}]},  # span out of range
    {"id": "given-1", "text": TEXT, "entities": [MERKEL, MACRON, BERLIN]},
    {"id": "ner-2", "text": "Marie Curie worked in Paris with Pierre Curie."},
    {"id": "given-2", "text": "Ann Lee moved to Rome.", "entities": [{"text": "Ann Lee", "start": 0, "end": 7}]},
    {"id": "ner-3", "text": "Ann Lee moved from London to Rome with Tom Hanks."},
]
CONFIG = ExtractionConfig(keep_negative=True)  # every candidate pair gives a triple: more to compare


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCUMENTS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[None]:
    """One local Ray instance for the module: ``extract_file_ray`` joins it and leaves it running."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def local_run(model_dir: str, source: Path, output: Path, config: ExtractionConfig) -> tuple[bytes, BatchStats]:
    pipe = Pipeline(RelationExtractor.from_pretrained(model_dir), config, nlp=load_spacy(config.spacy_model))
    stats = extract_file(pipe, source, output, chunk=2, progress=False)
    return output.read_bytes(), stats


@pytest.fixture(scope="module")
def both_engines(
    ray_instance: None, model_dir: str, source: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[bytes, BatchStats]]:
    """The same job on both engines: 6 documents in chunks of 2, on 2 Ray workers, read in windows of 2 chunks."""
    tmp = tmp_path_factory.mktemp("both")
    ray_stats = extract_file_ray(
        model_dir, source, tmp / "ray.jsonl", CONFIG, chunk=2, progress=False, workers=2, window=2
    )
    return {
        "local": local_run(model_dir, source, tmp / "local.jsonl", CONFIG),
        "ray": ((tmp / "ray.jsonl").read_bytes(), ray_stats),
    }


@pytest.mark.integration
def test_ray_engine_writes_the_local_engines_bytes(both_engines: dict[str, tuple[bytes, BatchStats]]) -> None:
    (local, local_stats), (ray_bytes, ray_stats) = both_engines["local"], both_engines["ray"]
    assert ray_bytes == local
    assert ray_stats == local_stats == BatchStats(documents=6, skipped=0, failed=1, relations=ray_stats.relations)
    rows = [json.loads(line) for line in ray_bytes.decode().splitlines()]
    assert [r["id"] for r in rows] == [d["id"] for d in DOCUMENTS]  # input order, although 2 workers shared it
    assert ray_stats.relations == sum(len(r["relations"]) for r in rows) > 0
    ner_types = {r["head"]["type"] for r in rows[0]["relations"]}
    assert ner_types <= {"PERSON", "GPE"} and "PERSON" in ner_types  # spaCy's NER found these
    given = {(r["head"]["text"], r["tail"]["text"]) for r in rows[2]["relations"]}
    assert ("Angela Merkel", "Emmanuel Macron") in given  # the entities given in the input, with their types:
    assert {r["head"]["type"] for r in rows[2]["relations"]} <= {"PER", "LOC"}


@pytest.mark.integration
def test_a_failing_document_is_recorded_not_fatal(both_engines: dict[str, tuple[bytes, BatchStats]]) -> None:
    rows = [json.loads(line) for line in both_engines["ray"][0].decode().splitlines()]
    bad = rows[1]
    assert bad["id"] == "bad" and bad["relations"] == []
    assert "'Bob' [5, 8) does not match the document text" in bad["error"]
    assert all("error" not in r for r in rows if r["id"] != "bad")
    assert rows[0]["relations"] and rows[2]["relations"]  # the one chunked with it and the next are still extracted


@pytest.mark.integration
def test_cli_rerun_on_ray_finishes_a_crashed_local_job(
    ray_instance: None,
    model_dir: str,
    source: Path,
    tmp_path: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = ExtractionConfig(threshold=0.0)  # the CLI's defaults, with every positive prediction kept
    full, _ = local_run(model_dir, source, tmp_path / "local.jsonl", config)
    lines = full.decode().splitlines(keepends=True)
    out = tmp_path / "ray.jsonl"
    args = ["extract", str(source), str(out), "--model", model_dir, "--threshold", "0", "--chunk", "2", "--no-progress"]
    # the local engine killed after one chunk (at a chunk boundary, so that the rerun classifies the same documents
    # together as the full run, and the scores are bound to be the same bytes), in the middle of the 3rd line
    with monkeypatch.context() as patch:
        patch.setattr(Pipeline, "extract_many", crash_on_second_call(Pipeline.extract_many))
        with pytest.raises(Killed):
            run_cli(args)
    assert not out.exists()
    partial = out.with_name(".ray.jsonl.partial")
    assert partial.read_text(encoding="utf-8") == "".join(lines[:2])
    with partial.open("a", encoding="utf-8") as fh:
        fh.write(lines[2][:25])
    code, stdout, stderr = run_cli([*args, "--engine", "ray", "--workers", "1"])
    assert code == 0, stderr
    assert json.loads(stdout.splitlines()[-1]) == {
        "documents": 4,
        "skipped": 2,
        "failed": 0,
        "relations": sum(len(json.loads(line)["relations"]) for line in lines[2:]),
    }
    assert out.read_bytes() == full and not partial.exists()


class Killed(BaseException):
    """As good as a kill -9 for the code under test: no ``except`` in relenc catches it."""


def crash_on_second_call(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, which kills the process when called a second time: after the first chunk (the first chunk holds
    the bad document, so its one-at-a-time retry must get through too: those are calls of ``extract``)."""
    calls = []

    def crashing(self: Pipeline, texts: Any, *args: Any, **kwargs: Any) -> Any:
        if len(texts) > 1:
            calls.append(1)
        if len(calls) > 1:
            raise Killed
        return method(self, texts, *args, **kwargs)

    return crashing


@pytest.mark.integration
def test_a_worker_that_cannot_load_the_model_is_one_clear_error(
    ray_instance: None, source: Path, tmp_path: Path
) -> None:
    with pytest.raises(RelencError, match=r"on a Ray worker: .*nowhere is not a relenc model directory"):
        extract_file_ray(str(tmp_path / "nowhere"), source, tmp_path / "out.jsonl", progress=False, workers=1)
    assert list(tmp_path.iterdir()) == []  # no OUT, no partial file, no state file


def test_without_ray_the_module_imports_and_the_engine_says_which_extra_to_install(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed
    monkeypatch.delitem(sys.modules, "relenc.pipeline.ray_backend")
    backend = importlib.import_module("relenc.pipeline.ray_backend")  # Ray is imported only when the engine runs
    with pytest.raises(RelencError, match=r"pip install 'relenc\[ray\]'"):
        backend.extract_file_ray("unused", source, tmp_path / "out.jsonl", progress=False)


def test_ray_options_need_the_ray_engine(
    source: Path, tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, stderr = run_cli(["extract", str(source), str(tmp_path / "o.jsonl"), "--model", "m", "--workers", "2"])
    assert code == 2 and stderr.strip() == "error: --workers and --ray-address need --engine ray"


def test_ray_client_addresses_are_refused_with_advice(source: Path, tmp_path: Path, run_cli: RunCli) -> None:
    args = ["extract", str(source), str(tmp_path / "o.jsonl"), "--model", "m", "--engine", "ray"]
    code, _, stderr = run_cli([*args, "--ray-address", "ray://head:10001"])
    assert code == 2 and "Ray Data does not run over Ray Client" in stderr and "--ray-address auto" in stderr
    assert not (tmp_path / "o.jsonl").exists()  # refused before anything was written


def test_windows_are_the_local_chunks_and_a_bad_line_comes_after_the_chunks_before_it(tmp_path: Path) -> None:
    from relenc.pipeline.batch import OutputFiles, pending_chunks
    from relenc.pipeline.ray_backend import _windows

    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in DOCUMENTS[:5]) + "{bad\n", encoding="utf-8")
    files = OutputFiles(path, tmp_path / "out.jsonl", overwrite=False, job=None)
    windows = list(_windows(files, chunk=2, window=1, stats=BatchStats(), notify=print))
    assert [len(chunks) for chunks, _ in windows] == [1, 1, 0]
    assert str(windows[-1][1]).endswith(
        "docs.jsonl, line 6, column 2: invalid JSON: Expecting property name enclosed in double quotes"
    )
    local = pending_chunks(files, 2, BatchStats())
    assert [chunks[0] for chunks, _ in windows[:2]] == [next(local), next(local)]
