"""Active contours: Chan-Vese and morphological snakes (scikit-image backends).

All three work on the grey image (colour is converted with BT.601 weights) scaled to [0, 1].
Chan-Vese methods split the image into two phases; seglab labels the brighter phase 1, so the
answer does not depend on the initial level set's sign. The geodesic snake labels its
inside 1.
"""

from __future__ import annotations

import numpy as np

from seglab.core.errors import InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import as_box, as_image, check_float, check_int, to_float01, to_gray

__all__ = ["chan_vese", "morph_chan_vese", "morph_geodesic"]

_NAMES = ("background", "foreground")


def _gray01(image: np.ndarray) -> np.ndarray:
    return to_gray(to_float01(as_image(image))).astype(np.float64)


def _bright_phase(gray: np.ndarray, inside: np.ndarray, meta: dict) -> Segmentation:
    """Label 1 = the phase with the higher mean intensity."""
    inside = inside.astype(bool)
    if inside.any() and (~inside).any() and gray[inside].mean() < gray[~inside].mean():
        inside = ~inside
    return Segmentation(inside.astype(np.int32), class_ids=np.array([1]), class_names=_NAMES, meta=meta)


@register("chan_vese", kind="contour",
          bounds={"max_num_iter": (1, 2000), "dt": (0.01, 10)})
def chan_vese(
    image: np.ndarray,
    *,
    mu: float = 0.25,
    lambda1: float = 1.0,
    lambda2: float = 1.0,
    max_num_iter: int = 200,
    tol: float = 1e-3,
    dt: float = 0.5,
) -> Segmentation:
    """Chan-Vese: the two-phase piecewise-constant fit with the shortest boundary (level sets).

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype; colour is converted to grey.
    mu : float
        Weight of the boundary length: higher gives smoother, rounder regions.
    lambda1, lambda2 : float
        Weights of the fit inside / outside the contour.
    max_num_iter : int
        Most iterations (it stops earlier when the level set moves less than ``tol``).
    tol : float
        Convergence tolerance on the level set's change per iteration.
    dt : float
        Time step of the level-set update.

    Returns
    -------
    Segmentation
        Label 1 is the brighter phase, 0 the darker one.

    Raises
    ------
    InputError
        If the image is not a grey or RGB array, or a parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40)); image[10:30, 10:30] = 1.0
    >>> chan_vese(image, max_num_iter=50).areas.tolist()
    [400]
    """
    from skimage.segmentation import chan_vese as sk_chan_vese

    gray = _gray01(image)
    mu = check_float("mu", mu, minimum=0.0)
    lambda1 = check_float("lambda1", lambda1, minimum=0.0)
    lambda2 = check_float("lambda2", lambda2, minimum=0.0)
    max_num_iter = check_int("max_num_iter", max_num_iter, minimum=1)
    tol = check_float("tol", tol, minimum=0.0)
    dt = check_float("dt", dt, minimum=0.0, exclusive_minimum=True)
    inside = sk_chan_vese(
        gray, mu=mu, lambda1=lambda1, lambda2=lambda2, tol=tol, max_num_iter=max_num_iter, dt=dt
    )
    return _bright_phase(gray, inside, {})


@register("morph_chan_vese", kind="contour",
          bounds={"iterations": (1, 2000), "smoothing": (0, 10)})
