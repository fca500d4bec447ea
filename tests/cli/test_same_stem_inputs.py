"""Two inputs with one file stem never overwrite each other's outputs: every command refuses them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab.core.inputs import collect_images


@pytest.fixture
def same_stems(tmp_path: Path) -> dict[str, list[Path]]:
    image = np.zeros((24, 24), np.uint8)
    image[4:20, 4:20] = 200
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "c").mkdir()
    for path in (tmp_path / "a" / "x.png", tmp_path / "b" / "x.png", tmp_path / "c" / "x.png",
                 tmp_path / "c" / "x.jpg"):
        seglab.save_image(path, image)
    return {"folders": [tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"], "suffixes": [tmp_path / "c"]}


def _run(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seglab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _refused(result: subprocess.CompletedProcess, first: Path, second: Path) -> None:
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"InputError: input file stems must be unique (outputs are named by stem), got 'x' for {str(first)!r} "
        f"and {str(second)!r}; rename one or run them separately"]


@pytest.mark.parametrize("command", [["segment", "-m", "otsu"], ["detect", "-m", "otsu"],
                                     ["batch", "-m", "otsu"]])
def test_same_stem_in_two_folders_is_refused(command, same_stems, tmp_path):
    first, second = same_stems["folders"]
    result = _run(command[0], first, second, *command[1:], "-o", tmp_path / "out", cwd=tmp_path)
    _refused(result, first, second)
    assert not (tmp_path / "out" / "x.labels.png").exists()


@pytest.mark.parametrize("command", [["segment", "-m", "otsu"], ["detect", "-m", "otsu"],
                                     ["batch", "-m", "otsu"]])
def test_same_stem_with_two_suffixes_in_one_folder_is_refused(command, same_stems, tmp_path):
    folder = same_stems["suffixes"][0]
    result = _run(command[0], folder, *command[1:], "-o", tmp_path / "out", cwd=tmp_path)
    _refused(result, folder / "x.jpg", folder / "x.png")


def test_predict_refuses_same_stems_before_loading_the_model(same_stems, tmp_path):
    first, second = same_stems["folders"]
    result = _run("predict", tmp_path / "no-model-needed.pt", first, second, "-o", tmp_path / "out", cwd=tmp_path)
    _refused(result, first, second)


def test_the_collector_expands_folders_lists_and_globs(same_stems, tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text("# one per line\na/x.png\n\n")
    assert collect_images(listing) == [tmp_path / "a" / "x.png"]
    assert collect_images(str(tmp_path / "b" / "*.png")) == [tmp_path / "b" / "x.png"]
    assert collect_images([tmp_path / "a"]) == [tmp_path / "a" / "x.png"]
