import dataclasses

import numpy as np
import pytest

from seglab import InputError, Segmentation


@pytest.fixture
def seg() -> Segmentation:
    labels = np.array(
        [
            [0, 1, 1, 0],
            [2, 2, 0, 3],
            [2, 0, 0, 3],
        ]
    )
    return Segmentation(labels, class_ids=np.array([1, 2, 1]), scores=np.array([0.9, 0.5, 0.7]),
                        class_names=("background", "cat", "dog"))


def test_fields_are_validated_and_converted(seg):
    assert seg.labels.dtype == np.int32
    assert len(seg) == 3
    assert seg.shape == (3, 4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.labels = np.zeros((2, 2))  # type: ignore[misc]


def test_on_demand_properties(seg):
    assert seg.areas.tolist() == [2, 3, 2]
    assert seg.boxes_xyxy.tolist() == [[1, 0, 3, 1], [0, 1, 2, 3], [3, 1, 4, 3]]
    np.testing.assert_allclose(seg.centroids, [[0, 1.5], [4 / 3, 1 / 3], [1.5, 3]])
    assert seg.masks().shape == (3, 3, 4)
    assert seg.mask(2).sum() == 3
    assert seg.class_map().tolist() == [[0, 1, 1, 0], [2, 2, 0, 1], [2, 0, 0, 1]]


def test_centroids_xy_are_in_box_order(seg):
    np.testing.assert_allclose(seg.centroids_xy, [[1.5, 0], [1 / 3, 4 / 3], [3, 1.5]])
    box = seg.boxes_xyxy[1]  # (x0, y0, x1, y1): the centroid lies inside in the same order
    assert box[0] <= seg.centroids_xy[1, 0] < box[2] and box[1] <= seg.centroids_xy[1, 1] < box[3]
    table = seg.regionprops_table(("area", "centroid", "centroid_xy"))
    np.testing.assert_allclose(table["centroid_x"], seg.centroids_xy[:, 0])
    np.testing.assert_allclose(table["centroid_y"], seg.centroids_xy[:, 1])
    np.testing.assert_allclose(table["centroid-0"], seg.centroids[:, 0])  # scikit-image's (row, col)
    empty = Segmentation(np.array([[0, 2]]))
    assert np.isnan(empty.centroids_xy[0]).all() and empty.centroids_xy[1].tolist() == [1.0, 0.0]
    assert np.isnan(empty.regionprops_table(("centroid_xy",))["centroid_x"][0])


def test_empty_region_is_allowed_and_reported():
    seg = Segmentation(np.array([[0, 2]]), class_ids=np.array([5, 6]))
    assert seg.areas.tolist() == [0, 1]
    assert seg.boxes_xyxy.tolist() == [[0, 0, 0, 0], [1, 0, 2, 1]]
    assert np.isnan(seg.centroids[0]).all()
    table = seg.regionprops_table(("area",))
    assert table["label"].tolist() == [1, 2]
    assert np.isnan(table["area"][0]) and table["area"][1] == 1


def test_filtering_renumbers_and_keeps_parallel_arrays(seg):
    kept = seg[seg.areas >= 2][1:]
    assert kept.labels.tolist() == [[0, 0, 0, 0], [1, 1, 0, 2], [1, 0, 0, 2]]
    assert kept.class_ids.tolist() == [2, 1]
    assert kept.scores.tolist() == [0.5, 0.7]
    reordered = seg[[2, 0]]
    assert reordered.labels[1, 3] == 1 and reordered.labels[0, 1] == 2
    with pytest.raises(InputError, match="must not repeat a region"):
        seg[[0, 0]]


def test_split_connected_propagates_class_and_score():
    labels = np.array([[1, 0, 1], [0, 0, 0], [2, 2, 0]])
    seg = Segmentation(labels, class_ids=np.array([3, 4]), scores=np.array([0.1, 0.2]))
    parts = seg.split_connected(connectivity=1)
    assert len(parts) == 3
    assert sorted(parts.class_ids.tolist()) == [3, 3, 4]
    assert parts.areas.sum() == seg.areas.sum()
    for region in range(1, 4):
        parent = np.unique(labels[parts.labels == region])
        assert parent.size == 1


def test_from_labels_renumbers_and_empty():
    seg = Segmentation.from_labels(np.array([[0, 7], [3, 7]]))
    assert seg.labels.tolist() == [[0, 2], [1, 2]]
    assert len(Segmentation.empty((4, 5))) == 0
    assert Segmentation.from_mask(np.eye(3)).areas.tolist() == [3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": np.zeros(4)}, r"labels must be a 2D \(H, W\) array, got an array of shape \(4,\)"),
        ({"labels": np.zeros((2, 2), float)}, "labels must be an integer array"),
        ({"labels": -np.ones((2, 2), int)}, r"labels must be non-negative \(0 = background, 1..N = regions\), got -1"),
        ({"labels": np.ones((2, 2), int), "class_ids": np.array([1, 2]), "scores": np.array([1.0])},
         r"scores must have one entry per region like class_ids \(2\), got 1"),
        ({"labels": np.full((2, 2), 3), "class_ids": np.array([1, 2])},
         r"labels must be at most the number of regions 2 \(length of class_ids/scores\), got label 3"),
        ({"labels": np.ones((2, 2), int), "class_ids": np.array([4]), "class_names": ("a", "b")},
         r"class_ids must index class_names \(0..1\), got 4..4"),
        ({"labels": np.ones((2, 2), int), "probabilities": np.zeros((2, 3, 3))},
         r"probabilities must have shape \(C, 2, 2\) like labels, got \(2, 3, 3\)"),
    ],
)
def test_invalid_fields_raise(kwargs, message):
    with pytest.raises(InputError, match=message):
        Segmentation(**kwargs)