def morph_chan_vese(
    image: np.ndarray,
    *,
    iterations: int = 100,
    smoothing: int = 1,
    lambda1: float = 1.0,
    lambda2: float = 1.0,
) -> Segmentation:
    """Morphological Chan-Vese (ACWE): Chan-Vese with morphological operators, fast and stable.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype; colour is converted to grey.
    iterations : int
        Number of iterations.
    smoothing : int
        Smoothing steps per iteration (1-4): higher gives smoother boundaries.
    lambda1, lambda2 : float
        Weights of the fit inside / outside the contour.

    Returns
    -------
    Segmentation
        Label 1 is the brighter phase, 0 the darker one.

    Raises
    ------
    InputError
        If the image is not a grey or RGB array, or a parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40)); image[10:30, 10:30] = 1.0
    >>> area = morph_chan_vese(image, iterations=20).areas[0]  # corners are rounded off
    >>> bool(390 <= area <= 400)
    True
    """
    from skimage.segmentation import morphological_chan_vese

    gray = _gray01(image)
    iterations = check_int("iterations", iterations, minimum=1)
    smoothing = check_int("smoothing", smoothing, minimum=0)
    lambda1 = check_float("lambda1", lambda1, minimum=0.0)
    lambda2 = check_float("lambda2", lambda2, minimum=0.0)
    inside = morphological_chan_vese(gray, iterations, smoothing=smoothing, lambda1=lambda1, lambda2=lambda2)
    return _bright_phase(gray, inside, {})


@register("morph_geodesic", kind="contour",
          bounds={"iterations": (1, 2000), "smoothing": (0, 10), "sigma": (0, 50)})
def morph_geodesic(
    image: np.ndarray,
    *,
    box: tuple[float, float, float, float] | None = None,
    iterations: int = 200,
    balloon: float = -1.0,
    smoothing: int = 1,
    threshold: float | None = None,
    alpha: float = 100.0,
    sigma: float = 2.0,
) -> Segmentation:
    """Morphological geodesic active contour: a snake that stops on strong edges.

    The contour starts as ``box`` (or the whole image less a 2-pixel border) and moves with the
    ``balloon`` force, negative to shrink onto an object inside, positive to grow, and stops
    where the edge-stopping image ``1 / sqrt(1 + alpha * |grad G_sigma * I|)`` is low.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype; colour is converted to grey.
    box : (x0, y0, x1, y1), optional
        The starting contour; default the whole image less a 2-pixel border.
    iterations : int
        Number of iterations.
    balloon : float
        Balloon force: negative shrinks, positive grows, 0 only follows the edges.
    smoothing : int
        Smoothing steps per iteration (1-4).
    threshold : float or None
        Edge-stopping values below this count as edges; None = the 40th percentile.
    alpha : float
        Edge sharpening in the edge-stopping image.
    sigma : float
        Gaussian smoothing before the gradient, in pixels.

    Returns
    -------
    Segmentation
        Label 1 is the inside of the final contour.

    Raises
    ------
    InputError
        If the image is not a grey or RGB array, the box lies outside it, or a parameter is out
        of range.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40)); image[10:30, 10:30] = 1.0
    >>> seg = morph_geodesic(image, box=(5, 5, 35, 35), iterations=60)
    >>> seg.boxes_xyxy.tolist()
    [[10, 10, 30, 30]]
    """
    from skimage.segmentation import inverse_gaussian_gradient, morphological_geodesic_active_contour

    gray = _gray01(image)
    height, width = gray.shape
    iterations = check_int("iterations", iterations, minimum=1)
    balloon = check_float("balloon", balloon)
    smoothing = check_int("smoothing", smoothing, minimum=0)
    threshold = None if threshold is None else check_float("threshold", threshold, minimum=0.0)
    alpha = check_float("alpha", alpha, minimum=0.0, exclusive_minimum=True)
    sigma = check_float("sigma", sigma, minimum=0.0)
    if box is None:
        if height <= 4 or width <= 4:
            raise InputError(f"image must be larger than 4x4 without a box, got {height}x{width}")
        x0, y0, x1, y1 = 2, 2, width - 2, height - 2
    else:
        x0, y0, x1, y1 = as_box(box, (height, width))
    start = np.zeros((height, width), dtype=np.int8)
    start[y0:y1, x0:x1] = 1
    edges = inverse_gaussian_gradient(gray, alpha=alpha, sigma=sigma)
    level = float(np.percentile(edges, 40)) if threshold is None else threshold
    inside = morphological_geodesic_active_contour(
        edges, iterations, init_level_set=start, smoothing=smoothing, threshold=level, balloon=balloon
    )
    return Segmentation(
        inside.astype(np.int32), class_ids=np.array([1]), class_names=_NAMES, meta={"threshold": level}
    )
