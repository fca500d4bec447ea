"""Shared fixtures: the real datasets beside the project, and small synthetic images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


def _data_root() -> Path:
    return Path(os.environ.get("SEGLAB_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` (or ``$SEGLAB_DATA``); skips when absent, fails when SEGLAB_REQUIRE_DATA=1."""
    root = _data_root()
    if not root.is_dir():
        message = f"real datasets not found at {root} (set SEGLAB_DATA)"
        if os.environ.get("SEGLAB_REQUIRE_DATA") == "1":
            pytest.fail(message + " but SEGLAB_REQUIRE_DATA=1")
        pytest.skip(message)
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def quadrants(rng: np.random.Generator) -> np.ndarray:
    """20x20 float image of four 10x10 quadrants at 0.1, 0.4, 0.6, 0.9 plus 0.01 noise."""
    image = np.zeros((20, 20))
    image[:10, :10], image[:10, 10:], image[10:, :10], image[10:, 10:] = 0.1, 0.4, 0.6, 0.9
    return np.clip(image + 0.01 * rng.normal(size=image.shape), 0, 1)


@pytest.fixture
def disk_image(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 64x64 uint8 image with a bright disk (radius 18) on a dark background, and its mask."""
    rows, cols = np.mgrid[:64, :64]
    mask = (rows - 32) ** 2 + (cols - 30) ** 2 <= 18**2
    image = np.where(mask, 180, 50).astype(np.float64) + rng.normal(0, 5, mask.shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask


# In CI every test must run: a skip (missing data, browser, optional package) is a failure there.
_NO_SKIPS = os.environ.get("SEGLAB_NO_SKIPS") == "1"


def _fail_skip(report) -> None:  # type: ignore[no-untyped-def]
    if _NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped, but SEGLAB_NO_SKIPS=1 requires every test to run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):  # type: ignore[no-untyped-def]
    outcome = yield
    _fail_skip(outcome.get_result())
