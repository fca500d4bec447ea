"""The official BSDS500 benchmark self-test, reproduced within 0.005 on every figure."""

from pathlib import Path

import numpy as np
import pytest

from seglab.metrics.bsds import evaluate_bsds

STEMS = ["2018", "3063", "5096", "6046", "8068"]
TOL = 0.005


def _official(path: Path) -> np.ndarray:
    return np.array(path.read_text().split(), dtype=float)


def _run(root: Path, folder: str, suffix: str) -> dict:
    predictions = [root / folder / f"{s}{suffix}" for s in STEMS]
    gts = [root / "groundTruth" / f"{s}.mat" for s in STEMS]
    return evaluate_bsds(predictions, gts, thresholds=5, workers=2)


def _boundary_row(result: dict) -> list[float]:
    b = result["boundary"]
    return [b["ods"]["threshold"], b["ods"]["recall"], b["ods"]["precision"], b["ods"]["f"],
            b["ois"]["recall"], b["ois"]["precision"], b["ois"]["f"], b["ap"]]


def _check_regions(result: dict, test: Path, first_threshold_column: bool) -> None:
    cover = _official(test / "eval_cover.txt")
    c = result["covering"]
    assert [c["ods"], c["ois"], c["best"]] == pytest.approx(cover[1:], abs=TOL)
    ri = _official(test / "eval_RI_VOI.txt")
    got = [result["pri"]["ods"], result["pri"]["ois"], result["voi"]["ods"], result["voi"]["ois"]]
    assert got == pytest.approx([ri[1], ri[2], ri[4], ri[5]], abs=TOL)
    if first_threshold_column:
        assert [c["threshold"], result["pri"]["threshold"], result["voi"]["threshold"]] == pytest.approx(
            [cover[0], ri[0], ri[3]], abs=TOL)


@pytest.fixture(scope="module")
def selftest(data_dir: Path) -> Path:
    return data_dir / "bsds500" / "bench_selftest"


def test_1_ucm2_all_benchmarks(selftest):
    result = _run(selftest, "ucm2", ".mat")
    assert _boundary_row(result) == pytest.approx(_official(selftest / "test_1" / "eval_bdry.txt"), abs=TOL)
    _check_regions(result, selftest / "test_1", first_threshold_column=True)


def test_2_png_boundaries(selftest):
    result = _run(selftest, "png", ".png")
    assert _boundary_row(result) == pytest.approx(_official(selftest / "test_2" / "eval_bdry.txt"), abs=TOL)
    assert "covering" not in result


def test_4_segs_all_benchmarks(selftest):
    result = _run(selftest, "segs", ".mat")
    official = _official(selftest / "test_4" / "eval_bdry.txt")
    row = _boundary_row(result)
    assert row[1:] == pytest.approx(official[1:], abs=TOL)  # the threshold column is the segmentation index
    assert row[0] == official[0]
    _check_regions(result, selftest / "test_4", first_threshold_column=True)
