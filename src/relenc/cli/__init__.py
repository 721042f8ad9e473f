"""The ``relenc`` command line. Commands are thin: parse, call the library, print.

Every user-facing problem is a :class:`relenc.errors.RelencError`; it is caught here once and printed as a
single ``error: ...`` line on stderr with a non-zero exit status (``--debug`` shows the traceback).
"""

from __future__ import annotations

import sys

import typer

from relenc.errors import RelencError

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
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    _register()
    try:
        app(args=args, standalone_mode=False)
    except RelencError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click usage errors come here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            if debug:
                raise
            print(f"error: {exc.format_message()}", file=sys.stderr)
            sys.exit(exc.exit_code)
        raise
