"""One tiling engine for images of any size: overlapping tiles, seam stitching, probability blending.

- :func:`segment_tiled` runs a registered method tile by tile. Pixel-wise methods (``threshold``
  with a fixed value, ``otsu`` with its threshold from a streamed histogram of the whole image,
  ``adaptive`` with a halo as wide as its block) give exactly the untiled labels;
  ``connected=True`` adds connected components joined across the seams (union-find over the
  label pairs along them). Other methods run with a halo and their regions that overlap across
  a seam are merged.
- :func:`blend_tiles` / :func:`blend_strips` blend the probabilities of a ``predict_tile``
  callback over overlapping tiles (deep models), in a rolling strip of rows.
- Large TIFFs are read lazily (tifffile + zarr); labels are written as a tiled TIFF
  (:func:`read_labels` reads a window back).

How a method tiles is what it declared at registration (``tiling=``, ``halo=``; see
:data:`seglab.core.registry.TILING_MODES`); nothing here names a method.

See ``docs/scale.md``.
"""

from typing import Any

from seglab.tiling._engine import pixelwise_methods, plan_method, segment_tiled
from seglab.tiling._global import GLOBAL_PASSES, Tile, global_otsu, otsu_from_histogram_u8, tile_grid
from seglab.tiling._io import LazyImage, open_image, read_labels, write_tiled_tiff
from seglab.tiling._stitch import TilePlan, merge_tables, run_tile
from seglab.tiling.blend import blend_strips, blend_tiles

__all__ = [
    "GLOBAL_PASSES",
    "LazyImage",
    "Tile",
    "TilePlan",
    "blend_strips",
    "blend_tiles",
    "global_otsu",
    "merge_tables",
    "open_image",
    "otsu_from_histogram_u8",
    "pixelwise_methods",
    "plan_method",
    "read_labels",
    "run_tile",
    "segment_tiled",
    "tile_grid",
    "write_tiled_tiff",
]


def __getattr__(name: str) -> Any:
    if name == "PIXELWISE":  # the old constant, now read from the methods' declarations
        return pixelwise_methods()
    raise AttributeError(f"module 'seglab.tiling' has no attribute {name!r}")
