"""A mining run: the same shards whatever the number of workers, a manifest of counts, and resuming after a kill."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from relenc.errors import RelencError
from relenc.pretraining import mining
from relenc.pretraining.corpus import Document
from relenc.pretraining.mining import MiningJob, mine_corpus
from relenc.pretraining.pairs import ChunkResult, MiningSettings

pytest.importorskip("spacy")
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "docs.jsonl"
WIKI = (
    '<doc id="7" url="?curid=7" title="Marie Curie">\nMarie Curie\n\nMarie Curie was born in Warsaw. Curie left '
    "Warsaw for Paris in 1891. She worked in Paris with Pierre Curie.\n</doc>\n"
    '<doc id="8" url="?curid=8" title="Redirect">\nRedirect\n</doc>\n'
    '<doc id="9" url="?curid=9" title="Tim Cook">\nTim Cook\n\nTim Cook runs Apple. Cook joined Apple in 1998. '
    "He grew up in Alabama.\n</doc>\n"
)
TEXT = "Angela Merkel met Emmanuel Macron in Berlin. Merkel thanked Macron.\n\nShort block.\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Seven documents in three formats and three codecs: four shards of two documents, the last of one."""
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.jsonl.gz").write_bytes(gzip.compress(DOCS.read_bytes()))
    (root / "b_wiki_00.xz").write_bytes(lzma.compress(WIKI.encode()))
    (root / "c.txt.bz2").write_bytes(bz2.compress(TEXT.encode()))
    return root


def run(corpus: Path, out: Path, workers: int = 1, **job: Any) -> dict[str, Any]:
    return mine_corpus(MiningJob((str(corpus),), shard_size=2, **job), out, workers=workers, progress=False)


def shards(out: Path) -> list[str]:
    return [p.read_text() for p in sorted(out.glob("shard-*.jsonl"))]


def timeless(manifest: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in manifest.items() if k not in ("elapsed_seconds", "documents_per_second")}


