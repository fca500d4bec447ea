"""Pictures of segmentations: overlays, boundaries, boxes, comparison grids and training curves.

Every function returns an (H, W, 3) uint8 RGB array or writes a PNG, so results can be saved
with :func:`seglab.save_image` or shown with matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation
from seglab.core.segmentation_io import label_palette
from seglab.core.validate import as_image, to_rgb, to_uint8

__all__ = [
    "display_image",
    "colorize",
    "overlay",
    "boundary_mask",
    "draw_boundaries",
    "draw_boxes",
    "compare_grid",
    "save_figure",
    "training_curves",
]


def display_image(image: np.ndarray) -> np.ndarray:
    """Return ``image`` as (H, W, 3) uint8 RGB for display (16-bit and float rescaled, grey repeated)."""
    return to_rgb(to_uint8(as_image(image)))


def _check_shape(image: np.ndarray, seg: Segmentation) -> None:
    if image.shape[:2] != seg.shape:
        raise InputError(f"segmentation must have shape {image.shape[:2]} like the image, got {seg.shape}")


def colorize(seg: Segmentation, *, by_class: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 colours: one colour per region (or per class), black background."""
    ids = seg.class_map() if by_class else seg.labels
    n = int(ids.max()) if ids.size else 0
    return label_palette(max(n, 1))[ids]


def boundary_mask(labels: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose right or lower neighbour has another label (1 pixel thick, inner side)."""
    edge = np.zeros(labels.shape, dtype=bool)
    diff_x = labels[:, 1:] != labels[:, :-1]
    diff_y = labels[1:, :] != labels[:-1, :]
    edge[:, :-1] |= diff_x
    edge[:-1, :] |= diff_y
    return edge


def overlay(
    image: np.ndarray,
    seg: Segmentation,
    *,
    alpha: float = 0.45,
    boundaries: bool = True,
    by_class: bool = False,
) -> np.ndarray:
    """Blend region colours over the image; background pixels stay as they are.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
    seg : Segmentation
    alpha : float
        Opacity of the colours, 0..1.
    boundaries : bool
        Also draw region boundaries in white.
    by_class : bool
        Colour by class id instead of by region.

    Returns
    -------
    (H, W, 3) uint8 ndarray
    """
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"alpha must be between 0 and 1, got {alpha!r}")
    rgb = display_image(image)
    _check_shape(rgb, seg)
    colours = colorize(seg, by_class=by_class).astype(np.float32)
    out = rgb.astype(np.float32)
    inside = seg.labels > 0
    out[inside] = (1 - alpha) * out[inside] + alpha * colours[inside]
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if boundaries:
        out[boundary_mask(seg.labels)] = (255, 255, 255)
    return out


def draw_boundaries(image: np.ndarray, seg: Segmentation, *, color: tuple[int, int, int] = (255, 230, 0)) -> np.ndarray:
    """The image with region boundaries drawn in ``color``."""
    rgb = display_image(image).copy()
    _check_shape(rgb, seg)
    rgb[boundary_mask(seg.labels)] = color
    return rgb


def draw_boxes(
    image: np.ndarray,
    boxes_xyxy: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    colors: np.ndarray | None = None,
    thickness: int = 2,
) -> np.ndarray:
    """The image with boxes ``(x0, y0, x1, y1)`` (exclusive ends) and optional captions drawn on it."""
    import cv2

    rgb = np.ascontiguousarray(display_image(image).copy())
    boxes = np.asarray(boxes_xyxy, dtype=np.int64).reshape(-1, 4)
    palette = label_palette(len(boxes)) if colors is None else np.asarray(colors, dtype=np.uint8)
    scale = max(0.35, min(rgb.shape[:2]) / 900)
    for index, (x0, y0, x1, y1) in enumerate(boxes):
        colour = tuple(int(c) for c in palette[index + 1 if colors is None else index])
        cv2.rectangle(rgb, (int(x0), int(y0)), (int(x1) - 1, int(y1) - 1), colour, thickness)
        if texts is not None:
            text = str(texts[index])
            (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            top = max(int(y0) - height - base - 2, 0)
            cv2.rectangle(rgb, (int(x0), top), (int(x0) + width + 2, top + height + base + 2), colour, -1)
            cv2.putText(rgb, text, (int(x0) + 1, top + height + 1), cv2.FONT_HERSHEY_SIMPLEX, scale,
                        (0, 0, 0), 1, cv2.LINE_AA)
    return rgb


def compare_grid(
    image: np.ndarray,
    results: Mapping[str, Segmentation],
    path: str | Path | None = None,
    *,
    columns: int = 4,
    title: str | None = None,
    cell_inches: float = 3.2,
) -> Any:
    """A grid: the image, then each result's overlay with its title (method, regions, time).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
    results : mapping of title to Segmentation
    path : path-like, optional
        Where to save the grid, in the format its name asks for (.png, .jpg / .jpeg, .pdf or
        .svg); the path is returned. Without a path the matplotlib figure is returned.
    columns : int
        Panels per row.

    Returns
    -------
    Path or matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure  # a bare Figure needs no GUI backend

    panels = [("image", display_image(image))]
    for name, seg in results.items():
        seconds = seg.meta.get("time_s")
        timing = f", {seconds * 1000:.0f} ms" if isinstance(seconds, (int, float)) else ""
        count = f"{len(seg)} region" + ("" if len(seg) == 1 else "s")
        panels.append((f"{name}: {count}{timing}", overlay(image, seg, boundaries=True)))
    columns = max(1, min(columns, len(panels)))
    rows = -(-len(panels) // columns)
    height, width = panels[0][1].shape[:2]
    aspect = height / width
    figure = Figure(figsize=(cell_inches * columns, cell_inches * aspect * rows + 0.5 + (0.3 if title else 0)))
    for index, (name, picture) in enumerate(panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(picture)
        axes.set_title(name, fontsize=9)
        axes.set_axis_off()
    if title:
        figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    if path is None:
        return figure
    return save_figure(figure, path)


#: Figure formats by file extension (matplotlib's names).
FIGURE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}


def save_figure(figure: Any, path: str | Path, *, dpi: int = 100) -> Path:
    """Write a matplotlib figure atomically in the format its extension names (JPEG at quality 85)."""
    from seglab.core.atomic import atomic_path

    path = Path(path)
    format = FIGURE_FORMATS.get(path.suffix.lower())
    if format is None:
        raise InputError(f"path must end in one of {', '.join(FIGURE_FORMATS)}, got {str(path)!r}")
    options = {"pil_kwargs": {"quality": 85}} if format == "jpeg" else {}
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format=format, **options)
    return path


def training_curves(history: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot per-epoch curves (losses on the left, other metrics on the right) to an image file.

    ``history`` maps names such as ``train_loss``, ``val_loss``, ``val_miou`` to one value per epoch.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    loss_axes, metric_axes = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for name, values in history.items():
        if not len(values):
            continue
        axes = loss_axes if "loss" in name else metric_axes
        axes.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=name)
    for axes, label in ((loss_axes, "loss"), (metric_axes, "metric")):
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
