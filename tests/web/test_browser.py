"""The annotator page in headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Draw a box, accept GrabCut's mask, assign a class, export COCO and check it with pycocotools;
a screenshot must show the overlay (pixels differ from the raw image where the object is).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = os.environ.get("SEGLAB_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "annotator.png"

if not Path(CHROMIUM).is_file():
    pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install playwright)")


def make_scene(folder: Path) -> Path:
    """A 320x240 photo-like scene: a textured orange 'fruit' on a wooden table, plus a second image."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[:240, :320]
    table = np.stack([120 + 25 * np.sin(cols / 9.0), 85 + 15 * np.sin(cols / 9.0), 55 + 0 * cols], -1)
    fruit = ((rows - 120) / 70.0) ** 2 + ((cols - 150) / 85.0) ** 2 <= 1
    image = np.where(fruit[..., None], np.array([235, 140, 30]) * (0.85 + 0.15 * np.cos(rows / 14.0))[..., None], table)
    image = np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    Image.fromarray(image).save(folder / "fruit.png")
    Image.fromarray(image[::2, ::2].copy()).save(folder / "small.jpg")
    return folder


def wait_until(page, expression: str, timeout: float = 30.0) -> None:
    """Poll ``expression`` with page.evaluate (wait_for_function would need eval, which the page's CSP forbids)."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            shown = page.text_content("#message")
            raise AssertionError(f"timed out waiting for {expression} (the page says: {shown!r})")
        page.wait_for_timeout(50)


def to_screen(page, x: float, y: float) -> tuple[float, float]:
    sx, sy = page.evaluate(f"window.seglab.view.toScreen({x}, {y})")
    box = page.locator("#canvas").bounding_box()
    return box["x"] + sx, box["y"] + sy


def test_box_grabcut_class_export_screenshot(tmp_path, server_factory, browser):
    from PIL import Image
    from pycocotools import mask as coco_mask
    from pycocotools.coco import COCO

    folder = make_scene(tmp_path / "scene")
    server = server_factory(folder)
    page = browser.new_page(viewport={"width": 1280, "height": 760}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1'][data-loaded]")
    assert page.locator("#images li").count() == 2

    # box -> GrabCut -> accept
    page.click("[data-tool=box]")
    page.mouse.move(*to_screen(page, 55, 40))
    page.mouse.down()
    page.mouse.move(*to_screen(page, 150, 120), steps=4)
    page.mouse.move(*to_screen(page, 246, 200), steps=4)
    page.mouse.up()
    page.wait_for_selector("#accept:not([disabled])")
    page.keyboard.press("Enter")
    page.wait_for_selector("#objects li")

    # a class, assigned to the selected (new) object
    page.fill("#class-name", "fruit")
    page.fill("#class-color", "#00a0ff")
    page.click("#class-add")
    page.click("#classes li >> text=fruit")
    wait_until(page, "document.querySelector('#objects select').selectedOptions[0].text === 'fruit'")
    page.wait_for_selector("#save-state[data-state='saved']")
    assert page.locator("#images li.current .count").inner_text() == "1"

    # screenshot: the overlay must be visible
    page.click("[data-tool=pan]")
    page.mouse.move(5, 5)
    shot = page.screenshot()
    (tmp_path / "annotator.png").write_bytes(shot)
    if os.environ.get("SEGLAB_UPDATE_SCREENSHOT") == "1":  # refresh the README's picture
        SCREENSHOT.write_bytes(shot)
    screen = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
    raw = np.asarray(Image.open(folder / "fruit.png").convert("RGB")).astype(int)
    changed = []
    for x, y in [(150, 120), (120, 100), (180, 140), (150, 80)]:
        sx, sy = (round(v) for v in to_screen(page, x + 0.5, y + 0.5))
        changed.append(np.abs(screen[sy, sx] - raw[y, x]).sum() > 60)
    assert all(changed), changed
    sx, sy = (round(v) for v in to_screen(page, 10.5, 10.5))  # background: no overlay
    assert np.abs(screen[sy, sx] - raw[10, 10]).sum() < 60

    # export COCO as a download and check it with pycocotools
    with page.expect_download() as download:
        page.click("#export")
    path = tmp_path / "export.json"
    download.value.save_as(path)
    coco = COCO(str(path))
    (category,) = coco.loadCats(coco.getCatIds())
    assert category["name"] == "fruit"
    (ann,) = coco.loadAnns(coco.getAnnIds())
    assert coco.loadImgs(ann["image_id"])[0]["file_name"] == "fruit.png"
    mask = coco_mask.decode(ann["segmentation"]).astype(bool)
    rows, cols = np.mgrid[:240, :320]
    truth = ((rows - 120) / 70.0) ** 2 + ((cols - 150) / 85.0) ** 2 <= 1
    assert (mask & truth).sum() / (mask | truth).sum() > 0.9
    assert errors == []
    page.close()


def test_manual_tools_undo_redo_and_navigation(tmp_path, server_factory, browser):
    folder = make_scene(tmp_path / "scene")
    server = server_factory(folder)
    page = browser.new_page(viewport={"width": 1200, "height": 720})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1'][data-loaded]")

    # polygon: three clicks then Enter
    page.keyboard.press("o")
    for x, y in [(20, 20), (80, 20), (50, 70)]:
        page.mouse.click(*to_screen(page, x, y))
    page.keyboard.press("Enter")
    wait_until(page, "window.seglab.state.objects.length === 1")
    # brush stroke: a second object
    page.keyboard.press("Escape")
    page.evaluate("window.seglab.state.selected = null")
    page.keyboard.press("r")
    page.mouse.move(*to_screen(page, 270, 40))
    page.mouse.down()
    page.mouse.move(*to_screen(page, 300, 60), steps=3)
    page.mouse.up()
    wait_until(page, "window.seglab.state.objects.length === 2")
    # eraser on the brush object, then undo / redo
    area = page.evaluate("window.seglab.state.objects[1].mask.data.reduce((a, b) => a + b, 0)")
    page.keyboard.press("e")
    page.mouse.move(*to_screen(page, 285, 50))
    page.mouse.down()
    page.mouse.up()
    erased = page.evaluate("window.seglab.state.objects[1].mask.data.reduce((a, b) => a + b, 0)")
    assert 0 < erased < area
    page.keyboard.press("Control+z")
    assert page.evaluate("window.seglab.state.objects[1].mask.data.reduce((a, b) => a + b, 0)") == area
    page.keyboard.press("Control+Shift+z")
    assert page.evaluate("window.seglab.state.objects[1].mask.data.reduce((a, b) => a + b, 0)") == erased
    # click tool (region growing) proposes, Escape rejects
    page.keyboard.press("c")
    page.mouse.click(*to_screen(page, 150, 120))
    wait_until(page, "window.seglab.state.pending.length === 1")
    page.keyboard.press("Escape")
    assert page.evaluate("window.seglab.state.pending.length") == 0
    # propose: felzenszwalb regions, click one to accept it, reject the rest
    page.keyboard.press("p")
    page.click("#propose-run")
    wait_until(page, "window.seglab.state.pending.length > 1")
    page.mouse.click(*to_screen(page, 150, 120))
    wait_until(page, "window.seglab.state.objects.length === 3")
    assert page.evaluate("window.seglab.state.objects[2].source") == "felzenszwalb"
    page.click("#propose-reject-all")
    page.keyboard.press("Delete")
    wait_until(page, "window.seglab.state.objects.length === 2")
    # visibility toggle and delete from the object list
    page.locator("#objects li").nth(0).locator("input[type=checkbox]").uncheck()
    assert page.evaluate("window.seglab.state.objects[0].visible") is False
    page.locator("#objects li").nth(1).locator("button.delete").click()
    wait_until(page, "window.seglab.state.objects.length === 1")
    page.wait_for_selector("#save-state[data-state='saved']")
    # next image with J, back with K: the first image's objects come back from the server
    page.keyboard.press("j")
    wait_until(page, "window.seglab.state.current.path === 'small.jpg'")
    page.keyboard.press("k")
    wait_until(page, "window.seglab.state.current.path === 'fruit.png' && window.seglab.state.objects.length === 1")
    assert page.evaluate("window.seglab.state.objects[0].visible") is False
    # done: the button and D toggle the flag on the server, the list shows it
    page.click("#done")
    page.wait_for_selector("#images li.current.done")
    assert page.get_attribute("#done", "aria-pressed") == "true"
    assert "1 done" in page.text_content("#image-count")
    flags = page.evaluate("window.seglab.api('GET', 'api/images')")
    assert [image["done"] for image in flags] == [True, False]
    page.keyboard.press("d")
    page.wait_for_selector("#images li.current:not(.done)")
    assert [image["done"] for image in page.evaluate("window.seglab.api('GET', 'api/images')")] == [False, False]
    assert errors == []
    page.close()


def test_zooming_in_loads_the_visible_part_at_full_resolution(tmp_path, server_factory, browser):
    from PIL import Image

    folder = tmp_path / "big"
    folder.mkdir()
    rows, cols = np.mgrid[:2000, :3000]
    Image.fromarray(((rows + cols) % 2 * 255).astype(np.uint8)).save(folder / "checker.png")  # 1-px squares
    server = server_factory(folder)
    page = browser.new_page(viewport={"width": 1200, "height": 720})
    page.goto(server.url + "/")
    page.wait_for_selector("body[data-ready='1'][data-loaded]")
    centre_std = """(() => {
        const c = document.getElementById('canvas'), ctx = c.getContext('2d');
        const d = ctx.getImageData(c.width / 2 - 25, c.height / 2 - 25, 50, 50).data;
        let n = 0, s = 0, s2 = 0;
        for (let i = 0; i < d.length; i += 4) { n++; s += d[i]; s2 += d[i] * d[i]; }
        return Math.sqrt(s2 / n - (s / n) ** 2);
    })()"""
    for _ in range(10):  # fit is about 0.23 screen px per image px; 1.25 ** 10 brings it past 2
        page.keyboard.press("+")
    wait_until(page, "document.body.dataset.detail !== undefined")
    x0, y0, x1, y1 = (int(v) for v in page.evaluate("document.body.dataset.detail").split(","))
    visible = page.evaluate("(() => { const v = window.seglab.view; return [...v.toImage(0, 0), "
                            "...v.toImage(v.canvas.width, v.canvas.height)]; })()")
    assert x0 <= visible[0] and y0 <= visible[1] and x1 >= visible[2] and y1 >= visible[3]
    assert page.evaluate("window.seglab.view.detail.image.naturalWidth") == x1 - x0  # full resolution
    assert page.evaluate(centre_std) > 100  # the 1-px squares, crisp (the 2048-px preview is a flat grey)
    page.evaluate("window.seglab.view.detail = null; window.seglab.view.draw()")
    assert page.evaluate(centre_std) < 40
    page.close()
