"""The batch runner: one task per image on a local process pool or a Dask cluster, resumable."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seglab.batch._files import (
    COCO_NAME,
    MANIFEST_NAME,
    SUMMARY_NAME,
    Manifest,
    collect_inputs,
    input_key,
    output_paths,
    remove_stale_temporaries,
    write_outputs,
)
from seglab.core.errors import InputError, expected

__all__ = ["BatchReport", "process_image", "run_batch"]

log = logging.getLogger("seglab.batch")

BACKENDS = ("process", "dask")


@dataclass
class BatchReport:
    """What a batch run did: counts, failures with their reasons, and throughput."""

    total: int
    done: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    method: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    backend: str = "process"
    workers: int = 1
    out_dir: str = ""

    @property
    def ok(self) -> bool:
        """True when no image failed."""
        return not self.failed

    @property
    def images_per_s(self) -> float:
        """Images processed (not skipped) per second of wall time."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["n_failed"] = len(self.failed)
        data["images_per_s"] = round(self.images_per_s, 3)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        data["ok"] = self.ok
        return data


def process_image(task: dict[str, Any]) -> dict[str, Any]:
    """Segment one image and write its outputs; never raises (a failure is returned with its reason).

    ``task`` holds ``path``, ``stem``, ``out_dir``, ``method``, ``kind``, ``function`` (so a
    method registered only in the calling process still runs in a worker) and ``params``.
    """
    from seglab.core.image import load_image
    from seglab.core.registry import get_method, register, segment

    start = time.perf_counter()
    result: dict[str, Any] = {"stem": task["stem"], "path": task["path"], "key": task["key"]}
    try:
        try:
            get_method(task["method"])
        except InputError:
            register(task["method"], kind=task["kind"])(task["function"])
        image = load_image(task["path"])
        seg = segment(image, task["method"], **task["params"])
        seg.meta["source"] = task["path"]
        paths = write_outputs(image, seg, task["out_dir"], task["stem"])
        result.update(status="ok", n_regions=len(seg), sizes={k: p.stat().st_size for k, p in paths.items()})
    except Exception as error:  # noqa: BLE001 - one bad image must not stop the run
        result.update(status="failed", error=f"{type(error).__name__}: {' '.join(str(error).split())}")
    result["time_s"] = round(time.perf_counter() - start, 4)
    return result


def run_batch(
    inputs: Any,
    out_dir: Any,
    *,
    method: str = "otsu",
    params: dict[str, Any] | None = None,
    workers: int | None = None,
    backend: str = "process",
    scheduler: str | None = None,
    check: str = "mtime",
    coco: bool = False,
    on_result: Callable[[dict[str, Any], BatchReport], None] | None = None,
) -> BatchReport:
    """Segment many images in parallel, skipping those already done; write outputs as ``seglab segment`` does.

    Parameters
    ----------
    inputs : path-like, str or sequence
        A folder, a glob (``"data/**/*.png"``), a text file of paths, an image, or a list of these.
    out_dir : path-like
        Output folder: ``STEM.labels.png``, ``STEM.overlay.png``, ``STEM.json`` per image, plus
        ``seglab-batch.manifest.jsonl`` (finished images), ``seglab-batch.summary.json`` and,
        with ``coco=True``, ``seglab-batch.coco.json``.
    method : str
        A registered method (``seglab.methods()``); ``"model"`` with ``params={"model": PATH}``
        for a trained network.
    params : dict, optional
        The method's keyword parameters.
    workers : int, optional
        Parallel processes (process backend) or, with ``backend="dask"`` and no ``scheduler``,
        the LocalCluster's worker processes. Default: the number of CPUs. ``1`` runs in this process.
    backend : {"process", "dask"}
        A local process pool, or Dask distributed.
    scheduler : str, optional
        ``tcp://host:8786`` of a running Dask scheduler (implies ``backend="dask"``); without it
        the Dask backend starts a LocalCluster and shuts it down at the end.
    check : {"mtime", "hash"}
        How a rerun knows an input is unchanged: path + size + modification time, or a SHA-256
        of the content.
    coco : bool
        At the end, also write every finished image's regions (this run's and earlier runs') to
        one COCO file, ``seglab-batch.coco.json`` (RLE masks; ``file_name`` is the input's name).
    on_result : callable, optional
        Called in this process as ``on_result(result, report)`` after each image (progress bars).

    Returns
    -------
    BatchReport
        Counts, failures (path and reason) and throughput; also written to the summary JSON.

    Raises
    ------
    InputError
        Bad inputs (see :func:`collect_inputs`), an unknown method or parameter, a bad option.
    """
    from seglab.core.registry import check_params, get_method
    from seglab.core.validate import check_choice, check_int

    params = dict(params or {})
    info = get_method(method)
    check_params(info, params)
    check_choice("check", check, ("mtime", "hash"))
    backend = "dask" if scheduler else check_choice("backend", backend, BACKENDS)
    workers = check_int("workers", (os.cpu_count() or 1) if workers is None else workers, minimum=1)
    out = Path(out_dir)
    files = collect_inputs(inputs)
    if out.exists() and not out.is_dir():
        raise expected("output folder", "a folder", str(out))
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out, (f.stem for f in files))
    manifest = Manifest(out / MANIFEST_NAME)
    report = BatchReport(total=len(files), method=info.name, params=params, backend=backend,
                         workers=workers, out_dir=str(out))
    tasks = []
    for path in files:
        key = input_key(path, info.name, params, check=check)
        if manifest.is_done(path.stem, key, output_paths(out, path.stem)):
            report.skipped += 1
            continue
        tasks.append({"path": str(path), "stem": path.stem, "key": key, "out_dir": str(out), "method": info.name,
                      "kind": info.kind, "function": info.function, "params": params})
    start = time.perf_counter()
    try:
        for result in _execute(tasks, backend, workers, scheduler):
            _record(result, manifest, report)
            report.elapsed_s = time.perf_counter() - start
            if on_result is not None:
                on_result(result, report)
    finally:
        manifest.close()
        report.elapsed_s = time.perf_counter() - start
        from seglab.cli.common import write_json

        write_json(out / SUMMARY_NAME, report.to_dict())
    if coco:
        write_batch_coco(files, out, manifest)
    return report


