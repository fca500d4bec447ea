"""Hostile annotation files: crashes, files outside the dataset, memory bombs, odd JSON types.

The crashes of pycocotools and numpy run in a subprocess, so a segfault fails the test
instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seglab import formats
from seglab.core.errors import FormatError

HUGE = 4611686018427387904  # 2**62: four of these wrap to 0 in int64


def run_isolated(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (with this checkout first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


def coco_doc(annotation: dict, image: dict | None = None) -> dict:
    return {
        "images": [image or {"id": 1, "file_name": "a.png", "height": 10, "width": 12}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 0, **annotation}],
    }


@pytest.mark.parametrize(
    ("segmentation", "message"),
    [
        ([[0, 0, 1e9, 0, 1e9, 1e9]], "polygon 0 must be inside the image of width 12 and height 10"),
        ([[0, 0, -1e12, 0, 5, 5]], "polygon 0 must be inside the image"),
        ({"size": [10, 12], "counts": [HUGE, HUGE, HUGE, HUGE + 120]}, "RLE counts must be non-negative run"),
        ({"size": [10, 12], "counts": "o" * 40 + "0"}, "RLE counts must be run lengths of at most 7 characters"),
    ],
)
def test_coco_crashers_are_format_errors_in_a_subprocess(tmp_path, segmentation, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(coco_doc({"segmentation": segmentation})))
    result = run_isolated(
        f"""
        from seglab import formats
        from seglab.core.errors import FormatError
        try:
            formats.read({str(path)!r}, "coco")
        except FormatError as error:
            print("FormatError:", error)
        """
    )
    assert result.returncode == 0, f"crashed with {result.returncode}: {result.stderr[-2000:]}"
    assert "FormatError:" in result.stdout and message in result.stdout


def test_web_runs_that_wrap_int64_are_refused_in_a_subprocess(tmp_path):
    """The annotator's save route decoded these with np.repeat and died of SIGSEGV."""
    from PIL import Image

    Image.new("RGB", (8, 6)).save(tmp_path / "a.png")
    body = {"upserts": [{"uid": "a", "mask": {"x": 0, "y": 0, "w": 2, "h": 2,
                                             "counts": [HUGE, HUGE, HUGE, HUGE + 4]}}]}
    result = run_isolated(
        f"""
        import json
        from fastapi.testclient import TestClient
        from seglab.web.app import create_app
        with TestClient(create_app({str(tmp_path)!r}), base_url="http://127.0.0.1") as client:
            image_id = client.get("/api/images").json()[0]["id"]
            response = client.post(f"/api/images/{{image_id}}/save", json={body!r})
            print(response.status_code, response.json()["detail"])
            print(len(client.get(f"/api/images/{{image_id}}/objects").json()))
        """
    )
    assert result.returncode == 0, f"crashed with {result.returncode}: {result.stderr[-2000:]}"
    status, objects = result.stdout.strip().splitlines()
    assert status.startswith("400 InputError: mask counts must be integers between 0 and w*h = 4")
    assert objects == "0"


@pytest.mark.parametrize("counts", [[-1, 5], [2, 2.5], [True, 3], [5]])
def test_web_runs_must_be_small_non_negative_integers(counts):
    from seglab.core.errors import InputError
    from seglab.web.project import mask_from_runs

    with pytest.raises(InputError, match="mask counts must"):
        mask_from_runs({"x": 0, "y": 0, "w": 2, "h": 2, "counts": counts}, 4, 4)


# ---------------------------------------------------------------------------- files outside the dataset
@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "shadow.png"
    path.parent.mkdir()
    from PIL import Image

    Image.new("L", (12, 10), 7).save(path)
    return path


def _dataset(tmp_path: Path) -> tuple[Path, Path]:
    """``tmp_path/ds/images`` and ``tmp_path/ds/ann``: the secret is two levels above."""
    images, ann = tmp_path / "ds" / "images", tmp_path / "ds" / "ann"
    images.mkdir(parents=True)
    ann.mkdir(parents=True)
    return images, ann


def test_coco_file_name_outside_images_is_refused(tmp_path, secret):
    images, ann = _dataset(tmp_path)
    for name in ("../../secret/shadow.png", str(secret), "sub/../../../secret/shadow.png"):
        path = ann / "c.json"
        doc = coco_doc({"segmentation": [[1, 1, 5, 1, 5, 5]]}, {"id": 1, "file_name": name, "height": 10, "width": 12})
        path.write_text(json.dumps(doc))
        with pytest.raises(FormatError, match=r"c.json: image 1: the image path must be inside the image folder"):
            formats.read(path, "coco", image_root=images)
        with pytest.raises(FormatError, match=r"image path must be a relative path without '\.\.'"):
            formats.read(path, "coco")


