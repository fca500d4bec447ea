"""Instances: boundary U-Net + watershed, and torchvision Mask R-CNN (tiny, a few steps)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from deep_helpers import TINY, disk_instances

import seglab
from seglab.core.errors import InputError
from seglab.core.image import save_image
from seglab.core.segmentation import Segmentation
from seglab.deep.instances import instance_targets, instances_from_probabilities, train_instances
from seglab.deep.maskrcnn import MaskRCNNModel, read_coco, train_maskrcnn
from seglab.deep.models import load

#: A light Mask R-CNN for CPU tests (MobileNetV3 FPN with 64 channels, few proposals, 64 px).
LIGHT = {"backbone": "mobilenet_v3", "channels": 64, "representation": 128, "min_size": 64, "max_size": 64,
         "rpn_pre_nms_top_n_train": 200, "rpn_post_nms_top_n_train": 100, "rpn_pre_nms_top_n_test": 100,
         "rpn_post_nms_top_n_test": 50, "box_batch_size_per_image": 64}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)


def test_instance_targets_mark_boundaries_between_touching_objects():
    labels = np.zeros((6, 9), np.int64)
    labels[1:5, 1:4], labels[1:5, 4:8] = 3, 7
    before = labels.copy()
    target = instance_targets(labels)
    np.testing.assert_array_equal(labels, before)
    assert target.dtype == np.uint8
    assert target[2].tolist() == [0, 2, 1, 2, 2, 1, 1, 2, 0]
    assert target[0].tolist() == [0] * 9 and (target[1, 1:8] == 2).all()
    ignored = instance_targets(labels, ignore=labels == 0)
    assert (ignored[labels == 0] == 255).all()
    with pytest.raises(InputError, match="labels must be a 2D integer instance label image"):
        instance_targets(np.zeros((4, 4, 3), np.int32))


def probabilities_from(labels: np.ndarray) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    onehot = np.eye(3, dtype=np.float32)[instance_targets(labels)].transpose(2, 0, 1)
    smooth = np.stack([gaussian_filter(c, 0.7) for c in onehot])
    return smooth / smooth.sum(0, keepdims=True)


def test_watershed_splits_touching_disks():
    _, labels = disk_instances(1, seed=3)[0]
    seg = instances_from_probabilities(probabilities_from(labels))
    assert len(seg) == labels.max() == 5
    assert seg.class_names == ("background", "object") and seg.class_ids.tolist() == [1] * 5
    assert ((seg.scores > 0.5) & (seg.scores <= 1)).all()
    for k in range(1, 6):
        best = max(iou(labels == k, seg.labels == j) for j in range(1, 6))
        assert best > 0.8
    assert seg.probabilities.shape == (3, 64, 64)


def test_watershed_keeps_seedless_foreground_and_drops_specks():
    probs = np.zeros((3, 20, 20), np.float32)
    probs[0] = 1
    probs[:, 2:8, 2:8] = np.array([0.1, 0.1, 0.8])[:, None, None]  # boundary only: no seed
    probs[:, 12:18, 12:18] = np.array([0.1, 0.8, 0.1])[:, None, None]
    probs[:, 0, 19] = [0.2, 0.8, 0.0]  # one pixel: below min_area
    seg = instances_from_probabilities(probs, min_area=4)
    assert len(seg) == 2 and sorted(seg.areas.tolist()) == [36, 36]
    np.testing.assert_allclose(seg.scores, 0.9, atol=1e-6)
    with pytest.raises(InputError, match="probs must be"):
        instances_from_probabilities(probs[:2])


def test_train_instances_checkpoint_predicts_instances(tmp_path, trained):
    pairs = disk_instances(3, size=32, seed=1, count=2)
    result = train_instances(pairs, out=tmp_path, epochs=1, img_size=32, batch_size=2, samples_per_epoch=4, **TINY)
    model = load(result.best_path, device="cpu")
    assert model.task == "instances" and model.class_names == ("background", "interior", "boundary")
    image = pairs[0][0]
    seg = seglab.segment(image, "model", model=str(result.best_path))
    assert seg.meta["task"] == "instances" and seg.class_names == ("background", "object")
    assert len(seg.scores) == len(seg.class_ids) == len(seg) and seg.labels.shape == image.shape
    with pytest.raises(InputError, match="model must be an instance model"):
        seglab.segment(image, "model_instances", model=str(trained / "best.pt"))


def test_instance_folder_and_cli_training(tmp_path):
    for i, (image, labels) in enumerate(disk_instances(2, size=32, seed=2, count=2)):
        save_image(tmp_path / "data" / "images" / f"{i}.png", image)
        save_image(tmp_path / "data" / "masks" / f"{i}.png", labels.astype(np.uint16))
    from seglab.deep.instances import read_instance_folder

    pairs = read_instance_folder(tmp_path / "data")
    assert [p.name for p in pairs] == ["0", "1"]
    assert set(np.unique(pairs[0].mask).tolist()) == {0, 1, 2}
    from typer.testing import CliRunner

    from seglab.cli.main import app

    result = CliRunner().invoke(app, [
        "train", str(tmp_path / "data"), "--task", "instances", "--out", str(tmp_path / "run"),
        "--encoder", TINY["encoder"], "--epochs", "1", "--img-size", "32", "--batch-size", "2",
        "--samples-per-epoch", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "run" / "best.pt", device="cpu").task == "instances"


@pytest.fixture(scope="module")
def maskrcnn_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mrcnn")
    data = disk_instances(2, seed=4, count=3)
    model, metrics = train_maskrcnn(data, out=out, epochs=2, batch_size=2, lr=1e-3, augment=False, **LIGHT)
    return model, metrics, out, data


def test_maskrcnn_trains_and_predicts(maskrcnn_run):
    model, metrics, out, data = maskrcnn_run
    losses = metrics["history"]["step_loss"]
    assert len(losses) == 2 and losses[-1] < losses[0]
    image = data[0][0]
    before = image.copy()
    seg = model.predict(image, score_threshold=0.0)
    np.testing.assert_array_equal(image, before)
    assert isinstance(seg, Segmentation) and seg.labels.shape == image.shape
    assert len(seg) == len(seg.scores) == len(seg.class_ids) and set(seg.class_ids.tolist()) <= {1}
    assert seg.class_names == ("background", "object") and (out / "metrics.json").is_file()
    assert np.all(np.diff(np.bincount(seg.labels.ravel())[1:] > 0) == 0)  # every region is non-empty


def test_maskrcnn_checkpoint_round_trip(maskrcnn_run, tmp_path):
    model, _, _, data = maskrcnn_run
    model.save(tmp_path / "m.pt")
    loaded = load(tmp_path / "m.pt", device="cpu")
    assert isinstance(loaded, MaskRCNNModel) and loaded.model_args["channels"] == 64
    for key, value in model.module.state_dict().items():
        assert torch.equal(value, loaded.module.state_dict()[key])
    image = data[1][0]
    seg = seglab.segment(image, "model_instances", model=str(tmp_path / "m.pt"), threshold=0.0)
    direct = model.predict(image, score_threshold=0.0)
    np.testing.assert_array_equal(seg.labels, direct.labels)
    np.testing.assert_allclose(seg.scores, direct.scores, atol=1e-6)
    assert seg.meta["model"] == str(tmp_path / "m.pt")
    from seglab.deep.export import export_onnx

    with pytest.raises(InputError, match="model must be a semantic .*for ONNX export, got a Mask R-CNN"):
        export_onnx(loaded, tmp_path / "m.onnx")


def test_read_coco_matches_written_instances(tmp_path):
    from seglab.formats.coco import to_coco

    items = []
    for i, (image, labels) in enumerate(disk_instances(2, seed=6, count=3)):
        save_image(tmp_path / f"{i}.png", image)
        items.append((tmp_path / f"{i}.png", Segmentation.from_labels(labels)))
    to_coco(items, tmp_path / "train.json")
    samples, names = read_coco(tmp_path / "train.json")
    assert names == ("background", "object") and len(samples) == 2
    for sample, (_, seg) in zip(samples, items):
        np.testing.assert_array_equal(sample.masks, seg.masks())
        assert sample.class_ids.tolist() == [1] * len(seg)
    with pytest.raises(InputError, match="COCO annotation file .* does not exist"):
        read_coco(tmp_path / "none.json")
