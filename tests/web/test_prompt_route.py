"""The annotator's click tool calls ``prompt`` through the segment route, the previous mask as nested lists."""

from __future__ import annotations

import numpy as np

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
