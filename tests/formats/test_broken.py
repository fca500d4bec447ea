"""Broken annotation files raise FormatError naming the annotation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seglab import formats
from seglab.core.errors import FormatError, InputError
from seglab.core.segmentation import Segmentation
from seglab.formats.coco import rle_counts


def coco_file(tmp_path: Path, annotation: dict, **extra) -> Path:
    data = {
        "images": [{"id": 1, "file_name": "a.png", "height": 10, "width": 12}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0, **annotation}],
        **extra,
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    return path


SQUARE = [[2, 2, 6, 2, 6, 6, 2, 6]]


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ({"segmentation": {"size": [10, 12], "counts": "zz"}}, "annotation 7 .*RLE counts must be"),
        (
            {"segmentation": {"size": [10, 12], "counts": "0"}},
            "annotation 7 .*RLE counts must be run lengths summing to 120",
        ),
        (
            {"segmentation": {"size": [10, 12], "counts": [5, 5]}},
            "annotation 7 .*RLE counts must be non-negative run lengths summing to 120",
        ),
        ({"segmentation": {"size": [9, 12], "counts": [108]}}, r"annotation 7 .*RLE size must be \[10, 12\]"),
        ({"segmentation": [[1, 1, 5, 5]]}, "annotation 7 .*polygon 0 must be a flat list of at least 3"),
        (
            {"segmentation": SQUARE, "bbox": [8, 2, 6, 4]},
            "annotation 7 .*bbox must be inside the image of width 12 and height 10",
        ),
        ({"segmentation": SQUARE, "image_id": 99}, "annotation 7: image_id must be the id of an image"),
        (
            {"segmentation": SQUARE, "category_id": 5},
            r"annotation 7: category_id must be one of the category ids \[1\]",
        ),
        ({"segmentation": "oops"}, "annotation 7 .*segmentation must be a list of polygons or an RLE dict"),
    ],
)
def test_broken_coco_annotations(tmp_path, annotation, message):
    with pytest.raises(FormatError, match=message):
        formats.read(coco_file(tmp_path, annotation), "coco")


def test_valid_coco_polygon_reads(tmp_path):
    [(_, seg)] = formats.read(coco_file(tmp_path, {"segmentation": SQUARE, "bbox": [2, 2, 4, 4]}), "coco")
    assert seg.areas.tolist() == [16]
    assert seg.class_names == ("background", "thing")


def test_wrong_json(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(FormatError, match="must be a JSON file, got invalid JSON"):
        formats.read(path, "coco")
    path.write_text("[1, 2]")
    with pytest.raises(FormatError, match="the file must be a COCO dict"):
        formats.read(path, "coco")
    with pytest.raises(InputError, match="does not exist"):
        formats.read(tmp_path / "missing.json", "coco")


def test_rle_counts_decoder_matches_pycocotools():
    from pycocotools import mask as mask_utils

    mask = np.zeros((30, 40), np.uint8, order="F")
    mask[3:20, 5:33] = 1
    mask[8:12, 9:14] = 0
    counts = mask_utils.encode(mask)["counts"].decode()
    assert rle_counts(counts) == 1200


def test_broken_labelme(tmp_path):
    document = {
        "shapes": [{"label": "a", "points": [[1, 1], [3, 3]], "shape_type": "polygon"}],
        "imageHeight": 10,
        "imageWidth": 10,
        "imagePath": "a.png",
    }
    (tmp_path / "a.json").write_text(json.dumps(document))
    with pytest.raises(
        FormatError, match=r"a.json: shape 0 \('a'\): a polygon must be at least 3 points, got 2"
    ):
        formats.read(tmp_path, "labelme")
    document["shapes"][0]["points"] = [[1, 1], [30, 3], [2, 5]]
    (tmp_path / "a.json").write_text(json.dumps(document))
    with pytest.raises(FormatError, match="points must be inside the image of width 10 and height 10"):
        formats.read(tmp_path, "labelme")
    del document["imageHeight"]
    (tmp_path / "a.json").write_text(json.dumps(document))
    with pytest.raises(FormatError, match="imageHeight must be a positive integer"):
        formats.read(tmp_path, "labelme")


def test_broken_yolo(tmp_path, image_file):
    seg = Segmentation(np.pad(np.ones((10, 10), np.int32), ((5, 33), (5, 49))))
    target = formats.write([(image_file, seg)], tmp_path / "yolo", "yolo")
    label = target / "labels" / "img.txt"
    for line, message in [
        ("0 0.1 0.1 0.2 0.2", "img.txt line 1: the polygon must be at least 3"),
        ("3 0.1 0.1 0.2 0.2 0.3 0.1", "the class id must be between 0 and 0"),
        ("0 0.1 0.1 0.2 1.2 0.3 0.1", r"coordinates must be normalised to \[0, 1\]"),
        ("x 0.1", "the line must be a class id then numbers"),
    ]:
        label.write_text(line + "\n")
        with pytest.raises(FormatError, match=message):
            formats.read(target, "yolo")
    (target / "images" / "img.png").unlink()
    with pytest.raises(FormatError, match="img.txt: the label file must be matched by an image"):
        formats.read(target, "yolo")


def test_broken_voc(tmp_path):
    seg = Segmentation(np.pad(np.ones((4, 4), np.int32), 3), class_ids=np.array([1]), class_names=("bg", "a"))
    target = formats.write([("x.jpg", seg)], tmp_path / "voc", "voc")
    xml = target / "Annotations" / "x.xml"
    xml.write_text(xml.read_text().replace("<xmax>7</xmax>", "<xmax>70</xmax>"))
    with pytest.raises(
        FormatError, match=r"x.xml: object 1 \(a\) bndbox must be inside the image of width 10"
    ):
        formats.read(target, "voc")
    xml.write_text("<annotation><object>")
    with pytest.raises(FormatError, match="x.xml: the file must be valid XML"):
        formats.read(target, "voc")
