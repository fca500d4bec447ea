"""The annotator page, part 3 (Playwright + Debian chromium): refining a selected object with a new box
(GrabCut) or with clicks that carry the mask as ``previous``, the image list's thumbnails and counts, and
recolouring a class.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from test_browser import make_scene, to_screen, wait_until
from test_browser_edit import (
    FRUIT,
    box_grabcut,
    drag,
    hex_rgb,
    iou,
    object_mask,
    open_page,
    pixel,
    screen_pixels,
)

sync_api = pytest.importorskip("playwright.sync_api")
ROWS, COLS = np.mgrid[:240, :320]
#: The two-tone object: a red part (wider) and a green part, on dark grey.
WHOLE = (ROWS >= 60) & (ROWS < 180) & (COLS >= 40) & (COLS < 280)
RED = WHOLE & (COLS < 200)


def make_two_tone(folder: Path) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    image = np.full((240, 320, 3), 40.0)
    image[RED] = (200, 60, 60)
    image[WHOLE & ~RED] = (60, 200, 60)
    image += np.random.default_rng(5).normal(0, 4, image.shape)
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(folder / "tone.png")
    return folder


def segment_requests(page) -> list[dict]:
    """The bodies of the page's segment requests, as they are sent."""
    bodies: list[dict] = []
    page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/segment") else None)
    return bodies


def runs_mask(runs: dict, shape=(240, 320)) -> np.ndarray:
    from seglab.web.project import mask_from_runs

    return mask_from_runs(runs, *shape)


def test_a_new_box_refines_the_selected_object(tmp_path, server_factory, browser):
    from PIL import Image

    scene = make_scene(tmp_path / "scene")
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    box_grabcut(page, (55, 40, 165, 200))  # the left half of the fruit; accepted and selected
    first, uid = object_mask(page, 0), page.evaluate("window.seglab.state.selected")
    assert iou(first, FRUIT) < 0.75
    # a box around the whole fruit holds the selected object's centre: GrabCut replaces its mask
    drag(page, [(55, 40), (150, 120), (246, 200)])
    wait_until(page, "window.seglab.state.undo.length === 2")
    assert page.evaluate("[window.seglab.state.pending.length, window.seglab.state.objects.length]") == [0, 1]
    assert page.evaluate("window.seglab.state.objects[0].uid") == uid
    refined = object_mask(page, 0)
    assert iou(refined, FRUIT) > 0.9
    assert "refined object #1" in page.text_content("#message")
    # the canvas shows the new mask, not the old one's painting: the right half is overlaid now
    page.mouse.move(5, 5)
    page.wait_for_timeout(150)
    raw = np.asarray(Image.open(scene / "fruit.png").convert("RGB")).astype(int)
    assert not first[120, 200] and refined[120, 200]
    assert np.abs(pixel(page, screen_pixels(page), 200.5, 120.5) - raw[120, 200]).sum() > 60
    # the opacity slider: full, the fill is the object's colour; none, the image shows through
    color = hex_rgb(page.evaluate("window.seglab.state.objects[0].color"))
    for value, expected in (("100", color), ("0", raw[120, 200])):
        page.fill("#opacity", value)
        page.wait_for_timeout(100)
        assert np.abs(pixel(page, screen_pixels(page), 200.5, 120.5) - expected).max() <= 12, value
    page.fill("#opacity", "45")
    page.focus("#canvas")  # keys go to the page again, not the slider
    page.wait_for_selector("#save-state[data-state='saved']")
    page.keyboard.press("Control+z")
    assert np.array_equal(object_mask(page, 0), first)
    # a triangle on the table, selected: a box around the fruit does not hold its centre, so it is a
    # new proposal and the triangle stays as it was
    page.keyboard.press("o")
    for x, y in [(5, 5), (45, 5), (25, 35)]:
        page.mouse.click(*to_screen(page, x, y))
    page.keyboard.press("Enter")
    wait_until(page, "window.seglab.state.objects.length === 2")
    triangle, steps = object_mask(page, 1), page.evaluate("window.seglab.state.undo.length")
    page.keyboard.press("b")
    drag(page, [(55, 40), (150, 120), (246, 200)])
    wait_until(page, "window.seglab.state.pending.length === 1")
    assert np.array_equal(object_mask(page, 1), triangle) and page.evaluate("window.seglab.state.objects.length") == 2
    page.keyboard.press("Escape")  # rejects the proposal; the triangle stays selected
    assert page.evaluate("window.seglab.state.selected") == page.evaluate("window.seglab.state.objects[1].uid")
    # the same box with Shift refines the selected object anyway
    page.keyboard.down("Shift")
    drag(page, [(55, 40), (150, 120), (246, 200)])
    page.keyboard.up("Shift")
    wait_until(page, f"window.seglab.state.undo.length === {steps + 1}")
    assert iou(object_mask(page, 1), FRUIT) > 0.9 and page.evaluate("window.seglab.state.pending.length") == 0
    page.keyboard.press("Control+z")
    assert np.array_equal(object_mask(page, 1), triangle) and np.array_equal(object_mask(page, 0), first)
    page.wait_for_selector("#save-state[data-state='saved']")
    assert errors == []
    page.close()


