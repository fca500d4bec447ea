"""``segment_tiled``: any method on an image of any size, with bounded memory."""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation, json_safe
from seglab.tiling._global import GLOBAL_PASSES, Tile, TileMap, tile_grid
from seglab.tiling._io import LazyImage, label_dtype, open_image, write_tiled_tiff
from seglab.tiling._stitch import TilePlan, TileResult, merge_tables, run_tile

__all__ = ["pixelwise_methods", "plan_method", "segment_tiled"]

def pixelwise_methods() -> tuple[str, ...]:
    """Methods registered as tiling exactly (``tiling="pixel"`` or ``"global"``)."""
    from seglab.core.registry import methods

    return tuple(info.name for info in methods() if info.tiling in ("pixel", "global"))


def __getattr__(name: str) -> Any:
    if name == "PIXELWISE":  # the old constant, now read from the registry's declarations
        return pixelwise_methods()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def plan_method(method: str, image: LazyImage, params: dict[str, Any], *, tile: int, halo: int,
                connected: bool, map_tiles: TileMap | None = None, source: Any = None
                ) -> tuple[TilePlan, dict[str, Any]]:
    """How ``method`` runs on tiles, from what it declared at registration (``tiling``, ``halo``).

    A ``"global"`` method's pass over the whole image runs first (:data:`GLOBAL_PASSES`, e.g.
    Otsu's streamed histogram); ``map_tiles`` and ``source`` (the image's path) run it on
    workers; by default it runs here.

    Raises
    ------
    InputError
        The method cannot be tiled (``tiling="none"``), or its global pass refuses the parameters.
    """
    from seglab.core.registry import check_params, get_method

    info = get_method(method)
    check_params(info, params)
    if info.tiling == "none":
        raise InputError(f"method {info.name!r} must see the whole image (it is registered with tiling='none'), "
                         "so it cannot run tiled; run it without --tiled / segment_tiled")
    if info.tiling == "model":
        raise InputError(f"method {info.name!r} is a deep model: segment_tiled blends its probabilities itself")
    meta: dict[str, Any] = {}
    name, tile_params = info.name, dict(params)
    halo = info.tile_halo(params, halo)
    if info.tiling == "global":
        name, tile_params, meta = GLOBAL_PASSES.get(info.name)(image, params, tile=tile, map_tiles=map_tiles,
                                                               source=source)
        halo = get_method(name).tile_halo(tile_params, halo)
    if info.tiling in ("pixel", "global"):
        mode = "components" if connected else "pixel"
    else:
        mode = "regions"
        warnings.warn(
            f"method {info.name!r} is not pixel-wise: tiles are segmented with a halo of {halo} pixels and "
            "regions that overlap across seams are merged, which approximates the untiled result",
            UserWarning,
            stacklevel=3,
        )
    return TilePlan(name, tile_params, mode, halo), meta


