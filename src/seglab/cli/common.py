"""Helpers shared by the CLI commands: progress bars, parameters, safe output paths, JSON."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from seglab.core.atomic import atomic_write_json
from seglab.core.errors import InputError

__all__ = ["progress", "progress_bar", "progress_callback", "method_params", "check_outputs", "write_json", "expand_images", "console"]

T = TypeVar("T")


def console(stderr: bool = True) -> Any:
    from rich.console import Console

    return Console(stderr=stderr)


@contextlib.contextmanager
def progress_bar(total: int, *, description: str, quiet: bool = False) -> Iterator[Callable[[], None]]:
    """A rich progress bar on stderr; yields ``advance()`` to call after each step."""
    if quiet or total <= 1:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console()) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


@contextlib.contextmanager
def progress_callback(*, quiet: bool = False) -> Iterator[Callable[[int, int, str], None]]:
    """A ``progress(done, total, description)`` callback (see :mod:`seglab.core.progress`) drawing a
    rich bar on stderr while the block runs; a no-op when ``quiet``."""
    if quiet:
        yield lambda done, total, description: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(), transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(done: int, total: int, description: str) -> None:
            if total <= 1:
                return
            if description not in tasks:
                tasks[description] = bar.add_task(description, total=total)
            bar.update(tasks[description], completed=done, total=total)

        yield update


def progress(items: Sequence[T] | Iterable[T], *, description: str, total: int | None = None,
             quiet: bool = False) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr (none when ``quiet`` or for a single item)."""
    items = list(items)
    with progress_bar(len(items) if total is None else total, description=description, quiet=quiet) as advance:
        for item in items:
            yield item
            advance()


def method_params(method: str, pairs: Sequence[str] | None) -> dict[str, Any]:
    """Typed keyword arguments for ``method`` from repeated ``-p key=value`` options."""
    from seglab.core.registry import get_method, parse_params

    return parse_params(get_method(method), list(pairs or []))


def check_outputs(paths: Iterable[Path], overwrite: bool) -> None:
    """Refuse to replace existing files unless ``overwrite`` was asked for."""
    if overwrite:
        return
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise InputError(
            f"output {existing[0]!r}{more} must not exist already (pass --overwrite to replace it)"
        )


def write_json(path: Path, data: Any) -> None:
    """Write JSON (atomically, indented)."""
    atomic_write_json(path, data)


def expand_images(inputs: Sequence[Path]) -> list[Path]:
    """Files as given, folders expanded to the images they hold: :func:`seglab.core.inputs.collect_images`."""
    from seglab.core.inputs import collect_images

    return collect_images(list(inputs))
