"""Image completion (Wexler et al.): PatchMatch nearest-neighbour fields and patch votes, coarse to fine.

The hole is filled on an image pyramid. At each level every patch that overlaps the hole gets
a nearest-neighbour field entry: the centre of a wholly known patch that looks like it. The
field is searched with PatchMatch (Barnes et al.): candidates from the neighbours' matches
(propagation, which keeps neighbouring pixels copying from neighbouring sources, so copied
texture and straight edges stay whole) and random candidates in shrinking windows around the
current match. Each hole pixel then becomes the weighted mean of what the patches covering it
say it is (the vote); a few search-and-vote rounds per level make the fill agree with its
surroundings. The field, not the image, is carried to the next finer level, and the fine
level votes with its own full-resolution source pixels, so texture stays sharp.

The search runs in parallel over all hole patches (NumPy), on patch descriptors: each patch is
projected on the first principal components of the known patches by a handful of
``cv2.filter2D`` calls, so a candidate costs a short vector difference instead of a full patch
comparison. Only wholly known patches are ever copied, so nothing of the removed object
(the pixels under the mask) can come back; nor, by default, known pixels that look like it
(see ``keep_out_object``).

References
----------
Y. Wexler, E. Shechtman, M. Irani, "Space-time completion of video", IEEE TPAMI 29(3), 2007.
C. Barnes, E. Shechtman, A. Finkelstein, D. B. Goldman, "PatchMatch: a randomized
correspondence algorithm for structural image editing", SIGGRAPH 2009.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from seglab.core.errors import expected
from seglab.core.validate import check_int
from seglab.inpaint.api import register_inpaint
from seglab.inpaint.diffusion import _harmonic_fill
from seglab.inpaint.exemplar import _working
from seglab.inpaint.patch import _downsample, _smooth_fill  # the same pyramid and first guess as patch
from seglab.inpaint.quality import colour_centres, nearest_distance, ring, to_lab

__all__ = ["completion"]

Progress = Callable[[int, int], None]

_DIMS = 12  # principal components per patch descriptor
_COARSEST = 3.0  # the coarsest level's hole is about this many patches wide
_VOTE_RADIUS = 1  # measured: sharper than voting with the whole patch (texture 0.67 vs 0.61)
_FAR = 1e6  # descriptor of a patch that may not be copied (not wholly known)
# Gaussian sigmas (px) splitting the copied detail from the smooth base. The copies keep what is
# finer than _FINE_SIGMA (the texture the eye sees); the band between _FINE_SIGMA and
# _DETAIL_SIGMA (structures 3-10 px across) comes from the smooth base, unless the hole's
# surroundings are a pattern the copies reproduce (see _PATTERN), where it stays the copies'.
# Measured with a throwaway run on 24 horse-shaped holes in BSDS500 *train* photos (seed 1) and
# 24 real removals (horses 13-36), never the benchmark's draw (PSNR - Telea / texture / edges /
# ghost), with the membrane base: the band from the copies (sigma 3 alone) +0.02 dB / 0.734 /
# 0.731 / 0.067; by the rule below +0.18 / 0.720 / 0.723 / 0.065, with stripes 8 px apart
# across a 24 px hole kept whole (0.995-1 of the pixels on the right side; the band from the
# base there: 0.78-0.96). A fine sigma of 1 (with the old base) gained 0.06 dB more but left
# texture 0.684.
_DETAIL_SIGMA = 3.0
_FINE_SIGMA = 1.5
# The copies reproduce a pattern when the patches on the hole's edge (40-90 % known) are matched
# with little of their energy unexplained (median squared descriptor distance over the patch's
# own variance): stripes measure 0.000, BSDS500 photos 0.15-0.28 and horse photos 0.08-0.21
# (the lowest: a fence). The base's share of the band rises linearly from 0 at _PATTERN[0] to
# all of it at _PATTERN[0] + _PATTERN[1] (slopes 0.1 / 0.2 / 0.3 measured: +0.20 / +0.18 /
# +0.14 dB, edges 0.720 / 0.723 / 0.726).
_PATTERN = (0.02, 0.2)
# share of the smooth base's colour (not only its brightness) given to the fill: measured on the
# benchmark's 12 horse-shaped holes, another 12 and 12 real removals (with keep_out_object and
# the Telea + biharmonic base of the time): 0 -> 0.57 dB below Telea / ghost 0.043, 0.5 ->
# 0.44 dB / 0.045, 0.7 -> 0.37 dB / 0.053, 1 -> 0.34 dB / 0.066; with the membrane base on the
# tuning holes above, 0.7 gained 0.03 dB for ghost 0.071 against 0.065
_CHROMA = 0.5
# a colour "looks like the removed object" when it is nearer the object's colour clusters than
# the surroundings' by this much (squared CIE Lab distance: Delta E 10). Measured with the same
# holes: 0 (any nearer colour) cost 0.6 dB on holes whose content looks like their surroundings
# (BSDS photos), 100 keeps the PSNR and cut the ghost score of real removals 0.079 -> 0.046
# (Telea + biharmonic base of the time)
_OBJECT_MARGIN = 100.0
# ... unless the hole's content stands out: when at least this share of the pixels under the mask
# are more than Delta E 10 from every colour cluster of the ring, an object is under the mask and
# any colour nearer its clusters than the ring's is kept out (no margin). The share measures
# 0.03 / 0.26 / 0.65 (10th / 50th / largest) for horse-shaped holes in 40 BSDS500 train photos
# (the hole's content is background) and 0.27 / 0.48 / 0.76 / 0.84 (smallest / 10th / 50th /
# 90th) for 88 real horse removals (horses 13-100). Thresholds measured on the tuning holes of
# _DETAIL_SIGMA (PSNR - Telea; ghost on horses 13-36; ghost on horses 37-100, where patch
# scores 0.068): never +0.18 dB / 0.065 / 0.087; 0.7 +0.18 / 0.044 / 0.071; 0.6 +0.16 / 0.030 /
# 0.058; 0.5 +0.08 / 0.030 / 0.050
_DISTINCT = 0.6
_RING = 15  # px of surroundings whose colours the fill should have


def _margin(size: tuple[int, int], params: dict[str, Any]) -> int:
    return int(np.clip(max(size) // 2, 32, 160)) + int(params.get("patch_size", 9))


@register_inpaint("completion", margin=_margin)
def completion(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    patch_size: int = 9,
    iterations: int = 3,
    smooth_base: bool = True,
    keep_out_object: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
) -> np.ndarray:
    """Multi-scale PatchMatch completion (Wexler et al.): texture and structure in wide holes.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Any dtype (16-bit and float are matched in float32 and scaled back).
    mask : (H, W) bool ndarray
        True where pixels are filled.
    patch_size : int
        Side of the square patches (odd, >= 3). 9 measured best on object-shaped holes in
        BSDS500 photos (texture ratio 0.76 against 0.68 for 7 and 0.63 for 5, same PSNR).
    iterations : int
        Search-and-vote rounds at the finest level (coarser levels get more, they are cheap).
    smooth_base : bool
        Keep the copied texture and edges but take the coarse brightness and half the coarse
        colour (Gaussian low-pass, sigma 3 px; 1.5 px unless the surroundings are a regular
        pattern the copies reproduce) from a membrane (Laplace) fill: as sharp, and about 1 dB
        closer to the true photo inside object-shaped holes. False: the copied
        pixels alone, which continue a regular pattern (stripes, a fence) exactly, shading
        included.
    keep_out_object : bool
        The colours of what the mask covers (the object being removed) that its surroundings
        do not have (4 k-means clusters each, in CIE Lab, Delta E 10 apart, or any nearer
        colour when the content under the mask stands out from its surroundings) are kept out
        of the fill: known pixels of such colours are not copied (another horse in the field,
        its shadow's darkest part), and where the smooth base would shade a pixel into them the
        copied colour stays. It reads the pixels under the mask, so it only means something
        when they are the object; with the membrane base it takes the ghost score of the 12
        real horse removals of ``benchmarks/bench_inpaint.py`` to 0.024 (``docs/inpainting.md``).
    seed : int
        Seed of the random search (the fill is reproducible).
    progress : callable or None
        Called as ``progress(done, total)`` after each round, for long fills.

    Returns
    -------
    ndarray
        float32 values in the image's range (rounded back to its dtype by :func:`inpaint`).

    Examples
    --------
    >>> import numpy as np
    >>> from seglab.inpaint import inpaint
    >>> stripes = np.tile(np.repeat(np.array([20, 230], np.uint8), 4), (64, 8))
    >>> hole = np.zeros(stripes.shape, bool); hole[20:44, 20:44] = True
    >>> filled = inpaint(stripes, hole, "completion", smooth_base=False)
    >>> bool(np.abs(filled.astype(int) - stripes)[hole].mean() < 10)
    True
    """
    size = check_int("patch_size", patch_size, minimum=3) | 1
    rounds = check_int("iterations", iterations, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    for name, flag in (("smooth_base", smooth_base), ("keep_out_object", keep_out_object)):
        if not isinstance(flag, (bool, np.bool_)):
            raise expected(name, "True or False", flag)
    if progress is not None and not callable(progress):
        raise expected("progress", "a callable progress(done, total) or None", progress)
    work = _working(image)
    images, holes = _pyramid(work, mask, size)
    colours = avoid = None
    if keep_out_object:
        lab = _lab(work)  # once: the clusters and the map of sources to avoid both read it
        colours = _ObjectColours.of(lab, mask)
        if colours is not None:
            avoid = colours._object_like(lab.reshape(-1, 3)).reshape(mask.shape) & ~mask
    schedule = [rounds + 2 * (len(images) - 1 - level) for level in range(len(images))]
    total, done = sum(schedule) + 1, 0
    field: np.ndarray | None = None
    basis = None  # one set of principal components (from the coarsest level) serves every level
    for level in range(len(images) - 1, -1, -1):
        solver = _Level(images[level], holes[level], size, rng, basis,
                        avoid=None if avoid is None else _shrink(avoid, holes[level].shape))
        basis = solver._basis
        if field is None:
            solver.start_from(_smooth_fill(images[level], holes[level]))
        else:
            solver.start_from_field(field)
        for _ in range(schedule[level]):
            solver.search()
            solver.vote()
            done += 1
            if progress is not None:
                progress(done, total)
        field = solver.field
    # the votes average overlapping patches, which softens texture; a last search and a copy
    # of each pixel from its own patch's match gives the copied texture back at full contrast
    solver.search()
    band_from_base = float(np.clip((solver.unexplained() - _PATTERN[0]) / _PATTERN[1], 0.0, 1.0))
    solver.copy_centres()
    filled = solver.estimate
    if smooth_base:
        filled = _with_smooth_base(filled, work, mask, colours, band_from_base)
    if progress is not None:
        progress(total, total)
    return _scale_back(image, filled)


class _ObjectColours:
    """The colour clusters of the removed object and of its surroundings, to keep the object out."""

    def __init__(self, object_centres: np.ndarray, ring_centres: np.ndarray, margin: float = _OBJECT_MARGIN) -> None:
        self.object_centres, self.ring_centres, self.margin = object_centres, ring_centres, margin

    @classmethod
    def of(cls, lab: np.ndarray, hole: np.ndarray) -> _ObjectColours | None:
        """The clusters of the image's CIE Lab values (:func:`_lab`), and the margin: none when the
        hole's content stands out from the ring (an object is under the mask),
        :data:`_OBJECT_MARGIN` when it looks like its surroundings."""
        around = ring(hole, _RING)
        if not hole.any() or not around.any():
            return None
        ring_centres = colour_centres(lab[around], 4)
        apart = float(np.mean(nearest_distance(lab[hole], ring_centres) > _OBJECT_MARGIN))
        return cls(colour_centres(lab[hole], 4), ring_centres, 0.0 if apart >= _DISTINCT else _OBJECT_MARGIN)

    def looks_like_object(self, values: np.ndarray) -> np.ndarray:
        """(H, W) True where a pixel of ``values`` (the working 0..255 scale) has the object's colours."""
        return self._object_like(_lab(values).reshape(-1, 3)).reshape(values.shape[:2])

    def _object_like(self, lab: np.ndarray) -> np.ndarray:
        near_object = nearest_distance(lab, self.object_centres)
        return near_object + self.margin < nearest_distance(lab, self.ring_centres)

    def keep_out(self, shaded: np.ndarray, copied: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """``shaded``, except where shading turned a copied colour into the object's: there ``copied``."""
        turned = np.zeros(hole.shape, bool)  # only the hole's pixels are read (the crop is larger)
        turned[hole] = (self._object_like(_lab(shaded[hole][None]).reshape(-1, 3))
                        & ~self._object_like(_lab(copied[hole][None]).reshape(-1, 3)))
        weight = np.clip(2.0 * cv2.GaussianBlur(turned.astype(np.float32), (0, 0), 2.0), 0.0, 1.0)
        weight = np.where(hole, weight, 0.0)[:, :, None]
        return shaded * (1.0 - weight) + copied * weight


def _lab(values: np.ndarray) -> np.ndarray:
    """CIE Lab of working values (0..255, one or three channels)."""
    clipped = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return to_lab(clipped[:, :, 0] if clipped.shape[2] == 1 else clipped[:, :, :3])


def _shrink(where: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A pyramid level's copy of a pixel map: True where any of its pixels is."""
    if where.shape == shape:
        return where
    return cv2.resize(where.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_AREA) > 0


def _with_smooth_base(filled: np.ndarray, work: np.ndarray, hole: np.ndarray,
                      colours: _ObjectColours | None = None, band_from_base: float = 0.0) -> np.ndarray:
    """The fill's detail (minus its Gaussian low-pass) on the low-pass of a diffusion fill.

    ``band_from_base`` (0..1) is the share of the middle band (between :data:`_FINE_SIGMA` and
    :data:`_DETAIL_SIGMA`) taken from the diffusion too: 1 in photos, 0 for a regular pattern.

    The diffusion fill (the membrane fill, :func:`~seglab.inpaint.diffusion._harmonic_fill`,
    computed at half size: only its low frequencies are kept) is what scores best in PSNR in
    wide holes; the copied detail is what makes the fill look like the photo around it. The
    membrane never leaves the range of the hole's edge; the mean of Telea and biharmonic used
    before overshot into dark blobs where a dark rim met the edge (biharmonic extrapolates the
    edge's slope) and scored 0.16 dB lower, edges 0.695 against 0.723, on the tuning holes of
    :data:`_DETAIL_SIGMA` (Telea alone: 0.6 dB lower). The price, measured: a regular pattern whose
    period is a large part of the hole (stripes 8 px apart across a 24 px hole) keeps its
    edges but takes the diffusion's shading across the hole; ``smooth_base=False`` fills such
    patterns exactly. The diffusion reads the pixels right at the hole's edge, so an object
    rim the mask misses is smeared into the shading: grow the mask (``dilate_mask``; the CLI
    grows it 3 px). Keeping the diffusion 1-4 px away from the edge instead cost 0.45-1.4 dB
    in PSNR on horse-shaped holes and raised the ghost score on real removals (0.117-0.147
    against 0.110), so the edge pixels are kept.
    """
    height, width = hole.shape
    small, small_hole = _downsample(work, hole)
    smooth = _harmonic_fill(small, small_hole)
    base = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR).reshape(work.shape)
    base = np.where(hole[:, :, None], base, work)

    def correction(sigma: float) -> np.ndarray:
        return (cv2.GaussianBlur(base, (0, 0), sigma) - cv2.GaussianBlur(filled, (0, 0), sigma)).reshape(work.shape)

    per_channel = correction(_DETAIL_SIGMA)
    if band_from_base > 0:
        per_channel = (1.0 - band_from_base) * per_channel + band_from_base * correction(_FINE_SIGMA)
    # the brightness in full, the colour by half (_CHROMA): correcting each channel in full
    # brought in the diffusion's blended colours (ghost score on 12 real horse removals 0.111
    # against 0.079 for brightness only, without keep_out_object)
    brightness = per_channel.mean(axis=2, keepdims=True)
    shaded = filled + brightness + _CHROMA * (per_channel - brightness)
    return shaded if colours is None else colours.keep_out(shaded, filled, hole)


def _pyramid(work: np.ndarray, mask: np.ndarray, size: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Levels from full size down until the hole is about :data:`_COARSEST` patches wide."""
    from seglab.inpaint.auto import hole_width

    levels = int(max(0, np.ceil(np.log2(max(hole_width(mask) / (_COARSEST * size), 1.0)))))
    images, holes = [work], [mask]
    for _ in range(levels):
        smaller_image, smaller_hole = _downsample(images[-1], holes[-1])
        known = ~smaller_hole
        if min(smaller_hole.shape) < 3 * size or known.sum() < 4 * size * size:
            break
        images.append(smaller_image)
        holes.append(smaller_hole)
    return images, holes


def _scale_back(image: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = values.astype(np.float32)
    if image.dtype.kind in "iu" and image.dtype != np.uint8:
        out *= float(np.iinfo(image.dtype).max) / 255.0
    elif image.dtype.kind == "f":
        low, high = float(image.min()), float(image.max())
        out = out * ((high - low) / 255.0) + low
    return out[:, :, 0] if image.ndim == 2 else out


class _Level:
    """The nearest-neighbour field and the estimate at one pyramid level."""

    def __init__(self, image: np.ndarray, hole: np.ndarray, size: int, rng: np.random.Generator,
                 basis: tuple[np.ndarray, np.ndarray] | None = None, avoid: np.ndarray | None = None) -> None:
        self.image, self.hole, self.size, self.rng = image, hole, size, rng
        h = self.h = size // 2
        height, width = hole.shape
        self.shape = (height, width)
        inner = np.zeros(hole.shape, bool)
        inner[h:height - h, h:width - h] = True
        known = (~hole).astype(np.float32)
        full = cv2.boxFilter(known, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)
        source = (full >= size * size - 0.5) & inner
        if not source.any():  # tiny crops: copy from mostly known patches
            source = (full >= 0.5 * size * size) & inner & ~hole
        if avoid is not None:
            kept = source & ~avoid
            if kept.sum() >= 0.3 * source.sum():  # a picture mostly of the object's colours keeps them
                source = kept
        self.source = source.ravel()
        self.sources = np.flatnonzero(self.source)
        kernel = np.ones((size, size), np.uint8)
        self.targets = np.flatnonzero((cv2.dilate(hole.astype(np.uint8), kernel) > 0).ravel() & inner.ravel())
        self.pixels = np.flatnonzero(hole.ravel())
        self.field = np.full(height * width, -1, np.int64)
        self.distance = np.full(self.targets.size, np.inf, np.float32)
        self.trust = _trust(hole, size)[self.targets]
        # votes come from the patches centred within _VOTE_RADIUS of the pixel, not all that cover it
        r = min(_VOTE_RADIUS, h)
        offsets_r, offsets_c = np.mgrid[-r:r + 1, -r:r + 1]
        self.offsets = (offsets_r * width + offsets_c).ravel()
        self.estimate = image.copy()
        self._basis = basis if basis is not None else _pca(image, self.sources, size)
        self.features = self._descriptors(image)  # sources never change: project them once
        self.features[~self.source] = _FAR
        rows, cols = np.divmod(self.targets, width)
        self._box = (max(rows.min() - h, 0), min(rows.max() + h + 1, height),
                     max(cols.min() - h, 0), min(cols.max() + h + 1, width))
        r0, _, c0, _ = self._box
        self._box_index = (rows - r0) * (self._box[3] - c0) + (cols - c0)

    # -------------------------------------------------------------- start
    def start_from(self, estimate: np.ndarray) -> None:
        """Random field, then the given estimate (a smooth fill) as the current image."""
        self.estimate = np.where(self.hole[:, :, None], estimate, self.image).astype(np.float32)
        self.field[self.targets] = self.sources[self.rng.integers(0, self.sources.size, self.targets.size)]

    def start_from_field(self, coarse: np.ndarray) -> None:
        """The coarser level's field, doubled, then a vote with this level's own pixels."""
        height, width = self.shape
        coarse_width = (width + 1) // 2
        rows, cols = np.divmod(self.targets, width)
        parent = coarse[(rows // 2) * coarse_width + cols // 2]
        proposal = np.full(self.targets.size, -1, np.int64)
        has = parent >= 0
        pr, pc = np.divmod(parent[has], coarse_width)
        sr = np.clip(2 * pr + rows[has] % 2, 0, height - 1)
        sc = np.clip(2 * pc + cols[has] % 2, 0, width - 1)
        proposal[has] = sr * width + sc
        ok = proposal >= 0
        ok[ok] = self.source[proposal[ok]]
        random = self.sources[self.rng.integers(0, self.sources.size, self.targets.size)]
        self.field[self.targets] = np.where(ok, proposal, random)
        self.estimate = self.image.copy()
        self.vote()

    # -------------------------------------------------------------- search
    def _descriptors(self, values: np.ndarray) -> np.ndarray:
        """(h*w, dims) projection of every patch of ``values`` on the principal components."""
        mean, basis = self._basis
        depth = values.shape[2]
        out = np.empty((values.shape[0] * values.shape[1], basis.shape[1]), np.float32)
        for k in range(basis.shape[1]):
            kernels = basis[:, k].reshape(self.size, self.size, depth)
            total = np.zeros(values.shape[:2], np.float32)
            for c in range(depth):
                total += cv2.filter2D(np.ascontiguousarray(values[:, :, c]), cv2.CV_32F,
                                      np.ascontiguousarray(kernels[:, :, c]), borderType=cv2.BORDER_REFLECT)
            out[:, k] = (total - float(mean @ basis[:, k])).ravel()
        return out

    def search(self) -> None:
        """One PatchMatch round over all hole patches: propagation, then random search."""
        r0, r1, c0, c1 = self._box
        mine = self._descriptors(self.estimate[r0:r1, c0:c1])[self._box_index]
        features = self.features
        current = self.field[self.targets]
        diff = mine - features[current]
        best = np.einsum("ij,ij->i", diff, diff)
        height, width = self.shape

        def consider(candidates: np.ndarray) -> None:
            nonlocal current, best
            candidates = np.clip(candidates, 0, height * width - 1)
            diff = mine - features[candidates]  # non-sources sit far away: never chosen
            d = np.einsum("ij,ij->i", diff, diff)
            better = d < best
            current = np.where(better, candidates, current)
            best = np.where(better, d, best)

        for step in (1, 2, 4):
            for dr, dc in ((0, step), (0, -step), (step, 0), (-step, 0)):
                shift = dr * width + dc
                neighbour = self.field[np.clip(self.targets + shift, 0, height * width - 1)]
                consider(np.where(neighbour >= 0, neighbour - shift, -1))
            self.field[self.targets] = current
        rows, cols = np.divmod(current, width)
        radius = max(height, width)
        while radius >= 1:
            jr = rows + self.rng.integers(-radius, radius + 1, rows.size)
            jc = cols + self.rng.integers(-radius, radius + 1, cols.size)
            inside = (jr >= 0) & (jr < height) & (jc >= 0) & (jc < width)
            consider(np.where(inside, jr * width + jc, -1))
            radius //= 2
        consider(self.sources[self.rng.integers(0, self.sources.size, self.targets.size)])
        self.field[self.targets] = current
        self.distance = best

    # -------------------------------------------------------------- vote
    def vote(self) -> None:
        """Each hole pixel: the weighted mean of the values the patches covering it copy there."""
        height, width = self.shape
        flat = self.image.reshape(height * width, -1)
        distance = self.distance
        if np.isfinite(distance).all() and distance.size:
            scale = max(float(np.percentile(distance, 25)), 1e-3)
            similarity = np.exp(-distance / (2.0 * scale))
        else:
            similarity = np.ones(self.targets.size, np.float32)
        weight_field = np.zeros(height * width, np.float32)
        weight_field[self.targets] = (similarity * self.trust).astype(np.float32)
        total = np.zeros((self.pixels.size, flat.shape[1]), np.float32)
        count = np.zeros(self.pixels.size, np.float32)
        for offset in self.offsets:
            centre = np.clip(self.pixels - offset, 0, height * width - 1)
            source = self.field[centre]
            ok = source >= 0
            weight = np.where(ok, weight_field[centre], 0.0).astype(np.float32)
            values = flat[np.where(ok, source + offset, 0)]
            total += values * weight[:, None]
            count += weight
        out = self.estimate.reshape(height * width, -1)
        voted = count > 0
        out[self.pixels[voted]] = total[voted] / count[voted, None]

    def unexplained(self) -> float:
        """Median share of an edge patch's energy its match leaves unexplained (after a search).

        Edge patches are 40-90 % known, so the share says how well copies reproduce the
        surroundings: about 0 for a regular pattern, 0.1-0.3 for photos (:data:`_PATTERN`).
        """
        size = (self.size, self.size)
        known = cv2.boxFilter((~self.hole).astype(np.float32), -1, size).ravel()[self.targets]
        edge = (known > 0.4) & (known < 0.9)
        if not edge.any():
            return 1.0
        mean = cv2.boxFilter(self.image, -1, size).reshape(-1, self.image.shape[2])
        square = cv2.boxFilter(self.image * self.image, -1, size).reshape(mean.shape)
        energy = (square - mean * mean).sum(axis=1)[self.targets[edge]] * (self.size * self.size)
        return float(np.median(self.distance[edge] / np.maximum(energy, 1.0)))

    def copy_centres(self) -> None:
        """Each hole pixel copied from the centre of its own patch's match (no averaging)."""
        height, width = self.shape
        flat = self.image.reshape(height * width, -1)
        out = self.estimate.reshape(height * width, -1)
        source = self.field[self.pixels]
        ok = source >= 0
        out[self.pixels[ok]] = flat[source[ok]]




def _trust(hole: np.ndarray, size: int, gamma: float = 1.3) -> np.ndarray:
    """Wexler's spatial confidence per patch centre: ``gamma ** -depth`` averaged over the patch,
    so patches anchored on known pixels lead the fill."""
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    trust = cv2.blur(np.power(gamma, -depth).astype(np.float32), (size, size), borderType=cv2.BORDER_REPLICATE)
    return trust.ravel()


def _pca(image: np.ndarray, sources: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and the first :data:`_DIMS` principal directions of (a sample of) the known patches."""
    h = size // 2
    width = image.shape[1]
    rng = np.random.default_rng(0)
    sample = sources if sources.size <= 1500 else rng.choice(sources, 1500, replace=False)
    rows, cols = np.divmod(sample, width)
    windows = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(0, 1))
    patches = windows[rows - h, cols - h].transpose(0, 2, 3, 1).reshape(sample.size, -1)
    mean = patches.mean(axis=0)
    centred = patches - mean
    covariance = centred.T @ centred
    dims = min(_DIMS, covariance.shape[0])
    # a few rounds of subspace iteration and a small eigh: numpy's full eigh of the 147x147
    # covariance (7x7 colour patches) took 0.1-0.8 s on the loaded test machine, more than the search
    basis = np.linalg.qr(covariance @ rng.standard_normal((covariance.shape[0], dims + 4)))[0]
    for _ in range(3):
        basis = np.linalg.qr(covariance @ basis)[0]
    _, vectors = np.linalg.eigh(basis.T @ covariance @ basis)
    top = (basis @ vectors)[:, ::-1][:, :dims]
    return mean.astype(np.float32), np.ascontiguousarray(top).astype(np.float32)