def test_clicks_refine_the_proposal_and_the_selected_object_with_previous(tmp_path, server_factory, browser):
    import httpx

    from seglab.web.project import crop_runs

    server = server_factory(make_two_tone(tmp_path / "tone"))
    errors: list[str] = []
    page = open_page(browser, server, errors)
    sent = segment_requests(page)
    page.keyboard.press("c")
    page.select_option("#click-method", "prompt")
    # a click on the red part proposes it; Shift+click on the green part adds to that proposal
    page.mouse.click(*to_screen(page, 100, 120))
    wait_until(page, "window.seglab.state.pending.length === 1 && document.body.dataset.busy === undefined")
    red = page.evaluate("(() => { const m = window.seglab.state.pending[0].mask; "
                        "return {x: m.x, y: m.y, w: m.w, h: m.h, data: Array.from(m.data)}; })()")
    red_mask = np.zeros((240, 320), bool)
    red_mask[red["y"]:red["y"] + red["h"], red["x"]:red["x"] + red["w"]] = np.reshape(red["data"], (red["h"], red["w"])) > 0
    assert iou(red_mask, RED) > 0.9
    page.keyboard.down("Shift")
    page.mouse.click(*to_screen(page, 240, 120))
    page.keyboard.up("Shift")
    wait_until(page, "document.body.dataset.busy === undefined && window.seglab.state.pending[0].clicks.length === 2")
    body = sent[-1]
    assert body["method"] == "prompt" and "pick" not in body
    assert body["params"]["points"] == [[100, 120, 1], [240, 120, 1]]
    assert np.array_equal(runs_mask(body["params"]["previous"]), red_mask)  # the proposal, as crop runs
    page.keyboard.press("Enter")
    wait_until(page, "window.seglab.state.objects.length === 1")
    assert iou(object_mask(page, 0), WHOLE) > 0.9
    page.keyboard.press("Delete")
    wait_until(page, "window.seglab.state.objects.length === 0")
    page.wait_for_selector("#save-state[data-state='saved']")

    # an object that no click made (saved through the API): select it, Alt+click on the background
    saved = httpx.post(server.url + "/api/images/1/save", json={"upserts": [{"uid": "made", "mask": crop_runs(WHOLE)}]})
    assert saved.status_code == 200, saved.text
    page.reload()
    page.wait_for_selector("body[data-ready='1'][data-loaded]")
    sent = segment_requests(page)
    page.keyboard.press("v")
    page.mouse.click(*to_screen(page, 150, 120))
    wait_until(page, "window.seglab.state.selected === 'made'")
    page.keyboard.press("c")
    page.select_option("#click-method", "prompt")
    page.keyboard.down("Alt")
    page.mouse.click(*to_screen(page, 20, 20))
    page.keyboard.up("Alt")
    wait_until(page, "window.seglab.state.undo.length === 1 && document.body.dataset.busy === undefined")
    params = sent[-1]["params"]
    anchor = params["points"][0]
    assert anchor[2] == 1 and WHOLE[anchor[1], anchor[0]]  # a positive click deep inside stands for the object
    assert params["points"][1:] == [[20, 20, 0]]
    assert np.array_equal(runs_mask(params["previous"]), WHOLE)
    refined = object_mask(page, 0)
    assert iou(refined, WHOLE) > 0.9 and page.evaluate("window.seglab.state.objects[0].uid") == "made"
    # the very same clicks without `previous` restart from the clicked colour: previous made the difference
    restart = httpx.post(server.url + "/api/images/1/segment",
                         json={"method": "prompt", "params": {"points": params["points"]}}).json()
    assert iou(runs_mask(restart["regions"][0]["mask"]), WHOLE) < iou(refined, WHOLE) - 0.2
    page.keyboard.press("Control+z")
    assert np.array_equal(object_mask(page, 0), WHOLE) and page.evaluate("window.seglab.state.undo.length") == 0
    page.wait_for_selector("#save-state[data-state='saved']")
    assert errors == []
    page.close()


