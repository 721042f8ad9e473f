"""Atomic outputs: a crash or a full disk never leaves a half-written file or model directory behind.

Files are written to a temp file beside the target and renamed over it (:func:`write_lines_atomic`,
:func:`write_text_atomic`). Directories are built in a temp directory beside the target and swapped in
(:func:`atomic_dir`, :func:`replace_dir`); on Linux the swap is one ``renameat2(RENAME_EXCHANGE)`` call, so a reader
always finds either the old directory or the new one at the target path.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from relenc.errors import RelencError

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# renameat2 answers these where the kernel or the file system cannot exchange: then two renames do the swap
_NO_EXCHANGE = frozenset({errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP})


def write_lines_atomic(path: str | Path, lines: Iterable[str]) -> int:
    """Write ``lines`` (each without its newline) to a temp file beside ``path``, then rename it over ``path``.

    The lines may come from a generator that does work as it goes (mining, prediction): nothing appears at
    ``path`` until all of them are written. Returns the number of lines.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
                count += 1
        os.chmod(tmp, 0o644)  # mkstemp creates the file private (0600); an output file is ordinarily readable
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def write_text_atomic(path: str | Path, text: str) -> None:
    """A whole small file (a JSON summary, a state file), atomically."""
    write_lines_atomic(path, [text.removesuffix("\n")])


@contextlib.contextmanager
def write_errors_named(path: str | Path, advice: str) -> Iterator[None]:
    """A full disk or a directory made read-only while writing ``path`` is the user's to fix: one line that names
    the path, the system's reason and ``advice`` (what to do, what is kept), not a traceback."""
    try:
        yield
    except OSError as exc:
        raise RelencError(f"cannot write {path}: {exc.strerror or exc}; {advice}") from exc


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a fresh empty directory beside ``target``; when the block ends without error, swap it in as ``target``.

    If the block raises, the temp directory is removed and ``target`` is left as it was. Everything in it gets the
    ordinary modes (0666 or 0777 less the umask) before the swap: some writers (safetensors) create files private
    (0600), and a model directory other users cannot read is a broken one for them.
    It sits in ``target``'s parent, so the swap is a rename on one file system. A process killed inside the block
    leaves its temp directory (``.<name>.<random>.tmp``) behind, never a partial ``target``.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{secrets.token_hex(6)}.tmp")
    tmp.mkdir()
    try:
        yield tmp
        _ordinary_modes(tmp)
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # the block's own error is the one to report
        raise


def _ordinary_modes(root: Path) -> None:
    """``root`` and everything under it readable as the umask allows: 0777 or 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def replace_dir(new: str | Path, target: str | Path) -> None:
    """Move directory ``new`` to ``target``, replacing the directory there if any; both on one file system.

    On Linux the two are exchanged in one atomic step and the old directory (now at ``new``) is then deleted: a
    crash at any point leaves ``target`` whole, old or new. Where the kernel or file system cannot exchange (macOS,
    some network file systems), the old directory is first renamed aside to ``.<name>.old-<random>``: a crash between
    that rename and the next leaves the old directory whole there and ``target`` missing. On success nothing is left
    but ``target``. A file (not a directory) at ``target`` is refused rather than deleted.
    """
    new, target = Path(new), Path(target)
    if not target.exists():
        new.rename(target)
        return
    if not target.is_dir():
        raise RelencError(f"{target} exists and is not a directory; remove it or choose another output path")
    if _exchange(new, target):
        shutil.rmtree(new)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    target.rename(old)  # onto the empty placeholder: rename may replace an empty directory
    new.rename(target)
    shutil.rmtree(old)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False if unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """glibc's ``renameat2`` (2.28 and later), or None off Linux or on an older or another C library."""
    if sys.platform != "linux":
        return None
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function
