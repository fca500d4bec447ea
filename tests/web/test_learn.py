"""Settings, outlines, class deletion counts and the learning loop through the JSON API."""

from __future__ import annotations

import time

import numpy as np
import pytest

from seglab.web.project import crop_runs, mask_from_runs
from seglab.web.routes import mask_outline

RECT = np.zeros((60, 80), bool)
RECT[15:45, 20:60] = True


def ids(client) -> dict[str, int]:
    return {i["path"]: i["id"] for i in client.get("/api/images").json()}


def test_active_class_is_remembered_and_checked(client):
    cat = client.post("/api/classes", json={"name": "cat"}).json()
    assert client.get("/api/settings").json() == {}
    assert client.put("/api/settings", json={"active_class": cat["id"]}).json() == {"active_class": cat["id"]}
    assert client.get("/api/settings").json()["active_class"] == cat["id"]
    bad = client.put("/api/settings", json={"active_class": 999})
    assert bad.status_code == 400 and "active_class must be an existing class id, got 999" in bad.json()["detail"]
    assert client.put("/api/settings", json={"evil": 1}).status_code == 422
    assert client.put("/api/settings", json={"active_class": None}).json() == {}


def test_deleting_a_class_says_how_many_objects_lose_it(client):
    cat = client.post("/api/classes", json={"name": "cat"}).json()
    image = ids(client)["rect.png"]
    client.post(f"/api/images/{image}/save", json={"upserts": [
        {"uid": "a", "mask": crop_runs(RECT), "class_id": cat["id"]},
        {"uid": "b", "mask": crop_runs(RECT), "class_id": cat["id"]}]})
    assert client.get("/api/classes").json()[0]["objects"] == 2
    assert client.delete(f"/api/classes/{cat['id']}").json() == {"deleted": cat["id"], "unclassed": 2}
    assert [o["class_id"] for o in client.get(f"/api/images/{image}/objects").json()] == [None, None]


def test_outline_rings_fill_back_to_the_mask_holes_kept():
    from PIL import Image, ImageDraw

    mask = np.zeros((50, 60), bool)
    mask[5:45, 5:55] = True
    mask[15:30, 20:40] = False  # a hole
    mask[40:48, 56:59] = True   # a second part
    rings = mask_outline(mask, 0.0)
    assert len(rings) == 3
    canvas = Image.new("L", (60 * 4, 50 * 4))  # even-odd fill at 4x, sampled at pixel centres
    draw = ImageDraw.Draw(canvas)
    for ring in rings:  # XOR each ring in: even-odd over every ring
        layer = Image.new("L", canvas.size)
        ImageDraw.Draw(layer).polygon([(x * 4, y * 4) for x, y in ring], fill=255)
        canvas = Image.fromarray(np.asarray(canvas) ^ np.asarray(layer))
    del draw
    filled = np.asarray(canvas)[2::4, 2::4] > 0
    assert np.array_equal(filled, mask)
    simple = mask_outline(mask, 2.0)
    assert sum(map(len, simple)) <= sum(map(len, rings))


def test_outline_route_simplifies_a_blob(client):
    rows, cols = np.mgrid[:60, :80]
    blob = (rows - 30) ** 2 + (cols - 40) ** 2 <= 20**2
    image = ids(client)["rect.png"]
    exact = client.post(f"/api/images/{image}/outline", json={"mask": crop_runs(blob), "tolerance": 0}).json()
    simple = client.post(f"/api/images/{image}/outline", json={"mask": crop_runs(blob), "tolerance": 1.5}).json()
    assert len(exact["rings"]) == len(simple["rings"]) == 1
    assert simple["vertices"] < exact["vertices"] / 2 and simple["vertices"] >= 8
    assert client.post(f"/api/images/{image}/outline", json={"mask": crop_runs(blob), "tolerance": -1}).status_code == 422


def test_training_needs_done_images(client):
    response = client.post("/api/train", json={"max_minutes": 0.1})
    assert response.status_code == 400 and "at least 2 images marked Done, got 0" in response.json()["detail"]


