import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.metrics.boundary import boundary_counts, correspond_pixels, seg2bmap, summarize_boundaries
from seglab.metrics.region import (
    adapted_rand_error, contingency, covering, rand_index, region_counts, summarize_regions,
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
