"""Batch runs on Dask: a LocalCluster tuned for image work, or an existing cluster; images in groups."""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any

from seglab.batch._run import failure, process_image
from seglab.core.errors import InputError

__all__ = ["LOCAL_CLUSTER_CONFIG", "TaskGroups", "dask_client", "process_images", "run_dask"]

# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in every worker. Setting any glibc malloc tunable
# turns off its adaptive mmap threshold, so every image-sized array is mmapped and page-faulted
# afresh: measured here, that alone makes image work about 18% slower (the process pool run with
# the same variable drops from 21.5 to 17.8 images/s). None removes the variable.
LOCAL_CLUSTER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


# No dashboard, and the scheduler's small HTTP server (health checks) on a free port of this
# machine only: with Dask's default, a second cluster warns that port 8787 is in use.
_NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}


@contextlib.contextmanager
def _environ_restored() -> Iterator[None]:
    """Undo what Dask's nannies write into this process's ``os.environ`` (``OMP_NUM_THREADS=1`` and
    friends) so that processes started later by the caller do not inherit it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client on ``scheduler``, or on a LocalCluster of ``workers`` single-threaded processes."""
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise InputError('the Dask backend needs dask.distributed: pip install "seglab[dist]"') from None
    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    import dask

    with (
        _environ_restored(),
        dask.config.set(LOCAL_CLUSTER_CONFIG),
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                     scheduler_kwargs=_NO_DASHBOARD) as cluster,
        Client(cluster) as client,
    ):
        yield client


def process_images(tasks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`process_image` on each of ``tasks``: one Dask task for several quick images."""
    return [process_image(task) for task in tasks]


# Each Dask task costs the scheduler, the client and the worker a few milliseconds of CPU, which on
# a laptop they take from the workers; Dask's advice is tasks of at least 100 ms. Quick images are
# therefore grouped, sized from the times measured so far, into tasks of about this long.
TARGET_TASK_S = 0.5


class TaskGroups:
    """Hands out groups of tasks sized so that each group takes about ``target_s`` seconds.

    The first groups hold one image each; later ones hold ``target_s / mean image time`` images,
    but never more than a ``1 / (2 * slots)`` share of what is left, so that the last groups stay
    small and every worker finishes at about the same time.
    """

    def __init__(self, tasks: Sequence[dict[str, Any]], slots: int, target_s: float = TARGET_TASK_S) -> None:
        self._queue = list(reversed(tasks))
        self._slots = slots
        self._target_s = target_s
        self._seen = 0
        self._seconds = 0.0

    def observe(self, seconds: float) -> None:
        """Record how long one image took."""
        self._seen += 1
        self._seconds += seconds

    def size(self) -> int:
        """How many images the next group takes."""
        if not self._seen:
            return 1
        mean = max(self._seconds / self._seen, 1e-6)
        share = -(-len(self._queue) // (2 * self._slots))
        return max(1, min(int(self._target_s / mean), share))

    def take(self, n_groups: int) -> list[list[dict[str, Any]]]:
        """Up to ``n_groups`` groups (fewer when the tasks run out)."""
        groups = []
        for _ in range(n_groups):
            if not self._queue:
                break
            groups.append([self._queue.pop() for _ in range(min(self.size(), len(self._queue)))])
        return groups


def run_dask(tasks: Sequence[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
    """Groups of images on a Dask cluster, two per worker thread in flight.

    A group whose workers died (Dask gives up after ``distributed.scheduler.allowed-failures``
    retries, with ``KilledWorker``) may have died with an innocent image queued beside the culprit
    on the same worker. Its images become suspects and are rerun one at a time with nothing else
    in flight, so only an image that kills its worker on its own fails.
    """
    from distributed import as_completed

    with dask_client(workers, scheduler) as client:
        slots = max(1, sum(client.nthreads().values()))
        groups = TaskGroups(tasks, slots)
        running = as_completed()
        held: dict[Any, tuple[list[dict[str, Any]], bool]] = {}
        suspects: collections.deque[dict[str, Any]] = collections.deque()

        def submit(group: list[dict[str, Any]], alone: bool = False) -> None:
            future = client.submit(process_images, group, pure=False)
            held[future] = (group, alone)
            running.add(future)

        def refill() -> None:
            if suspects:
                if not held:
                    submit([suspects.popleft()], alone=True)
                return
            # two groups per worker thread: one running, one waiting, so no worker idles between groups
            while len(held) < 2 * slots and (taken := groups.take(1)):
                submit(taken[0])

        refill()
        for future in running:
            group, alone = held.pop(future)
            try:
                results = future.result()
            except Exception as error:  # noqa: BLE001 - e.g. KilledWorker: its workers died
                if alone:
                    results = [failure(group[0], f"{type(error).__name__}: {' '.join(str(error).split())}")]
                else:
                    suspects.extend(group)
                    results = []
            finally:
                future.release()
            for result in results:
                groups.observe(result["time_s"])
            refill()
            yield from results
