"""The simulated clicker: click placement, stopping, NoC and IoU@k on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from seglab.core.errors import InputError
from seglab.metrics.interactive import ClickRun, next_click, noc, simulate, summarize


def _square() -> np.ndarray:
    truth = np.zeros((20, 30), bool)
    truth[4:15, 6:17] = True  # centre (x, y) = (11, 9)
    return truth


def test_first_click_is_the_centre_of_the_object() -> None:
    assert next_click(_square(), None) == (11, 9, 1)


def test_next_click_goes_to_the_larger_error_with_its_sign() -> None:
    truth = _square()
    prediction = truth.copy()
    prediction[4:15, 6:9] = False  # a 3-pixel-wide miss
    prediction[2:18, 20:28] = True  # an 8-pixel-wide false alarm: deeper, so it wins
    x, y, label = next_click(truth, prediction)
    assert label == 0 and 20 <= x < 28 and 2 <= y < 18
    prediction[2:18, 20:28] = False
    x, y, label = next_click(truth, prediction)
    assert label == 1 and 6 <= x < 9 and 4 <= y < 15


def test_error_at_the_image_border_counts_its_distance_to_the_border() -> None:
    truth = np.zeros((20, 20), bool)
    truth[:, :10] = True  # touches the left, top and bottom borders
    x, y, _ = next_click(truth, None)
    assert x in (4, 5) and 4 <= y <= 15  # 5 pixels from the left border, not 0


def test_simulate_stops_when_perfect_and_runs_to_the_limit_otherwise() -> None:
    truth = _square()
    perfect = simulate(lambda points, previous: truth, truth)
    assert perfect.clicks == ((11, 9, 1),) and perfect.ious == (1.0,)
    seen = []

    def nothing(points, previous):
        seen.append((list(points), previous))
        return np.zeros_like(truth)

    empty = simulate(nothing, truth, max_clicks=4)
    assert len(empty.ious) == 4 and set(empty.ious) == {0.0}
    assert seen[0][1] is None and seen[1][1] is not None and len(seen[3][0]) == 4
    assert empty.noc(0.85, 4) == 4


def test_noc_and_summary_from_known_runs() -> None:
    runs = [ClickRun(((0, 0, 1),) * 3, (0.5, 0.87, 0.95)), ClickRun(((0, 0, 1),), (0.92,))]
    assert runs[0].noc(0.85) == 2 and runs[0].noc(0.90) == 3 and runs[1].noc(0.90) == 1
    assert noc(runs, 0.90) == 2.0
    summary = summarize(runs, ks=(1, 3))
    assert summary["noc85"] == 1.5 and summary["noc90"] == 2.0
    assert summary["iou@1"] == pytest.approx((0.5 + 0.92) / 2)
    assert summary["iou@3"] == pytest.approx((0.95 + 0.92) / 2)  # a stopped run keeps its last IoU
    assert summary["fail@90"] == 0.0


def test_errors() -> None:
    with pytest.raises(InputError, match="truth must contain the object"):
        next_click(np.zeros((5, 5), bool), None)
    with pytest.raises(InputError, match=r"prediction must have shape \(20, 30\) like the image, got \(5, 5\)"):
        next_click(_square(), np.zeros((5, 5), bool))
    with pytest.raises(InputError, match="runs must hold at least one ClickRun"):
        noc([], 0.9)
    with pytest.raises(InputError, match="max_clicks"):
        simulate(lambda p, q: q, _square(), max_clicks=0)
