"""What a new user hits in the first hour, each through a real ``seglab`` subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import seglab

JPEG, PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def seglab_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seglab.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture
def image_file(tmp_path, disk_image):
    return seglab.save_image(tmp_path / "disk.png", disk_image[0])


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_version_alone():
    result = seglab_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"seglab {seglab.__version__}"


def test_methods_name_prints_one_methods_whole_page():
    result = seglab_cli("methods", "adaptive")
    assert result.returncode == 0, result.stderr
    page = result.stdout
    assert page.startswith("adaptive (threshold)\n")
    assert "block_size : int = 35" in page and "kind : 'mean' | 'gaussian' = 'gaussian'; one of 'mean', 'gaussian'" in page
    assert "about the size of the objects (or larger) works best." in " ".join(page.split())
    assert "seglab segment photo.jpg -m adaptive -p block_size=35 -o out/" in page
    assert "``" not in page
    as_json = json.loads(seglab_cli("methods", "adaptive", "--json").stdout)
    docs = {p["name"]: p["doc"] for p in as_json["parameters"]}
    assert docs["block_size"].endswith("about the size of the objects (or larger) works best.")
    assert one_line(seglab_cli("methods", "kmeanz")).endswith("got 'kmeanz'; did you mean 'kmeans'?")


def test_methods_table_shows_no_rst():
    result = seglab_cli("methods")
    assert result.returncode == 0 and "multiotsu" in result.stdout
    assert "``" not in result.stdout


def test_os_errors_are_one_line_in_every_command(image_file, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    expected = ("FileExistsError:", "FileNotFoundError:", f"OSError: could not write or read '{blocked}")
    line = one_line(seglab_cli("segment", image_file, "-o", blocked / "out", "-q"))
    assert line.startswith(expected), line
    line = one_line(seglab_cli("compare", image_file, "-m", "otsu", "-o", blocked / "grid.png"))
    assert line.startswith(expected), line


def test_missing_marker_file_is_named(image_file, tmp_path):
    line = one_line(seglab_cli("segment", image_file, "-m", "watershed", "-p", "markers=nope.png", "-o", tmp_path))
    assert line == ("InputError: file not found: nope.png (parameter 'markers' of method 'watershed' must be "
                    "an image file)")


def test_compare_writes_the_format_its_name_asks_for_and_pairs_params(image_file, tmp_path):
    grid = tmp_path / "grid.jpg"
    result = seglab_cli("compare", image_file, "-m", "slic", "-p", "n_segments=4", "-m", "slic",
                        "-p", "n_segments=16", "-m", "otsu", "-o", grid)
    assert result.returncode == 0, result.stderr
    assert grid.read_bytes()[:3] == JPEG
    # each -p belongs to the -m before it: n_segments is not a parameter of otsu
    line = one_line(seglab_cli("compare", image_file, "-m", "slic", "-m", "otsu", "-p", "n_segments=4",
                               "-o", tmp_path / "b.png"))
    assert line.startswith("InputError: parameter of method 'otsu' must be one of invert, got 'n_segments'")
    line = one_line(seglab_cli("compare", image_file, "-m", "otsu,slic", "-p", "n_segments=4", "-o", tmp_path / "c.png"))
    assert line == "InputError: -p must follow a single method (-m NAME), got -p n_segments=4 after -m otsu,slic"
    line = one_line(seglab_cli("compare", image_file, "-o", tmp_path / "grid.gif"))
    assert line.startswith("InputError: --out must end in one of .png, .jpg")


def test_segment_alpha_and_png_overlay(image_file, tmp_path, disk_image):
    result = seglab_cli("segment", image_file, "-m", "otsu", "--alpha", "0", "-o", tmp_path / "a", "-q")
    assert result.returncode == 0, result.stderr
    overlay_file = tmp_path / "a" / "disk.overlay.png"
    assert overlay_file.read_bytes()[:8] == PNG
    overlay = seglab.load_image(overlay_file)
    inside = ~seglab.viz.boundary_mask(seglab.Segmentation.load(tmp_path / "a" / "disk.labels.png").labels)
    assert (overlay[inside] == disk_image[0][inside][:, None]).all()  # alpha 0: no colour, only boundaries
    assert seglab_cli("segment", image_file, "-m", "otsu", "--alpha", "1", "-o", tmp_path / "b", "-q").returncode == 0
    opaque = seglab.load_image(tmp_path / "b" / "disk.overlay.png")
    assert (opaque[32, 30] != disk_image[0][32, 30]).any()  # alpha 1: the region's colour
    line = one_line(seglab_cli("segment", image_file, "--alpha", "2", "-o", tmp_path / "c"))
    assert line == "InputError: --alpha must be between 0 and 1, got 2.0"


def test_convert_to_yolo_warns_when_images_cannot_be_copied(tmp_path, disk_image):
    seg = seglab.segment(disk_image[0], "otsu")
    seglab.formats.write([(tmp_path / "gone" / "disk.png", seg)], tmp_path / "pngs", "png")
    result = seglab_cli("convert", tmp_path / "pngs", "--from", "png", "--to", "yolo", "-o", tmp_path / "yolo")
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("UserWarning:")]
    assert len(warning) == 1 and "image 'disk.png' not found, so not copied" in warning[0], result.stderr
    assert (tmp_path / "yolo" / "data.yaml").is_file() and not (tmp_path / "yolo" / "images").exists()


def test_annotate_default_finds_objects_and_superpixels_get_a_warning(image_file, tmp_path):
    result = seglab_cli("annotate", image_file, "--to", "coco", "-o", tmp_path / "a", "-q")
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "a" / "annotations.json").read_text())
    assert len(document["annotations"]) == 1 and "warning" not in result.stderr
    result = seglab_cli("annotate", image_file, "-m", "slic", "--to", "coco", "-o", tmp_path / "b", "-q")
    assert result.returncode == 0, result.stderr
    assert "warning: slic divides the whole image into regions" in " ".join(result.stderr.split())