def count_chunks(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[int]:
    """Make the run's chunk function count its calls, and raise (as a kill would stop it) at call ``fail_at``."""
    calls: list[int] = []
    real: Callable[[list[Document], MiningSettings], ChunkResult] = mining.mine_chunk

    def counted(documents: list[Document], settings: MiningSettings) -> ChunkResult:
        calls.append(len(documents))
        if len(calls) == fail_at:
            raise KeyboardInterrupt
        return real(documents, settings)

    monkeypatch.setattr(mining, "mine_chunk", counted)
    return calls


def test_two_workers_write_what_one_writes(corpus: Path, tmp_path: Path) -> None:
    one = run(corpus, tmp_path / "one", workers=1)
    two = run(corpus, tmp_path / "two", workers=2)
    assert shards(tmp_path / "one") == shards(tmp_path / "two")
    assert timeless(one) == timeless(two)
    totals = one["totals"]
    assert one["complete"] and totals["documents"] == 7 and totals["shards"] == 4  # the redirect page is no document
    assert totals["pairs"] == sum(len(text.splitlines()) for text in shards(tmp_path / "one")) > 0
    first = one["shards"][0]
    assert first["documents"] == {
        "first": 0,
        "count": 2,
        "first_id": "corpus/a.jsonl#d1",
        "last_id": "corpus/a.jsonl#d2",
    }
    assert first["bytes"] == (tmp_path / "one" / "shard-00000.jsonl").stat().st_size
    assert {"sentences", "chains", "pairs"} <= first["counts"].keys() and one["documents_per_second"] > 0
    assert [f["name"] for f in one["job"]["inputs"]] == ["corpus/a.jsonl", "corpus/b_wiki_00", "corpus/c.txt"]


def test_a_killed_run_resumes_with_no_pair_lost_or_written_twice(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = run(corpus, tmp_path / "reference")
    out = tmp_path / "out"
    count_chunks(monkeypatch, fail_at=3)
    with pytest.raises(KeyboardInterrupt):
        run(corpus, out)
    stopped = json.loads((out / "manifest.json").read_text())
    assert not stopped["complete"] and [s["file"] for s in stopped["shards"]] == [
        "shard-00000.jsonl",
        "shard-00001.jsonl",
    ]
    # what a kill between writing a shard and listing it leaves: an unlisted shard, and a temp file mid-write
    (out / "shard-00002.jsonl").write_text('{"half": ')
    (out / ".shard-00003.jsonl.x1y2.tmp").write_text("{")
    calls = count_chunks(monkeypatch)
    resumed = run(corpus, out)
    assert calls == [2, 1]  # only the documents of the shards not complete are mined again
    assert shards(out) == shards(tmp_path / "reference") and timeless(resumed) == timeless(reference)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", *(f"shard-0000{i}.jsonl" for i in range(4))]
    assert run(corpus, out)["complete"] and calls == [2, 1]  # a complete run has nothing left to do


def test_another_job_is_refused_unless_overwrite(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run(corpus, out, max_documents=1)
    with pytest.raises(RelencError, match=r"max_documents differ.*--overwrite"):
        run(corpus, out, max_documents=2)
    with pytest.raises(RelencError, match=r"settings differ.*--overwrite"):
        run(corpus, out, max_documents=1, settings=MiningSettings(max_pairs_per_entity_pair=1))
    manifest = mine_corpus(
        MiningJob((str(corpus),), shard_size=1, max_documents=2), out, workers=1, overwrite=True, progress=False
    )
    assert manifest["totals"]["documents"] == 2 and len(shards(out)) == 2
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RelencError, match=r"did not write \(notes.txt\)"):
        run(corpus, out, max_documents=2)
    (tmp_path / "file").write_text("")
    with pytest.raises(RelencError, match="is a file"):
        run(corpus, tmp_path / "file")


def test_the_command_line(corpus: Path, tmp_path: Path, run_cli: Callable[[list[str]], tuple[int, str, str]]) -> None:
    out = tmp_path / "out"
    args = ["mine-pairs", str(DOCS), str(corpus / "c.txt.bz2"), "-o", str(out), "--workers", "1"]
    code, stdout, stderr = run_cli(args)  # with a progress bar, its total counted first
    assert code == 0, stderr
    assert json.loads(stdout)["documents"] == 5 and f"documents to {out} (1 shard," in stderr
    code, _, stderr = run_cli([*args, "--input-format", "html"])
    assert code != 0 and "--input-format must be one of auto, wiki, text, jsonl" in stderr
    uncounted = ["mine-pairs", str(DOCS), "-o", str(tmp_path / "uncounted"), "--workers", "1", "--no-count"]
    code, stdout, stderr = run_cli([*uncounted, "--max-documents", "1"])
    assert code == 0 and json.loads(stdout)["documents"] == 1, stderr
    fragments = ["mine-pairs", str(DOCS), "-o", str(tmp_path / "fragments"), "--workers", "1", "--drop-fragments"]
    code, stdout, stderr = run_cli(fragments)
    manifest = json.loads((tmp_path / "fragments" / "manifest.json").read_text())
    assert code == 0 and manifest["job"]["settings"]["drop_fragments"] is True, stderr
    assert "fragments_dropped" in json.loads(stdout)


def test_the_command_line_mines_entity_chain_pairs(
    tmp_path: Path, run_cli: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    args = ["mine-pairs", str(DOCS), "--workers", "1", "--no-progress"]
    code, stdout, stderr = run_cli([*args, "-o", str(tmp_path / "entity"), "--kind", "entity"])
    assert code == 0, stderr
    records = [json.loads(line) for line in shards(tmp_path / "entity")[0].splitlines()]
    assert json.loads(stdout)["pairs"] == len(records) > 0 and {r["kind"] for r in records} == {"entity"}
    manifest = json.loads((tmp_path / "entity" / "manifest.json").read_text())
    assert manifest["job"]["settings"]["kind"] == "entity"
    code, stdout, stderr = run_cli([*args, "-o", str(tmp_path / "one"), "--max-hard-negatives", "1"])
    assert code == 0 and 0 < json.loads(stdout)["hard_negatives"] <= json.loads(stdout)["pairs"], stderr
    code, _, stderr = run_cli([*args, "-o", str(tmp_path / "x"), "--kind", "event"])
    assert code != 0 and "--kind must be one of relation, entity" in stderr


@pytest.mark.integration
def test_the_ray_engine_writes_what_the_process_engine_writes_and_resumes_its_runs(
    corpus: Path, tmp_path: Path, run_cli: Callable[[list[str]], tuple[int, str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Ray workers on a local instance the command starts (and stops): the process engine's shards and manifest,
    fresh and when finishing a process-engine run that was killed after two of its four shards."""
    ray = pytest.importorskip("ray")
    reference = run(corpus, tmp_path / "process")
    args = ["mine-pairs", str(corpus), "--shard-size", "2", "--engine", "ray", "--workers", "2"]
    code, stdout, stderr = run_cli([*args, "-o", str(tmp_path / "ray")])  # with the progress bar, as by default
    assert code == 0, stderr
    assert json.loads(stdout) == reference["totals"] and f"documents to {tmp_path / 'ray'} (4 shards," in stderr
    ray_manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert shards(tmp_path / "ray") == shards(tmp_path / "process") and timeless(ray_manifest) == timeless(reference)
    assert not ray.is_initialized()  # the instance the command started is shut down

    out = tmp_path / "resumed"
    with monkeypatch.context() as patch:
        count_chunks(patch, fail_at=3)
        with pytest.raises(KeyboardInterrupt):
            run(corpus, out)
    assert len(json.loads((out / "manifest.json").read_text())["shards"]) == 2
    code, _, stderr = run_cli([*args, "-o", str(out), "--no-progress"])
    assert code == 0, stderr
    resumed = json.loads((out / "manifest.json").read_text())
    assert shards(out) == shards(tmp_path / "process") and timeless(resumed) == timeless(reference)


def test_without_ray_the_ray_engine_says_which_extra_to_install(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed
    with pytest.raises(RelencError, match=r"--engine ray needs Ray: pip install 'relenc\[ray\]'"):
        mine_corpus(MiningJob((str(corpus),)), tmp_path / "out", engine="ray", progress=False)
    assert not (tmp_path / "out").exists()


def test_ray_options_are_checked_before_anything_runs(
    corpus: Path, tmp_path: Path, run_cli: Callable[[list[str]], tuple[int, str, str]]
) -> None:
    args = ["mine-pairs", str(corpus), "-o", str(tmp_path / "out"), "--no-progress"]
    code, _, stderr = run_cli([*args, "--engine", "spark"])
    assert code == 2 and stderr.strip() == "error: --engine must be one of process, ray, got 'spark'"
    code, _, stderr = run_cli([*args, "--ray-address", "auto"])
    assert code == 2 and stderr.strip() == "error: --ray-address needs --engine ray"
    assert not (tmp_path / "out").exists()
