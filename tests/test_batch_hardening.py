"""seglab batch must not lose work: its own outputs as inputs, files it never wrote, orphaned workers."""

from __future__ import annotations

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
from seglab.batch import output_paths, run_batch
from seglab.core.errors import InputError


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for i in range(4):
        image = np.full((24, 24), 30, np.uint8)
        image[4 + i : 16 + i, 5:17] = 200
        seglab.save_image(d / f"im{i}.png", image)
    return d


def test_output_folder_equal_to_input_does_not_read_its_own_outputs(folder):
    counts = []
    for _ in range(3):
        report = run_batch(folder, folder, workers=1)
        counts.append((report.total, len(list(folder.glob("*.png")))))
    assert counts == [(4, 12), (4, 12), (4, 12)]  # was 10 -> 22 -> 46 files


def test_files_the_batch_never_wrote_are_kept(folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    mine = output_paths(out, "im1")["json"]
    mine.write_text('{"my": "notes"}')
    with pytest.raises(InputError, match=r"im1.json' must not exist already \(this batch did not write it; pass --overwrite"):
        run_batch(folder, out, workers=1)
    assert mine.read_text() == '{"my": "notes"}'
    report = run_batch(folder, out, workers=1, overwrite=True)
    assert report.done == 4 and '"n_regions"' in mine.read_text()
    assert run_batch(folder, out, workers=1).skipped == 4  # its own files: resumed as before


def test_outputs_written_before_a_crash_still_resume(folder, tmp_path):
    out = tmp_path / "out"
    run_batch(folder, out, workers=1)
    (out / "seglab-batch.manifest.jsonl").unlink()  # killed after writing, before recording
    assert run_batch(folder, out, workers=1).done == 4


def test_batch_cli_overwrite_flag(folder, tmp_path):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    out = tmp_path / "out"
    out.mkdir()
    (out / "im0.labels.png").write_bytes(b"precious")
    result = CliRunner().invoke(app, ["batch", str(folder), "-o", str(out), "-w", "1", "-q"])
    assert result.exit_code == 1 and "InputError: output" in result.output and "--overwrite" in result.output
    assert (out / "im0.labels.png").read_bytes() == b"precious"
    result = CliRunner().invoke(app, ["batch", str(folder), "-o", str(out), "-w", "1", "-q", "--overwrite"])
    assert result.exit_code == 0, result.output


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_workers_exit_when_the_runner_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    d = tmp_path / "many"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        seglab.save_image(d / f"im{i}.png", (rng.random((48, 48, 3)) * 255).astype(np.uint8))
    code = textwrap.dedent(f"""
        from seglab.batch import run_batch
        run_batch({str(d)!r}, {str(tmp_path / "out")!r}, method="slic", params={{"max_num_iter": 100000}}, workers=2)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    runner = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)
    left: list = []
    try:
        deadline = time.monotonic() + 120
        while len(_descendants(runner.pid)) < 3 and time.monotonic() < deadline:  # fork server + 2 workers
            time.sleep(0.2)
        left = _descendants(runner.pid)
        assert len(left) >= 3, "the pool did not start"
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(10)
        gone, alive = psutil.wait_procs(left, timeout=30)
        assert alive == [], f"still running after the runner died: {[p.cmdline()[:3] for p in alive]}"
    finally:
        for proc in left + _descendants(runner.pid):
            if proc.is_running():
                proc.kill()
        if runner.poll() is None:
            runner.kill()
