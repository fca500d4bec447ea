"""Exports straight from the store: overlaps kept, negatives kept, any class name, folders kept."""

from __future__ import annotations

import io
import json
import urllib.parse
import zipfile
from pathlib import Path

import numpy as np
import pytest

from seglab.web.project import crop_runs

H, W = 40, 50
BIG = np.zeros((H, W), bool)
BIG[5:30, 5:40] = True
SMALL = np.zeros((H, W), bool)  # lies entirely inside BIG, saved after it
SMALL[10:20, 10:20] = True
OTHER = np.zeros((H, W), bool)
OTHER[20:35, 30:45] = True


@pytest.fixture
def project(tmp_path):
    """a/x.png and b/x.png (the same stem in two folders) and neg.png, 50x40 each."""
    from PIL import Image

    folder = tmp_path / "proj"
    rng = np.random.default_rng(0)
    for name in ("a/x.png", "b/x.png", "neg.png", "todo.png"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (H, W, 3), dtype=np.uint8)).save(folder / name)
    return folder


@pytest.fixture
def client(project):
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    with TestClient(create_app(project), base_url="http://127.0.0.1") as test_client:
        yield test_client


def annotate(client) -> dict[str, int]:
    """a/x: BIG (background), then SMALL on top (horse); b/x: OTHER (no class); neg: Done, no objects."""
    ids = {i["path"]: i["id"] for i in client.get("/api/images").json()}
    background = client.post("/api/classes", json={"name": "background"}).json()["id"]
    horse = client.post("/api/classes", json={"name": "horse"}).json()["id"]
    client.post(f"/api/images/{ids['a/x.png']}/save", json={"upserts": [
        {"uid": "big", "mask": crop_runs(BIG), "class_id": background, "order": 1},
        {"uid": "small", "mask": crop_runs(SMALL), "class_id": horse, "order": 2, "score": 0.5}]})
    client.post(f"/api/images/{ids['b/x.png']}/save", json={"upserts": [{"uid": "other", "mask": crop_runs(OTHER)}]})
    client.post(f"/api/images/{ids['neg.png']}/done", json={"done": True})
    return ids


def download(client, fmt: str, folder: Path) -> tuple[Path, list[str]]:
    response = client.get(f"/api/export?format={fmt}")
    assert response.status_code == 200, response.text
    notes = json.loads(urllib.parse.unquote(response.headers["x-seglab-warnings"]))
    if fmt == "coco":
        path = folder / "coco.json"
        path.write_bytes(response.content)
        return path, notes
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(folder / fmt)
    return folder / fmt, notes


def test_coco_has_one_rle_per_object_overlaps_and_negatives(client, tmp_path):
    from pycocotools import mask as coco_mask
    from pycocotools.coco import COCO

    annotate(client)
    path, notes = download(client, "coco", tmp_path)
    assert notes == []
    coco = COCO(str(path))
    images = {i["file_name"]: i["id"] for i in coco.loadImgs(coco.getImgIds())}
    assert set(images) == {"a/x.png", "b/x.png", "neg.png"}  # todo.png: neither Done nor annotated
    assert coco.getAnnIds(imgIds=[images["neg.png"]]) == []
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert sorted(names.values()) == ["background", "horse", "object"]
    found = {names[a["category_id"]]: a for a in coco.loadAnns(coco.getAnnIds(imgIds=[images["a/x.png"]]))}
    assert np.array_equal(coco_mask.decode(found["background"]["segmentation"]).astype(bool), BIG)  # covered, kept
    assert np.array_equal(coco_mask.decode(found["horse"]["segmentation"]).astype(bool), SMALL)
    assert found["background"]["area"] == BIG.sum() and found["horse"]["bbox"] == [10, 10, 10, 10]
    assert found["horse"]["score"] == 0.5
    (other,) = coco.loadAnns(coco.getAnnIds(imgIds=[images["b/x.png"]]))
    assert names[other["category_id"]] == "object" and np.array_equal(coco.annToMask(other).astype(bool), OTHER)


