import json

import numpy as np
import pytest
import tifffile
from scipy import ndimage

import seglab
from seglab.core.errors import InputError
from seglab.core.registry import METHODS, register
from seglab.core.segmentation import Segmentation
from seglab.tiling import blend_tiles, otsu_from_histogram_u8, read_labels, segment_tiled, tile_grid


def _blobs(shape=(300, 410), dtype=np.uint8, colour=True):
    rng = np.random.default_rng(0)
    g = ndimage.gaussian_filter(rng.random(shape), 4)
    g = (g - g.min()) / (g.max() - g.min())
    if dtype == np.uint8:
        g = (g * 255).astype(np.uint8)
    elif dtype == np.uint16:
        g = (g * 60000).astype(np.uint16)
    else:
        g = g.astype(dtype)
    return np.dstack([g, g[::-1], g[:, ::-1]]) if colour else g


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float64])
def test_tiled_otsu_equals_untiled_exactly(dtype):
    image = _blobs(dtype=dtype)
    before = image.copy()
    reference = seglab.segment(image, "otsu")
    tiled = segment_tiled(image, "otsu", tile=64, halo=8)
    assert tiled == reference
    assert tiled.meta["threshold"] == reference.meta["threshold"]
    connected = segment_tiled(image, "otsu", tile=48, connected=True)
    assert connected == reference.split_connected()  # same components, same numbering
    assert np.array_equal(image, before)


def test_tiled_fixed_threshold_and_adaptive_equal_untiled():
    image = _blobs(colour=False)
    assert segment_tiled(image, "threshold", tile=32, value=100.0).labels.tolist() == \
        seglab.segment(image, "threshold", value=100.0).labels.tolist()
    assert np.array_equal(segment_tiled(image, "adaptive", tile=64, halo=0, block_size=21).labels,
                          seglab.segment(image, "adaptive", block_size=21).labels)


def test_otsu_from_histogram_matches_opencv():
    import cv2

    rng = np.random.default_rng(3)
    for _ in range(50):
        parts = [rng.normal(rng.uniform(0, 255), rng.uniform(1, 60), rng.integers(10, 2000)) for _ in range(3)]
        row = np.clip(np.concatenate(parts), 0, 255).astype(np.uint8)[None]
        assert otsu_from_histogram_u8(np.bincount(row.ravel(), minlength=256)) == cv2.threshold(
            row, 0, 1, cv2.THRESH_OTSU)[0]


@pytest.fixture
def components_method():
    @register("test_components", kind="region")
    def test_components(image: np.ndarray, *, value: float = 110.0) -> Segmentation:
        """Connected components above a grey level (a region method: labels are per-tile ids)."""
        return Segmentation(ndimage.label(seglab.core.validate.to_gray(image) > value, np.ones((3, 3)))[0])

    yield "test_components"
    METHODS.remove("test_components")


def test_region_method_regions_merge_across_seams(components_method):
    image = _blobs(colour=False)
    with pytest.warns(UserWarning, match="not pixel-wise"):
        tiled = segment_tiled(image, components_method, tile=48, halo=16)
    reference = seglab.segment(image, components_method)
    assert len(tiled) == len(reference) > 10
    assert np.array_equal(tiled.labels, reference.labels)  # raster-order numbering in both


def test_tiff_in_tiff_out_lazily(tmp_path):
    image = _blobs()
    source = tmp_path / "big.tif"
    tifffile.imwrite(source, image, tile=(64, 64))
    out = segment_tiled(source, "otsu", tmp_path / "big.labels.tif", tile=64, connected=True)
    expected = seglab.segment(image, "otsu").split_connected()
    assert np.array_equal(read_labels(out), expected.labels)
    assert np.array_equal(read_labels(out, (10, 90, 200, 333)), expected.labels[10:90, 200:333])
    with tifffile.TiffFile(out) as tif:
        assert tif.pages[0].is_tiled and tif.pages[0].tilewidth == 64
    meta = json.loads((tmp_path / "big.labels.json").read_text())
    assert meta["n_regions"] == len(expected) and meta["mode"] == "components"


def test_blend_tiles_is_exact_for_a_pixelwise_predictor():
    image = _blobs(colour=False)
    probs = blend_tiles(image, lambda w: np.stack([w / 255.0, 1 - w / 255.0]), tile=64, halo=8)
    assert probs.shape == (2,) + image.shape and probs.dtype == np.float32
    np.testing.assert_allclose(probs[0], image / 255.0, atol=1e-6)
    with pytest.raises(InputError, match=r"predict_tile output must have shape \(C, 72, 72\), got \(2, 3\)"):
        blend_tiles(image, lambda w: np.zeros((2, 3)), tile=64, halo=8)


def test_tile_grid_covers_the_image_once():
    tiles = tile_grid((100, 70), 32, 5)
    cover = np.zeros((100, 70), int)
    for t in tiles:
        cover[t.core[0]:t.core[1], t.core[2]:t.core[3]] += 1
        assert t.window[0] == max(0, t.core[0] - 5) and t.window[3] == min(70, t.core[3] + 5)
    assert (cover == 1).all() and len(tiles) == 4 * 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tile": 40}, "tile must be a multiple of 16 .* got 40"),
        ({"tile": 8}, "tile must be an integer >= 16, got 8"),
        ({"method": "threshold", "kind": "li"}, "threshold kind must be 'fixed' for tiled processing"),
        ({"workers": 2}, "image must be a file for workers > 1 or a Dask client, got an array"),
        ({"method": "model", "model": "m.pt", "workers": 2},
         "workers and client must be left out for method 'model' .* got workers=2, client=None"),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        segment_tiled(_blobs((40, 40)), **{"method": "otsu", **kwargs})


@pytest.mark.parametrize(("dtype", "passes"), [(np.uint8, ["gray_counts"]),
                                               (np.float64, ["gray_range", "gray_histogram"])])
def test_otsu_histogram_pass_runs_through_the_tile_mapper(dtype, passes):
    from seglab.tiling import plan_method
    from seglab.tiling._io import open_image

    calls = []

    def spy(function, items):
        calls.append((function.func.__name__, len(items)))
        return map(function, items)

    image = _blobs(dtype=dtype)
    plan, meta = plan_method("otsu", open_image(image), {}, tile=64, halo=0, connected=False, map_tiles=spy)
    assert calls == [(name, 5 * 7) for name in passes]  # 300 x 410 in 64-pixel tiles
    assert meta["threshold"] == seglab.segment(image, "otsu").meta["threshold"]


@pytest.mark.parametrize(("parallel", "dtype"), [("processes", np.uint8), ("processes", np.uint16),
                                                ("processes", np.float32), ("dask", np.uint8), ("dask", np.float32)])
def test_tiles_of_one_image_in_parallel_equal_untiled(tmp_path, parallel, dtype):
    distributed = pytest.importorskip("distributed")
    image = _blobs(dtype=dtype)
    path = seglab.save_image(tmp_path / "blobs.tif", image)
    assert seglab.load_image(path).dtype == dtype  # the TIFF keeps it: Otsu's histogram pass is per dtype
    reference = seglab.segment(seglab.load_image(path), "otsu").split_connected()
    if parallel == "processes":
        tiled = segment_tiled(path, "otsu", tile=64, connected=True, workers=2)
    else:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            tiled = segment_tiled(path, "otsu", tile=64, connected=True, client=client)
    assert tiled == reference
