import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from seglab.cli.main import app

runner = CliRunner()


def _folder_dataset(tmp_path):
    rng = np.random.default_rng(0)
    mask = np.zeros((12, 16), np.uint8)
    mask[3:9, 4:12] = 255
    for folder, array in (("images", rng.integers(0, 255, (12, 16), dtype=np.uint8)), ("masks", mask)):
        (tmp_path / "gt" / folder).mkdir(parents=True)
        Image.fromarray(array).save(tmp_path / "gt" / folder / "a.png")
    (tmp_path / "pred").mkdir()
    pred = (mask > 0).astype(np.uint8)
    pred[3, 4:12] = 0                        # 8 of 48 foreground pixels missed
    Image.fromarray(pred).save(tmp_path / "pred" / "a.png")


def test_evaluate_folder_json(tmp_path):
    _folder_dataset(tmp_path)
    out = tmp_path / "m.json"
    result = runner.invoke(app, ["evaluate", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"),
                                 "--format", "folder", "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["iou"][1] == 40 / 48 and metrics["images"] == 1


def test_evaluate_errors(tmp_path):
    _folder_dataset(tmp_path)
    result = runner.invoke(app, ["evaluate", "--gt", str(tmp_path / "gt"), "--format", "folder"])
    assert result.exit_code == 1
    assert "exactly one of PRED" in result.output
    result = runner.invoke(app, ["evaluate", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--format", "kitti"])
    assert result.exit_code == 1 and "format must be one of" in result.output


def test_evaluate_bsds_selftest_and_method(data_dir, tmp_path):
    root = data_dir / "bsds500" / "bench_selftest"
    out = tmp_path / "b.json"
    result = runner.invoke(app, ["evaluate", str(root / "segs"), "--gt", str(root), "--format", "bsds",
                                 "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert abs(metrics["boundary"]["ods"]["f"] - 0.704614) < 0.005
    assert abs(metrics["covering"]["ods"] - 0.654023) < 0.005
    result = runner.invoke(app, ["evaluate", "--method", "slic", "--gt", str(root), "--format", "bsds",
                                 "--limit", "1", "--json", str(out), "--quiet", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert 0 < json.loads(out.read_text())["boundary"]["ods"]["f"] < 1


def test_bench_folder(tmp_path):
    _folder_dataset(tmp_path)
    result = runner.invoke(app, ["bench", str(tmp_path / "gt"), "--format", "folder", "--methods", "otsu",
                                 "-o", str(tmp_path / "report"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.md").read_text().count("| otsu |") == 1
    assert (tmp_path / "report" / "report.html").exists()


def _two_image_dataset(tmp_path):
    rng = np.random.default_rng(1)
    for stem in ("a", "b", "c", "d"):
        mask = np.zeros((16, 16), np.uint8)
        mask[4:12, 3:13] = 255
        image = np.where(mask > 0, 200, 40).astype(np.uint8) + rng.integers(0, 20, (16, 16), dtype=np.uint8)
        for folder, array in (("images", image), ("masks", mask)):
            (tmp_path / "gt" / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(tmp_path / "gt" / folder / f"{stem}.png")


def test_bench_tune_splits_and_cases(tmp_path):
    _two_image_dataset(tmp_path)
    out = tmp_path / "report"
    result = runner.invoke(app, ["bench", str(tmp_path / "gt"), "--format", "folder", "--methods", "otsu",
                                 "--tune", "--budget", "1", "-o", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    assert "tuning split (2 images: even positions)" in report and "scoring split (2 images" in report
    rows = json.loads((out / "report.json").read_text())
    assert rows[0]["method"] == "otsu" and rows[0]["score"] > 0.9 and rows[0]["tried"] >= 1
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs and all(p.startswith(("best_", "worst_")) for p in pngs)
    assert "<img src=" in (out / "report.html").read_text()


def test_evaluate_method_on_images_folder(tmp_path):
    _two_image_dataset(tmp_path)
    out = tmp_path / "m.json"
    args = ["evaluate", "--method", "otsu", "--gt", str(tmp_path / "gt"), "--format", "folder", "--json", str(out),
            "--quiet", "--images"]
    result = runner.invoke(app, args + [str(tmp_path / "gt" / "images")])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["mean_iou"] > 0.9
    inverted = tmp_path / "inverted"
    inverted.mkdir()
    for stem in ("a", "b", "c"):                  # no "d": a missing image is an error
        pixels = 255 - np.asarray(Image.open(tmp_path / "gt" / "images" / f"{stem}.png"))
        Image.fromarray(pixels).save(inverted / f"{stem}.png")
    result = runner.invoke(app, args + [str(inverted), "--overwrite"])
    assert result.exit_code == 1 and "must hold an image named d.*" in result.output
    result = runner.invoke(app, ["evaluate", str(tmp_path / "gt" / "masks"), "--gt", str(tmp_path / "gt"),
                                 "--format", "folder", "--images", str(inverted)])
    assert result.exit_code == 1 and "--images needs --method" in result.output
