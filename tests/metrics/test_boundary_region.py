import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.metrics.boundary import boundary_counts, correspond_pixels, seg2bmap, summarize_boundaries
from seglab.metrics.region import (
    adapted_rand_error,
    contingency,
    covering,
    rand_index,
    region_counts,
    summarize_regions,
    variation_of_information,
)


@pytest.mark.parametrize("method", ["assignment", "cardinality"])
def test_matching_is_one_to_one_within_radius(method):
    a = np.zeros((40, 40), bool)
    a[10, 5:25] = True                  # 20 machine pixels
    b = np.zeros((40, 40), bool)
    b[11, 5:15] = True                  # 10 human pixels, one row away
    b[30, 5:15] = True                  # 10 human pixels, out of reach (radius 0.42 px? no: 0.0075 * 56.6)
    m1, m2 = correspond_pixels(a, b, max_dist=0.05)  # radius 2.83 px
    assert m1.sum() == m2.sum() == 10   # one to one: 10 pairs, not 20 nearest-neighbour hits
    assert m2[11, 5:15].all() and not m2[30].any()
    before = a.copy()
    correspond_pixels(a, b, method=method)
    assert (a == before).all()


def test_matching_errors():
    with pytest.raises(InputError, match=r"bmap2 must have shape \(4, 4\) like bmap1, got \(4, 5\)"):
        correspond_pixels(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(InputError, match="method must be one of"):
        correspond_pixels(np.zeros((4, 4)), np.zeros((4, 4)), method="nearest")


def test_seg2bmap_matches_bsds():
    seg = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    assert seg2bmap(seg).astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 0, 0]]


def test_perfect_and_shifted_boundaries():
    seg = np.ones((60, 60), int)
    seg[:, 30:] = 2
    gt_b = seg2bmap(seg)
    perfect = summarize_boundaries([boundary_counts([seg], [gt_b])])
    assert perfect["ods"]["f"] == 1.0 and perfect["ois"]["f"] == 1.0
    far = np.ones((60, 60), int)
    far[:, 45:] = 2                     # 15 px away: radius 0.0075 * 84.9 = 0.64 px
    miss = summarize_boundaries([boundary_counts([far], [gt_b])])
    assert miss["ods"]["f"] == 0.0
    soft = gt_b.astype(float) * 0.5     # found only at thresholds <= 0.5
    counts = boundary_counts(soft, [gt_b], thresholds=3)
    assert counts.cnt_r.tolist() == [60, 60, 0]
    assert summarize_boundaries([counts])["ap"] == pytest.approx(0.505)  # (R, P) = (0, 0) to (1, 1), 101 samples


def test_region_metrics_exact():
    gt = np.array([[1, 1, 2, 2]])
    whole = np.array([[1, 1, 1, 1]])
    table = contingency(whole, gt)
    assert table.tolist() == [[0, 0, 0], [0, 2, 2]]
    assert rand_index(table) == pytest.approx(1 - 4 / 6)
    assert variation_of_information(table) == pytest.approx(1.0)
    assert covering(whole, [gt]) == 0.5
    assert covering(gt, [gt, whole]) == pytest.approx((2 * 1 + 2 * 1 + 4 * 0.5) / 8)
    assert adapted_rand_error(gt, gt) == 0.0
    assert adapted_rand_error(whole, gt) > 0
    with pytest.raises(InputError, match=r"segmentation must have shape \(1, 4\) like the ground truth"):
        contingency(np.zeros((4, 1), int), gt)


def test_region_counts_summary():
    gt = np.ones((10, 10), int)
    gt[:, 5:] = 2
    coarse = np.ones((10, 10), int)
    counts = region_counts([gt, coarse], [gt])
    summary = summarize_regions([counts])
    assert summary["covering"]["ods"] == 1.0 and summary["covering"]["threshold"] == 1.0
    assert summary["pri"]["ods"] == 1.0 and summary["voi"]["ods"] == 0.0
    assert counts.voi.tolist() == pytest.approx([0.0, 1.0])


def test_thin_is_skimage_thin_pixel_for_pixel():
    from scipy import ndimage
    from skimage.morphology import thin as skimage_thin

    from seglab.metrics.boundary import thin

    rng = np.random.default_rng(3)
    field = ndimage.gaussian_filter(rng.random((60, 80)), 2)
    for level in np.quantile(field, [0.2, 0.5, 0.8]):
        blobs = field >= level
        before = blobs.copy()
        assert (thin(blobs) == skimage_thin(blobs)).all()
        assert (blobs == before).all()


def test_counts_reuse_solved_components_across_thresholds():
    rng = np.random.default_rng(4)
    gt = np.zeros((50, 50), bool)
    gt[10, 5:45] = gt[5:45, 30] = True
    pb = np.zeros((50, 50))
    pb[11, 5:45] = rng.uniform(0.2, 1, 40)   # near the horizontal human line
    pb[5:45, 31] = rng.uniform(0.2, 1, 40)   # near the vertical one
    counts = boundary_counts(pb, [gt], thresholds=9)
    for t, value in enumerate(counts.thresholds):  # each threshold alone, no cache shared
        alone = boundary_counts(pb, [gt], thresholds=[value])
        assert (alone.cnt_r[0], alone.cnt_p[0], alone.sum_p[0]) == (counts.cnt_r[t], counts.cnt_p[t], counts.sum_p[t])


def test_edge_map_with_regions_prediction():
    from seglab.metrics.bsds import evaluate_bsds_image

    seg = np.ones((30, 30), int)
    seg[:, 15:] = 2
    edges = seg2bmap(seg).astype(float)
    bdry, regions = evaluate_bsds_image({"boundary": edges, "segs": [seg]}, [seg], thresholds=3)
    assert bdry.cnt_p[0] == bdry.sum_p[0] == bdry.cnt_r[0] > 0 and regions.cnt_r[0] == regions.sum_r[0]
    bdry, regions = evaluate_bsds_image({"boundary": edges}, [seg], thresholds=3)
    assert regions is None
