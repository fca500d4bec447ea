"""A deep model through the tiling engine: blended tiles agree with whole-image prediction."""

from __future__ import annotations

import json

import numpy as np

import seglab
from seglab.tiling import read_labels, segment_tiled


def _disks(shape=(300, 260), seed=3):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, bool)
    for cy, cx in [(60, 60), (150, 180), (240, 90), (130, 120)]:
        mask |= (rows - cy) ** 2 + (cols - cx) ** 2 <= 28**2
    image = np.where(mask, 200, 40) + rng.normal(0, 8, shape)
    return np.clip(image, 0, 255).astype(np.uint8), mask


def test_tiled_model_matches_whole_image_prediction(trained, tmp_path):
    image, _ = _disks()
    checkpoint = str(trained / "best.pt")
    whole = seglab.segment(image, "model", model=checkpoint)
    tiled = segment_tiled(image, "model", tile=128, halo=32, model=checkpoint)
    assert tiled.class_names == whole.class_names
    assert tiled.labels.shape == image.shape
    assert (tiled.class_map() == whole.class_map()).mean() >= 0.99

    seglab.save_image(tmp_path / "disks.tif", image)
    out = segment_tiled(tmp_path / "disks.tif", "model", tmp_path / "disks.labels.tif", tile=128, halo=32,
                        model=checkpoint)
    np.testing.assert_array_equal(read_labels(out), tiled.labels)
    summary = json.loads(out.with_suffix(".json").read_text())
    assert summary["class_names"] == list(whole.class_names) and summary["mode"] == "blend"


def test_tiled_model_loads_the_checkpoint_once_and_runs_one_pass_per_window(trained, monkeypatch):
    import seglab.deep.models as models
    import seglab.deep.predict as predict_module
    from seglab.deep import method

    image, _ = _disks((200, 150))
    loads, passes = [], []
    real_load, real_run = models.load, predict_module._run_tta
    monkeypatch.setattr(models, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    monkeypatch.setattr(predict_module, "_run_tta", lambda run, batch, tta: passes.append(batch.shape) or
                        real_run(run, batch, tta))
    method._cached.cache_clear()
    segment_tiled(image, "model", tile=64, halo=16, model=str(trained / "best.pt"), backend="torch")
    assert len(loads) == 1
    # 4 x 3 tiles of 64 with a 16-pixel halo: one batch of one window each, never tiles inside a tile
    assert len(passes) == 12 and all(shape[0] == 1 for shape in passes)
