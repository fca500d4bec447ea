"""The simulated user of interactive segmentation: clicks, IoU after k clicks and NoC@85 / NoC@90.

The protocol of Xu et al. (2016) as RITM (Sofiiuk et al. 2022) runs it: the first click is
positive, at the centre of the object (the maximum of the distance transform of the ground
truth); every next click goes to the centre of the largest error region, positive on a missed
part and negative on a false alarm; at most ``max_clicks`` (20). NoC@t is the number of clicks
needed to reach IoU ``t``, or ``max_clicks`` when it is never reached.

Any clicker fits: :func:`simulate` takes a function ``predict(points, previous) -> mask``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from seglab.core.errors import InputError
from seglab.core.validate import as_mask, check_int

__all__ = ["Click", "ClickRun", "next_click", "simulate", "noc", "summarize"]

#: A click: (x, y, label) with label 1 = positive (object), 0 = negative (background).
Click = tuple[int, int, int]

#: ``predict(points, previous)``: the mask (H, W) bool for the clicks so far, given the last answer.
Predictor = Callable[[list[Click], "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class ClickRun:
    """One object's simulated session: the clicks made and the IoU after each."""

    clicks: tuple[Click, ...]
    ious: tuple[float, ...]

    def iou_at(self, k: int) -> float:
        """IoU after ``k`` clicks (the last IoU when the run stopped earlier)."""
        return self.ious[min(k, len(self.ious)) - 1]

    def noc(self, threshold: float, max_clicks: int = 20) -> int:
        """Clicks needed to reach IoU ``threshold``; ``max_clicks`` when never reached."""
        for index, iou in enumerate(self.ious[:max_clicks]):
            if iou >= threshold:
                return index + 1
        return max_clicks


def _centre(region: np.ndarray) -> tuple[int, int, float]:
    """(x, y, depth) of the point of ``region`` farthest from its border (and the image border)."""
    padded = np.pad(region.astype(np.uint8), 1)
    depth = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    index = int(np.argmax(depth))
    y, x = divmod(index, region.shape[1])
    return x, y, float(depth[y, x])


def next_click(truth: np.ndarray, prediction: np.ndarray | None) -> Click:
    """The simulated user's next click: the centre of the larger error region.

    Parameters
    ----------
    truth : (H, W) bool ndarray
        The object.
    prediction : (H, W) bool ndarray or None
        The current answer; None before the first click (then the click is the object's centre).

    Returns
    -------
    (x, y, label)
        Label 1 on a missed part of the object, 0 on a false alarm.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((9, 9), bool); truth[2:7, 2:7] = True
    >>> next_click(truth, None)
    (4, 4, 1)
    """
    truth = np.asarray(truth, dtype=bool)
    if not truth.any():
        raise InputError("truth must contain the object (at least one True pixel), got an empty mask")
    if prediction is None:
        x, y, _ = _centre(truth)
        return x, y, 1
    prediction = as_mask(prediction, truth.shape, "prediction")
    missed_x, missed_y, missed = _centre(truth & ~prediction)
    false_x, false_y, false = _centre(prediction & ~truth)
    if missed >= false:
        return missed_x, missed_y, 1
    return false_x, false_y, 0


def _iou(truth: np.ndarray, prediction: np.ndarray) -> float:
    union = np.count_nonzero(truth | prediction)
    return np.count_nonzero(truth & prediction) / union if union else 1.0


def simulate(
    predict: Predictor, truth: np.ndarray, *, max_clicks: int = 20, stop_iou: float | None = None
) -> ClickRun:
    """Run the simulated user on one object.

    Parameters
    ----------
    predict : callable
        ``predict(points, previous)`` with ``points`` the list of (x, y, label) clicks so far and
        ``previous`` the last mask (None on the first click); returns an (H, W) mask.
    truth : (H, W) bool ndarray
        The object.
    max_clicks : int
        Clicks at most.
    stop_iou : float, optional
        Stop as soon as the IoU reaches this (later clicks cannot change NoC at that threshold
        or below; IoU after k clicks then repeats the last value).

    Returns
    -------
    ClickRun
    """
    max_clicks = check_int("max_clicks", max_clicks, minimum=1)
    truth = np.asarray(truth, dtype=bool)
    clicks: list[Click] = []
    ious: list[float] = []
    previous: np.ndarray | None = None
    for _ in range(max_clicks):
        clicks.append(next_click(truth, previous))
        previous = as_mask(predict(list(clicks), previous), truth.shape, "prediction")
        ious.append(_iou(truth, previous))
        if stop_iou is not None and ious[-1] >= stop_iou:
            break
        if ious[-1] == 1.0:
            break
    return ClickRun(tuple(clicks), tuple(ious))


def noc(runs: Sequence[ClickRun], threshold: float, max_clicks: int = 20) -> float:
    """Mean number of clicks to reach IoU ``threshold`` over ``runs`` (NoC@85 is ``threshold=0.85``)."""
    if not runs:
        raise InputError("runs must hold at least one ClickRun, got none")
    return float(np.mean([run.noc(threshold, max_clicks) for run in runs]))


def summarize(runs: Sequence[ClickRun], max_clicks: int = 20, ks: Sequence[int] = (1, 3, 5)) -> dict[str, float]:
    """NoC@85, NoC@90, mean IoU after each of ``ks`` clicks and the share of objects that never
    reach 0.90 (``"fail@90"``)."""
    summary = {"noc85": noc(runs, 0.85, max_clicks), "noc90": noc(runs, 0.90, max_clicks)}
    for k in ks:
        summary[f"iou@{k}"] = float(np.mean([run.iou_at(k) for run in runs]))
    summary["fail@90"] = float(np.mean([max(run.ious[:max_clicks]) < 0.90 for run in runs]))
    return summary
