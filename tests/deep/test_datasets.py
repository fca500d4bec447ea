"""The trainer reads datasets through seglab.datasets: VOC, COCO, DRIVE field of view, folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from deep_helpers import disk_pairs
from PIL import Image
from typer.testing import CliRunner

from seglab.cli.main import app
from seglab.core.errors import InputError
from seglab.datasets import Sample
from seglab.deep.data import IGNORE, read_labelled, sample_to_pair

runner = CliRunner()
FAST = ["--encoder", "tu-mobilenetv3_small_050", "--epochs", "1", "--img-size", "32", "--batch-size", "2",
        "--samples-per-epoch", "4", "-q"]


def _palette_png(path, classes):
    path.parent.mkdir(parents=True, exist_ok=True)
    png = Image.new("P", classes.shape[::-1])
    png.putdata(classes.ravel().tolist())
    png.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    png.save(path)


def _voc(root):
    names = []
    for k, (image, mask) in enumerate(disk_pairs(4, size=32, seed=5)):
        name = f"2007_{k:06d}"
        names.append(name)
        (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.stack([image] * 3, -1)).save(root / "JPEGImages" / f"{name}.jpg", quality=95)
        classes = np.where(mask > 0, 15, 0).astype(np.uint8)
        classes[0, :] = 255  # void
        _palette_png(root / "SegmentationClass" / f"{name}.png", classes)
    (root / "ImageSets" / "Segmentation").mkdir(parents=True)
    (root / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(names[:3]) + "\n")
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text(names[3] + "\n")


def _coco(root):
    from pycocotools import mask as mask_utils

    images, annotations = [], []
    for k, (image, mask) in enumerate(disk_pairs(4, size=32, seed=6)):
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "images" / f"{k}.png")
        images.append({"id": k + 1, "file_name": f"{k}.png", "height": 32, "width": 32})
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode("ascii")
        annotations.append({"id": 2 * k + 1, "image_id": k + 1, "category_id": 3, "segmentation": rle,
                            "iscrowd": 0})
        annotations.append({"id": 2 * k + 2, "image_id": k + 1, "category_id": 7, "iscrowd": 0,
                            "segmentation": [[0, 0, 5, 0, 5, 5, 0, 5]]})
    data = {"images": images, "annotations": annotations,
            "categories": [{"id": 3, "name": "disk"}, {"id": 7, "name": "corner"}]}
    (root / "instances.json").write_text(json.dumps(data))


def test_voc_void_is_ignored_and_splits_are_used(tmp_path):
    _voc(tmp_path)
    pairs, names = read_labelled(tmp_path, "voc", split="train")
    assert len(pairs) == 3 and names[15] == "person" and len(names) == 21
    assert (pairs[0].mask[0] == IGNORE).all() and set(np.unique(pairs[0].mask[1:]).tolist()) == {0, 15}
    assert [p.name for p in read_labelled(tmp_path, "voc", split="val")[0]] == ["2007_000003"]


def test_coco_instances_become_contiguous_classes(tmp_path):
    _coco(tmp_path)
    pairs, names = read_labelled(tmp_path, "coco")
    assert names == ("background", "disk", "corner")
    mask = pairs[0].mask
    assert mask[2, 2] == 2 and mask[16, 16] == 1 and mask[31, 31] == 0


def test_valid_mask_becomes_ignore():
    target = np.ones((4, 5), np.int64)
    valid = np.zeros((4, 5), bool)
    valid[1:3, 1:4] = True
    pair = sample_to_pair(Sample(np.zeros((4, 5)), target, {"name": "21"}, valid), "drive")
    assert pair.mask.dtype == np.uint8 and pair.mask.sum() == 6 + IGNORE * 14
    with pytest.raises(InputError, match="mask of 'x' must be class indices 0..254"):
        sample_to_pair(Sample(np.zeros((2, 2)), np.full((2, 2), 300), {"name": "x"}), "folder")


def test_unknown_format(tmp_path):
    with pytest.raises(InputError, match="format must be one of 'folder'"):
        read_labelled(tmp_path, "bsds")


@pytest.mark.parametrize("format, build", [("voc", _voc), ("coco", _coco)])
def test_cli_trains_on_voc_and_coco(tmp_path, format, build):
    from seglab.deep.models import load

    build(tmp_path / "data")
    result = runner.invoke(app, ["train", str(tmp_path / "data"), "--format", format,
                                 "--out", str(tmp_path / "run"), *FAST])
    assert result.exit_code == 0, result.output
    model = load(tmp_path / "run" / "best.pt")
    if format == "voc":
        assert model.classes == 21 and model.class_names[15] == "person"
        assert (model.train_config["train_images"], model.train_config["val_images"]) == (3, 1)
    else:
        assert model.class_names == ("background", "disk", "corner") and model.in_channels == 1
    assert (tmp_path / "run" / "metrics.json").is_file()
