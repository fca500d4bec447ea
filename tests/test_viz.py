import numpy as np
import pytest

import seglab
from seglab import InputError, Segmentation, viz


@pytest.fixture
def scene():
    image = np.full((20, 30), 100, np.uint8)
    labels = np.zeros((20, 30), int)
    labels[2:8, 3:12] = 1
    labels[10:18, 15:28] = 2
    return image, Segmentation(labels)


def test_overlay_colours_regions_and_keeps_background(scene):
    image, seg = scene
    out = viz.overlay(image, seg, alpha=0.5, boundaries=False)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8
    assert (out[0, 0] == 100).all()  # background untouched
    assert not (out[4, 6] == 100).all()  # region tinted
    assert not np.array_equal(out[4, 6], out[12, 20])  # regions get different colours
    outlined = viz.overlay(image, seg, alpha=0.0, boundaries=True)
    assert (outlined[viz.boundary_mask(seg.labels)] == 255).all()
    np.testing.assert_array_equal(viz.overlay(image, seg, alpha=0.0, boundaries=False)[..., 0], image)


def test_overlay_accepts_16bit_and_float(scene):
    image, seg = scene
    a = viz.overlay(image.astype(np.uint16) * 257, seg)
    b = viz.overlay(image / 255.0, seg)
    np.testing.assert_array_equal(a, viz.overlay(image, seg))
    assert np.abs(b.astype(int) - a).max() <= 1


def test_boundary_mask_is_one_pixel_inside_each_change():
    labels = np.array([[1, 1, 2], [1, 1, 2], [3, 3, 3]])
    assert viz.boundary_mask(labels).astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 0, 0]]


def test_draw_boxes_and_boundaries(scene):
    image, seg = scene
    boxed = viz.draw_boxes(image, seg.boxes_xyxy, texts=["a", "b"], thickness=1)
    x0, y0, x1, y1 = seg.boxes_xyxy[1]
    assert not (boxed[y0, x0 + 3] == 100).all() and (boxed[y0 + 3, x0 + 3] == 100).all()
    drawn = viz.draw_boundaries(image, seg, color=(1, 2, 3))
    assert (drawn[viz.boundary_mask(seg.labels)] == (1, 2, 3)).all()


def test_compare_grid_and_curves_write_pngs(tmp_path, scene):
    image, seg = scene
    path = viz.compare_grid(image, {"a": seg, "b": seg[:1]}, tmp_path / "grid.png", columns=2, title="t")
    grid = seglab.load_image(path)
    assert grid.ndim == 3 and grid.shape[1] > grid.shape[0]  # two columns wide, two rows of small panels
    curves = viz.training_curves({"train_loss": [1.0, 0.5], "val_miou": [0.2, 0.6]}, tmp_path / "c.png")
    assert seglab.load_image(curves).shape[2] == 3


def test_shape_mismatch_and_bad_alpha(scene):
    image, seg = scene
    with pytest.raises(InputError, match=r"segmentation must have shape \(10, 10\) like the image, got \(20, 30\)"):
        viz.overlay(np.zeros((10, 10), np.uint8), seg)
    with pytest.raises(InputError, match="alpha must be between 0 and 1, got 2"):
        viz.overlay(image, seg, alpha=2)
