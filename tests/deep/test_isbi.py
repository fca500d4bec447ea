"""A short real training on ISBI 2012 (slices 0-23 train, 24-29 validate) with the default plan
must beat both Otsu and the constant answer ("all cell"), computed here on the same slices."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
@pytest.mark.data
def test_isbi_short_training_beats_otsu_and_the_constant(data_dir, tmp_path):
    from skimage.filters import threshold_otsu

    from seglab.deep.data import read_isbi
    from seglab.deep.predict import predict
    from seglab.deep.train import train

    root = data_dir / "isbi2012_em_membrane"
    train_pairs, val_pairs = read_isbi(root, range(24)), read_isbi(root, range(24, 30))
    # the plan's network, patch, batch, lr, EMA and foreground sampling; a narrow width and a
    # fixed number of steps keep CI short and deterministic
    result = train(train_pairs, val=val_pairs, out=tmp_path, epochs=6, samples_per_epoch=128, seed=0,
                   model_args={"base": 16}, class_names=("membrane", "cell"))
    model_acc, otsu_acc, constant_acc = [], [], []
    for pair in val_pairs:
        truth = pair.mask == 1
        found = predict(result.model, pair.image, tile_size=512).class_map() == 1
        model_acc.append(np.mean(found == truth))
        otsu_acc.append(np.mean((pair.image > threshold_otsu(pair.image)) == truth))
        constant_acc.append(max(truth.mean(), 1 - truth.mean()))
    model, otsu, constant = np.mean(model_acc), np.mean(otsu_acc), np.mean(constant_acc)
    print(f"ISBI 24-29 pixel accuracy: model {model:.4f}, Otsu {otsu:.4f}, constant {constant:.4f}")
    assert model > max(otsu, constant) + 0.03
