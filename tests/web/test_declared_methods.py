"""The annotator runs what methods declared at registration (``web``, ``prompts``), not a list of names."""

from __future__ import annotations

from pathlib import Path


def _first_image(client) -> int:
    return client.get("/api/images").json()[0]["id"]


def test_methods_route_lists_only_methods_declared_for_the_web_with_their_prompts(client):
    listed = {m["name"]: m for m in client.get("/api/methods").json()}
    assert "model" not in listed and "model_instances" not in listed
    assert listed["grabcut"]["prompts"] == {"box": "box", "scribbles": ["foreground", "background"]}
    assert listed["region_growing"]["prompts"] == {"seeds": "seeds"}
    assert client.get("/api/info").json()["formats"] == ["coco", "labelme", "png", "voc", "yolo"]


def test_a_method_not_declared_for_the_web_is_refused_and_models_are_project_names(client, tmp_path):
    image = _first_image(client)
    response = client.post(f"/api/images/{image}/segment", json={"method": "model_instances", "params": {}})
    assert response.status_code == 400
    assert response.json()["detail"] == ("InputError: method must be one the annotator may run, got "
                                         "'model_instances' (registered with web=False)")
    secret = tmp_path / "secret.pt"
    secret.write_bytes(b"not a model")
    for given in (str(secret), str(tmp_path / "missing.pt")):  # one answer: no existence oracle
        response = client.post(f"/api/images/{image}/segment", json={"method": "model", "params": {"model": given}})
        assert response.status_code == 400
        assert response.json()["detail"] == (f"InputError: model must be the name of one of this project's models "
                                             f"(none yet (train one with Learn)), got {Path(given).name!r}")


def test_sam_is_offered_only_when_the_server_configures_it(client, tmp_path, monkeypatch):
    image = _first_image(client)
    monkeypatch.delenv("SEGLAB_SAM", raising=False)
    assert "sam" not in {m["name"] for m in client.get("/api/methods").json()}
    body = {"method": "sam", "params": {"points": [[5, 5, 1]]}}
    assert client.post(f"/api/images/{image}/segment", json=body).json()["detail"].endswith("(registered with web=False)")

    monkeypatch.setenv("SEGLAB_SAM", str(tmp_path / "sam.yaml"))
    assert "sam" in {m["name"] for m in client.get("/api/methods").json()}
    chosen = {"method": "sam", "params": {"points": [[5, 5, 1]], "config": str(tmp_path / "other.yaml")}}
    refused = client.post(f"/api/images/{image}/segment", json=chosen).json()["detail"]
    assert refused.endswith("(registered with web=False)")  # the page never names the model file
