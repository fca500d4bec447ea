"""Write docs/images/annotator.png: the annotator page with Felzenszwalb proposals, one accepted.

    PYTHONPATH=src python docs/make_annotator_picture.py    # needs playwright and /usr/bin/chromium
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))
from test_browser import CHROMIUM, make_scene, to_screen, wait_until  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    spec = importlib.util.spec_from_file_location("web_conftest", ROOT / "tests" / "web" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    with tempfile.TemporaryDirectory() as tmp:
        server = conftest.Server(make_scene(Path(tmp) / "scene")).start()
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=conftest.CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(server.url + "/")
                page.wait_for_selector("body[data-ready='1'][data-loaded]")
                page.fill("#class-name", "fruit")
                page.click("#class-add")
                page.keyboard.press("p")
                page.fill("#propose-params input[data-param=scale]", "30")
                page.click("#propose-run")
                wait_until(page, "window.seglab.state.pending.length > 1")
                page.mouse.click(*to_screen(page, 150, 120))  # accept the proposal under the point
                page.mouse.move(*to_screen(page, 300, 200))   # hover another one
                page.wait_for_timeout(300)
                page.screenshot(path=str(ROOT / "docs" / "images" / "annotator.png"))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
