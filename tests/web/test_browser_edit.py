"""The annotator page, part 2 (Playwright + Debian chromium): seeing and picking proposals, classes,
refining accepted objects, polygon editing, undo, help, export of every format and the Learn button.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_browser import make_scene, to_screen, wait_until

sync_api = pytest.importorskip("playwright.sync_api")
ROWS, COLS = np.mgrid[:240, :320]
FRUIT = ((ROWS - 120) / 70.0) ** 2 + ((COLS - 150) / 85.0) ** 2 <= 1


@pytest.fixture
def scene(tmp_path):
    return make_scene(tmp_path / "scene")


def open_page(browser, server, errors, **options):
    page = browser.new_page(viewport={"width": 1280, "height": 760}, **options)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1'][data-loaded]")
    return page


def screen_pixels(page) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)


def pixel(page, screen, x: float, y: float) -> np.ndarray:
    sx, sy = (round(v) for v in to_screen(page, x, y))
    return screen[sy, sx]


def hex_rgb(color: str) -> np.ndarray:
    return np.array([int(color[k:k + 2], 16) for k in (1, 3, 5)])


def mask_area(page, index: int) -> int:
    return page.evaluate(f"window.seglab.state.objects[{index}].mask.data.reduce((a, b) => a + b, 0)")


def object_mask(page, index: int) -> np.ndarray:
    m = page.evaluate(f"(() => {{ const m = window.seglab.state.objects[{index}].mask; "
                      "return {x: m.x, y: m.y, w: m.w, h: m.h, data: Array.from(m.data)}; })()")
    full = np.zeros((240, 320), bool)
    full[m["y"]:m["y"] + m["h"], m["x"]:m["x"] + m["w"]] = np.asarray(m["data"], bool).reshape(m["h"], m["w"])
    return full


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def drag(page, points, steps: int = 4) -> None:
    page.mouse.move(*to_screen(page, *points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*to_screen(page, *point), steps=steps)
    page.mouse.up()


def box_grabcut(page, box) -> None:
    page.keyboard.press("b")
    x0, y0, x1, y1 = box
    drag(page, [(x0, y0), ((x0 + x1) / 2, (y0 + y1) / 2), (x1, y1)])
    page.wait_for_selector("#accept:not([disabled])")
    page.keyboard.press("Enter")
    wait_until(page, "window.seglab.state.pending.length === 0 && window.seglab.state.objects.length > 0")


def test_proposals_have_own_colours_and_crisp_outlines_and_one_is_picked(scene, server_factory, browser):
    from PIL import Image

    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    page.keyboard.press("p")
    page.click("#propose-run")
    wait_until(page, "window.seglab.state.pending.length > 1")
    page.mouse.move(5, 5)  # no hover
    page.wait_for_timeout(200)
    proposals = page.evaluate("window.seglab.state.pending.map(p => ({color: p.color, x: p.mask.x, y: p.mask.y, "
                              "w: p.mask.w, h: p.mask.h, data: Array.from(p.mask.data)}))")
    assert len({p["color"] for p in proposals}) == len(proposals)  # each its own colour
    fruit = max(proposals, key=lambda p: iou(_full(p), FRUIT))
    mask = _full(fruit)
    assert iou(mask, FRUIT) > 0.8
    raw = np.asarray(Image.open(scene / "fruit.png").convert("RGB")).astype(int)
    color, opacity = hex_rgb(fruit["color"]), page.evaluate("window.seglab.state.opacity")
    row = 120
    left = int(np.flatnonzero(mask[row])[0])  # the fruit's left edge on the middle row
    screen = screen_pixels(page)
    edge = pixel(page, screen, left + 0.5, row + 0.5)
    inside = pixel(page, screen, 150.5, row + 0.5)
    assert np.abs(edge - color).max() <= 12  # the edge: opaque, its own colour
    blend = opacity * color + (1 - opacity) * raw[row, 150]
    assert np.abs(inside - blend).max() <= 20 and np.abs(inside - raw[row, 150]).sum() > 60  # inside: a wash
    # outline-only: the inside shows the raw image, the edge stays
    page.keyboard.press("l")
    page.wait_for_timeout(100)
    screen = screen_pixels(page)
    assert np.abs(pixel(page, screen, 150.5, row + 0.5) - raw[row, 150]).max() <= 20
    assert np.abs(pixel(page, screen, left + 0.5, row + 0.5) - color).max() <= 12
    page.keyboard.press("l")
    # hover highlights: the edge turns white
    page.mouse.move(*to_screen(page, 150, 120))
    page.wait_for_timeout(200)
    assert pixel(page, screen_pixels(page), left + 0.5, row + 0.5).min() >= 230
    # click picks just that one proposal
    count = len(proposals)
    page.mouse.click(*to_screen(page, 150, 120))
    wait_until(page, "window.seglab.state.objects.length === 1")
    assert page.evaluate("window.seglab.state.pending.length") == count - 1
    assert iou(object_mask(page, 0), mask) == 1.0
    assert errors == []
    page.close()


def _full(p) -> np.ndarray:
    full = np.zeros((240, 320), bool)
    full[p["y"]:p["y"] + p["h"], p["x"]:p["x"] + p["w"]] = np.asarray(p["data"], bool).reshape(p["h"], p["w"])
    return full


def test_class_defaults_memory_and_deletion(scene, server_factory, browser):
    import httpx

    server = server_factory(scene)
    httpx.post(server.url + "/api/classes", json={"name": "first", "color": "#ff0000"})
    errors: list[str] = []
    page = open_page(browser, server, errors)
    assert page.text_content("#classes li.active .name").endswith("first")  # the first class is active
    box_grabcut(page, (55, 40, 246, 200))
    assert page.evaluate("document.querySelector('#objects select').selectedOptions[0].text") == "first"
    # a new class becomes active and is remembered across a reload
    page.fill("#class-name", "second")
    page.click("#class-add")
    wait_until(page, "document.querySelector('#classes li.active .name').textContent.endsWith('second')")
    page.wait_for_selector("#save-state[data-state='saved']")
    page.reload()
    page.wait_for_selector("body[data-ready='1'][data-loaded]")
    assert page.text_content("#classes li.active .name").endswith("second")
    # deleting "first" says what happens to its object, which then has no class
    shown: list[str] = []
    page.once("dialog", lambda dialog: (shown.append(dialog.message), dialog.accept()))
    page.locator("#classes li", has_text="first").locator("button.delete").click()
    wait_until(page, "document.querySelectorAll('#classes li').length === 1")
    assert shown == ['Delete class "first"? Its 1 object(s) stay, without a class ("(none)").']
    assert page.evaluate("document.querySelector('#objects select').selectedOptions[0].text") == "(none)"
    objects = httpx.get(server.url + "/api/images/1/objects").json()
    assert [o["class_id"] for o in objects] == [None]
    # rename through the pencil button
    page.once("dialog", lambda dialog: dialog.accept("renamed"))
    page.locator("#classes li button.rename").click()
    wait_until(page, "document.querySelector('#classes li .name').textContent.endsWith('renamed')")
    assert [c["name"] for c in httpx.get(server.url + "/api/classes").json()] == ["renamed"]
    assert errors == []
    page.close()


def test_refine_an_accepted_object_with_scribbles_and_clicks(scene, server_factory, browser):
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    box_grabcut(page, (55, 40, 165, 200))  # about the left half of the fruit only
    first = object_mask(page, 0)
    assert iou(first, FRUIT) < 0.75
    # a foreground scribble across the right half refines the selected (accepted) object
    page.keyboard.press("f")
    drag(page, [(150, 120), (190, 110), (220, 125), (200, 150)])
    wait_until(page, f"window.seglab.state.objects[0].mask.data.reduce((a, b) => a + b, 0) !== {int(first.sum())}")
    refined = object_mask(page, 0)
    assert iou(refined, FRUIT) > iou(first, FRUIT) + 0.1
    assert page.evaluate("window.seglab.state.objects.length") == 1
    # Shift+click adds the region under the point, Alt+click cuts it out again
    page.keyboard.press("c")
    page.select_option("#click-method", "region_growing")
    before = mask_area(page, 0)
    page.keyboard.down("Shift")
    page.mouse.click(*to_screen(page, 20, 20))
    page.keyboard.up("Shift")
    wait_until(page, f"window.seglab.state.objects[0].mask.data.reduce((a, b) => a + b, 0) > {before}")
    grown = object_mask(page, 0)
    page.keyboard.down("Alt")
    page.mouse.click(*to_screen(page, 20, 20))
    page.keyboard.up("Alt")
    wait_until(page, f"window.seglab.state.objects[0].mask.data.reduce((a, b) => a + b, 0) < {int(grown.sum())}")
    assert not object_mask(page, 0)[20, 20] and object_mask(page, 0)[120, 150]
    # undo walks back: cut, add, scribble
    for expected in (grown, refined, first):
        page.keyboard.press("Control+z")
        assert np.array_equal(object_mask(page, 0), expected)
    assert errors == []
    page.close()


def test_polygon_editing_of_a_grabcut_mask_and_undo(scene, server_factory, browser):
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    box_grabcut(page, (55, 40, 246, 200))
    original = object_mask(page, 0)
    page.fill("#poly-tolerance", "1.5")
    page.click("[data-tool=polygon]")
    wait_until(page, "document.body.dataset.outline !== undefined")
    rings = page.evaluate("window.seglab.state.sketch.rings")
    vertices = sum(len(r) for r in rings)
    edge_pixels = int((original & ~np.pad(original, 1)[2:, 1:-1] | original & ~np.pad(original, 1)[:-2, 1:-1]).sum())
    assert 8 <= vertices < edge_pixels / 3  # simplified
    # drag the leftmost vertex 20 px further left: the object grows there
    ring = max(rings, key=len)
    k = int(np.argmin([x for x, _ in ring]))
    x, y = ring[k]
    page.mouse.move(*to_screen(page, x, y))
    page.mouse.down()
    page.mouse.move(*to_screen(page, x - 20, y), steps=5)
    page.mouse.up()
    wait_until(page, "window.seglab.state.undo.length === 2")
    edited = object_mask(page, 0)
    assert edited[round(y), round(x) - 10] and not original[round(y), round(x) - 10]
    assert iou(edited, original) > 0.9
    page.keyboard.press("Control+z")
    assert np.array_equal(object_mask(page, 0), original)
    page.keyboard.press("Control+Shift+z")
    assert np.array_equal(object_mask(page, 0), edited)
    page.wait_for_selector("#save-state[data-state='saved']")
    assert errors == []
    page.close()


def test_help_overlay_and_image_filter(scene, server_factory, browser):
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    assert page.is_hidden("#help")
    page.keyboard.press("?")
    assert page.is_visible("#help")
    text = page.text_content("#help")
    for key in ("Ctrl+Z", "J / K", "Shift+click", "outlines only", "Enter / Esc", "1-9"):
        assert key in text
    page.keyboard.press("Escape")
    assert page.is_hidden("#help")
    page.click("#help-button")
    assert page.is_visible("#help")
    page.click("#help-close")
    assert page.is_hidden("#help")
    # a status message does not move the toolbar
    before = page.locator("#done").bounding_box()
    page.evaluate("document.getElementById('message').textContent = 'a long status message ' + 'x'.repeat(300)")
    assert page.locator("#done").bounding_box() == before
    # filter: done / to do
    page.click("#done")
    page.wait_for_selector("#images li.current.done")
    page.select_option("#image-filter", "todo")
    assert [t.strip() for t in page.locator("#images li .name").all_inner_texts()] == ["small.jpg"]
    page.select_option("#image-filter", "done")
    assert page.locator("#images li").count() == 1 and "fruit.png" in page.text_content("#images li")
    # resizing the window refits the image
    page.set_viewport_size({"width": 900, "height": 600})
    wait_until(page, "Math.abs(window.seglab.view.canvas.width - "
                     "document.getElementById('stage').getBoundingClientRect().width) < 2")
    scale = page.evaluate("window.seglab.view.s")
    expected = page.evaluate("Math.min(window.seglab.view.canvas.width / 320, window.seglab.view.canvas.height / 240) * 0.95")
    assert abs(scale - expected) < 1e-6
    assert errors == []
    page.close()


@pytest.mark.parametrize("fmt", ["coco", "voc", "yolo", "labelme", "png"])
def test_every_format_downloads_and_reads_back(scene, server_factory, browser, tmp_path, fmt):
    from pycocotools.coco import COCO

    from seglab import formats

    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors, accept_downloads=True)
    page.fill("#class-name", "fruit")
    page.click("#class-add")
    box_grabcut(page, (55, 40, 246, 200))
    page.keyboard.press("Escape")  # nothing pending: deselects, so the brush makes a new object
    page.keyboard.press("r")
    drag(page, [(110, 110), (150, 120), (190, 130)])  # a second object on top of the first: an overlap
    wait_until(page, "window.seglab.state.objects.length === 2")
    page.click("#done")
    page.keyboard.press("j")
    wait_until(page, "window.seglab.state.current.path === 'small.jpg'")
    page.click("#done")  # a negative
    page.wait_for_selector("#images li.current.done")
    page.select_option("#export-format", fmt)
    with page.expect_download() as download:
        page.click("#export")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    wait_until(page, f"document.body.dataset.exported === '{fmt}'")
    if fmt == "coco":
        coco = COCO(str(path))
        assert sorted(i["file_name"] for i in coco.loadImgs(coco.getImgIds())) == ["fruit.png", "small.jpg"]
        masks = [coco.annToMask(a).astype(bool) for a in coco.loadAnns(coco.getAnnIds())]
        assert len(masks) == 2 and (masks[0] & masks[1]).sum() == masks[1].sum() > 500  # the overlap is kept
        assert iou(masks[0], FRUIT) > 0.9
        return
    zipfile.ZipFile(path).extractall(tmp_path / fmt)
    if fmt == "png":
        from seglab.core.segmentation import Segmentation

        items = [(p, Segmentation.load(p)) for p in sorted((tmp_path / fmt).glob("*.png"))]
    else:
        items = formats.read(tmp_path / fmt, fmt)
    by_name = {Path(p).name.rsplit(".", 1)[0]: seg for p, seg in items}
    assert sorted(by_name) == ["fruit", "small"] and len(by_name["small"]) == 0
    assert len(by_name["fruit"]) == 2
    if fmt in ("voc", "png"):
        assert "loses" in page.text_content("#message")  # says what it flattened
    if fmt == "labelme":
        document = json.loads((tmp_path / fmt / "fruit.json").read_text())
        assert (tmp_path / fmt / document["imagePath"]).is_file()
    assert errors == []
    page.close()


@pytest.mark.slow
def test_learn_button_end_to_end(scene, server_factory, browser):
    pytest.importorskip("torch")
    errors: list[str] = []
    page = open_page(browser, server_factory(scene), errors)
    page.fill("#class-name", "fruit")
    page.click("#class-add")
    for step in range(2):
        box_grabcut(page, (55, 40, 246, 200) if step == 0 else (27, 20, 123, 100))
        page.click("#done")
        page.wait_for_selector("#images li.current.done")
        if step == 0:
            page.keyboard.press("j")
            wait_until(page, "window.seglab.state.current.path === 'small.jpg'")
    page.fill("#learn-minutes", "0.05")
    page.click("#learn")
    wait_until(page, "document.body.dataset.trained !== undefined", timeout=600)
    assert page.evaluate("document.body.dataset.trained") == "done", page.text_content("#message")
    assert "learned model-" in page.text_content("#message")
    assert page.locator("#model-select option").count() == 1
    page.keyboard.press("k")
    wait_until(page, "window.seglab.state.current.path === 'fruit.png'")
    page.click("#propose-model")
    wait_until(page, "document.body.dataset.busy === undefined && "
                     "document.getElementById('message').textContent.startsWith('model:')", timeout=120)
    for proposal in page.evaluate("window.seglab.state.pending.map(p => [p.source, p.class_name])"):
        assert proposal[0].startswith("model:model-") and proposal[1] == "fruit"
    assert errors == []
    page.close()