def segment_tiled(
    image: Any,
    method: str = "otsu",
    out_path: Any = None,
    *,
    tile: int = 1024,
    halo: int = 32,
    connected: bool = False,
    workers: int = 1,
    client: Any = None,
    **params: Any,
) -> Segmentation | Path:
    """Segment an image tile by tile: bounded memory, and exactly the untiled result for pixel-wise methods.

    Parameters
    ----------
    image : path-like or (H, W[, 3]) ndarray
        An image file (a TIFF is read lazily, tile by tile, through zarr) or an array.
    method : str
        A registered method. ``otsu`` computes its threshold from a streamed histogram of the
        whole image first; ``threshold`` (fixed), ``otsu`` and ``adaptive`` give exactly the
        untiled labels. ``"model"`` (a deep checkpoint, ``model=PATH``) blends overlapping tile
        probabilities and writes the arg-max class (label i = class i). Other methods run on each
        tile with its halo and regions that overlap across a seam are merged (an approximation;
        a UserWarning says so).
    out_path : path-like, optional
        Write the labels as a tiled, compressed TIFF there (atomically) and a JSON summary
        beside it (``.json``), and return the path; memory then stays bounded by the tile
        size. Without it the labels are returned as a :class:`Segmentation`.
    tile : int
        Tile edge in pixels, a multiple of 16 (the TIFF tile size).
    halo : int
        Context in pixels added around each tile (adaptive thresholds widen it to their block).
    connected : bool
        Split a pixel-wise result into connected components (8-connected), joined across
        seams: the same labels as ``segment(...).split_connected()``.
    workers : int
        Tiles processed in parallel by a local process pool (needs a file ``image``).
    client : distributed.Client, optional
        Run the tiles on a Dask cluster (needs a file that the workers can read).
    **params
        The method's parameters.

    Returns
    -------
    Segmentation or Path
        The labels (``meta`` has ``tile``, ``halo``, ``mode`` and, for otsu, ``threshold``),
        or ``out_path``.

    Raises
    ------
    InputError
        A bad tile size, an unknown method or parameter, a constant image with otsu.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((40, 40), np.uint8); image[5:35, 5:35] = 200
    >>> segment_tiled(image, "otsu", tile=16, connected=True).areas.tolist()
    [900]
    """
    from seglab.core.validate import check_int

    tile = check_int("tile", tile, minimum=16)
    if tile % 16:
        raise InputError(f"tile must be a multiple of 16 (the TIFF tile size), got {tile}")
    halo = check_int("halo", halo, minimum=0)
    workers = check_int("workers", workers, minimum=1)
    start = time.perf_counter()
    lazy = open_image(image)
    from seglab.core.registry import get_method

    if get_method(method).tiling == "model":
        if workers > 1 or client is not None:
            raise InputError(f"workers and client must be left out for method {method!r} (its tiles run as "
                             f"batches on one device), got workers={workers}, client={client!r}")
        return _segment_tiled_deep(lazy, out_path, method=method, tile=tile, halo=halo, start=start, params=params)
    source = lazy.path if (workers > 1 or client is not None) else lazy
    if source is None:
        raise InputError("image must be a file for workers > 1 or a Dask client, got an array")
    with tile_mapper(workers, client) as map_tiles, tempfile.TemporaryDirectory(prefix="seglab-tiles-") as scratch:
        plan, meta = plan_method(method, lazy, params, tile=tile, halo=halo, connected=connected,
                                 map_tiles=map_tiles, source=source)
        tiles = tile_grid(lazy.shape, tile, plan.halo)
        meta.update(method=method, params=json_safe(params), tile=tile, halo=plan.halo, mode=plan.mode,
                    shape=[lazy.height, lazy.width])
        store = _Store(Path(scratch), keep_in_memory=out_path is None)
        results = {}
        names: tuple[str, ...] = ()
        for result in map_tiles(partial(run_tile, source, plan=plan, width=lazy.width), tiles):
            names = names or result.class_names
            store.put(result)
            result.labels = None  # stitching needs only the seam bands and tables
            results[(result.tile.row, result.tile.col)] = result
        if plan.mode == "pixel":
            tables, count = None, max((r.count for r in results.values()), default=0)
        else:
            tables, count = merge_tables(results, plan.mode)
        meta["n_regions"], meta["time_s"] = count, round(time.perf_counter() - start, 3)
        final = (_relabel(store, t, tables) for t in tiles)
        if out_path is None:
            labels = np.zeros((lazy.height, lazy.width), np.int32)
            for t, block in zip(tiles, final):
                labels[t.core[0]:t.core[1], t.core[2]:t.core[3]] = block
            return _as_segmentation(labels, plan, count, meta, names)
        out = Path(out_path)
        write_tiled_tiff(out, (lazy.height, lazy.width), tile, label_dtype(count), final)
    meta["time_s"] = round(time.perf_counter() - start, 3)
    from seglab.core.atomic import atomic_write_text

    atomic_write_text(out.with_suffix(".json"), json.dumps(json_safe(meta), indent=2) + "\n")
    return out


