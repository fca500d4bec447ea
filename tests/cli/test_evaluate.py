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
                                 "--limit", "1", "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert 0 < json.loads(out.read_text())["boundary"]["ods"]["f"] < 1


def test_bench_folder(tmp_path):
    _folder_dataset(tmp_path)
    result = runner.invoke(app, ["bench", str(tmp_path / "gt"), "--format", "folder", "--methods", "otsu",
                                 "-o", str(tmp_path / "report"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.md").read_text().count("| otsu |") == 1
    assert (tmp_path / "report" / "report.html").exists()
