"""A short real training on ISBI 2012 (slices 0-23 train, 24-29 validate) must beat Otsu."""

from __future__ import annotations

import numpy as np
import pytest
from deep_helpers import TINY


@pytest.mark.slow
@pytest.mark.data
def test_isbi_short_training_beats_otsu(data_dir, tmp_path):
    from skimage.filters import threshold_otsu

    from seglab.deep.data import read_isbi
    from seglab.deep.predict import predict
    from seglab.deep.train import train

    root = data_dir / "isbi2012_em_membrane"
    train_pairs, val_pairs = read_isbi(root, range(24)), read_isbi(root, range(24, 30))
    result = train(train_pairs, val=val_pairs, out=tmp_path, epochs=12, samples_per_epoch=96, img_size=128,
                   batch_size=8, lr=3e-3, seed=0, class_names=("membrane", "cell"), **TINY)
    model_acc, otsu_acc, model_iou = [], [], []
    for pair in val_pairs:
        truth = pair.mask == 1
        seg = predict(result.model, pair.image, tile_size=512)
        found = seg.class_map() == 1
        model_acc.append(np.mean(found == truth))
        model_iou.append(np.logical_and(found, truth).sum() / np.logical_or(found, truth).sum())
        otsu_acc.append(np.mean((pair.image > threshold_otsu(pair.image)) == truth))
    print(f"ISBI 24-29 pixel accuracy: model {np.mean(model_acc):.4f}, Otsu {np.mean(otsu_acc):.4f}, "
          f"model foreground IoU {np.mean(model_iou):.4f}")
    assert np.mean(otsu_acc) < 0.72
    assert np.mean(model_acc) > np.mean(otsu_acc) + 0.08
