"""The ``seglab`` command: a thin layer over the Python API.

Each command group lives in its own module with a ``register(app)`` function; this module
builds the app from :data:`COMMAND_MODULES` and turns every :class:`~seglab.SeglabError`, and
every file-system refusal (read-only, full disk, no permission), into one line on stderr and
exit code 1 (unexpected errors keep their traceback).
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
            message = " ".join(str(error).split())
            typer.echo(f"{type(error).__name__}: {message}", err=True)
            raise typer.Exit(1) from None
        except OSError as error:
            if error.errno not in _DISK_ERRORS:
                raise
            where = f" {error.filename!r}" if error.filename else ""
            typer.echo(f"OSError: could not write or read{where}: {error.strerror or error}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_SeglabGroup,
    name="seglab",
    help="Image segmentation in one toolkit: classical methods, deep models, objects, annotation, inpainting.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    if version:
        from seglab import __version__

        typer.echo(f"seglab {__version__}")
        raise typer.Exit()


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    """Entry point of the ``seglab`` script."""
    app(prog_name="seglab")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