def test_model_names_only_never_paths(client, project_dir):
    image = ids(client)["rect.png"]
    for given in [str(project_dir / "x.pt"), "../../etc/passwd", "best.pt"]:  # paths: one answer, no oracle
        response = client.post(f"/api/images/{image}/segment", json={"method": "model", "params": {"model": given}})
        assert response.status_code == 400
        assert "model must be the name of one of this project's models (none yet" in response.json()["detail"]
    response = client.post(f"/api/images/{image}/segment", json={"method": "model", "params": {"model": "nope"}})
    assert response.status_code == 400
    assert "model must be the name of one of this project's models (none yet" in response.json()["detail"]


@pytest.mark.slow
def test_learn_then_propose_with_the_model(client):
    pytest.importorskip("torch")
    paths = ids(client)
    fg = client.post("/api/classes", json={"name": "thing"}).json()["id"]
    rows, cols = np.mgrid[:64, :64]
    disk = (rows - 32) ** 2 + (cols - 30) ** 2 <= 15**2
    for path, mask in (("rect.png", RECT), ("sub/disk.jpg", disk)):
        client.post(f"/api/images/{paths[path]}/save", json={"upserts": [{"uid": path.replace('/', '_').replace('.', '_'),
                                                                         "mask": crop_runs(mask), "class_id": fg}]})
        client.post(f"/api/images/{paths[path]}/done", json={"done": True})
    job = client.post("/api/train", json={"max_minutes": 0.05, "arch": "unet"}).json()
    assert job["state"] == "running" and job["images"] == 2
    assert client.post("/api/train", json={"max_minutes": 0.05}).status_code == 400  # one job at a time
    deadline = time.monotonic() + 600  # a bound against hanging, not a speed requirement
    while (status := client.get(f"/api/train/{job['id']}").json())["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert status["state"] == "done", status
    assert "miou" in status["metrics"]
    (model,) = client.get("/api/models").json()
    assert model["name"] == job["model"] and model["classes"] == ["background", "thing"] and model["images"] == 2
    result = client.post(f"/api/images/{paths['rect.png']}/segment",
                         json={"method": "model", "params": {"model": model["name"]}}).json()
    assert result["method"] == "model"
    for region in result["regions"]:
        assert region["class_name"] in ("background", "thing")
        assert mask_from_runs(region["mask"], 60, 80).sum() == region["area"]
    assert client.get("/api/train/99").status_code == 404


@pytest.mark.slow
def test_cli_train_reads_the_project_store(project_dir, tmp_path):
    pytest.importorskip("torch")
    from typer.testing import CliRunner

    from seglab.cli.main import app
    from seglab.deep.models import read_checkpoint
    from seglab.web.project import Project

    project = Project(project_dir)
    cls = project.store.add_class("thing", "#00ff00")
    for info in project.images():
        mask = RECT if info["path"] == "rect.png" else np.zeros((64, 64), bool)
        if info["path"] != "rect.png":
            mask[17:47, 15:45] = True
        project.store.save(info["id"], [{"uid": f"o{info['id']}", "mask": mask, "class_id": cls["id"]}], [])
    few = CliRunner().invoke(app, ["train", str(project_dir), "--format", "project", "-o", str(tmp_path / "x")])
    assert few.exit_code != 0 and "at least 2 images marked Done" in few.output
    for info in project.images():
        project.store.set_done(info["id"], True)
    project.store.close()
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(project_dir), "--format", "project", "-o", str(out), "--epochs", "1",
                                      "--img-size", "64", "--batch-size", "2", "-q"])
    assert result.exit_code == 0, result.output
    assert read_checkpoint(out / "best.pt")["class_names"] == ["background", "thing"]


def test_few_done_images_train_the_pixel_forest_by_default():
    from seglab.web.learn import FOREST_BELOW, default_arch

    assert default_arch(FOREST_BELOW - 1) == "forest" and default_arch(FOREST_BELOW) == "auto"
