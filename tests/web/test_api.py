"""The annotator's JSON API through FastAPI's TestClient."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from seglab.web.project import crop_runs, mask_from_runs

RECT = np.zeros((60, 80), bool)
RECT[15:45, 20:60] = True


def rect_id(client) -> int:
    return next(i["id"] for i in client.get("/api/images").json() if i["path"] == "rect.png")


def test_images_listed_recursively_with_sizes(client):
    images = client.get("/api/images").json()
    assert [(i["path"], i["width"], i["height"], i["objects"]) for i in images] == [
        ("rect.png", 80, 60, 0), ("sub/disk.jpg", 64, 64, 0)]


@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (28, 40)])
def test_crop_runs_round_trip(shape, rng):
    mask = np.zeros((32, 48), bool)
    mask[3:3 + shape[0], 4:4 + shape[1]] = rng.random(shape) > 0.4
    mask[3, 4] = True
    runs = crop_runs(mask)
    assert sum(runs["counts"]) == runs["w"] * runs["h"]
    assert np.array_equal(mask_from_runs(runs, 32, 48), mask)


def test_crop_runs_of_empty_mask():
    runs = crop_runs(np.zeros((4, 4), bool))
    assert runs == {"x": 0, "y": 0, "w": 0, "h": 0, "counts": []}
    assert not mask_from_runs(runs, 4, 4).any()


def test_grabcut_box_finds_rectangle(client):
    body = {"method": "grabcut", "params": {"box": [12, 8, 68, 52]}}
    result = client.post(f"/api/images/{rect_id(client)}/segment", json=body).json()
    mask = mask_from_runs(result["regions"][0]["mask"], 60, 80)
    assert (mask & RECT).sum() / (mask | RECT).sum() > 0.95


@pytest.mark.parametrize("method, params", [
    ("region_growing", {"seeds": [[30, 30]]}),
    ("slic", {"n_segments": "12"}),
    ("grabcut", {"foreground": [[40, 30]], "background": [[3, 3], [76, 56]]}),
])
def test_click_methods_with_pick(client, method, params):
    body = {"method": method, "params": params, "pick": [40, 30]}
    result = client.post(f"/api/images/{rect_id(client)}/segment", json=body).json()
    assert len(result["regions"]) == 1
    mask = mask_from_runs(result["regions"][0]["mask"], 60, 80)
    assert mask[30, 40] and not (mask & ~RECT).any()


def test_propose_returns_many_regions(client):
    body = {"method": "felzenszwalb", "params": {"scale": 50}, "max_regions": 3}
    result = client.post(f"/api/images/{rect_id(client)}/segment", json=body).json()
    assert 1 <= len(result["regions"]) <= 3 and result["total"] >= len(result["regions"])


@pytest.mark.parametrize("body, message", [
    ({"method": "nope", "params": {}}, "method must be one of"),
    ({"method": "slic", "params": {"n_segmentz": 3}}, "did you mean 'n_segments'"),
    ({"method": "slic", "params": {"n_segments": "many"}}, "must be an integer"),
    ({"method": "grabcut", "params": {"foreground": "/etc/passwd"}}, "list of"),
    ({"method": "grabcut", "params": {"box": [0, 0, 10, 10]}, "pick": [500, 5]}, "pick must be a point inside"),
])
def test_segment_errors_are_400(client, body, message):
    response = client.post(f"/api/images/{rect_id(client)}/segment", json=body)
    assert response.status_code == 400 and message in response.json()["detail"]


def test_array_parameter_cannot_name_a_server_file(client, project_dir):
    body = {"method": "watershed", "params": {"markers": str(project_dir / "rect.png")}}
    response = client.post(f"/api/images/{rect_id(client)}/segment", json=body)
    assert response.status_code == 400


def test_save_and_reload_exact(client, rng):
    image = rect_id(client)
    noisy = rng.random((60, 80)) > 0.7
    cls = client.post("/api/classes", json={"name": "box", "color": "#ff8800"}).json()
    body = {"upserts": [{"uid": "a", "mask": crop_runs(RECT), "class_id": cls["id"]},
                        {"uid": "b", "mask": crop_runs(noisy), "visible": False, "order": 1}]}
    assert client.post(f"/api/images/{image}/save", json=body).json() == {"saved": 2, "deleted": 0, "objects": 2}
    objects = {o["uid"]: o for o in client.get(f"/api/images/{image}/objects").json()}
    assert np.array_equal(mask_from_runs(objects["a"]["mask"], 60, 80), RECT)
    assert np.array_equal(mask_from_runs(objects["b"]["mask"], 60, 80), noisy)
    assert objects["a"]["class_id"] == cls["id"] and objects["a"]["bbox"] == [20, 15, 60, 45]
    assert objects["b"]["visible"] is False and objects["a"]["area"] == 1200
    client.post(f"/api/images/{image}/save", json={"deletes": ["b"]})
    assert [o["uid"] for o in client.get(f"/api/images/{image}/objects").json()] == ["a"]
    assert client.get("/api/images").json()[0]["objects"] == 1


@pytest.mark.parametrize("body, status", [
    ({"upserts": [{"uid": "../x", "mask": {"x": 0, "y": 0, "w": 1, "h": 1, "counts": [0, 1]}}]}, 422),
    ({"upserts": [{"uid": "a", "mask": {"x": 0, "y": 0, "w": 1, "h": 1, "counts": [0, 1]}, "evil": 1}]}, 422),
    ({"upserts": [{"uid": "a", "mask": {"x": 79, "y": 0, "w": 2, "h": 1, "counts": [0, 2]}}]}, 400),
    ({"upserts": [{"uid": "a", "mask": {"x": 0, "y": 0, "w": 2, "h": 2, "counts": [1, 1]}}]}, 400),
    ({"upserts": [{"uid": "a", "mask": {"x": 0, "y": 0, "w": 1, "h": 1, "counts": [0, 1]}, "class_id": 99}]}, 400),
    ({"upserts": "nope"}, 422),
])
def test_bad_saves_rejected_and_nothing_written(client, body, status):
    image = rect_id(client)
    ok = {"uid": "good", "mask": crop_runs(RECT)}
    body = {**body, "upserts": [ok, *body["upserts"]]} if isinstance(body["upserts"], list) else body
    assert client.post(f"/api/images/{image}/save", json=body).status_code == status
    assert client.get(f"/api/images/{image}/objects").json() == []  # one transaction: all or nothing


def test_unknown_image_is_404(client):
    assert client.get("/api/images/999/objects").status_code == 404
    assert client.post("/api/images/999/save", json={}).status_code == 404


def test_classes_create_rename_recolour_delete(client):
    cat = client.post("/api/classes", json={"name": "cat", "color": "#112233"}).json()
    dog = client.post("/api/classes", json={"name": "dog"}).json()
    assert client.post("/api/classes", json={"name": "cat"}).json()["id"] == cat["id"]
    assert client.patch(f"/api/classes/{cat['id']}", json={"color": "#abcdef"}).json()["color"] == "#abcdef"
    assert client.patch(f"/api/classes/{cat['id']}", json={"name": "dog"}).status_code == 400
    assert client.post("/api/classes", json={"name": "x", "color": "red"}).status_code == 422
    image = rect_id(client)
    client.post(f"/api/images/{image}/save", json={"upserts": [{"uid": "o", "mask": crop_runs(RECT), "class_id": dog["id"]}]})
    assert client.delete(f"/api/classes/{dog['id']}").status_code == 200
    assert client.get(f"/api/images/{image}/objects").json()[0]["class_id"] is None
    assert [c["name"] for c in client.get("/api/classes").json()] == ["cat"]


def test_methods_listing_has_typed_parameters(client):
    methods = {m["name"]: m for m in client.get("/api/methods").json()}
    assert {"grabcut", "region_growing", "slic", "felzenszwalb"} <= set(methods)
    slic = {p["name"]: p for p in methods["slic"]["parameters"]}
    assert slic["n_segments"]["type"] == "int" and slic["n_segments"]["default"] == 250


def _annotate(client) -> None:
    cat = client.post("/api/classes", json={"name": "cat"}).json()
    disk = next(i["id"] for i in client.get("/api/images").json() if i["path"] == "sub/disk.jpg")
    small = np.zeros((64, 64), bool)
    small[5:10, 5:12] = True
    client.post(f"/api/images/{rect_id(client)}/save", json={"upserts": [
        {"uid": "r", "mask": crop_runs(RECT), "class_id": cat["id"]}]})
    client.post(f"/api/images/{disk}/save", json={"upserts": [{"uid": "s", "mask": crop_runs(small)}]})


def test_export_coco_checked_with_pycocotools(client, tmp_path):
    from pycocotools import mask as coco_mask
    from pycocotools.coco import COCO

    _annotate(client)
    response = client.get("/api/export?format=coco")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    path = tmp_path / "coco.json"
    path.write_bytes(response.content)
    coco = COCO(str(path))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    by_file = {img["file_name"]: img["id"] for img in coco.loadImgs(coco.getImgIds())}
    assert set(by_file) == {"rect.png", "sub/disk.jpg"}
    (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[by_file["rect.png"]]))
    assert names[ann["category_id"]] == "cat" and ann["area"] == 1200
    assert np.array_equal(coco_mask.decode(ann["segmentation"]).astype(bool), RECT)
    (other,) = coco.loadAnns(coco.getAnnIds(imgIds=[by_file["sub/disk.jpg"]]))
    assert names[other["category_id"]] == "object" and other["area"] == 35


@pytest.mark.parametrize("fmt", ["voc", "yolo", "labelme", "png"])
def test_export_other_formats_read_back(client, tmp_path, fmt):
    from seglab import formats
    from seglab.core.segmentation import Segmentation

    _annotate(client)
    response = client.get(f"/api/export?format={fmt}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(tmp_path / fmt)
    # images in sub/ are exported under sub/ (YOLO: labels/sub/), so repeated stems never collide
    folders = [tmp_path / fmt] if fmt == "yolo" else [tmp_path / fmt, tmp_path / fmt / "sub"]
    if fmt == "png":  # from_png would take the folder sub/ for one object's masks: read each label PNG
        items = [(p, Segmentation.load(p)) for p in sorted((tmp_path / fmt).rglob("*.png"))]
    else:
        items = [item for folder in folders for item in formats.read(folder, fmt)]
    assert sorted(len(seg) for _, seg in items) == [1, 1]


def test_export_unknown_format(client):
    response = client.get("/api/export?format=xml")
    assert response.status_code == 400 and "format must be one of" in response.json()["detail"]


def test_preview_is_downscaled_jpeg(client):
    from PIL import Image

    response = client.get(f"/api/images/{rect_id(client)}/preview?max_side=64")
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)


def test_thumbnail_is_small_capped_and_cached(client, project_dir):
    from PIL import Image

    image = rect_id(client)
    response = client.get(f"/api/images/{image}/thumbnail?size=64")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    thumb = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert thumb.shape == (48, 64, 3)
    assert np.abs(thumb[24, 32] - (200, 60, 60)).max() < 25 and np.abs(thumb[2, 2] - 40).max() < 25  # the picture
    assert Image.open(io.BytesIO(client.get(f"/api/images/{image}/thumbnail").content)).size == (64, 48)  # default 64
    cached = sorted(p.name for p in (project_dir / ".seglab" / "previews").glob(f"{image}_*.jpg"))
    assert len(cached) == 1 and cached[0].startswith(f"{image}_64_")
    assert client.get(f"/api/images/{image}/thumbnail?size=64").content == response.content
    assert len(list((project_dir / ".seglab" / "previews").glob(f"{image}_*.jpg"))) == 1  # made once
    for size in (15, 257, 4096):
        assert client.get(f"/api/images/{image}/thumbnail?size={size}").status_code == 422, size
    assert client.get("/api/images/999/thumbnail").status_code == 404


def test_region_is_the_crop_at_full_resolution_or_shrunk(client, project_dir):
    from PIL import Image

    import seglab

    image = seglab.load_image(project_dir / "rect.png")
    response = client.get(f"/api/images/{rect_id(client)}/region?x0=10&y0=5&x1=50&y1=35")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    crop = np.asarray(Image.open(io.BytesIO(response.content)), dtype=float)
    assert crop.shape[:2] == (30, 40)
    expected = image[5:35, 10:50].astype(float)
    assert np.abs(crop.mean(axis=-1) - (expected.mean(axis=-1) if expected.ndim == 3 else expected)).mean() < 3
    shrunk = client.get(f"/api/images/{rect_id(client)}/region?x0=0&y0=0&x1=80&y1=60&max_side=20")
    assert Image.open(io.BytesIO(shrunk.content)).size == (20, 15)
    clipped = client.get(f"/api/images/{rect_id(client)}/region?x0=70&y0=50&x1=200&y1=200")
    assert Image.open(io.BytesIO(clipped.content)).size == (10, 10)
    outside = client.get(f"/api/images/{rect_id(client)}/region?x0=100&y0=0&x1=120&y1=10")
    assert outside.status_code == 400
    assert "box must overlap the image of width 80 and height 60, got (100, 0, 120, 10)" in outside.json()["detail"]


def test_page_and_static_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<script type=\"module\"" in page.text
    assert client.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert page.headers["x-content-type-options"] == "nosniff"


def test_export_project_cli(project_dir, tmp_path):
    from typer.testing import CliRunner

    from seglab.cli.main import app
    from seglab.web.project import Project

    project = Project(project_dir)
    image = next(i for i in project.images() if i["path"] == "rect.png")
    project.store.save(image["id"], [{"uid": "r", "mask": RECT}], [])
    project.store.close()
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["export-project", str(project_dir), "--to", "coco", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [a["area"] for a in data["annotations"]] == [1200]
    again = CliRunner().invoke(app, ["export-project", str(project_dir), "--to", "coco", "-o", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output