def write_batch_coco(files: Sequence[Path], out: Path, manifest: Manifest) -> Path:
    """One COCO file of every input that finished (per the manifest), in input order, image by image."""
    from seglab.core.atomic import atomic_write_text
    from seglab.core.segmentation import Segmentation
    from seglab.formats.coco import CocoBuilder

    builder = CocoBuilder()
    for path in files:
        record = manifest.records.get(path.stem)
        if record is not None and record.get("status") == "ok":
            builder.add(path, Segmentation.load(output_paths(out, path.stem)["labels"]))
    target = out / COCO_NAME
    atomic_write_text(target, json.dumps(builder.to_dict()) + "\n")
    return target


def _record(result: dict[str, Any], manifest: Manifest, report: BatchReport) -> None:
    manifest.append(result)
    if result["status"] == "ok":
        report.done += 1
    else:
        report.failed.append({"path": result["path"], "error": result["error"]})
        log.warning("%s failed: %s", result["path"], result["error"])


def _execute(tasks: Sequence[dict[str, Any]], backend: str, workers: int, scheduler: str | None
             ) -> Iterator[dict[str, Any]]:
    if not tasks:
        return
    if backend == "dask":
        yield from _run_dask(tasks, workers, scheduler)
    elif workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield process_image(task)
    else:
        yield from _run_pool(tasks, workers)


def pool_context() -> multiprocessing.context.BaseContext:
    """forkserver on Linux (fast, no fork-with-threads hazards), spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["seglab.batch._run", "seglab.classical.threshold", "seglab.viz"])
        return context
    return multiprocessing.get_context("spawn")


def _run_pool(tasks: Sequence[dict[str, Any]], workers: int) -> Iterator[dict[str, Any]]:
    """Bounded in-flight work on a process pool.

    A worker that dies (out of memory, a crash in C) breaks the pool. The images it held are
    then retried one at a time on a fresh pool, so only an image that kills its worker again
    fails, and the run goes on.
    """
    queue = iter(tasks)
    window = 4 * workers  # a million inputs do not make a million futures
    suspects: list[dict[str, Any]] = []
    while True:
        pending: dict[cf.Future[dict[str, Any]], dict[str, Any]] = {}
        suspect = None
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=pool_context()) as pool:
            try:
                while suspects:
                    suspect = suspects.pop(0)
                    result = pool.submit(process_image, suspect).result()
                    suspect = None
                    yield result
                _fill(pool, pending, queue, window)
                while pending:
                    finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    broken = False
                    for future in finished:
                        if isinstance(future.exception(), BrokenProcessPool):
                            broken = True
                        else:
                            pending.pop(future)
                            yield future.result()
                    if broken:
                        raise BrokenProcessPool("a worker died")
                    _fill(pool, pending, queue, window)
                return
            except BrokenProcessPool:
                if suspect is not None:
                    yield _failure(suspect, _POOL_DIED)
                suspects.extend(pending.values())


def _fill(pool: cf.ProcessPoolExecutor, pending: dict[Any, dict[str, Any]], queue: Iterator[dict[str, Any]],
          window: int) -> None:
    while len(pending) < window:
        task = next(queue, None)
        if task is None:
            return
        pending[pool.submit(process_image, task)] = task


_POOL_DIED = "BrokenProcessPool: worker process died (out of memory?)"


def _failure(task: dict[str, Any], error: str) -> dict[str, Any]:
    return {"stem": task["stem"], "path": task["path"], "key": task["key"], "status": "failed",
            "error": error, "time_s": 0.0}


# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in every worker. Setting any glibc malloc tunable
# turns off its adaptive mmap threshold, so every image-sized array is mmapped and page-faulted
# afresh: measured here, that alone makes image work about 18% slower (the process pool run with
# the same variable drops from 21.5 to 17.8 images/s). None removes the variable.
LOCAL_CLUSTER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


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
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
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


def _run_dask(tasks: Sequence[dict[str, Any]], workers: int, scheduler: str | None) -> Iterator[dict[str, Any]]:
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
                    results = [_failure(group[0], f"{type(error).__name__}: {' '.join(str(error).split())}")]
                else:
                    suspects.extend(group)
                    results = []
            finally:
                future.release()
            for result in results:
                groups.observe(result["time_s"])
            refill()
            yield from results
