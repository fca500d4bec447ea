"""Progress reporting without printing: library code calls a callback the caller passes.

``progress(done, total, description)`` is called after each unit of work. The CLI passes one
that drives a rich progress bar (``seglab.cli.common.progress_callback``); a notebook or a web
server passes its own; None reports nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

__all__ = ["ProgressFn", "track"]

T = TypeVar("T")

#: ``progress(done, total, description)``.
ProgressFn = Callable[[int, int, str], None]


def track(items: Sequence[T] | Iterable[T], progress: ProgressFn | None, description: str) -> Iterator[T]:
    """Yield ``items``, calling ``progress(done, total, description)`` after each one.

    Examples
    --------
    >>> seen = []
    >>> list(track("ab", lambda done, total, what: seen.append((done, total, what)), "letters"))
    ['a', 'b']
    >>> seen
    [(1, 2, 'letters'), (2, 2, 'letters')]
    """
    items = list(items)
    for done, item in enumerate(items, 1):
        yield item
        if progress is not None:
            progress(done, len(items), description)
