"""CLI: seglab detect | export | convert | annotate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from seglab.cli.main import app
from seglab.core.segmentation import Segmentation

runner = CliRunner()


@pytest.fixture
def images(tmp_path: Path) -> Path:
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for index in range(2):
        image = np.full((40, 50), 30, np.uint8)
        image[5:15, 5 + index : 15 + index] = 200
        image[20:35, 20:30] = 200
        image[24:28, 24:27] = 30  # a hole
        Image.fromarray(image).save(folder / f"im{index}.png")
    return folder


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def test_detect_writes_objects_boxes_and_crops(images, tmp_path):
    out = tmp_path / "det"
    result = run("detect", images / "im0.png", "-m", "threshold", "-p", "value=100", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    document = json.loads((out / "im0.objects.json").read_text())
    assert document["n_objects"] == 2
    assert [o["area"] for o in document["objects"]] == [100, 150]  # the hole is filled
    assert document["objects"][0]["box_xyxy"] == [5, 5, 15, 15]
    assert (out / "im0.boxes.png").is_file()
    assert sorted(p.name for p in (out / "im0_crops").iterdir()) == ["0001.png", "0002.png"]
    again = run("detect", images / "im0.png", "-o", out, "-q")
    assert again.exit_code == 1
    assert "must not exist already (pass --overwrite" in again.output
    assert run("detect", images / "im0.png", "-o", out, "-q", "--overwrite", "--no-fill").exit_code == 0
    assert json.loads((out / "im0.objects.json").read_text())["objects"][1]["area"] == 138


def test_annotate_to_coco_matches_pycocotools(images, tmp_path):
    from pycocotools.coco import COCO

    from seglab import objects

    out = tmp_path / "ann.json"
    result = run(
        "annotate", images, "-m", "otsu", "--classes", "blob", "--to", "coco", "-o", out, "-q", "--no-fill"
    )
    assert result.exit_code == 0, result.output
    coco = COCO(str(out))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["blob"]
    for image in coco.loadImgs(coco.getImgIds()):
        seg = objects.detect(images / image["file_name"], "otsu", fill=False)
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        assert len(annotations) == len(seg) == 2
        for number, annotation in enumerate(annotations, start=1):
            assert np.array_equal(coco.annToMask(annotation).astype(bool), seg.labels == number)


def test_apply_classes():
    from seglab.cli.objects import apply_classes
    from seglab.core.errors import InputError

    unclassed = Segmentation(np.array([[1, 2]]))
    named = apply_classes(unclassed, ["cell"], "felzenszwalb")
    assert named.class_ids.tolist() == [1, 1] and named.class_names == ("background", "cell")
    with pytest.raises(
        InputError, match="--classes must name 1 class for felzenszwalb, whose regions have no classes, got 2"
    ):
        apply_classes(unclassed, ["a", "b"], "felzenszwalb")
    zero_based = Segmentation(np.array([[1, 2]]), class_ids=np.array([0, 1]))
    assert apply_classes(zero_based, ["a", "b"]).class_ids.tolist() == [1, 2]
    with pytest.raises(InputError, match="--classes must name at least 2 classes for kmeans, got 1"):
        apply_classes(zero_based, ["a"], "kmeans")


def test_export_and_convert(images, tmp_path):
    seg_dir = tmp_path / "segs"
    seg_dir.mkdir()
    for index in range(2):
        labels = np.zeros((40, 50), np.int32)
        labels[5:15, 5:15] = 1
        labels[20:35, 20:30] = 2
        labels[24:28, 24:27] = 0
        Segmentation(labels, class_ids=np.array([1, 2]), class_names=("background", "a", "b")).save(
            seg_dir / f"im{index}.labels.png"
        )
    result = run("export", seg_dir, "--images", images, "--to", "coco", "-o", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "c.json").read_text())
    assert [i["file_name"] for i in data["images"]] == ["im0.png", "im1.png"]
    assert [a["area"] for a in data["annotations"]] == [100, 138, 100, 138]
    for to in ("voc", "yolo", "labelme", "png"):
        result = run(
            "convert",
            tmp_path / "c.json",
            "--from",
            "coco",
            "--images",
            images,
            "--to",
            to,
            "-o",
            tmp_path / to,
        )
        assert result.exit_code == 0, result.output
        back = run("convert", tmp_path / to, "--from", to, "--to", "coco", "-o", tmp_path / f"{to}.json")
        assert back.exit_code == 0, back.output
        again = json.loads((tmp_path / f"{to}.json").read_text())
        assert [a["area"] for a in again["annotations"]] == [100, 138, 100, 138], to
        assert [c["name"] for c in again["categories"]] == ["a", "b"]
    refused = run("export", seg_dir, "--images", images, "--to", "coco", "-o", tmp_path / "c.json")
    assert refused.exit_code == 1 and "--overwrite" in refused.output
    wrong = run("export", seg_dir, "--images", images, "--to", "voc", "--polygons", "-o", tmp_path / "v2")
    assert "InputError: --polygons applies to --to coco only" in wrong.output
    unknown = run("convert", tmp_path / "c.json", "--from", "coco", "--to", "yolov8", "-o", tmp_path / "y2")
    assert "InputError: format must be one of" in unknown.output
