"""Make the picture of docs/inpainting.md: ``python docs/make_inpaint_pictures.py [DATA]``.

Writes docs/images/inpaint_removals.jpg: real horse removals (Weizmann horse photos, the true
mask grown 5 px), one row per photo, one column per method: the photo with the mask's outline,
then each method's fill, with OpenCV contrib's shift-map and FSR for comparison.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_inpaint import horse_photos, run_method

from seglab.inpaint import dilate_mask

HERE = Path(__file__).resolve().parent / "images"
METHODS = ("auto", "telea", "ns", "biharmonic", "blend", "patch", "exemplar", "xphoto_shiftmap", "xphoto_fsr")
PHOTOS = (0, 2, 3, 5)  # horse001, 003, 004, 006: sand, grass and a fence behind
CELL = (240, 176)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (CELL[0], 18), (0, 0, 0), -1)
    cv2.putText(out, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main(data: Path) -> None:
    pairs = horse_photos(data, max(PHOTOS) + 1)
    rows = []
    for index in PHOTOS:
        image, horse = pairs[index]
        mask = dilate_mask(horse, 5)
        outlined = image.copy()
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(outlined, contours, -1, (255, 0, 255), 2)
        cells = [_label(cv2.resize(outlined, CELL, interpolation=cv2.INTER_AREA), "photo + mask")]
        for method in METHODS:
            filled = run_method(method, image, mask)
            cells.append(_label(cv2.resize(filled, CELL, interpolation=cv2.INTER_AREA), method))
        rows.append(np.hstack(cells))
        print(f"done horse {index + 1}", file=sys.stderr, flush=True)
    grid = np.vstack(rows)
    HERE.mkdir(exist_ok=True)
    cv2.imwrite(str(HERE / "inpaint_removals.jpg"), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data")
