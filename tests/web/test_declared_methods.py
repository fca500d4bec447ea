"""The annotator runs what methods declared at registration (``web``, ``prompts``), not a list of names."""

from __future__ import annotations


def _first_image(client) -> int:
    return client.get("/api/images").json()[0]["id"]


def test_methods_route_lists_only_methods_declared_for_the_web_with_their_prompts(client):
    listed = {m["name"]: m for m in client.get("/api/methods").json()}
    assert "model" not in listed and "model_instances" not in listed
    assert listed["grabcut"]["prompts"] == {"box": "box", "scribbles": ["foreground", "background"]}
    assert listed["region_growing"]["prompts"] == {"seeds": "seeds"}
    assert client.get("/api/info").json()["formats"] == ["coco", "labelme", "png", "voc", "yolo"]


def test_a_method_not_declared_for_the_web_is_refused_without_touching_the_path(client, tmp_path):
    response = client.post(f"/api/images/{_first_image(client)}/segment",
                           json={"method": "model", "params": {"model": str(tmp_path / "secret.pt")}})
    assert response.status_code == 400
    assert response.json()["detail"] == ("InputError: method must be one the annotator may run, got 'model' "
                                         "(registered with web=False)")
