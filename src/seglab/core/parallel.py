"""Process pools shared by the batch runner and the tiler."""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
from collections.abc import Sequence

__all__ = ["pool_context"]

#: Modules a forkserver imports once, so that each worker starts with them loaded.
PRELOAD = ("seglab.batch._run", "seglab.classical.threshold", "seglab.viz")


def pool_context(preload: Sequence[str] = PRELOAD) -> multiprocessing.context.BaseContext:
    """forkserver on Linux (fast, no fork-with-threads hazards), spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
        return context
    return multiprocessing.get_context("spawn")
