"""The ``relenc`` command line. Commands are thin: parse, call the library, print.

Every user-facing problem is a :class:`relenc.errors.RelencError`; it is caught here once and printed as a
single ``error: ...`` line on stderr with a non-zero exit status (``--debug`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from relenc.data.readers import FORMATS
from relenc.errors import RelencError

#: The data formats, as every ``--format`` option's help lists them (from the readers' one list).
FORMATS_HELP = f"Data format: {', '.join(FORMATS)}."

app = typer.Typer(
    name="relenc",
    help="Relation extraction with entity and relation embeddings.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    """Import every command module of this package; each adds its commands to ``app`` when imported."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: the one place errors become ``error:`` lines and exit codes."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _register()
    try:
        code = app(args=args, standalone_mode=False, prog_name="relenc")
    except RelencError as exc:
        if debug:
            raise
        _print_error(str(exc))
        sys.exit(2)
    except OSError as exc:  # the last resort: the places that write files say more, but none may end in a traceback
        if debug:
            raise
        _print_error(_os_error(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # usage errors (a missing argument, an unknown option) in non-standalone mode
        if debug:
            raise
        _print_error(exc.format_message() + _help_hint(exc))
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:  # typer turns Ctrl-C into a returned 130 when not standalone
        if code == 130:
            print("error: aborted", file=sys.stderr)
        sys.exit(code)


def _help_hint(exc: Exception) -> str:
    """Where a usage error's command documents its arguments ("see relenc extract --help")."""
    ctx = getattr(exc, "ctx", None)
    return f" (see {ctx.command_path} --help)" if ctx is not None else ""


def _print_error(message: str) -> None:
    """One ``error:`` line per line of the message (a config with three bad fields gives three lines)."""
    for line in message.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr)


def _os_error(exc: OSError) -> str:
    """``<path>: <reason>`` for a file-system error that no command turned into a RelencError itself."""
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    reason = exc.strerror or str(exc)
    if not paths:
        return f"{reason}; check the output paths and the free disk space"
    return f"{' -> '.join(paths)}: {reason}; check the path, its permissions and the free disk space"


def check_output(path: Path, directory: bool = False) -> None:
    """Refuse an output path that cannot be written, before hours of work are done for it.

    ``path`` is a file to write (``directory=False``) or a directory to create or fill; missing parents are
    fine (they are created), but the nearest existing one must be a writable directory.
    """
    if path.exists() and path.is_dir() != directory:
        found, wanted = ("a file", "a directory") if directory else ("a directory", "a file path")
        raise RelencError(f"{path}: is {found}; give {wanted} for this output")
    parent = path if directory and path.is_dir() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise RelencError(f"{path}: cannot be created because {parent} is a file; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RelencError(
            f"{path}: cannot write in {parent} (permission denied or read-only); choose another path or make "
            "the directory writable"
        )
