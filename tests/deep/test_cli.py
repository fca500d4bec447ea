"""seglab train / predict / model export / model info."""

from __future__ import annotations

import json

import numpy as np
from deep_helpers import disk_pairs
from typer.testing import CliRunner

from seglab.cli.main import app
from seglab.core.image import load_image, save_image

runner = CliRunner()


def test_predict_writes_outputs(trained, tmp_path):
    image, _ = disk_pairs(1, size=64, seed=9)[0]
    save_image(tmp_path / "in" / "cell.png", image)
    out = tmp_path / "out"
    result = runner.invoke(app, ["predict", str(trained / "best.pt"), str(tmp_path / "in"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    classes = load_image(out / "cell.classes.png")
    assert set(np.unique(classes).tolist()) <= {0, 1} and classes.shape == (64, 64)
    summary = json.loads((out / "cell.json").read_text())
    assert summary["class_names"] == ["background", "disk"]
    assert (out / "cell.overlay.png").is_file() and (out / "cell.labels.png").is_file()
    again = runner.invoke(app, ["predict", str(trained / "best.pt"), str(tmp_path / "in"), "-o", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_model_info_and_export(trained, tmp_path):
    result = runner.invoke(app, ["model", "info", str(trained / "best.pt"), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["class_names"] == ["background", "disk"] and info["in_channels"] == 1
    result = runner.invoke(app, ["model", "export", str(trained / "best.pt"), "--onnx", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m.onnx").stat().st_size > 10000


def test_train_folder_dataset(tmp_path):
    for i, (image, mask) in enumerate(disk_pairs(3, size=32)):
        save_image(tmp_path / "data" / "images" / f"{i}.png", image)
        save_image(tmp_path / "data" / "masks" / f"{i}.png", mask * 255)
    result = runner.invoke(app, [
        "train", str(tmp_path / "data"), "--format", "folder", "--out", str(tmp_path / "run"),
        "--encoder", "tu-mobilenetv3_small_050", "--epochs", "1", "--img-size", "32", "--batch-size", "2",
        "--samples-per-epoch", "4", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "metrics.json").is_file()


def test_train_errors_are_one_line(tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "InputError: dataset folder" in result.output
