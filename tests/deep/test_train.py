"""The trainer: outputs, metrics, resume, options, losses."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from deep_helpers import TINY, disk_pairs

from seglab.core.errors import InputError
from seglab.deep.data import Pair, SegmentationDataset, split_pairs
from seglab.deep.losses import confusion, make_loss, scores_from_confusion
from seglab.deep.train import train


def test_training_outputs_and_learns(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert {"best", "history", "best_epoch", "stopped_by"} <= set(metrics)
    assert len(metrics["history"]["val_miou"]) == 4
    assert metrics["best"]["miou"] > 0.7
    assert (trained / "curves.png").stat().st_size > 1000
    from seglab.deep.models import load

    model = load(trained / "best.pt")
    assert model.train_config["epochs"] == 4 and model.train_config["train_images"] == 5
    assert model.metrics["miou"] == pytest.approx(metrics["best"]["miou"])


def test_resume_continues_and_is_reproducible(tmp_path):
    opts = dict(epochs=2, img_size=32, batch_size=4, samples_per_epoch=8, seed=1, **TINY)
    pairs = disk_pairs(4, size=32)
    full = train(pairs, out=tmp_path / "full", **opts)
    train(pairs, out=tmp_path / "part", **{**opts, "epochs": 1})
    resumed = train(pairs, out=tmp_path / "part", resume=True, **opts)
    assert len(resumed.history["train_loss"]) == 2
    assert resumed.history["train_loss"][0] == pytest.approx(full.history["train_loss"][0], rel=1e-5)


def test_time_budget_stops(tmp_path):
    result = train(disk_pairs(3, size=32), out=tmp_path, epochs=50, img_size=32, batch_size=2,
                   samples_per_epoch=4, max_minutes=1e-4, **TINY)
    assert result.metrics["stopped_by"] == "time budget"
    assert result.metrics["epochs_run"] == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"img_size": 50}, "img_size must be a multiple of 32"),
    ({"schedule": "step"}, "schedule must be one of"),
    ({"epoch": 3}, "training option must be one of .*did you mean 'epochs'"),
    ({"loss": "ce+bce"}, "loss terms must be among ce, dice, focal"),
    ({"val_fraction": 1.5}, "val_fraction must be a number between 0 and 1"),
])
def test_bad_options(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        train(disk_pairs(3, size=32), out=tmp_path, **{**TINY, "epochs": 1, "img_size": 32, **kwargs})


def test_split_is_contiguous():
    pairs = [Pair(np.zeros((4, 4)), np.zeros((4, 4), np.uint8), str(i)) for i in range(30)]
    train_part, val_part = split_pairs(pairs, 0.2)
    assert [p.name for p in val_part] == [str(i) for i in range(24, 30)]
    assert len(train_part) == 24


def test_dataset_crops_and_pads_with_ignore():
    image, mask = disk_pairs(1, size=40)[0]
    data = SegmentationDataset([Pair(image, mask)], 1, [0.5], [0.25], crop_size=64, samples=3)
    x, y = data[0]
    assert x.shape == (1, 64, 64) and y.shape == (64, 64) and y.dtype == torch.int64
    assert (y == 255).any() and set(torch.unique(y).tolist()) <= {0, 1, 255}
    val = SegmentationDataset([Pair(image, mask)], 1, [0.5], [0.25], crop_size=None)
    x, y = val[0]
    assert x.shape == (1, 64, 64) and (y[40:] == 255).all()


@pytest.mark.parametrize("spec", ["ce", "dice", "focal", "ce+dice", "0.5*focal+dice"])
def test_losses_prefer_the_right_answer(spec):
    target = torch.tensor([[[0, 1], [1, 255]]])
    good = torch.nn.functional.one_hot(target.clamp(max=1), 2).permute(0, 3, 1, 2).float() * 8 - 4
    loss = make_loss(spec)
    assert float(loss(good, target)) < float(loss(-good, target))
    good.requires_grad_(True)
    loss(good, target).backward()
    assert torch.isfinite(good.grad).all()


def test_confusion_scores():
    pred = torch.tensor([0, 1, 1, 0])
    target = torch.tensor([0, 1, 0, 255])
    scores = scores_from_confusion(confusion(pred, target, 2))
    assert scores["pixel_acc"] == pytest.approx(2 / 3)
    assert scores["iou_per_class"] == pytest.approx([0.5, 0.5])
