"""Atomic files and directories: after an error or a crash the target is the old one or the new one, whole."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from relenc import io
from relenc.errors import RelencError
from relenc.io import atomic_dir, replace_dir, write_errors_named, write_lines_atomic, write_text_atomic

OLD = {"config.json": "old", "encoders/main/weights": "old weights"}
NEW = {"config.json": "new", "head.safetensors": "new head"}


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def contents(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(params=["exchange", "two renames"])
def swap_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the one-step Linux exchange and with the two-rename fallback of other systems."""
    if request.param == "exchange":
        if io._renameat2() is None:
            pytest.skip("no renameat2 here")
    else:
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    return str(request.param)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_write_lines_atomic_failure_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    write_text_atomic(target, "before\n")

    def lines() -> Iterator[str]:
        yield "half"
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_lines_atomic(target, lines())
    assert target.read_text() == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
    assert write_lines_atomic(target, ["a", "b"]) == 2 and target.read_text() == "a\nb\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_atomic_dir_creates_the_target_and_its_parents(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "model"
    with atomic_dir(target) as tmp:
        assert tmp.parent == target.parent and tmp.is_dir() and not any(tmp.iterdir())
        assert not target.exists()  # nothing appears at the target before the block ends
        make(tmp, NEW)
    assert contents(target) == NEW
    assert [p.name for p in target.parent.iterdir()] == ["model"]


def test_atomic_dir_replaces_the_old_directory_and_leaves_nothing_else(tmp_path: Path, swap_kind: str) -> None:
    target = make(tmp_path / "model", OLD)
    with atomic_dir(target) as tmp:
        make(tmp, NEW)
    assert contents(target) == NEW  # no old file survives beside the new ones
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no .old or .tmp directory


def test_error_inside_atomic_dir_keeps_the_target_and_removes_the_temp_dir(tmp_path: Path) -> None:
    target = make(tmp_path / "model", OLD)
    with pytest.raises(RuntimeError, match="saving failed"), atomic_dir(target) as tmp:
        make(tmp, {"config.json": "half written"})
        raise RuntimeError("saving failed")
    assert contents(target) == OLD
    assert not tmp.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_error_inside_atomic_dir_without_a_target_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "model") as tmp:
        make(tmp, NEW)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_swapped_in_directory_is_not_private(tmp_path: Path, umask_022: None, swap_kind: str) -> None:
    """mkdtemp's 0700 would make a saved model unreadable to other users: the target gets the ordinary 0755."""
    target = make(tmp_path / "model", OLD)
    with atomic_dir(target) as tmp:
        make(tmp, NEW)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    with atomic_dir(tmp_path / "fresh") as tmp:
        make(tmp, NEW)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o755


def test_replace_dir_with_no_target_is_a_rename(tmp_path: Path) -> None:
    new = make(tmp_path / ".model.tmp", NEW)
    replace_dir(new, tmp_path / "model")
    assert contents(tmp_path / "model") == NEW and not new.exists()


def test_replace_dir_uses_the_exchange_where_there_is_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if io._renameat2() is None:
        pytest.skip("no renameat2 here")
    calls: list[tuple[Path, Path]] = []
    exchange = io._exchange

    def spy(a: Path, b: Path) -> bool:
        calls.append((a, b))
        return exchange(a, b)

    monkeypatch.setattr(io, "_exchange", spy)
    target = make(tmp_path / "model", OLD)
    replace_dir(make(tmp_path / ".new", NEW), target)
    assert calls and contents(target) == NEW
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_crash_after_the_exchange_leaves_the_new_directory_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the swap and the deletion of the old directory: the target is already the new one."""
    if io._renameat2() is None:
        pytest.skip("no renameat2 here")
    target = make(tmp_path / "model", OLD)
    new = make(tmp_path / ".new", NEW)

    def killed(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(shutil, "rmtree", killed)
    with pytest.raises(KeyboardInterrupt):
        replace_dir(new, target)
    assert contents(target) == NEW
    assert contents(new) == OLD  # the old directory, whole, waiting to be deleted


@pytest.mark.parametrize("crash_at", [1, 2])
def test_crash_in_the_two_rename_swap_loses_neither_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: int
) -> None:
    """Without an exchange: killed before the first rename or between the two, the old directory is whole."""
    monkeypatch.setattr(io, "_exchange", lambda a, b: False)
    target = make(tmp_path / "model", OLD)
    new = make(tmp_path / ".new", NEW)
    rename = Path.rename
    count = 0

    def crashing_rename(self: Path, to: str | Path) -> Path:
        nonlocal count
        count += 1
        if count == crash_at:
            raise KeyboardInterrupt
        return rename(self, to)

    monkeypatch.setattr(Path, "rename", crashing_rename)
    with pytest.raises(KeyboardInterrupt):
        replace_dir(new, target)
    assert contents(new) == NEW
    if crash_at == 1:
        assert contents(target) == OLD
    else:
        (aside,) = tmp_path.glob(".model.old-*")
        assert contents(aside) == OLD and not target.exists()


def test_replace_dir_refuses_to_replace_a_file(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.write_text("not a model")
    new = make(tmp_path / ".new", NEW)
    with pytest.raises(RelencError, match="not a directory"):
        replace_dir(new, target)
    assert target.read_text() == "not a model" and contents(new) == NEW


def test_write_errors_named_turns_a_full_disk_into_one_actionable_line(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(RelencError) as caught, write_errors_named(target, "free some space"):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert str(caught.value) == f"cannot write {target}: No space left on device; free some space"


def test_write_errors_named_lets_other_errors_through(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a file-system error"), write_errors_named(tmp_path / "x", "advice"):
        raise ValueError("not a file-system error")
