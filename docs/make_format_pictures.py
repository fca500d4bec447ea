"""Make the pictures of docs/formats.md: run with ``python docs/make_format_pictures.py``.

Writes docs/images/formats_roundtrip.png (each format's reading of the same objects),
docs/images/formats_polygons.png (the polygons each format stores) and
docs/images/formats_coins.png (``seglab detect`` on scikit-image's coins).
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

import seglab
from seglab import formats, objects
from seglab.core.segmentation import Segmentation
from seglab.viz import compare_grid, draw_boxes

HERE = Path(__file__).resolve().parent / "images"


def sample() -> tuple[np.ndarray, Segmentation]:
    """A 48x64 image with a donut, a two-part object and a square (the objects of the tests)."""
    labels = np.zeros((48, 64), dtype=np.int32)
    rows, cols = np.mgrid[:48, :64]
    radius = np.hypot(rows - 16, cols - 16)
    labels[(radius <= 12) & (radius > 5)] = 1
    labels[32:44, 4:20] = 2
    labels[32:44, 23:40] = 2
    labels[4:20, 40:60] = 3
    image = np.where(labels > 0, 170, 60).astype(np.uint8)
    seg = Segmentation(labels, class_ids=np.array([1, 2, 1]), class_names=("background", "ring", "pair"))
    return image, seg


def roundtrip(image: np.ndarray, seg: Segmentation, folder: Path) -> dict[str, Segmentation]:
    source = folder / "sample.png"
    seglab.save_image(source, image)
    results = {"original": seg}
    for name, fmt, options in [
        ("COCO RLE", "coco", {}),
        ("COCO polygons", "coco", {"polygons": True}),
        ("VOC", "voc", {"void_border": 2}),
        ("YOLO", "yolo", {}),
        ("labelme", "labelme", {}),
        ("PNG", "png", {}),
    ]:
        target = folder / name.replace(" ", "_") / ("a.json" if fmt == "coco" else "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            formats.write([(source, seg)], target, fmt, **options)
        results[name] = formats.read(target, fmt)[0][1]
    return results


def polygons_figure(folder: Path, path: Path) -> None:
    from matplotlib.figure import Figure

    coco = json.loads((folder / "COCO_polygons" / "a.json").read_text())
    labelme = json.loads((folder / "labelme" / "sample.json").read_text())
    yolo = (folder / "YOLO" / "labels" / "sample.txt").read_text().splitlines()
    panels = {
        "COCO: corner convention,\nthe donut kept as RLE": [
            np.array(p).reshape(-1, 2) - 0.5
            for a in coco["annotations"]
            if isinstance(a["segmentation"], list)
            for p in a["segmentation"]
        ],
        "labelme: one shape per part,\nhole joined by a bridge": [
            np.array(s["points"]) for s in labelme["shapes"]
        ],
        "YOLO: one polygon per object,\nparts and holes bridged": [
            np.array(line.split()[1:], float).reshape(-1, 2) * (64, 48) for line in yolo
        ],
    }
    _, seg = sample()
    figure = Figure(figsize=(12, 3.6))
    for index, (title, polygons) in enumerate(panels.items()):
        axes = figure.add_subplot(1, 3, index + 1)
        axes.imshow(seg.labels > 0, cmap="gray", vmin=0, vmax=2)
        for polygon in polygons:
            closed = np.vstack([polygon, polygon[:1]])
            axes.plot(closed[:, 0], closed[:, 1], "-", linewidth=1.2)
            axes.plot(closed[:, 0], closed[:, 1], ".", markersize=3, color="red")
        axes.set_title(title, fontsize=9)
        axes.set_axis_off()
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def coins_figure(path: Path) -> None:
    from skimage import data

    image = data.coins()
    seg = objects.detect(image, "adaptive", block_size=151, offset=-15, min_area=300)
    seglab.save_image(path, draw_boxes(image, seg.boxes_xyxy, texts=[str(i) for i in seg.ids]))


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    image, seg = sample()
    with tempfile.TemporaryDirectory() as tmp:
        results = roundtrip(image, seg, Path(tmp))
        compare_grid(
            image,
            results,
            HERE / "formats_roundtrip.png",
            columns=4,
            title="The same objects read back from each format",
        )
        polygons_figure(Path(tmp), HERE / "formats_polygons.png")
    coins_figure(HERE / "formats_coins.png")
    print("wrote", *sorted(p.name for p in HERE.glob("formats_*.png")))


if __name__ == "__main__":
    main()
