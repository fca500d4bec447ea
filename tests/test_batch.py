import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab import Segmentation
from seglab.batch import (
    MANIFEST_NAME,
    SUMMARY_NAME,
    Manifest,
    collect_inputs,
    dask_client,
    output_paths,
    remove_stale_temporaries,
    run_batch,
    write_outputs,
)
from seglab.batch._dask import TaskGroups
from seglab.core.errors import InputError


def _square(i: int, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(i)
    image = (rng.random((size, size)) * 60).astype(np.uint8)
    image[4 + i % 8 : 20 + i % 8, 6:22] = 200
    return image


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(5):
        seglab.save_image(d / f"im{i}.png", _square(i))
    return d


def _check_outputs(out: Path, stem: str, image: np.ndarray) -> None:
    paths = output_paths(out, stem)
    seg = Segmentation.load(paths["labels"])
    assert seg == seglab.segment(image, "otsu")
    assert seglab.load_image(paths["overlay"]).shape == image.shape + (3,)
    assert json.loads(paths["json"].read_text())["n_regions"] == 1


def test_write_outputs_matches_segment_command_files(tmp_path):
    image = _square(0)
    seg = seglab.segment(image, "otsu")
    paths = write_outputs(image, seg, tmp_path, "a")
    assert {p.name for p in paths.values()} == {"a.labels.png", "a.overlay.png", "a.json"}
    _check_outputs(tmp_path, "a", image)
    assert image.tolist() == _square(0).tolist()  # input unchanged


def test_collect_inputs_folder_glob_and_list(folder, tmp_path):
    assert [p.name for p in collect_inputs(folder)] == [f"im{i}.png" for i in range(5)]
    assert len(collect_inputs(str(folder / "im[0-2].png"))) == 3
    listing = tmp_path / "list.txt"
    listing.write_text("# two images\nin/im1.png\n\n" + str(folder / "im3.png") + "\n")
    assert [p.name for p in collect_inputs(listing)] == ["im1.png", "im3.png"]


def test_collect_inputs_errors(folder, tmp_path):
    with pytest.raises(InputError, match=r"input '.*nothing' does not exist"):
        collect_inputs(tmp_path / "nothing")
    with pytest.raises(InputError, match=r"glob '.*\*.jpg' must match at least one file, got none"):
        collect_inputs(str(folder / "*.jpg"))
    other = tmp_path / "other"
    other.mkdir()
    seglab.save_image(other / "im0.png", _square(0))
    with pytest.raises(InputError, match="input file stems must be unique .* got 'im0'"):
        collect_inputs([folder, other / "im0.png"])


def test_run_skips_finished_and_redoes_changed(folder, tmp_path):
    out = tmp_path / "out"
    first = run_batch(folder, out, workers=1)
    assert (first.done, first.skipped, first.failed) == (5, 0, [])
    for i in range(5):
        _check_outputs(out, f"im{i}", _square(i))
    again = run_batch(folder, out, workers=1)
    assert (again.done, again.skipped) == (0, 5)
    seglab.save_image(folder / "im2.png", _square(7))  # changed input
    os.utime(folder / "im2.png", ns=(time.time_ns() + 10**9,) * 2)
    output_paths(out, "im4")["overlay"].unlink()  # a lost output
    third = run_batch(folder, out, workers=1)
    assert (third.done, third.skipped) == (2, 3)
    _check_outputs(out, "im2", _square(7))
    changed = run_batch(folder, out, workers=1, params={"invert": True})  # new parameters redo all
    assert (changed.done, changed.skipped) == (5, 0)


def test_failing_image_is_logged_and_run_goes_on(folder, tmp_path, caplog):
    (folder / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    report = run_batch(folder, out, workers=1)
    assert report.done == 5 and not report.ok
    assert report.failed == [{"path": str(folder / "broken.png"),
                              "error": f"FormatError: '{folder / 'broken.png'}' is not an image file seglab can read"}]
    summary = json.loads((out / SUMMARY_NAME).read_text())
    assert summary["n_failed"] == 1 and summary["done"] == 5 and summary["ok"] is False
    assert "broken.png failed: FormatError" in caplog.text
    rerun = run_batch(folder, out, workers=1)  # failures are retried, successes skipped
    assert (rerun.done, rerun.skipped, len(rerun.failed)) == (0, 5, 1)


def test_bad_options(folder, tmp_path):
    with pytest.raises(InputError, match="method must be one of .* got 'otsuu'; did you mean 'otsu'"):
        run_batch(folder, tmp_path, method="otsuu")
    with pytest.raises(InputError, match="parameter of method 'otsu' must be one of invert, got 'k'"):
        run_batch(folder, tmp_path, params={"k": 1})
    with pytest.raises(InputError, match="workers must be an integer >= 1, got 0"):
        run_batch(folder, tmp_path, workers=0)
    with pytest.raises(InputError, match="backend must be one of 'process', 'dask', got 'mpi'"):
        run_batch(folder, tmp_path, backend="mpi")


def test_manifest_ignores_a_torn_line_and_stale_temporaries_are_removed(tmp_path):
    path = tmp_path / MANIFEST_NAME
    path.write_text('{"stem": "a", "status": "ok", "key": "k"}\n{"stem": "b", "sta')
    manifest = Manifest(path)
    assert list(manifest.records) == ["a"]
    manifest.append({"stem": "c", "status": "ok", "key": "x"})
    manifest.close()
    assert set(Manifest(path).records) == {"a", "c"}
    for name in (".a.labels.abcd_123.png", ".a.x9y8z7w6.json", ".keep.labels.abcd1234.png", "a.labels.png"):
        (tmp_path / name).write_text("")
    assert remove_stale_temporaries(tmp_path, ["a"]) == 2
    assert {p.name for p in tmp_path.iterdir()} >= {".keep.labels.abcd1234.png", "a.labels.png"}


def test_process_pool_two_workers(folder, tmp_path):
    report = run_batch(folder, tmp_path / "out", workers=2)
    assert (report.done, report.workers, report.backend) == (5, 2, "process")
    for i in range(5):
        _check_outputs(tmp_path / "out", f"im{i}", _square(i))


def test_dask_local_cluster_twenty_images(tmp_path):
    pytest.importorskip("distributed")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(20):
        seglab.save_image(folder / f"im{i:02d}.png", _square(i))
    (folder / "zz_broken.png").write_bytes(b"")
    seen = []
    report = run_batch(folder, tmp_path / "out", backend="dask", workers=2,
                       on_result=lambda result, _: seen.append(result["stem"]))
    assert (report.done, report.backend, report.workers, len(report.failed)) == (20, "dask", 2, 1)
    assert report.failed[0]["path"].endswith("zz_broken.png")
    assert sorted(seen) == sorted([f"im{i:02d}" for i in range(20)] + ["zz_broken"])
    for i in range(20):
        _check_outputs(tmp_path / "out", f"im{i:02d}", _square(i))
    rerun = run_batch(folder, tmp_path / "out", backend="dask", workers=2)
    assert (rerun.done, rerun.skipped) == (0, 20)


def test_dask_existing_scheduler(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        report = run_batch(folder, tmp_path / "out", scheduler=cluster.scheduler_address)
    assert (report.done, report.backend) == (5, "dask")
    for i in range(5):
        _check_outputs(tmp_path / "out", f"im{i}", _square(i))


def test_local_cluster_workers_keep_adaptive_malloc_and_our_environment_is_restored(monkeypatch):
    pytest.importorskip("distributed")
    # a plain distributed.LocalCluster elsewhere in this process leaves the variable behind
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dict(os.environ)
    with dask_client(2, None) as client:
        seen = client.run(lambda: (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS")))
    assert len(seen) == 2
    assert set(seen.values()) == {(None, "1")}  # one thread per worker, but glibc's adaptive mmap threshold kept
    assert dict(os.environ) == before


def test_two_local_clusters_at_once_do_not_fight_over_a_port():
    pytest.importorskip("distributed")
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dask_client(1, None) as first, dask_client(1, None) as second:
            assert first.scheduler.address != second.scheduler.address
    assert not [w for w in caught if "already in use" in str(w.message)]


def test_task_groups_grow_with_quick_images_and_shrink_at_the_end():
    tasks = [{"stem": str(i)} for i in range(100)]
    groups = TaskGroups(tasks, slots=2, target_s=0.5)
    first = groups.take(4)
    assert [len(g) for g in first] == [1, 1, 1, 1]  # nothing measured yet
    for _ in range(4):
        groups.observe(0.1)
    assert len(groups.take(1)[0]) == 5  # 0.5 s / 0.1 s
    for _ in range(95):
        groups.observe(0.001)  # much quicker images: groups are capped by what is left
    sizes, left = [], 91
    while taken := groups.take(1):
        assert len(taken[0]) == max(1, -(-left // 4))  # at most a quarter of the rest (2 slots x 2)
        sizes.append(len(taken[0]))
        left -= len(taken[0])
    assert sizes[:3] == [23, 17, 13] and sizes[-1] == 1 and sum(sizes) == 91
    handed_out = [t["stem"] for g in first for t in g]
    assert handed_out == ["0", "1", "2", "3"]


_DRIVER = """
import sys, time
import numpy as np
from seglab.core.registry import register
from seglab.classical.threshold import otsu

@register("slow_otsu", kind="threshold")
def slow_otsu(image: np.ndarray, *, delay: float = 0.05):
    time.sleep(delay)
    return otsu(image)

if __name__ == "__main__":
    from seglab.batch import run_batch
    report = run_batch(sys.argv[1], sys.argv[2], method="slow_otsu", workers=2)
    print(report.done, report.skipped)
"""


_CRASHING_DRIVER = """
import json, os, sys
import numpy as np
from seglab.core.registry import register
from seglab.classical.threshold import otsu

@register("crashy_otsu", kind="threshold")
def crashy_otsu(image: np.ndarray):
    if image[0, 0] == 123:
        os._exit(3)  # as a segfault or the out-of-memory killer would end the worker
    return otsu(image)

if __name__ == "__main__":
    from seglab.batch import run_batch
    report = run_batch(sys.argv[1], sys.argv[2], method="crashy_otsu", workers=2, backend=sys.argv[3])
    print(json.dumps(report.to_dict()))
"""


@pytest.mark.parametrize("backend", ["process", "dask"])
def test_a_worker_that_dies_fails_only_its_image(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("distributed")
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(12):
        image = _square(i)
        if i == 5:
            image[0, 0] = 123
        seglab.save_image(folder / f"im{i:02d}.png", image)
    (tmp_path / "crashy.py").write_text(textwrap.dedent(_CRASHING_DRIVER))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    run = subprocess.run([sys.executable, str(tmp_path / "crashy.py"), str(folder), str(tmp_path / "out"), backend],
                         env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["done"] == 11 and [Path(f["path"]).name for f in report["failed"]] == ["im05.png"], report
    assert report["failed"][0]["error"].startswith("BrokenProcessPool" if backend == "process" else "KilledWorker")
    for i in range(12):
        if i != 5:
            _check_outputs(tmp_path / "out", f"im{i:02d}", _square(i))


def test_kill_minus_nine_then_rerun_leaves_every_output_complete(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    n = 40
    for i in range(n):
        seglab.save_image(folder / f"im{i:02d}.png", _square(i, 48))
    (tmp_path / "slowmethod.py").write_text(textwrap.dedent(_DRIVER))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    command = [sys.executable, str(tmp_path / "slowmethod.py"), str(folder), str(out)]
    process = subprocess.Popen(command, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / MANIFEST_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.is_file() and len(manifest.read_text().splitlines()) >= 5:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its workers, mid-run
    process.wait()
    finished = len(Manifest(manifest).records)
    assert 5 <= finished < n
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    done, skipped = map(int, rerun.stdout.split())
    assert skipped >= finished and done + skipped == n
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    for i in range(n):
        _check_outputs(out, f"im{i:02d}", _square(i, 48))