def test_image_list_has_thumbnails_counts_and_filter_counts(tmp_path, server_factory, browser):
    from PIL import Image

    scene = make_scene(tmp_path / "scene")
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    wait_until(page, "[...document.querySelectorAll('#images li img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    sizes = page.evaluate("[...document.querySelectorAll('#images li img.thumb')].map(i => [i.naturalWidth, i.naturalHeight])")
    assert sizes == [[64, 48], [64, 48]]  # fruit.png 320x240 and small.jpg 160x120, both at 64 px
    # the thumbnail shows the picture: on screen it is the image shrunk, far nearer it than its mean colour
    shot = page.locator("#images li img.thumb").first.screenshot()
    thumb = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(float)
    small = Image.open(scene / "fruit.png").convert("RGB").resize(thumb.shape[1::-1], Image.Resampling.BOX)
    error = np.abs(thumb - np.asarray(small)).mean()
    assert error < 10 and error < 0.5 * np.abs(thumb - thumb.mean((0, 1))).mean()
    # counts: objects per image, and how many images each filter shows
    assert page.locator("#images li .count").all_inner_texts() == ["0", "0"]
    assert page.locator("#image-filter option").all_inner_texts() == ["all (2)", "to do (2)", "done (0)"]
    box_grabcut(page, (55, 40, 246, 200))
    page.wait_for_selector("#save-state[data-state='saved']")
    wait_until(page, "document.querySelector('#images li.current .count').textContent === '1'")
    page.click("#done")
    page.wait_for_selector("#images li.current.done")
    assert page.locator("#image-filter option").all_inner_texts() == ["all (2)", "to do (1)", "done (1)"]
    page.select_option("#image-filter", "done")
    assert page.locator("#images li .name").all_inner_texts() == ["\u2713 fruit.png"]
    assert page.locator("#images li img.thumb").count() == 1
    assert errors == []
    page.close()


def test_recolouring_a_class_repaints_its_objects(tmp_path, server_factory, browser):
    import httpx

    server = server_factory(make_scene(tmp_path / "scene"))
    cls = httpx.post(server.url + "/api/classes", json={"name": "fruit", "color": "#ff0000"}).json()
    errors: list[str] = []
    page = open_page(browser, server, errors)
    box_grabcut(page, (55, 40, 246, 200))
    page.keyboard.press("Escape")  # deselect: the object is drawn plainly
    page.mouse.move(5, 5)
    page.fill("#opacity", "100")
    page.wait_for_timeout(100)
    assert np.abs(pixel(page, screen_pixels(page), 150.5, 120.5) - hex_rgb("#ff0000")).max() <= 12
    page.locator("#classes li input[type=color]").fill("#0000ff")
    wait_until(page, "window.seglab.state.classes[0].color === '#0000ff'")
    page.wait_for_timeout(100)
    assert np.abs(pixel(page, screen_pixels(page), 150.5, 120.5) - hex_rgb("#0000ff")).max() <= 12
    page.wait_for_selector("#save-state[data-state='saved']")
    assert httpx.get(server.url + "/api/classes").json()[0] == {**cls, "color": "#0000ff", "objects": 1}
    assert errors == []
    page.close()
