import json

import numpy as np
import pytest
from typer.testing import CliRunner

import seglab
from seglab import Segmentation
from seglab.cli.main import app

runner = CliRunner()


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    for i in range(3):
        image = np.zeros((24, 24), np.uint8)
        image[4:12 + i, 5:15] = 220
        seglab.save_image(d / f"s{i}.png", image)
    return d


def test_batch_writes_outputs_and_resumes(folder, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(folder), "-o", str(out), "-m", "threshold", "-p", "value=100",
                                 "--workers", "1", "--json", "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["done"], summary["skipped"], summary["params"]) == (3, 0, {"value": 100.0})
    seg = Segmentation.load(out / "s2.labels.png")
    assert seg.areas.tolist() == [10 * 10]
    assert (out / "s0.overlay.png").is_file() and (out / "s0.json").is_file()
    again = runner.invoke(app, ["batch", str(folder), "-o", str(out), "-m", "threshold", "-p", "value=100",
                                "-w", "1", "--json", "-q"])
    assert json.loads(again.stdout)["skipped"] == 3


def test_batch_exits_one_with_a_summary_when_an_image_fails(folder, tmp_path):
    (folder / "bad.png").write_text("x")
    result = runner.invoke(app, ["batch", str(folder / "*.png"), "-o", str(tmp_path / "out"), "-w", "1", "-q"])
    assert result.exit_code == 1
    assert "bad.png" in result.stderr and "3 done, 0 skipped, 1 failed of 4" in result.stderr


def test_batch_coco_holds_every_finished_image_across_reruns(folder, tmp_path):
    from pycocotools.coco import COCO

    (folder / "bad.png").write_text("x")
    out = tmp_path / "out"
    args = ["batch", str(folder), "-o", str(out), "-m", "threshold", "-p", "value=100", "-w", "1", "--coco", "-q"]
    assert runner.invoke(app, args).exit_code == 1  # bad.png fails, the others are written
    (folder / "s3.png").write_bytes((folder / "s0.png").read_bytes())
    (folder / "bad.png").unlink()
    assert runner.invoke(app, args).exit_code == 0  # s0-s2 skipped, s3 new: all four in the COCO file
    coco = COCO(str(out / "seglab-batch.coco.json"))
    names = {image["file_name"]: image["id"] for image in coco.dataset["images"]}
    assert sorted(names) == ["s0.png", "s1.png", "s2.png", "s3.png"]
    for stem in ("s0", "s1", "s2", "s3"):
        seg = Segmentation.load(out / f"{stem}.labels.png")
        (annotation,) = coco.loadAnns(coco.getAnnIds(imgIds=names[f"{stem}.png"]))
        np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), seg.labels == 1)
        assert annotation["area"] == seg.areas[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "m.pt", "-m", "otsu"], "--model must be used without --method"),
        (["--local-cluster", "--scheduler", "tcp://x:1"], "--local-cluster and --scheduler must not be given"),
        (["-m", "nosuch"], "InputError: method must be one of"),
    ],
)
def test_batch_option_errors(folder, tmp_path, args, message):
    result = runner.invoke(app, ["batch", str(folder), "-o", str(tmp_path / "out"), *args])
    assert result.exit_code == 1
    assert message in result.stderr
