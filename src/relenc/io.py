"""Atomic file writing: a crash or a full disk never leaves a half-written output file behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


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