def test_coco_symlink_out_of_images_is_refused(tmp_path, secret):
    images, ann = _dataset(tmp_path)
    os.symlink(secret, images / "link.png")
    path = ann / "c.json"
    path.write_text(json.dumps(coco_doc({"segmentation": [[1, 1, 5, 1, 5, 5]]},
                                        {"id": 1, "file_name": "link.png", "height": 10, "width": 12})))
    with pytest.raises(FormatError, match="must be inside the image folder"):
        formats.read(path, "coco", image_root=images)


def test_convert_does_not_copy_files_from_outside(tmp_path, secret):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    images, ann = _dataset(tmp_path)
    path = ann / "c.json"
    doc = coco_doc({"segmentation": [[1, 1, 5, 1, 5, 5]]},
                   {"id": 1, "file_name": "../../../../../../../../" + str(secret), "height": 10, "width": 12})
    path.write_text(json.dumps(doc))
    out = tmp_path / "y"
    result = CliRunner().invoke(app, ["convert", str(path), "--from", "coco", "--to", "yolo",
                                      "--images", str(images), "-o", str(out)])
    assert result.exit_code == 1
    assert "FormatError: c.json: image 1: the image path must be inside the image folder" in result.output
    assert not out.exists()


def test_labelme_image_path_outside_is_refused(tmp_path, secret):
    _, ann = _dataset(tmp_path)
    doc = {"shapes": [], "imagePath": "../../secret/shadow.png", "imageHeight": 10, "imageWidth": 12}
    (ann / "a.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="a.json: imagePath: the image path must be inside the image folder"):
        formats.read(ann, "labelme")
    doc["imagePath"] = "../images/a.png"  # next to the JSON folder: fine
    (ann / "a.json").write_text(json.dumps(doc))
    [(image, _)] = formats.read(ann, "labelme")
    assert image == tmp_path / "ds" / "images" / "a.png"


def test_voc_filename_outside_is_refused(tmp_path, secret, objects_seg):
    target = formats.write([("a.png", objects_seg)], tmp_path / "voc", "voc")
    xml = target / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<filename>a.png</filename>", "<filename>../../secret/shadow.png</filename>"))
    with pytest.raises(FormatError, match=r"a.xml: <filename>: the image path must be inside the image folder"):
        formats.read(target, "voc")


def test_png_sources_outside_are_refused(tmp_path, secret, objects_seg):
    import dataclasses

    folder = tmp_path / "ds" / "png"
    folder.mkdir(parents=True)
    dataclasses.replace(objects_seg, meta={"source": str(secret)}).save(folder / "a.png", kind="labels")
    with pytest.raises(FormatError, match="a.png: meta.source: the image path must be inside"):
        formats.read(folder, "png")
    (folder / "a.png").unlink()
    target = formats.write([("b.png", objects_seg)], folder, "png", per_object=True)
    index = target / "b" / "objects.json"
    document = json.loads(index.read_text())
    document["objects"][0]["file"] = "../../../secret/shadow.png"
    index.write_text(json.dumps(document))
    with pytest.raises(FormatError, match="object 0 file: the image path must be inside"):
        formats.read(target, "png")
    document["objects"][0]["file"] = "0001.png"
    document["image"] = "/etc/shadow"
    index.write_text(json.dumps(document))
    with pytest.raises(FormatError, match="objects.json: image: the image path must be inside"):
        formats.read(target, "png")


def test_convert_overwrite_removes_stale_yolo_labels(tmp_path, objects_seg):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    first = formats.write([("a.png", objects_seg), ("b.png", objects_seg)], tmp_path / "c1.json", "coco")
    second = formats.write([("a.png", objects_seg)], tmp_path / "c2.json", "coco")
    out = tmp_path / "y"
    for source, extra in ((first, []), (second, ["--overwrite"])):
        result = CliRunner().invoke(app, ["convert", str(source), "--from", "coco", "--to", "yolo", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "labels").iterdir()) == ["a.txt"]


# ---------------------------------------------------------------------------- memory bombs, odd types
def test_declared_size_is_bounded_before_allocating(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(coco_doc({"segmentation": [[1, 1, 5, 1, 5, 5]]},
                                        {"id": 1, "file_name": "a.png", "height": 50000, "width": 50000})))
    with pytest.raises(FormatError, match=r"image 1: the image size must be at most 268435456 pixels .*50000 x 50000"):
        formats.read(path, "coco")
    doc = {"shapes": [], "imagePath": "a.png", "imageHeight": 50000, "imageWidth": 50000}
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "a.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="a.json: the image size must be at most"):
        formats.read(tmp_path / "lm", "labelme")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"annotations": [{"id": 7, "image_id": [1], "category_id": 1, "segmentation": []}]}, "image_id must be the id"),
        ({"annotations": [{"id": 7, "image_id": 1, "category_id": {"a": 1}, "segmentation": []}]}, "category_id must be"),
        ({"images": [{"id": 10**30, "file_name": "a.png", "height": 10, "width": 12}]}, "an image entry must be"),
        ({"images": [{"id": 1, "file_name": "a.png", "height": 10, "width": 12},
                     {"id": 1, "file_name": "b.png", "height": 10, "width": 12}]}, "image ids must be unique, got 1"),
        ({"categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}, "category ids must be unique"),
        ({"annotations": [{"id": 7, "image_id": 1, "category_id": 1, "segmentation": [], "bbox": [float("nan"), 0, 2, 2]}]},
         "bbox must be"),
        ({"images": [{"id": 1, "file_name": "a.png", "height": True, "width": 12}]}, "an image entry must be"),
    ],
)
def test_coco_odd_ids_and_values(tmp_path, change, message):
    doc = {**coco_doc({"segmentation": [[1, 1, 5, 1, 5, 5]]}), **change}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=message):
        formats.read(path, "coco")