@pytest.mark.parametrize(("name", "kind"), [("s.png", "labels"), ("s.png", "color"), ("s.npz", "labels")])
@pytest.mark.parametrize("n_regions", [3, 300, 70000])
def test_save_load_round_trip_is_identical(tmp_path, name, kind, n_regions):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, n_regions + 1, size=(300, 300))
    labels.flat[:n_regions + 1] = np.arange(n_regions + 1)  # every id present
    seg = Segmentation(labels, class_ids=np.ones(n_regions, int), scores=rng.random(n_regions),
                       class_names=("background", "thing"), meta={"method": "test", "big": np.zeros((99, 99))})
    path = tmp_path / name
    if n_regions > 65535 and (kind == "labels" and name.endswith(".png")):
        with pytest.raises(InputError, match="a label PNG holds at most 65535 regions, got 70000"):
            seg.save(path, kind=kind)
        return
    seg.save(path, kind=kind)
    loaded = Segmentation.load(path)
    assert loaded == seg
    assert loaded.meta["method"] == "test" and "big" not in loaded.meta


def test_label_png_is_16bit_above_255_regions(tmp_path):
    from PIL import Image

    small = Segmentation(np.arange(12).reshape(3, 4))
    big = Segmentation(np.arange(300).reshape(15, 20))
    small.save(tmp_path / "small.png")
    big.save(tmp_path / "big.png")
    assert Image.open(tmp_path / "small.png").mode == "L"
    assert Image.open(tmp_path / "big.png").mode.startswith("I")


def test_probabilities_round_trip_through_npz(tmp_path):
    probs = np.random.default_rng(1).random((2, 4, 5)).astype(np.float32)
    seg = Segmentation(np.ones((4, 5), int), probabilities=probs)
    seg.save(tmp_path / "p.npz")
    assert Segmentation.load(tmp_path / "p.npz") == seg


def test_load_errors(tmp_path):
    from seglab import FormatError

    with pytest.raises(InputError, match="does not exist"):
        Segmentation.load(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(FormatError, match="is not a readable label PNG"):
        Segmentation.load(tmp_path / "bad.png")
    with pytest.raises(InputError, match=r"path must end in .png or .npz, got"):
        Segmentation(np.ones((2, 2), int)).save(tmp_path / "x.jpg")


def test_summary_is_json_ready(seg):
    import json

    summary = seg.summary()
    json.dumps(summary)
    assert summary["n_regions"] == 3
    assert summary["regions"][1] == {
        "id": 2, "area": 3, "box_xyxy": [0, 1, 2, 3], "centroid_rc": [1.33, 0.33],
        "class_id": 2, "class_name": "dog", "score": 0.5,
    }


def test_repr_says_region_for_one():
    labels = np.zeros((4, 4), np.int32)
    labels[1, 1] = 1
    assert repr(Segmentation(labels)).startswith("Segmentation(1 region, shape=(4, 4)")
    labels[2, 2] = 2
    assert repr(Segmentation(labels)).startswith("Segmentation(2 regions, shape=(4, 4)")