def _segment_tiled_deep(lazy: LazyImage, out_path: Any, *, method: str, tile: int, halo: int, start: float,
                        params: dict[str, Any]) -> Segmentation | Path:
    """A deep model: blended probabilities, labels = class index (region i is class i)."""
    from seglab.core.registry import check_params, get_method
    from seglab.tiling._deep import deep_label_tiles, model_class_names

    check_params(get_method(method), params)
    if "model" not in params:
        raise InputError(f"parameter 'model' of method {method!r} must be a checkpoint path, got nothing")
    names = model_class_names(params)
    tiles = tile_grid(lazy.shape, tile, 0)
    blocks = deep_label_tiles(lazy, params, tile=tile, halo=halo)
    meta = {"method": method, "params": json_safe(params), "tile": tile, "halo": halo, "mode": "blend",
            "shape": [lazy.height, lazy.width], "n_regions": len(names) - 1}
    if out_path is None:
        labels = np.zeros((lazy.height, lazy.width), np.int32)
        for t, block in zip(tiles, blocks):
            labels[t.core[0]:t.core[1], t.core[2]:t.core[3]] = block
        meta["time_s"] = round(time.perf_counter() - start, 3)
        return Segmentation(labels, class_ids=np.arange(1, len(names)), class_names=names, meta=meta)
    out = Path(out_path)
    write_tiled_tiff(out, (lazy.height, lazy.width), tile, np.dtype(np.uint8), blocks)
    meta["time_s"] = round(time.perf_counter() - start, 3)
    meta["class_names"] = list(names)
    from seglab.core.atomic import atomic_write_text

    atomic_write_text(out.with_suffix(".json"), json.dumps(json_safe(meta), indent=2) + "\n")
    return out


class _Store:
    """Core labels of finished tiles: in memory, or as .npy files in a scratch folder (bounded memory)."""

    def __init__(self, folder: Path, keep_in_memory: bool) -> None:
        self.folder, self.memory = folder, {} if keep_in_memory else None

    def put(self, result: TileResult) -> None:
        key = (result.tile.row, result.tile.col)
        if self.memory is not None:
            self.memory[key] = result.labels
        else:
            np.save(self.folder / f"{key[0]}_{key[1]}.npy", result.labels)

    def get(self, tile: Tile) -> np.ndarray:
        key = (tile.row, tile.col)
        if self.memory is not None:
            return self.memory.pop(key)
        return np.load(self.folder / f"{key[0]}_{key[1]}.npy")


def _relabel(store: _Store, tile: Tile, tables: dict[tuple[int, int], np.ndarray] | None) -> np.ndarray:
    block = store.get(tile)
    return block if tables is None else tables[(tile.row, tile.col)][block]


@contextlib.contextmanager
def tile_mapper(workers: int, client: Any) -> Iterator[TileMap]:
    """A ``map_tiles(function, items)`` that yields results as they finish: on a Dask cluster, on
    ``workers`` local processes (one pool for every pass over the tiles), or here, in order."""
    if client is not None:
        def on_cluster(function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
            from distributed import as_completed

            for future in as_completed(client.map(function, items, pure=False)):
                yield future.result()
                future.release()

        yield on_cluster
    elif workers > 1:
        import concurrent.futures as cf

        from seglab.core.parallel import pool_context

        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
            def on_pool(function: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
                for future in cf.as_completed([pool.submit(function, item) for item in items]):
                    yield future.result()

            yield on_pool
    else:
        yield lambda function, items: map(function, items)


def _as_segmentation(labels: np.ndarray, plan: TilePlan, count: int, meta: dict[str, Any],
                     names: tuple[str, ...]) -> Segmentation:
    """The stitched labels with the class names the tiles' method gave (pixel-wise methods label by class)."""
    if plan.mode == "pixel" and 0 < count < len(names):
        return Segmentation(labels, class_ids=np.arange(1, count + 1), class_names=names, meta=meta)
    if plan.mode == "components" and len(names) == 2 and count:  # one foreground class, split into components
        return Segmentation(labels, class_ids=np.ones(count, np.int64), class_names=names, meta=meta)
    return Segmentation(labels, meta=meta)
