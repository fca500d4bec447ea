"""BSDS500 ground-truth files (``groundTruth/*.mat``): read by the dataset reader and the BSDS benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seglab.core.errors import FormatError

__all__ = ["load_bsds_ground_truth"]


def load_bsds_ground_truth(path: str | Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Segmentations and boundary maps of every annotator from a BSDS ``groundTruth`` .mat.

    Raises
    ------
    FormatError
        If the file cannot be read or has no ``groundTruth`` cell.
    """
    from scipy.io import loadmat

    try:
        cells = loadmat(str(path))["groundTruth"][0]
        segs = [np.asarray(c["Segmentation"][0, 0]) for c in cells]
        bounds = [np.asarray(c["Boundaries"][0, 0]) > 0 for c in cells]
    except Exception as error:  # noqa: BLE001 - any failure of a broken file
        raise FormatError(f"BSDS ground truth {str(path)!r} must be a .mat with a 'groundTruth' cell "
                          f"of Segmentation / Boundaries, got an unreadable file ({error})") from None
    if not segs:
        raise FormatError(f"BSDS ground truth {str(path)!r} must hold at least one annotator, got none")
    return segs, bounds