def test_deeply_nested_json_is_a_format_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FormatError, match="nesting too deep"):
        formats.read(path, "coco")


def test_labelme_many_shapes_read_in_their_boxes(tmp_path):
    """40,000 shapes: each is drawn inside its own box (this was quadratic and took minutes)."""
    shapes = []
    for i in range(40_000):
        x, y = (i % 200) * 5, (i // 200) * 5
        shapes.append({"label": f"c{i % 3}", "points": [[x, y], [x + 2, y], [x + 2, y + 2]], "shape_type": "polygon"})
    doc = {"shapes": shapes, "imagePath": "a.png", "imageHeight": 1000, "imageWidth": 1000}
    (tmp_path / "lm").mkdir()
    (tmp_path / "lm" / "a.json").write_text(json.dumps(doc))
    [(_, seg)] = formats.read(tmp_path / "lm", "labelme")
    assert len(seg) == 40_000
    assert seg.labels[0, 0] == 1 and seg.labels[995, 995] == 40_000
    assert seg.class_names == ("background", "c0", "c1", "c2")


def test_labelme_group_id_of_odd_type(tmp_path):
    doc = {"shapes": [{"label": "a", "points": [[1, 1], [4, 1], [4, 4]], "group_id": [1]}],
           "imagePath": "a.png", "imageHeight": 10, "imageWidth": 10}
    (tmp_path / "a.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="group_id must be an integer, a string or null"):
        formats.read(tmp_path / "a.json", "labelme")


# ---------------------------------------------------------------------------- YOLO
def _yolo(tmp_path: Path, yaml_text: str, label: bytes = b"0 0.1 0.1 0.5 0.1 0.5 0.5\n") -> Path:
    from PIL import Image

    root = tmp_path / "yolo"
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    Image.new("RGB", (10, 10)).save(root / "images" / "a.png")
    (root / "labels" / "a.txt").write_bytes(label)
    (root / "data.yaml").write_text(yaml_text)
    return root


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]")
    lines.append("names: *i")
    text = "\n".join(lines) + "\n"
    assert len(text) < 400
    with pytest.raises(FormatError, match="data.yaml: the file must be valid YAML without aliases"):
        formats.read(_yolo(tmp_path, text), "yolo")


def test_non_utf8_yolo_labels_are_a_format_error(tmp_path):
    root = _yolo(tmp_path, "names: [thing]\n", label=b"0 0.1 0.1 \xff\xfe 0.5\n")
    with pytest.raises(FormatError, match="a.txt: the file must be UTF-8 text"):
        formats.read(root, "yolo")
    assert len(formats.read(_yolo(tmp_path / "ok", "names: [thing]\n"), "yolo")) == 1
