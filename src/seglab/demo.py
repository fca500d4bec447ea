"""The demo: every classical method on the bundled sample images, as comparison grids and a web page.

``seglab demo -o DIR`` (and ``make demo``) runs :func:`run_demo`.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.atomic import atomic_write_text
from seglab.core.errors import SeglabError
from seglab.core.registry import methods, segment
from seglab.core.segmentation import Segmentation

__all__ = ["run_demo", "demo_prompts"]


def demo_prompts(method: str, image: np.ndarray) -> dict[str, Any]:
    """Prompts for interactive methods, as a person might give them: a central box, a central seed."""
    height, width = image.shape[:2]
    if method == "grabcut":
        return {"box": (0.2 * width, 0.1 * height, 0.8 * width, 0.95 * height)}
    if method == "region_growing":
        return {"seeds": [(width // 2, height // 2)]}
    return {}


def run_demo(
    out_dir: str | Path,
    *,
    images: dict[str, np.ndarray] | None = None,
    method_names: Sequence[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Path:
    """Run every classical method on each sample image; write one grid per image and ``index.html``.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``STEM_grid.png`` files and ``index.html`` (created).
    images : dict of name to image, optional
        Default: :func:`seglab.data.samples`.
    method_names : sequence of str, optional
        Default: every registered method except deep models (which need a trained checkpoint).
    on_step : callable, optional
        Called with a description after each image (progress reporting).

    Returns
    -------
    Path
        The ``index.html`` written.
    """
    from seglab import data
    from seglab.viz import compare_grid

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = data.samples() if images is None else images
    names = list(method_names) if method_names else [m.name for m in methods() if m.kind != "deep"]
    rows: list[dict[str, Any]] = []
    for stem, image in images.items():
        results: dict[str, Segmentation] = {}
        for name in names:
            start = time.perf_counter()
            try:
                seg = segment(image, name, **demo_prompts(name, image))
            except SeglabError as error:
                rows.append({"image": stem, "method": name, "error": str(error)})
                continue
            results[name] = seg
            rows.append({"image": stem, "method": name, "regions": len(seg), "seconds": time.perf_counter() - start})
        compare_grid(image, results, out / f"{stem}_grid.png", columns=4, title=stem)
        if on_step is not None:
            on_step(stem)
    index = out / "index.html"
    atomic_write_text(index, _page(list(images), rows))
    return index


def _page(stems: list[str], rows: list[dict[str, Any]]) -> str:
    table = "".join(
        f"<tr><td>{html.escape(r['image'])}</td><td>{html.escape(r['method'])}</td>"
        + (f"<td colspan=2 class=err>{html.escape(r['error'])}</td>" if "error" in r
           else f"<td>{r['regions']}</td><td>{r['seconds'] * 1000:.0f} ms</td>")
        + "</tr>"
        for r in rows
    )
    figures = "".join(
        f'<figure><img src="{html.escape(stem)}_grid.png" alt="{html.escape(stem)}">'
        f"<figcaption>{html.escape(stem)}</figcaption></figure>"
        for stem in stems
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seglab demo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1400px}}
img{{max-width:100%;border:1px solid #ccc}}figure{{margin:0 0 2rem}}
table{{border-collapse:collapse}}td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}}
.err{{color:#a00}}</style></head><body>
<h1>seglab demo</h1>
<p>Every classical method with its default parameters on scikit-image's sample images.
Interactive methods get a central box (GrabCut) or a central seed (region growing).</p>
{figures}
<h2>Regions and time per method</h2>
<table><tr><th>image</th><th>method</th><th>regions</th><th>time</th></tr>{table}</table>
</body></html>
"""
