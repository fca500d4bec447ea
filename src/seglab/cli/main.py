"""The ``seglab`` command: a thin layer over the Python API.

Each command group lives in its own module with a ``register(app)`` function; this module
builds the app from :data:`COMMAND_MODULES` and turns every :class:`~seglab.SeglabError` and
every ``OSError`` (a path that cannot be written or read) into one line on stderr and exit
code 1 (unexpected errors keep their traceback).
"""

from __future__ import annotations

import errno
import importlib
import sys

import typer
from typer.core import TyperGroup

from seglab.core.errors import SeglabError

__all__ = ["app", "main", "COMMAND_MODULES"]

#: Modules that add commands, each through its ``register(app)``.
COMMAND_MODULES = (
    "seglab.cli.segment",    # methods, segment, compare, demo
    "seglab.cli.evaluate",   # evaluate, bench
    "seglab.cli.objects",    # detect, export, convert, annotate
    "seglab.cli.inpaint",    # inpaint
    "seglab.cli.deep",       # train, predict, model
    "seglab.cli.batch",      # batch
    "seglab.cli.serve",      # serve, export-project
)


#: File-system conditions of the user's machine (read-only, full, no permission), not seglab bugs.
_DISK_ERRORS = frozenset(
    getattr(errno, name) for name in ("EROFS", "ENOSPC", "EACCES", "EPERM", "EDQUOT", "ENOTDIR", "EISDIR", "EFBIG", "EEXIST")
    if hasattr(errno, name)
)


class _SeglabGroup(TyperGroup):
    """Prints seglab's own errors as ``InputError: ...`` on one line and exits with 1."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except SeglabError as error:
            typer.echo(f"{type(error).__name__}: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(1) from None
        except OSError as error:  # a folder that cannot be written, a full disk, a missing path
            if error.errno in _DISK_ERRORS:
                where = f" {error.filename!r}" if error.filename else ""
                typer.echo(f"OSError: could not write or read{where}: {error.strerror or error}", err=True)
            else:
                typer.echo(f"{type(error).__name__}: {' '.join(str(error).split())}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_SeglabGroup,
    name="seglab",
    help="Image segmentation in one toolkit: classical methods, deep models, objects, annotation, inpainting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from seglab import __version__

        typer.echo(f"seglab {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:  # options but no command: show what there is
        typer.echo(ctx.get_help())
        raise typer.Exit(2)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def _one_line_warning(message, category, filename, lineno, line=None):  # type: ignore[no-untyped-def]
    return f"{category.__name__}: {' '.join(str(message).split())}\n"


def main() -> None:
    """Entry point of the ``seglab`` script; warnings print as one ``UserWarning: ...`` line."""
    import warnings

    warnings.formatwarning = _one_line_warning
    app(prog_name="seglab")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
