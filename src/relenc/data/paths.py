"""Where the datasets live: one answer for the grid runner and the benchmark scripts."""

from __future__ import annotations

import os
from pathlib import Path

#: The data folder beside the repository, as the README describes it (relative to the repository's root).
DEFAULT_DATA_DIR = Path("../shared/data")


def data_dir(repo: Path = Path()) -> Path:
    """``$RELENC_DATA_DIR`` if set, else ``../shared/data`` beside ``repo`` (the working directory, where the README
    runs every command; the test suite passes its own root so it runs from anywhere): the folder holding
    ``conll04/``, ``semeval2010_task8/``...

    Read at call time, not import time, so a test or a script that sets the variable later still gets it.
    """
    env = os.environ.get("RELENC_DATA_DIR")
    return Path(env) if env else repo / DEFAULT_DATA_DIR
