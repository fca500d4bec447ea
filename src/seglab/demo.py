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

__all__ = ["run_demo", "demo_prompts", "CAPTIONS"]


#: What each panel of the demo shows, in a sentence (methods without one show their summary).
CAPTIONS = {
    "otsu": "Foreground against background at the one grey level that best separates them.",
    "multiotsu": "Grey levels cut into 3 bands; the darkest is background, each brighter band one region.",
    "adaptive": "Each pixel against its neighbourhood: follows uneven lighting, finds texture and edges.",
    "threshold": "A fixed grey level (127): brighter pixels are foreground.",
    "canny": "Areas enclosed by Canny edges; unclosed edges leave areas merged.",
    "log": "Areas enclosed by zero crossings of the Laplacian of Gaussian (blob-like outlines).",
    "sobel": "Areas enclosed by strong Sobel gradients.",
    "region_growing": "One region grown from a seed on the object nearest the centre (within 20 grey levels).",
    "watershed": "Basins of the gradient (photos) or touching objects split at their necks (coins).",
    "kmeans": "4 colour clusters; a cluster may be scattered over the image.",
    "meanshift": "Areas of similar colour after mean-shift smoothing; small ones merged.",
    "felzenszwalb": "Graph-based regions: many small ones in texture, large ones in flat areas.",
    "quickshift": "Superpixels from a mode search in colour and position.",
    "slic": "About 250 compact superpixels of similar size.",
    "grabcut": "The object in a central box, from colour models and a graph cut.",
    "prompt": "One click on an object gives the whole object: a graph cut kept star-shaped around the click.",
    "chan_vese": "Two-phase active contour: the inside and outside of one evolving curve.",
    "morph_chan_vese": "Morphological Chan-Vese: the same two-phase fit with fast binary steps.",
    "morph_geodesic": "A contour shrinking from the border onto strong edges.",
}


def demo_prompts(method: str, image: np.ndarray) -> dict[str, Any]:
    """Prompts for interactive methods, as a person might give them, through the prompts each declared.

    A method taking clicks (``points``) gets one click on an object, one taking ``seeds`` one seed
    there, one taking only a box (GrabCut) a central box. The object is the Otsu side that covers
    less of the image border, and the click is a pixel deep inside the object closest to the
    centre whose grey is that object's median, so on coins it lands on a coin rather than on the
    background.
    """
    from seglab.core.registry import get_method

    declared = dict(get_method(method).prompts)
    height, width = image.shape[:2]
    if "points" in declared:
        return {declared["points"]: [(*_object_seed(image), 1)]}
    if "seeds" in declared:
        return {declared["seeds"]: [_object_seed(image)]}
    if "box" in declared:
        return {declared["box"]: (0.2 * width, 0.1 * height, 0.8 * width, 0.95 * height)}
    return {}