def test_labelme_keeps_folders_overlaps_and_points_at_the_images(client, project, tmp_path):
    from PIL import Image

    from seglab.formats.geometry import fill_polygons

    annotate(client)
    folder, notes = download(client, "labelme", tmp_path)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.json")) == [
        "a/x.json", "b/x.json", "neg.json"]
    for name in ("a/x", "b/x", "neg"):
        document = json.loads((folder / f"{name}.json").read_text())
        image = (folder / name).parent / document["imagePath"]
        assert document["imagePath"] == Path(name).name + ".png"  # beside the JSON, relative
        assert np.array_equal(np.asarray(Image.open(image)), np.asarray(Image.open(project / f"{name}.png")))
    shapes = json.loads((folder / "a/x.json").read_text())["shapes"]
    assert [s["label"] for s in shapes] == ["background", "horse"] and [s["group_id"] for s in shapes] == [1, 2]
    masks = [fill_polygons([np.asarray(s["points"])], (H, W)) for s in shapes]
    assert np.array_equal(masks[0], BIG) and np.array_equal(masks[1], SMALL)
    assert json.loads((folder / "neg.json").read_text())["shapes"] == []
    assert notes == []


def test_yolo_nested_layout_reads_back_with_every_object(client, tmp_path):
    from seglab import formats

    annotate(client)
    folder, notes = download(client, "yolo", tmp_path)
    assert (folder / "labels/a/x.txt").is_file() and (folder / "images/b/x.png").is_file()
    assert (folder / "labels/neg.txt").read_text() == ""  # a negative
    items = {p.relative_to(folder / "images").as_posix(): seg for p, seg in formats.read(folder, "yolo")}
    assert sorted(items) == ["a/x.png", "b/x.png", "neg.png"]
    assert len(items["a/x.png"]) == 2 and len(items["neg.png"]) == 0
    names = items["a/x.png"].class_names
    assert [names[c] for c in items["a/x.png"].class_ids] == ["background", "horse"]
    assert np.array_equal(items["a/x.png"].labels == 2, SMALL)  # the later line wins on reading


@pytest.mark.parametrize("fmt", ["voc", "png"])
def test_flat_formats_say_what_they_flattened(client, tmp_path, fmt):
    from seglab import formats
    from seglab.core.segmentation import Segmentation

    annotate(client)
    folder, notes = download(client, fmt, tmp_path)
    assert any("a/x.png: object 1 (background) loses 100 of 875 px under later objects" in n for n in notes), notes
    assert any("class 'background' is written as 'background (class)'" in n for n in notes), notes
    read = {}
    for sub in ("a", "b", "."):
        if fmt == "png":  # from_png would take a/ for one object's masks: read each label PNG
            pairs = [(p, Segmentation.load(p)) for p in (folder / sub).glob("*.png")]
        else:
            pairs = formats.read(folder / sub, fmt)
        for path, seg in pairs:
            read[f"{sub}/{Path(path).stem}"] = seg
    assert {"a/x", "b/x", "./neg"} <= set(read)
    big, small = read["a/x"].labels == 1, read["a/x"].labels == 2
    assert np.array_equal(small, SMALL) and np.array_equal(big, BIG & ~SMALL)
    assert np.array_equal(read["b/x"].labels > 0, OTHER) and not read["./neg"].labels.any()


def test_cli_export_labelme_image_path_points_at_the_project_image(client, project, tmp_path):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    annotate(client)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["export-project", str(project), "--to", "labelme", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "exported 3 objects in 3 images" in result.output
    document = json.loads((out / "a" / "x.json").read_text())
    assert (out / "a" / document["imagePath"]).resolve() == (project / "a" / "x.png").resolve()
    assert not (out / "a" / "x.png").exists()  # the CLI does not copy images for labelme
    flat = CliRunner().invoke(app, ["export-project", str(project), "--to", "voc", "-o", str(tmp_path / "voc")])
    assert flat.exit_code == 0 and "warning: a/x.png: object 1 (background) loses 100 of 875 px" in flat.output
