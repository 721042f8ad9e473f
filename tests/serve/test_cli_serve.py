"""``relenc serve`` fails before serving with one ``error:`` line (issue 13, case 6), never a traceback."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

uvicorn = pytest.importorskip("uvicorn")

from relenc.data.labels import LabelSet  # noqa: E402
from relenc.encoding.builder import InputConfig  # noqa: E402
from relenc.models.extractor import RelationExtractor  # noqa: E402
from relenc.serve.batcher import Batcher  # noqa: E402

if TYPE_CHECKING:
    from conftest import RunCli


def one_error_line(stderr: str) -> str:
    """The last line of stderr, which must be the only ``error:`` line; no traceback before it."""
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), stderr
    assert sum(line.startswith("error:") for line in lines) == 1 and "Traceback" not in stderr, stderr
    return lines[-1]


@pytest.fixture(scope="module")
def model_dir(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    labels = LabelSet.from_labels(["no_relation", "per:employee_of"])
    out = tmp_path_factory.mktemp("serve-model") / "m"
    RelationExtractor.build("ht", labels, {"main": tiny_encoder}, {"main": InputConfig()}).save_pretrained(out)
    return out


def _garbage_config(d: Path) -> None:
    (d / "relenc_config.json").write_text("{not json", encoding="utf-8")


def _config_without_strategy(d: Path) -> None:
    config = json.loads((d / "relenc_config.json").read_text(encoding="utf-8"))
    del config["strategy"]
    (d / "relenc_config.json").write_text(json.dumps(config), encoding="utf-8")


def _no_encoder(d: Path) -> None:
    import shutil

    shutil.rmtree(d / "encoders")


def _truncated_head(d: Path) -> None:
    head = d / "head.safetensors"
    head.write_bytes(head.read_bytes()[:40])


@pytest.mark.parametrize("damage", [_garbage_config, _config_without_strategy, _no_encoder, _truncated_head])
def test_serve_on_a_corrupt_model_dir_prints_one_error_line(
    damage: Callable[[Path], None], model_dir: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    damage(broken)
    code, _, stderr = run_cli(["serve", str(broken), "--port", "0"])
    assert code != 0
    assert str(broken) in one_error_line(stderr)


def test_serve_on_a_missing_model_dir_prints_one_error_line(tmp_path: Path, run_cli: RunCli) -> None:
    code, _, stderr = run_cli(["serve", str(tmp_path / "nothing"), "--port", "0"])
    assert code != 0 and "is not a relenc model directory" in one_error_line(stderr)


def test_a_failed_startup_is_reported_not_skipped(
    model_dir: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn's ``lifespan="auto"`` would log a failing startup and serve anyway, without the batcher."""

    def fail(self: Batcher) -> None:
        raise RuntimeError("the batcher cannot start")

    monkeypatch.setattr(Batcher, "start", fail)
    code, _, stderr = run_cli(["serve", str(model_dir), "--port", "0"])
    assert code != 0
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: the server stopped before it started serving"), stderr


def test_a_busy_port_prints_one_error_line(run_cli: RunCli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, stderr = run_cli(["serve", "no/such/model", "--port", str(port)])
    assert code != 0
    assert one_error_line(stderr).startswith(f"error: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_a_bad_limit_names_its_option(run_cli: RunCli) -> None:
    code, _, stderr = run_cli(["serve", "no/such/model", "--max-pairs", "0", "--timeout-s", "-1"])
    assert code != 0
    assert one_error_line(stderr) == (
        "error: bad limit: --max-pairs: Input should be greater than 0; --timeout-s: Input should be greater than 0"
    )
