import json

import numpy as np
import pytest
from PIL import Image

from seglab.core.errors import FormatError, InputError
from seglab.datasets import FORMATS, Sample, read_dataset


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


def _image(rng):
    return rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)


def _mask():
    mask = np.zeros((12, 16), np.uint8)
    mask[3:9, 4:12] = 255
    return mask


def test_folder_pairs(tmp_path, rng):
    for stem in ("a", "b"):
        _png(tmp_path / "images" / f"{stem}.png", _image(rng))
        _png(tmp_path / "masks" / f"{stem}.png", _mask())
    data = read_dataset(tmp_path, "folder")
    assert len(data) == 2 and data.names == ["a", "b"]
    sample = data[0]
    assert isinstance(sample, Sample)
    assert sample.target.tolist() == (_mask() > 0).astype(int).tolist()
    assert sample.meta["name"] == "a" and sample.meta["format"] == "folder"


def test_folder_broken(tmp_path, rng):
    _png(tmp_path / "images" / "a.png", _image(rng))
    _png(tmp_path / "images" / "b.png", _image(rng))
    _png(tmp_path / "masks" / "a.png", np.zeros((5, 5)))
    with pytest.raises(FormatError, match=r"image '.*b\.png' must have a mask named b\.\*"):
        read_dataset(tmp_path, "folder")
    _png(tmp_path / "masks" / "b.png", _mask())
    data = read_dataset(tmp_path, "folder")
    with pytest.raises(FormatError, match=r"mask '.*a\.png' must have the image's size \(12, 16\), got \(5, 5\)"):
        data[0]
    (tmp_path / "masks" / "b.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match=r"mask '.*b\.png' must be a readable image file"):
        data[1]


def test_unknown_format_and_missing(tmp_path):
    with pytest.raises(InputError, match="format must be one of 'folder'"):
        read_dataset(tmp_path, "kitti")
    with pytest.raises(InputError, match="dataset folder '.*nothing' does not exist"):
        read_dataset(tmp_path / "nothing", "folder")
    assert "cityscapes" in FORMATS


def test_bsds_layout(tmp_path, rng):
    from scipy.io import savemat

    seg = np.ones((12, 16), np.uint16)
    seg[:, 8:] = 2
    cell = np.empty((1, 2), dtype=object)
    for k in range(2):
        cell[0, k] = {"Segmentation": seg, "Boundaries": np.zeros((12, 16), np.uint8)}
    _png(tmp_path / "images" / "val" / "1.jpg", _image(rng))
    (tmp_path / "groundTruth" / "val").mkdir(parents=True)
    savemat(tmp_path / "groundTruth" / "val" / "1.mat", {"groundTruth": cell})
    sample = read_dataset(tmp_path, "bsds", split="val")[0]
    assert len(sample.target) == 2 and sample.target[0].tolist() == seg.tolist()
    (tmp_path / "groundTruth" / "val" / "1.mat").write_bytes(b"junk")
    with pytest.raises(FormatError, match=r"BSDS ground truth '.*1\.mat' must be a \.mat"):
        read_dataset(tmp_path, "bsds")[0]


def test_isbi_and_drive_layouts(tmp_path, rng):
    for i in (0, 1, 10):
        _png(tmp_path / "isbi" / "train" / "image" / f"{i}.png", _image(rng)[..., 0])
        _png(tmp_path / "isbi" / "train" / "label" / f"{i}.png", _mask())
    isbi = read_dataset(tmp_path / "isbi", "isbi")
    assert isbi.names == ["0", "1", "10"] and isbi[2].target.sum() == 48
    base = tmp_path / "drive" / "training"
    _png(base / "images" / "21_training.png", _image(rng))
    _png(base / "1st_manual" / "21_manual1.png", _mask())
    fov = np.zeros((12, 16), np.uint8)
    fov[1:11, 1:15] = 255
    _png(base / "mask" / "21_training_mask.png", fov)
    sample = read_dataset(tmp_path / "drive", "drive")[0]
    assert sample.valid_mask.sum() == 140 and sample.target.sum() == 48


def test_voc_layout(tmp_path, rng):
    _png(tmp_path / "JPEGImages" / "x.jpg", _image(rng))
    classes = np.zeros((12, 16), np.uint8)
    classes[2:6, 2:6] = 15
    classes[6, :] = 255
    palette_png = Image.new("P", (16, 12))
    palette_png.putdata(classes.ravel().tolist())
    palette_png.putpalette([v for i in range(256) for v in (i, 255 - i, i // 2)])
    (tmp_path / "SegmentationClass").mkdir()
    palette_png.save(tmp_path / "SegmentationClass" / "x.png")
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("x\n")
    data = read_dataset(tmp_path, "voc", split="val")
    sample = data[0]
    assert sample.target[3, 3] == 15 and sample.target[6, 0] == 255
    assert data.class_names[15] == "person" and sample.meta["ignore_index"] == 255
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("x\ny\n")
    with pytest.raises(FormatError, match=r"image '.*y\.jpg' listed in"):
        read_dataset(tmp_path, "voc", split="val")


def test_coco_polygons_and_rle(tmp_path, rng):
    from pycocotools import mask as mask_utils

    _png(tmp_path / "images" / "p.png", _image(rng))
    square = np.zeros((12, 16), np.uint8, order="F")
    square[6:10, 10:14] = 1
    rle = mask_utils.encode(np.asfortranarray(square))
    rle["counts"] = rle["counts"].decode("ascii")
    data = {
        "images": [{"id": 7, "file_name": "p.png", "height": 12, "width": 16}],
        "categories": [{"id": 1, "name": "cell"}, {"id": 3, "name": "nucleus"}],
        "annotations": [
            {"id": 1, "image_id": 7, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5, 1, 5]], "iscrowd": 0},
            {"id": 2, "image_id": 7, "category_id": 3, "segmentation": rle, "iscrowd": 0},
        ],
    }
    (tmp_path / "instances.json").write_text(json.dumps(data))
    dataset = read_dataset(tmp_path, "coco")
    target = dataset[0].target
    assert len(target) == 2 and target.class_ids.tolist() == [1, 3]
    assert target.areas[1] == 16 and target.labels[8, 12] == 2
    assert dataset.class_names[3] == "nucleus"
    (tmp_path / "instances.json").write_text("{broken")
    with pytest.raises(FormatError, match=r"COCO file '.*instances\.json' must be JSON"):
        read_dataset(tmp_path, "coco")


def test_cityscapes_layout(tmp_path, rng):
    _png(tmp_path / "leftImg8bit" / "val" / "ulm" / "ulm_000_000_leftImg8bit.png", _image(rng))
    labels = np.full((12, 16), 7, np.uint8)
    _png(tmp_path / "gtFine" / "val" / "ulm" / "ulm_000_000_gtFine_labelIds.png", labels)
    sample = read_dataset(tmp_path, "cityscapes")[0]
    assert sample.meta["name"] == "ulm_000_000" and (sample.target == 7).all()
    (tmp_path / "gtFine" / "val" / "ulm" / "ulm_000_000_gtFine_labelIds.png").unlink()
    with pytest.raises(FormatError, match=r"must have a mask '.*gtFine_labelIds\.png'"):
        read_dataset(tmp_path, "cityscapes")


def test_real_datasets(data_dir):
    drive = read_dataset(data_dir / "drive_retina", "drive")
    sample = drive[0]
    assert len(drive) == 20 and sample.image.shape == (584, 565, 3)
    assert 0.6 < sample.valid_mask.mean() < 0.75 and set(np.unique(sample.target)) == {0, 1}
    isbi = read_dataset(data_dir / "isbi2012_em_membrane", "isbi")
    assert len(isbi) == 30 and 0.7 < isbi[0].target.mean() < 0.85
    bsds = read_dataset(data_dir / "bsds500", "bsds", split="val")
    first = bsds[0]
    assert len(bsds) == 100 and 4 <= len(first.target) <= 9
    assert first.target[0].shape == first.image.shape[:2]
