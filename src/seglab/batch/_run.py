"""The batch runner: images on a local process pool (here) or a Dask cluster (``_dask``), resumable."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import logging
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
from seglab.core.atomic import atomic_write_json
from seglab.core.errors import InputError, expected
from seglab.core.parallel import pool_context

__all__ = ["BatchReport", "failure", "process_image", "run_batch"]

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
        atomic_write_json(out / SUMMARY_NAME, report.to_dict())
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
        from seglab.batch._dask import run_dask

        yield from run_dask(tasks, workers, scheduler)
    elif workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield process_image(task)
    else:
        yield from _run_pool(tasks, workers)


def _run_pool(tasks: Sequence[dict[str, Any]], workers: int) -> Iterator[dict[str, Any]]:
    """Bounded in-flight work on a process pool.

    A worker that dies (out of memory, a crash in C) breaks the pool. The images it held are
    then retried one at a time on a fresh pool, so only an image that kills its worker again
    fails, and the run goes on.
    """
    queue = collections.deque(tasks)
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
                    yield failure(suspect, _POOL_DIED)
                suspects.extend(pending.values())


def _fill(pool: cf.ProcessPoolExecutor, pending: dict[Any, dict[str, Any]],
          queue: collections.deque[dict[str, Any]], window: int) -> None:
    while len(pending) < window and queue:
        future = pool.submit(process_image, queue[0])  # may raise BrokenProcessPool: the task stays queued
        pending[future] = queue.popleft()


_POOL_DIED = "BrokenProcessPool: worker process died (out of memory?)"


def failure(task: dict[str, Any], error: str) -> dict[str, Any]:
    """The result of an image that failed outside :func:`process_image` (its worker died)."""
    return {"stem": task["stem"], "path": task["path"], "key": task["key"], "status": "failed",
            "error": error, "time_s": 0.0}