def _object_seed(image: np.ndarray) -> tuple[int, int]:
    """(x, y) inside the object nearest the centre (the centre itself when none is found)."""
    import cv2
    from scipy import ndimage

    from seglab.core.validate import as_image, to_gray, to_uint8

    gray = to_uint8(to_gray(as_image(image)))
    height, width = gray.shape
    _, binary = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    border = np.concatenate([binary[0], binary[-1], binary[:, 0], binary[:, -1]])
    objects = (binary == 0) if border.mean() > 0.5 else binary.astype(bool)
    labels, count = ndimage.label(objects)
    if count == 0:
        return width // 2, height // 2
    areas = np.bincount(labels.ravel())
    centres = np.asarray(ndimage.center_of_mass(objects, labels, np.arange(1, count + 1))).reshape(-1, 2)
    big = areas[1:] >= max(0.001 * height * width, 4)
    if not big.any():
        return width // 2, height // 2
    distance = np.hypot(centres[:, 0] - height / 2, centres[:, 1] - width / 2)
    distance[~big] = np.inf
    chosen = labels == int(np.argmin(distance)) + 1
    inside = cv2.distanceTransform(np.pad(chosen, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    # among the inner pixels, the one whose grey is the object's median, so the fixed tolerance
    # around the seed's value covers as much of a textured object (a coin) as it can
    deep = inside >= 0.5 * inside.max()
    off = np.abs(gray.astype(np.int16) - int(np.median(gray[chosen]))).astype(np.float64)
    off[~deep] = np.inf
    row, col = np.unravel_index(int(np.argmin(off - 1e-3 * inside)), off.shape)
    return int(col), int(row)


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
        Folder for ``STEM_grid.jpg`` files and ``index.html`` (created).
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
    # every method that runs without a model file (deep models and sam need one)
    names = list(method_names) if method_names else [m.name for m in methods() if m.kind != "deep" and m.web]
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
        compare_grid(image, results, out / f"{stem}_grid.jpg", columns=4, title=stem)
        if on_step is not None:
            on_step(stem)
    index = out / "index.html"
    atomic_write_text(index, _page(list(images), names, rows))
    return index


def _page(stems: list[str], names: list[str], rows: list[dict[str, Any]]) -> str:
    figures = "".join(
        f'<figure><img src="{html.escape(stem)}_grid.jpg" alt="{html.escape(stem)}" loading="lazy">'
        f"<figcaption>{html.escape(stem)}</figcaption></figure>"
        for stem in stems
    )
    captions = "".join(f"<dt>{html.escape(name)}</dt><dd>{html.escape(_caption(name))}</dd>" for name in names)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>seglab demo</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1400px}}
img{{max-width:100%;border:1px solid #ccc}}figure{{margin:0 0 2rem}}
dl{{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}}dt{{font-weight:600}}dd{{margin:0}}
table{{border-collapse:collapse;font-size:.85rem}}td,th{{padding:.15rem .5rem;text-align:right}}
th{{font-weight:600}}td:first-child,th:first-child{{text-align:left}}.err{{color:#a00}}</style></head><body>
<h1>seglab demo</h1>
<p>Every classical method with its default parameters on scikit-image's sample images.
Interactive methods get a central box (GrabCut) or one seed on the object nearest the centre
(region growing).</p>
<h2>What each panel shows</h2>
<dl>{captions}</dl>
{figures}
<h2>Time per method and image</h2>
<p>Milliseconds on the machine that built this page; darker is slower (hover for the region count).</p>
{_timing_chart(stems, names, rows)}
</body></html>
"""


def _caption(name: str) -> str:
    if name in CAPTIONS:
        return CAPTIONS[name]
    info = next((m for m in methods() if m.name == name), None)
    return "" if info is None else info.summary.replace("``", "")


def _timing_chart(stems: list[str], names: list[str], rows: list[dict[str, Any]]) -> str:
    """A methods x images table, each cell shaded by the log of its time."""
    found = {(r["method"], r["image"]): r for r in rows}
    seconds = [r["seconds"] for r in rows if "seconds" in r]
    low, high = (np.log10(max(min(seconds), 1e-4)), np.log10(max(max(seconds), 1e-4))) if seconds else (0.0, 1.0)
    head = "".join(f"<th>{html.escape(stem)}</th>" for stem in stems)
    body = []
    for name in names:
        cells = []
        for stem in stems:
            row = found.get((name, stem))
            if row is None:
                cells.append("<td></td>")
            elif "error" in row:
                cells.append(f'<td class=err title="{html.escape(row["error"])}">error</td>')
            else:
                share = (np.log10(max(row["seconds"], 1e-4)) - low) / max(high - low, 1e-9)
                light = round(97 - 45 * share)
                colour = "#fff" if light < 65 else "#000"
                cells.append(f'<td style="background:hsl(210 60% {light}%);color:{colour}" '
                             f'title="{row["regions"]} region{"" if row["regions"] == 1 else "s"}">'
                             f'{row["seconds"] * 1000:.0f}</td>')
        body.append(f"<tr><td>{html.escape(name)}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>method \\ image</th>{head}</tr>{''.join(body)}</table>"
