"""Interactive segmentation from a person's prompts: GrabCut with a box and/or scribbles."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from seglab.core.errors import InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_box, as_image, as_mask, as_points, check_int, to_rgb, to_uint8

__all__ = ["grabcut"]

#: GrabCut fits 5-component colour mixtures, so each side needs at least this many pixels.
_MIN_SAMPLES = 5


def _scribble(prompt: Any, shape: tuple[int, int], name: str, radius: int) -> np.ndarray | None:
    """A boolean (H, W) mask from a mask prompt or from (x, y) points (disks of ``radius``)."""
    if prompt is None:
        return None
    if isinstance(prompt, np.ndarray) and (
        prompt.dtype == bool or prompt.ndim != 2 or prompt.shape[1] != 2 or prompt.shape == shape
    ):
        return as_mask(prompt, shape, name)
    points = as_points(prompt, shape, name)
    mask = np.zeros(shape, dtype=np.uint8)
    for x, y in points:
        cv2.circle(mask, (int(x), int(y)), radius, 1, thickness=-1)
    return mask.astype(bool)


def _initial_mask(
    pixels: np.ndarray, box: tuple[int, int, int, int] | None, fg: np.ndarray | None, bg: np.ndarray | None
) -> np.ndarray:
    """The GrabCut mask: sure labels from the prompts, probable labels elsewhere."""
    shape = pixels.shape[:2]
    if box is not None:
        mask = np.full(shape, cv2.GC_BGD, dtype=np.uint8)
        x0, y0, x1, y1 = box
        mask[y0:y1, x0:x1] = cv2.GC_PR_FGD
    elif fg is not None and bg is not None and fg.any() and bg.any():
        # no box: start each unmarked pixel on the side whose mean scribble colour is closer
        colours = pixels.reshape(-1, 3).astype(np.float32)
        to_fg = np.linalg.norm(colours - pixels[fg].mean(axis=0), axis=1)
        to_bg = np.linalg.norm(colours - pixels[bg].mean(axis=0), axis=1)
        mask = np.where(to_fg < to_bg, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8).reshape(shape)
    else:
        mask = np.full(shape, cv2.GC_PR_BGD if fg is not None else cv2.GC_PR_FGD, dtype=np.uint8)
    if bg is not None:
        mask[bg] = cv2.GC_BGD
    if fg is not None:
        mask[fg] = cv2.GC_FGD
    return mask


def _crop(
    shape: tuple[int, int],
    box: tuple[int, int, int, int] | None,
    scribbles: list[np.ndarray],
    margin: int | None,
) -> tuple[int, int, int, int]:
    """The (x0, y0, x1, y1) window GrabCut runs on: the box plus ``margin``, and every scribble."""
    height, width = shape
    if box is None or margin is None:
        return 0, 0, width, height
    x0, y0, x1, y1 = box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin
    for marks in scribbles:
        rows, cols = np.nonzero(marks)
        if rows.size:
            x0, y0 = min(x0, int(cols.min())), min(y0, int(rows.min()))
            x1, y1 = max(x1, int(cols.max()) + 1), max(y1, int(rows.max()) + 1)
    return max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)


def _check_samples(mask: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
    background = int(np.count_nonzero((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD)))
    foreground = int(np.count_nonzero((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)))
    if background < _MIN_SAMPLES:
        hint = "the box covers (nearly) the whole image; " if box is not None else ""
        raise InputError(
            f"background must have at least {_MIN_SAMPLES} pixels to learn its colours, got {background}; "
            f"{hint}use a smaller box, a larger margin or add background scribbles"
        )
    if foreground < _MIN_SAMPLES:
        raise InputError(
            f"foreground must have at least {_MIN_SAMPLES} pixels to learn its colours, got {foreground}; "
            "draw a larger box or more foreground scribbles"
        )


@register("grabcut", kind="interactive", tiling="none",
          prompts={"box": "box", "scribbles": ("foreground", "background")})
def grabcut(
    image: np.ndarray,
    *,
    box: tuple[float, float, float, float] | None = None,
    foreground: np.ndarray | list[tuple[float, float]] | None = None,
    background: np.ndarray | list[tuple[float, float]] | None = None,
    iterations: int = 5,
    margin: int | None = 32,
    max_side: int | None = 512,
    point_radius: int = 3,
    seed: int = 0,
) -> Segmentation:
    """GrabCut: separate an object from its background, given a box and/or scribbles.

    Colour Gaussian mixtures (5 components each) are fitted to the foreground and the background,
    and a graph cut on the image grid relabels the unsure pixels; the two steps alternate
    ``iterations`` times (OpenCV's ``cv2.grabCut``).

    - ``box`` alone: outside the box is background for sure, inside is probably foreground.
    - scribbles (``foreground`` / ``background``): marked pixels are sure foreground / background.
      With a box they correct the box's guess; without one, unmarked pixels start on the side
      whose mean scribble colour is closer (all probably background when only ``foreground``
      is given, all probably foreground when only ``background`` is given).

    Speed: OpenCV's GrabCut takes minutes on multi-megapixel images (112 s on a 2048² photo),
    so seglab does two things.

    - With a box it runs on a crop: the box plus ``margin`` pixels on each side (grown to
      include every scribble). Outside the box the answer is background anyway, so only the
      background colour model changes: it is learnt from the margin around the object instead
      of the whole image, which changes little (Weizmann horses 1-40, box from the ground
      truth, 3 iterations: mean IoU 0.736 with margin=32, 0.740 on the whole image).
    - A crop longer than ``max_side`` is shrunk to it (area averaging) for the colour models and
      graph cuts; the mask is then scaled back up and snapped to the full-resolution image
      with a guided filter (He et al., radius 2 working pixels), and the prompts are enforced
      again at full resolution (outside the box is background, scribbles keep their side).
      On the 40 horses enlarged 3x (crops of 750-950 px, 3 iterations), mean IoU was 0.701 at
      full resolution in 2.8 s per image and 0.711 with the default ``max_side=512`` in 1.4 s.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype (grey is repeated to three channels; uint16 and float
        are converted to uint8).
    box : (x0, y0, x1, y1), optional
        Pixel box around the object, x1 and y1 exclusive; clipped to the image.
    foreground, background : (H, W) bool ndarray or list of (x, y), optional
        Sure foreground / background pixels: a mask like the image, or (x, y) points each
        marking a disk of ``point_radius``. Where both mark a pixel, foreground wins.
    iterations : int
        Rounds of colour-model fitting and graph cut.
    margin : int or None
        Pixels of context kept around the box (see above); None works on the whole image.
    max_side : int or None
        Longest side GrabCut itself works at (see above); None always works at full resolution.
    point_radius : int
        Radius in pixels of the disk each (x, y) point marks (0 = one pixel).
    seed : int
        Seed of OpenCV's random generator (used by the k-means that starts the colour models),
        so results are reproducible; this sets OpenCV's global seed.

    Returns
    -------
    Segmentation
        Label 1 is the foreground (class 1 ``"foreground"``), 0 the background;
        ``meta["crop"]`` is the (x0, y0, x1, y1) window GrabCut ran on and ``meta["scale"]`` the
        factor it was shrunk by (1.0 at full resolution).

    Raises
    ------
    InputError
        Without any prompt; for a box outside the image, points outside the image, a mask whose
        shape differs from the image's, too few pixels on either side, or bad parameters.

    References
    ----------
    C. Rother, V. Kolmogorov and A. Blake, "GrabCut: interactive foreground extraction using
    iterated graph cuts", ACM SIGGRAPH 2004.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.full((60, 60), 40, np.uint8); image[20:40, 15:45] = 200
    >>> seg = grabcut(image, box=(10, 15, 50, 45))
    >>> seg.areas.tolist(), seg.boxes_xyxy.tolist()
    ([600], [[15, 20, 45, 40]])
    """
    pixels = as_image(image)
    shape = pixels.shape[:2]
    if box is None and foreground is None and background is None:
        raise InputError(
            "grabcut must be given a box=(x0, y0, x1, y1) and/or foreground / background scribbles, got none"
        )
    iterations = check_int("iterations", iterations, minimum=1)
    margin = None if margin is None else check_int("margin", margin, minimum=0)
    max_side = None if max_side is None else check_int("max_side", max_side, minimum=16)
    point_radius = check_int("point_radius", point_radius, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    pixel_box = None if box is None else as_box(box, shape)
    fg = _scribble(foreground, shape, "foreground", point_radius)
    bg = _scribble(background, shape, "background", point_radius)
    rgb = np.ascontiguousarray(to_rgb(to_uint8(pixels)))
    x0, y0, x1, y1 = _crop(shape, pixel_box, [m for m in (fg, bg) if m is not None], margin)
    window = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    local_box = (
        None
        if pixel_box is None
        else (pixel_box[0] - x0, pixel_box[1] - y0, pixel_box[2] - x0, pixel_box[3] - y0)
    )
    local_fg = None if fg is None else fg[y0:y1, x0:x1]
    local_bg = None if bg is None else bg[y0:y1, x0:x1]
    scale = 1.0 if max_side is None else min(1.0, max_side / max(window.shape[:2]))
    work, prompts = window, (local_box, local_fg, local_bg)
    if scale < 1.0:
        work, prompts = _shrink(window, local_box, local_fg, local_bg, scale)
    mask = _initial_mask(work, *prompts)
    _check_samples(mask, prompts[0])
    cv2.setRNGSeed(seed)
    bgd_model, fgd_model = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(work, mask, None, bgd_model, fgd_model, iterations, cv2.GC_INIT_WITH_MASK)
    foreground_mask = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if scale < 1.0:
        foreground_mask = _snap_to_full_size(foreground_mask, window, local_box, local_fg, local_bg, scale)
    labels = np.zeros(shape, dtype=np.int32)
    labels[y0:y1, x0:x1] = foreground_mask
    return Segmentation(
        labels,
        class_ids=np.array([1]),
        class_names=("background", "foreground"),
        meta={"crop": [x0, y0, x1, y1], "scale": round(scale, 6), "iterations": iterations},
    )


Prompts = tuple[tuple[int, int, int, int] | None, np.ndarray | None, np.ndarray | None]


def _shrink(
    window: np.ndarray,
    box: tuple[int, int, int, int] | None,
    fg: np.ndarray | None,
    bg: np.ndarray | None,
    scale: float,
) -> tuple[np.ndarray, Prompts]:
    """``window`` shrunk by ``scale`` (area averaging) and the prompts on the shrunk grid."""
    height, width = window.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    sx, sy = size[0] / width, size[1] / height

    def shrink(marks: np.ndarray | None) -> np.ndarray | None:
        # a working pixel is marked when any full-size pixel under it is, so thin scribbles survive
        if marks is None:
            return None
        return cv2.resize(marks.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0

    small_box = None
    if box is not None:  # grown outwards to whole working pixels, so the object stays inside
        small_box = (int(box[0] * sx), int(box[1] * sy),
                     min(size[0], int(np.ceil(box[2] * sx))), min(size[1], int(np.ceil(box[3] * sy))))
    return cv2.resize(window, size, interpolation=cv2.INTER_AREA), (small_box, shrink(fg), shrink(bg))


def _snap_to_full_size(
    chosen: np.ndarray,
    window: np.ndarray,
    box: tuple[int, int, int, int] | None,
    fg: np.ndarray | None,
    bg: np.ndarray | None,
    scale: float,
) -> np.ndarray:
    """The shrunk foreground back at ``window``'s size, snapped to its edges by a guided filter
    (radius 2 working pixels), with the full-size prompts enforced again."""
    height, width = window.shape[:2]
    soft = cv2.resize(chosen.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    soft = cv2.ximgproc.guidedFilter(window, soft, max(1, round(2 / scale)), _GUIDE_EPS)
    result = soft > 0.5
    if box is not None:
        inside = np.zeros_like(result)
        inside[box[1] : box[3], box[0] : box[2]] = True
        result &= inside
    if bg is not None:
        result &= ~bg
    if fg is not None:
        result |= fg
    return result


#: Guided-filter regularisation, in squared 8-bit grey levels: edges weaker than about 14 levels
#: do not hold the upsampled mask boundary.
_GUIDE_EPS = 200.0
