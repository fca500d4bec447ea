"""Round trips Segmentation -> format -> Segmentation for every format."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from seglab import formats
from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation


def ious(a: Segmentation, b: Segmentation) -> list[float]:
    out = []
    for i in range(1, len(a) + 1):
        x, y = a.labels == i, b.labels == i
        out.append(float((x & y).sum() / (x | y).sum()))
    return out


def names(seg: Segmentation) -> list[str]:
    return [seg.class_names[c] for c in seg.class_ids]


def target_for(fmt: str, tmp_path: Path) -> Path:
    return tmp_path / "out" / ("ann.json" if fmt == "coco" else "")


EXACT = [("coco", {}), ("voc", {}), ("voc", {"void_border": 3}), ("png", {}), ("png", {"per_object": True})]
POLYGON = [("coco", {"polygons": True}), ("labelme", {}), ("yolo", {})]


@pytest.mark.parametrize(("fmt", "options"), EXACT)
def test_exact_formats_keep_every_pixel(fmt, options, objects_seg, image_file, tmp_path):
    target = formats.write([(image_file, objects_seg)], target_for(fmt, tmp_path), fmt, **options)
    [(path, back)] = formats.read(target, fmt)
    assert path.name == image_file.name
    assert ious(objects_seg, back) == [1.0, 1.0, 1.0]
    assert back.areas.tolist() == objects_seg.areas.tolist()
    assert names(back) == ["ring", "pair", "ring"]
    assert back.labels[16, 16] == 0  # the donut's hole stays a hole


@pytest.mark.parametrize(("fmt", "options"), POLYGON)
def test_polygon_formats_keep_objects_and_holes(fmt, options, objects_seg, image_file, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        target = formats.write([(image_file, objects_seg)], target_for(fmt, tmp_path), fmt, **options)
    [(path, back)] = formats.read(target, fmt)
    assert path.name == image_file.name
    assert min(ious(objects_seg, back)) >= 0.98
    assert names(back) == ["ring", "pair", "ring"]
    assert back.labels[16, 16] == 0
    messages = [str(w.message) for w in caught]
    if fmt == "yolo":  # the two parts are joined by a bridge over the background: lossy, so warned
        assert any("region 2 (pair) has several parts" in m for m in messages)
    if fmt == "coco":  # the donut falls back to RLE
        assert any("region 1 has a hole" in m for m in messages)


@pytest.mark.parametrize("fmt", ["coco-polygons", "labelme", "yolo"])
def test_polygons_exact_on_random_blobs(fmt, tmp_path, image_file):
    from scipy import ndimage

    rng = np.random.default_rng(0)
    noise = ndimage.gaussian_filter(rng.random((48, 64)), 2)
    seg = Segmentation.from_labels(ndimage.label(noise > np.quantile(noise, 0.6))[0])
    name, options = ("coco", {"polygons": True}) if fmt == "coco-polygons" else (fmt, {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = formats.write([(image_file, seg)], target_for(name, tmp_path), name, **options)
    [(_, back)] = formats.read(target, name)
    assert min(ious(seg, back)) == 1.0


def test_png_label_round_trip_is_equal(objects_seg, image_file, tmp_path):
    target = formats.write([(image_file, objects_seg)], tmp_path / "png", "png")
    [(path, back)] = formats.read(target, "png")
    assert back == objects_seg
    assert path == image_file


def test_coco_many_images_categories_and_scores(objects_seg, tmp_path):
    other = Segmentation(
        np.pad(np.ones((5, 6), np.int32), 3),
        class_ids=np.array([1]),
        class_names=("background", "ring"),
        scores=np.array([0.5]),
    )
    target = formats.write([("a.png", objects_seg), ("b.png", other)], tmp_path / "c.json", "coco")
    data = json.loads(target.read_text())
    assert [c["name"] for c in data["categories"]] == ["ring", "pair"]
    assert [i["file_name"] for i in data["images"]] == ["a.png", "b.png"]
    assert [a["area"] for a in data["annotations"]] == [*objects_seg.areas.tolist(), 30]
    assert data["annotations"][3]["bbox"] == [3, 3, 6, 5]
    back = formats.read(target, "coco")
    assert [p.name for p, _ in back] == ["a.png", "b.png"]
    np.testing.assert_allclose(back[0][1].scores, [0.9, 0.8, 0.7])
    assert back[1][1].class_names == ("background", "ring", "pair")


def test_coco_annToMask_matches_labels(objects_seg, tmp_path):
    from pycocotools.coco import COCO

    for polygons in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = formats.write(
                [("a.png", objects_seg)], tmp_path / f"{polygons}.json", "coco", polygons=polygons
            )
        coco = COCO(str(target))
        for annotation in coco.loadAnns(coco.getAnnIds()):
            mask = coco.annToMask(annotation).astype(bool)
            assert np.array_equal(mask, objects_seg.labels == annotation["id"])
            assert annotation["area"] == mask.sum()


def test_unclassed_regions_become_objects(tmp_path):
    seg = Segmentation(np.array([[0, 1, 1], [2, 2, 0]]))
    target = formats.write([("x.png", seg)], tmp_path / "x.json", "coco")
    [(_, back)] = formats.read(target, "coco")
    assert back.class_names == ("background", "object")
    assert np.array_equal(back.labels, seg.labels)


def test_empty_regions_are_left_out_with_a_warning(tmp_path):
    seg = Segmentation(np.array([[0, 1], [1, 0]]), class_ids=np.array([1, 1]), class_names=("bg", "a"))
    with pytest.warns(UserWarning, match="1 empty region"):
        formats.write([("x.png", seg)], tmp_path / "x.json", "coco")


def test_voc_writes_the_standard_layout(objects_seg, tmp_path):
    from PIL import Image

    target = formats.write([("im.jpg", objects_seg)], tmp_path / "voc", "voc", void_border=2)
    for part in (
        "SegmentationClass/im.png",
        "SegmentationObject/im.png",
        "Annotations/im.xml",
        "ImageSets/Segmentation/trainval.txt",
        "labelmap.txt",
    ):
        assert (target / part).is_file()
    with Image.open(target / "SegmentationClass" / "im.png") as image:
        assert image.mode == "P"
        assert image.getpalette()[:9] == [0, 0, 0, 128, 0, 0, 0, 128, 0]
        classes = np.asarray(image)
    assert set(np.unique(classes)) == {0, 1, 2, 255}
    xml = (target / "Annotations" / "im.xml").read_text()
    assert "<xmin>5</xmin>" in xml and "<name>pair</name>" in xml


def test_failed_export_leaves_no_file(objects_seg, tmp_path, monkeypatch):
    from seglab.formats import coco

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(coco.json, "dumps", explode)
    with pytest.raises(RuntimeError):
        formats.write([("a.png", objects_seg)], tmp_path / "c.json", "coco")
    assert list(tmp_path.iterdir()) == []


def test_bad_items_and_format_names(objects_seg, tmp_path):
    with pytest.raises(InputError, match=r"items\[0\] must be an \(image_path, Segmentation\) pair"):
        formats.write([objects_seg], tmp_path / "a.json", "coco")
    with pytest.raises(InputError, match="image names must be unique"):
        formats.write([("a.png", objects_seg), ("d/a.jpg", objects_seg)], tmp_path / "a.json", "coco")
    with pytest.raises(
        InputError,
        match="format must be one of coco, labelme, png, voc, yolo, got 'cocoo'; did you mean 'coco'",
    ):
        formats.get_format("cocoo")
