import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import seglab
from seglab import Segmentation
from seglab.cli.main import app

runner = CliRunner()


@pytest.fixture
def image_file(tmp_path, disk_image):
    image, _ = disk_image
    return seglab.save_image(tmp_path / "disk.png", image)


def test_methods_json_lists_typed_parameters():
    result = runner.invoke(app, ["methods", "--json"])
    assert result.exit_code == 0, result.output
    listed = {m["name"]: m for m in json.loads(result.stdout)}
    params = {p["name"]: p for p in listed["adaptive"]["parameters"]}
    assert params["block_size"]["type"] == "int"
    assert listed["otsu"]["kind"] == "threshold"


def test_segment_writes_labels_overlay_and_json(tmp_path, image_file, disk_image):
    out = tmp_path / "out"
    result = runner.invoke(app, ["segment", str(image_file), "-m", "otsu", "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_regions"] == 1 and summary["meta"]["method"] == "otsu"
    seg = Segmentation.load(out / "disk.labels.png")
    mask = disk_image[1]
    assert (seg.labels.astype(bool) == mask).mean() > 0.99
    assert seglab.load_image(out / "disk.overlay.png").shape == (64, 64, 3)
    assert json.loads((out / "disk.json").read_text())["meta"]["source"] == str(image_file)


def test_segment_parses_typed_params_and_refuses_to_overwrite(tmp_path, image_file):
    out = tmp_path / "out"
    args = ["segment", str(image_file), "-m", "threshold", "-p", "value=100", "-o", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "InputError: output" in again.stderr and "must not exist already (pass --overwrite" in again.stderr
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "otsuu"], "InputError: method must be one of .*got 'otsuu'; did you mean 'otsu'\\?"),
        (["-m", "kmeans", "-p", "k=abc"], "InputError: parameter 'k' of method 'kmeans' must be an integer, got 'abc'"),
        (["-m", "kmeans", "-p", "kk=3"], "InputError: parameter of method 'kmeans' must be one of .*did you mean 'k'\\?"),
    ],
)
def test_segment_errors_are_one_line(tmp_path, image_file, args, message):
    import re

    result = runner.invoke(app, ["segment", str(image_file), *args, "-o", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(message, lines[0]), result.stderr


def test_missing_image_is_an_input_error(tmp_path):
    result = runner.invoke(app, ["segment", str(tmp_path / "nope.png"), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"InputError: image {str(tmp_path / 'nope.png')!r} does not exist"


def test_compare_writes_a_grid(tmp_path, image_file):
    out = tmp_path / "grid.png"
    result = runner.invoke(app, ["compare", str(image_file), "-m", "otsu,kmeans", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert seglab.load_image(out).ndim == 3


def test_demo_on_two_methods(tmp_path):
    from seglab.demo import run_demo

    image = (np.indices((48, 64)).sum(0) % 40 > 20).astype(np.uint8) * 200
    index = run_demo(tmp_path, images={"stripes": image}, method_names=["otsu", "grabcut"])
    assert (tmp_path / "stripes_grid.jpg").exists()
    text = index.read_text()
    assert "<tr><td>otsu</td>" in text and "<tr><td>grabcut</td>" in text


def test_real_subprocess_exit_codes(tmp_path, image_file):
    ok = subprocess.run([sys.executable, "-m", "seglab.cli.main", "segment", str(image_file), "-m", "otsu",
                         "-o", str(tmp_path / "o"), "-q"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-m", "seglab.cli.main", "segment", str(image_file), "-m", "nope",
                          "-o", str(tmp_path / "o")], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.startswith("InputError: method must be one of") and "Traceback" not in bad.stderr


def test_segment_tiled_matches_untiled_otsu(tmp_path, rng):
    image = (rng.random((300, 260)) * 255).astype(np.uint8)
    image[50:200, 40:180] = np.clip(image[50:200, 40:180].astype(int) + 120, 0, 255)
    path = seglab.save_image(tmp_path / "big.png", image)
    result = runner.invoke(app, ["segment", str(path), "-m", "otsu", "--tiled", "--tile", "128",
                                 "-o", str(tmp_path / "t"), "-q"])
    assert result.exit_code == 0, result.output
    from seglab.tiling import read_labels

    tiled = read_labels(tmp_path / "t" / "big.labels.tif")
    whole = seglab.segment(image, "otsu").labels
    np.testing.assert_array_equal(np.asarray(tiled), whole)


@pytest.mark.parametrize("parallel", [["--workers", "2"], ["--local-cluster", "-w", "2"]])
def test_segment_tiled_in_parallel_matches_untiled(tmp_path, rng, parallel):
    if "--local-cluster" in parallel:
        pytest.importorskip("distributed")
    image = (rng.random((300, 260)) * 255).astype(np.uint8)
    image[50:200, 40:180] = np.clip(image[50:200, 40:180].astype(int) + 120, 0, 255)
    path = seglab.save_image(tmp_path / "big.tif", image)
    result = runner.invoke(app, ["segment", str(path), "-m", "otsu", "--tiled", "--tile", "64", "--connected",
                                 *parallel, "-o", str(tmp_path / "t"), "-q"])
    assert result.exit_code == 0, result.output
    from seglab.tiling import read_labels

    tiled = read_labels(tmp_path / "t" / "big.labels.tif")
    np.testing.assert_array_equal(np.asarray(tiled), seglab.segment(image, "otsu").split_connected().labels)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--workers", "2"], ("InputError: --workers needs --tiled (it spreads the tiles of one image), got it "
                              "without; for many images use `seglab batch`")),
        (["--tiled", "--local-cluster", "--scheduler", "tcp://x:1"],
         "InputError: --local-cluster and --scheduler must not be given together, got both"),
        (["--tiled", "-m", "model", "-p", "model=m.pt", "--local-cluster"],
         "InputError: --local-cluster must be left out with -m model (a deep model's tiles run in batches on "
         "one device), got it"),
    ],
)
def test_segment_parallel_options_errors(image_file, tmp_path, options, message):
    result = runner.invoke(app, ["segment", str(image_file), *options, "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert message in result.output


def _two_squares(tmp_path):
    image = np.full((80, 100, 3), 40, np.uint8)
    image[20:50, 20:50] = (200, 60, 60)
    image[20:50, 50:80] = (195, 65, 60)  # touching, nearly the same colour
    return seglab.save_image(tmp_path / "two.png", image)


def test_segment_point_and_negative_clicks(tmp_path):
    path = _two_squares(tmp_path)
    result = runner.invoke(app, ["segment", str(path), "-m", "prompt", "--point", "30,30", "-o", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    both = Segmentation.load(tmp_path / "a" / "two.labels.png").labels == 1
    assert both[20:50, 20:80].mean() > 0.95
    result = runner.invoke(app, ["segment", str(path), "-m", "prompt", "--point", "30,30", "--negative", "65.0,35",
                                 "-o", str(tmp_path / "b"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["meta"]["params"]["points"] == [[30.0, 30.0, 1], [65.0, 35.0, 0]]
    first = Segmentation.load(tmp_path / "b" / "two.labels.png").labels == 1
    assert first[20:50, 20:50].mean() > 0.95 and first[20:50, 52:80].mean() < 0.05


def test_segment_points_become_grabcut_scribbles(tmp_path):
    path = _two_squares(tmp_path)
    result = runner.invoke(app, ["segment", str(path), "-m", "grabcut", "--point", "30,30", "--negative", "65,35",
                                 "-o", str(tmp_path / "g"), "--json"])
    assert result.exit_code == 0, result.output
    params = json.loads(result.stdout)["meta"]["params"]
    assert params["foreground"] == [[30.0, 30.0]] and params["background"] == [[65.0, 35.0]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "prompt", "--point", "30"], "InputError: --point must be x,y (pixel column, row), got '30'"),
        (["-m", "prompt", "--negative", "a,b"], "InputError: --negative must be x,y (pixel column, row), got 'a,b'"),
        (["-m", "otsu", "--point", "3,3"],
         "InputError: --point / --negative need a method that takes clicks (prompt, sam, grabcut), got 'otsu'"),
        (["-m", "prompt", "--point", "3,3", "-p", "points=3,3,1"],
         "InputError: --point / --negative and -p points=... must not be given together, got both"),
    ],
)
def test_segment_click_errors(tmp_path, args, message):
    path = _two_squares(tmp_path)
    result = runner.invoke(app, ["segment", str(path), *args, "-o", str(tmp_path / "e")])
    assert result.exit_code == 1
    assert message in result.output
