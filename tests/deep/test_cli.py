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


def _isbi_like(tmp_path):
    """A folder dataset whose class 0 is not a background: 'membrane' lines around 'cell' blocks."""
    for i in range(4):
        mask = np.ones((48, 48), np.uint8)
        mask[:, 10 + i:13 + i] = 0
        mask[30 + i:33 + i, :] = 0
        image = np.where(mask == 1, 180, 40).astype(np.uint8)
        save_image(tmp_path / "data" / "images" / f"{i}.png", image)
        save_image(tmp_path / "data" / "masks" / f"{i}.png", mask)
    return tmp_path / "data"


def test_train_flags_reach_the_config_and_refuse_a_run(tmp_path):
    data = _isbi_like(tmp_path)
    args = ["train", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", "--img-size", "32",
            "--batch-size", "2", "--samples-per-epoch", "4", "--width", "8", "--downscale", "2", "--device", "cpu", "--no-amp",
            "--workers", "0", "--class-weights", "2,1", "--foreground", "0.5", "--ema", "0.5", "--no-rotate", "--in-channels", "3", "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    from seglab.deep.models import load

    config = load(tmp_path / "run" / "best.pt").train_config
    assert config["device"] == "cpu" and config["amp"] is False and config["workers"] == 0
    assert config["class_weights"] == [2.0, 1.0] and config["foreground"] == 0.5 and config["ema"] == 0.5
    assert config["plan"]["model_args"]["base"] == 8 and config["plan"]["model_args"]["downscale"] == 2
    assert config["rotate"] is False and config["plan"]["chosen_by"]["rotate"] == "given"
    assert load(tmp_path / "run" / "best.pt").in_channels == 3  # the data is grey
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "holding best.pt" in again.output and "--overwrite" in again.output
    assert len(again.output.strip().splitlines()) == 1
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    bad = runner.invoke(app, [*args[:-1], "--overwrite", "--class-weights", "2,x"])
    assert bad.exit_code == 1 and "--class-weights must be numbers separated by commas" in bad.output
    missing = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "fresh"), "--resume", "-q"])
    assert missing.exit_code == 1 and "resume needs" in missing.output


def test_evaluate_reads_the_predict_folder_and_overlay_shows_class_zero(tmp_path):
    data = _isbi_like(tmp_path)
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(data), "--out", str(run), "--arch", "forest", "-q"])
    assert result.exit_code == 0, result.output
    (tmp_path / "some").mkdir()
    for i in (0, 1, 2):
        (tmp_path / "some" / f"{i}.png").write_bytes((data / "images" / f"{i}.png").read_bytes())
    out = tmp_path / "pred"
    result = runner.invoke(app, ["predict", str(run / "best.pt"), str(tmp_path / "some"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    overlay_pixels = load_image(out / "0.overlay.png")
    image = load_image(data / "images" / "0.png")
    membrane = load_image(data / "masks" / "0.png") == 0
    assert np.abs(overlay_pixels[membrane].astype(int) - image[membrane, None].astype(int)).mean() > 10
    result = runner.invoke(app, ["evaluate", str(out), "--gt", str(data), "--format", "folder",
                                 "--json", str(tmp_path / "scores.json")])
    assert result.exit_code == 0, result.output
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["images"] == 3 and scores["dataset_images"] == 4
    assert "scored 3 of the dataset's 4 images" in result.output
    assert scores["pixel_accuracy"] > 0.9
