"""A bounded pool of worker processes for the annotator's compute requests.

``segment`` requests run here, never in the server process, so a slow or greedy method cannot
starve the page's own routes:

- at most ``workers`` jobs run at once and at most ``queue`` wait; beyond that the answer is
  429 (busy);
- a job that runs past ``time_limit`` seconds, grows past ``memory_mb`` of resident memory,
  or whose client went away is stopped by killing its worker (a fresh one replaces it);
  the first two answer 503 with the limit;
- workers exit when the server dies (their pipe closes; on Linux also ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from seglab.core.errors import FormatError, InputError, SeglabError

__all__ = ["Busy", "JobLimits", "JobPool", "LimitExceeded", "exit_with_parent", "run_http"]

_POLL_S = 0.05  # longest pause between checks; the first ones are shorter, so quick jobs answer quickly


class Busy(Exception):
    """Too many jobs running and waiting (HTTP 429)."""


class LimitExceeded(Exception):
    """A job ran past its time or memory limit, or its worker died (HTTP 503)."""


@dataclass(frozen=True)
class JobLimits:
    """Limits of the annotator's compute requests (see the module docstring)."""

    workers: int = 2
    queue: int = 8
    time_limit: float = 60.0
    memory_mb: int = 4096


def exit_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no-op elsewhere)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(0)


def _worker_main(connection: Any, memory_mb: int) -> None:
    exit_with_parent()
    with contextlib.suppress(Exception):  # hard ceiling where the resident-memory watch cannot see
        import resource

        limit = memory_mb * 2**20 * 4
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return  # the server went away
        try:
            result = ("ok", function(*args))
        except MemoryError:
            result = ("memory", "")
        except SeglabError as error:
            result = ("seglab", (type(error).__name__, str(error)))
        except (ValueError, TypeError, OverflowError, ArithmeticError) as error:
            result = ("failed", f"{type(error).__name__}: {error}")
        except Exception as error:  # noqa: BLE001 - reported as a server error, the worker lives on
            result = ("error", f"{type(error).__name__}: {error}")
        try:
            connection.send(result)
        except (EOFError, OSError):
            return


_START_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_hidden() -> Any:
    """Start a spawned worker without re-running the server's ``__main__`` script.

    ``spawn`` imports the parent's main module in the child; a script that calls
    ``create_app`` and ``uvicorn.run`` at top level (no ``if __name__ == "__main__"``) would
    then start a server in every worker. Jobs are functions of importable modules, so the
    worker does not need it.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    with _START_LOCK:
        try:
            if "__file__" in saved:
                delattr(main, "__file__")
            if "__spec__" in saved:
                main.__spec__ = None  # type: ignore[union-attr]
            yield
        finally:
            for key, value in saved.items():
                setattr(main, key, value)


class _Worker:
    def __init__(self, context: Any, memory_mb: int) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, memory_mb), daemon=True)
        with _main_hidden():
            self.process.start()
        child.close()

    def rss_mb(self) -> float:
        try:
            import psutil

            return psutil.Process(self.process.pid).memory_info().rss / 2**20
        except Exception:  # noqa: BLE001 - no psutil, or the process just ended: RLIMIT_AS still guards
            return 0.0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(5)
        with contextlib.suppress(Exception):
            self.connection.close()


class JobPool:
    """Runs picklable ``function(*args)`` calls in worker processes within :class:`JobLimits`.

    Examples
    --------
    >>> import asyncio, operator
    >>> pool = JobPool(JobLimits(workers=1))
    >>> asyncio.run(pool.run(operator.add, 2, 3))  # doctest: +SKIP
    5
    """

    def __init__(self, limits: JobLimits | None = None) -> None:
        self.limits = limits or JobLimits()
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._running = 0
        self._waiting = 0
        self._slots: asyncio.Semaphore | None = None

    def close(self) -> None:
        for worker in self._idle:
            worker.kill()
        self._idle.clear()

    async def run(
        self,
        function: Callable[..., Any],
        *args: Any,
        disconnected: Callable[[], Awaitable[bool]] | None = None,
    ) -> Any:
        """``function(*args)`` in a worker; raises Busy, LimitExceeded or the job's SeglabError."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limits.workers)
        if self._running >= self.limits.workers and self._waiting >= self.limits.queue:
            raise Busy(
                f"the server is busy ({self._running} segment requests running, {self._waiting} waiting); "
                "try again in a moment"
            )
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._running += 1
        try:
            return await self._run_in_worker(function, args, disconnected)
        finally:
            self._running -= 1
            self._slots.release()

    async def _run_in_worker(
        self, function: Callable[..., Any], args: tuple[Any, ...], disconnected: Callable[[], Awaitable[bool]] | None
    ) -> Any:
        worker = self._idle.pop() if self._idle else await asyncio.to_thread(
            _Worker, self._context, self.limits.memory_mb
        )
        keep = False
        try:
            worker.connection.send((function, args))
            deadline = time.monotonic() + self.limits.time_limit
            checks, pause = 0, 0.002
            while not worker.connection.poll(0):
                if not worker.process.is_alive():
                    raise LimitExceeded(f"the computation stopped unexpectedly (exit code {worker.process.exitcode})")
                if time.monotonic() > deadline:
                    raise LimitExceeded(
                        f"the computation took longer than the limit of {self.limits.time_limit:g} s and was "
                        "stopped; try smaller parameters or a smaller image"
                    )
                if worker.rss_mb() > self.limits.memory_mb:
                    raise LimitExceeded(
                        f"the computation needed more than the limit of {self.limits.memory_mb} MiB of memory "
                        "and was stopped; try smaller parameters or a smaller image"
                    )
                checks += 1
                if disconnected is not None and checks % 4 == 0 and await disconnected():
                    raise asyncio.CancelledError
                await asyncio.sleep(pause)
                pause = min(pause * 1.5, _POLL_S)
            try:
                kind, value = worker.connection.recv()
            except (EOFError, OSError):
                raise LimitExceeded("the computation stopped unexpectedly") from None
            keep = True
        finally:
            if keep:
                self._idle.append(worker)
            else:
                worker.kill()
        if kind == "ok":
            return value
        if kind == "memory":
            raise LimitExceeded(
                f"the computation ran out of memory (limit {self.limits.memory_mb} MiB); try smaller parameters"
            )
        if kind == "seglab":
            name, message = value
            raise (FormatError if name == "FormatError" else InputError)(message)
        if kind == "failed":
            raise InputError(f"the method failed on these parameters ({value})")
        raise RuntimeError(value)


async def run_http(pool: JobPool, function: Callable[..., Any], *args: Any, request: Any = None) -> Any:
    """:meth:`JobPool.run` for a route: Busy is HTTP 429 and LimitExceeded 503, with the reason."""
    from fastapi import HTTPException

    try:
        return await pool.run(function, *args, disconnected=None if request is None else request.is_disconnected)
    except Busy as error:
        raise HTTPException(429, str(error), headers={"Retry-After": "2"}) from None
    except LimitExceeded as error:
        raise HTTPException(503, str(error)) from None
