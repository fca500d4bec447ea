"""The annotator's click tool calls ``prompt`` through the segment route, the previous mask as crop runs or nested lists."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.web.project import mask_from_runs

RECT = np.zeros((60, 80), bool)
RECT[15:45, 20:60] = True


def _rect_id(client) -> int:
    return next(i["id"] for i in client.get("/api/images").json() if i["path"] == "rect.png")


def test_prompt_clicks_and_previous_through_the_segment_route(client):
    url = f"/api/images/{_rect_id(client)}/segment"
    body = {"method": "prompt", "params": {"points": [[40, 30, 1]], "box": None, "previous": None}}
    response = client.post(url, json=body)
    assert response.status_code == 200, response.text
    first = mask_from_runs(response.json()["regions"][0]["mask"], 60, 80)
    assert (first & RECT).sum() / (first | RECT).sum() > 0.95
    body["params"] = {"points": [[40, 30, 1], [5, 5, 0]], "previous": first.astype(int).tolist()}
    response = client.post(url, json=body)
    assert response.status_code == 200, response.text
    second = mask_from_runs(response.json()["regions"][0]["mask"], 60, 80)
    assert (second & RECT).sum() / (second | RECT).sum() > 0.95


def test_prompt_bad_previous_is_a_400(client):
    url = f"/api/images/{_rect_id(client)}/segment"
    body = {"method": "prompt", "params": {"points": [[40, 30, 1]], "previous": [[0, 1], [1, 0]]}}
    response = client.post(url, json=body)
    assert response.status_code == 400
    assert "previous must have shape (60, 80) like the image, got (2, 2)" in response.text


def _two_tone_client(tmp_path):
    """A project of one image: a red and a green half of one object on dark grey."""
    from fastapi.testclient import TestClient
    from PIL import Image

    from seglab.web.app import create_app

    rng = np.random.default_rng(0)
    image = np.full((60, 80, 3), 40, np.uint8)
    image[15:45, 10:40] = (200, 60, 60)
    image[15:45, 40:70] = (60, 200, 60)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    (tmp_path / "two").mkdir()
    Image.fromarray(image).save(tmp_path / "two" / "tone.png")
    return TestClient(create_app(tmp_path / "two"), base_url="http://127.0.0.1")


def test_previous_as_crop_runs_refines_the_object_instead_of_restarting(tmp_path):
    """A negative click in the background with the whole object as ``previous`` keeps it whole;
    the same clicks without it restart from the click's colour (the red half only)."""
    from seglab.web.project import crop_runs

    whole = np.zeros((60, 80), bool)
    whole[15:45, 10:70] = True
    clicks = [[25, 30, 1], [5, 5, 0]]
    with _two_tone_client(tmp_path) as client:
        url = f"/api/images/{client.get('/api/images').json()[0]['id']}/segment"

        def answer(previous):
            params = {"points": clicks} if previous is None else {"points": clicks, "previous": previous}
            response = client.post(url, json={"method": "prompt", "params": params})
            assert response.status_code == 200, response.text
            return mask_from_runs(response.json()["regions"][0]["mask"], 60, 80)

        restarted = answer(None)
        runs = answer(crop_runs(whole))
        nested = answer(whole.astype(int).tolist())
    iou = lambda a, b: (a & b).sum() / (a | b).sum()  # noqa: E731
    assert iou(restarted, whole) < 0.6  # the red half
    assert iou(runs, whole) > 0.95
    assert np.array_equal(runs, nested)  # both encodings are the same mask


@pytest.mark.parametrize(("previous", "message"), [
    ({"x": 0, "y": 0, "w": 5}, "parameter 'previous' of method 'prompt' must be a mask as crop runs {x, y, w, h, counts} "
                               "or nested 0/1 lists, got an object with keys ['w', 'x', 'y']"),
    ({"x": 70, "y": 0, "w": 20, "h": 1, "counts": [0, 20]}, "mask box must lie inside the image (80x60), got x=70 y=0 w=20 h=1"),
    ({"x": 0, "y": 0, "w": 2, "h": 2, "counts": [1, 1]}, "mask counts must be non-negative and sum to w*h = 4, got sum 2"),
])
def test_bad_previous_runs_are_a_400(client, previous, message):
    url = f"/api/images/{_rect_id(client)}/segment"
    response = client.post(url, json={"method": "prompt", "params": {"points": [[40, 30, 1]], "previous": previous}})
    assert response.status_code == 400
    assert message in response.json()["detail"]
