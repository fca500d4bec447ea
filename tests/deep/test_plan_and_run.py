"""The plan, the run folder, refusals, the budget, EMA/threshold, the forest, weight adaptation."""

from __future__ import annotations

import csv
import importlib.util
import json

import numpy as np
import pytest
import torch
from deep_helpers import disk_pairs

from seglab.core.errors import InputError
from seglab.deep.data import Pair, SegmentationDataset
from seglab.deep.train import train

SMALL = {"model_args": {"base": 8, "depth": 2}, "img_size": 32, "batch_size": 4, "samples_per_epoch": 16}


def _pairs(n: int = 6, size: int = 48) -> list[Pair]:
    return [Pair(image, mask, str(k)) for k, (image, mask) in enumerate(disk_pairs(n, size=size))]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("planned")
    events = []
    result = train(_pairs(), out=out, epochs=3, lr=5e-3, class_names=("background", "disk"), progress=events.append,
                   **SMALL)
    return out, result, events


def test_run_folder_holds_everything(run):
    out, result, events = run
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"step", "seconds", "lr", "train_loss", "val_loss", "val_miou", "val_auc", "threshold",
            "iou_background", "iou_disk"} <= set(rows[0])
    plan = json.loads((out / "plan.json").read_text())
    assert plan["arch"] == "smallunet" and plan["model_args"] == {"base": 8, "depth": 2}
    assert plan["img_size"] == 32 and plan["batch_size"] == 4 and plan["chosen_by"]["img_size"] == "given"
    for name in ("best.pt", "last.pt", "metrics.json", "curves.png", "confusion.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "val_predictions" / "epoch_001.png").stat().st_size > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["best"]["iou_per_class"]) == {"background", "disk"}
    assert metrics["best"]["miou"] > 0.8
    assert result.model.train_config["plan"]["arch"] == "smallunet"
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds.count("epoch") == 3 and "step" in kinds
    assert any("smallunet" in line for line in events[0]["lines"])


def test_best_is_never_worse_than_an_earlier_epoch(run):
    out, result, _ = run
    history = result.history["val_miou"]
    assert result.metrics["best"]["miou"] == pytest.approx(max(history))
    assert result.metrics["best_epoch"] == int(np.argmax(history)) + 1


def test_threshold_is_stored_and_folded(run):
    out, result, _ = run
    from seglab.deep.models import load
    from seglab.deep.predict import predict

    model = load(out / "best.pt")
    assert model.threshold == pytest.approx(result.metrics["best"]["threshold"])
    pair = _pairs(1, size=48)[0]
    seg = predict(model, pair.image, backend="torch")
    found = seg.class_map() == 1
    assert np.mean(found == (pair.mask == 1)) > 0.9


def test_folding_a_threshold_moves_the_argmax_to_it():
    from seglab.deep.nets import SmallUNet
    from seglab.deep.train import _fold_threshold

    torch.manual_seed(0)
    net = SmallUNet(1, 2, base=4, depth=1).eval()
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        before = net(x).softmax(1)[0, 1]
        state = net.state_dict()
        _fold_threshold(state, net, 2, 0.7)
        net.load_state_dict(state)
        after = net(x).argmax(1)[0]
    assert torch.equal(after == 1, before > 0.7)


def test_existing_run_is_refused_unless_overwrite_or_resume(tmp_path):
    opts = dict(epochs=1, **SMALL)
    train(_pairs(3, 32), out=tmp_path, **opts)
    with pytest.raises(InputError, match="out must be a folder without a training run, got .* holding best.pt "
                                         r"\(pass overwrite=True / --overwrite"):
        train(_pairs(3, 32), out=tmp_path, **opts)
    again = train(_pairs(3, 32), out=tmp_path, overwrite=True, **opts)
    assert len(again.history["val_miou"]) == 1
    with pytest.raises(InputError, match="resume needs .*last.pt.* from an earlier run, got no such file"):
        train(_pairs(3, 32), out=tmp_path / "new", resume=True, **opts)


def test_budget_is_honoured(tmp_path):
    result = train(_pairs(3, 32), out=tmp_path, epochs=1000, max_minutes=0.05, **SMALL)
    assert result.metrics["stopped_by"] == "time budget"
    assert result.metrics["steps"] < 1000 * 4
    assert result.metrics["train_seconds"] < 60  # 3 s asked; one epoch of 4 tiny steps may overrun it


def test_foreground_patches_are_centred_on_a_class_pixel():
    """Centres drawn on a class chosen uniformly: a 4x4 object in 200x200 is in half the patches."""
    mask = np.zeros((200, 200), np.uint8)
    mask[150:154, 20:24] = 1
    image = np.zeros((200, 200), np.uint8)
    torch.manual_seed(0)
    counts = []
    for fraction in (1.0, 0.0):
        data = SegmentationDataset([Pair(image, mask)], 1, [0.5], [0.25], crop_size=32, samples=40, augment=False,
                                   foreground=fraction)
        counts.append(sum(bool((data[k][1] == 1).any()) for k in range(40)))
    assert counts[0] >= 12 and counts[1] <= 5, counts


def test_measure_and_choose_patch():
    from seglab.deep.plan import choose_patch, depth_for, measure_data

    pairs = _pairs(4, size=96)
    data = measure_data(pairs)
    assert data["median_size"] == [96, 96] and len(data["class_fractions"]) == 2
    assert 20 < data["thickness"] < 60  # disks of radius 24
    assert choose_patch(data) in (64, 96, 128) and choose_patch(data) <= 96
    assert depth_for(64) == 3 and depth_for(128) == 4 and depth_for(512) == 5


def test_plan_keeps_what_is_given_and_fits_the_budget(monkeypatch):
    import seglab.deep.plan as plan_module

    monkeypatch.setattr(plan_module, "time_steps", lambda module, *a, **k: (
        0.001 * sum(p.numel() for p in module.parameters()) / 1e4, 0.0))
    monkeypatch.setattr(plan_module, "choose_threads", lambda *a, **k: (1, {}))
    pairs = _pairs(4, size=96)
    plan = plan_module.make_plan(pairs, pairs[:1], in_channels=1, classes=2, device="cpu", max_minutes=1.0,
                                 epochs=10, given={"img_size": 64, "lr": 0.01})
    assert plan.img_size == 64 and plan.lr == 0.01 and plan.arch == "smallunet"
    # the widest network that makes TARGET_STEPS steps in 51 s (0.85 of the minute), else the narrowest
    assert plan.expected_steps >= plan_module.TARGET_STEPS or plan.model_args["base"] == plan_module.WIDTHS[-1]
    assert plan.step_seconds * plan.expected_steps <= 51 + 1e-6
    smp = plan_module.make_plan(pairs, pairs[:1], in_channels=1, classes=2, device="cpu", max_minutes=None,
                                epochs=10, given={"arch": "unet", "encoder": "tu-mobilenetv3_small_050"})
    assert smp.arch == "unet" and smp.model_args["encoder_name"] == "tu-mobilenetv3_small_050"


def test_cuda_plan_takes_batch_from_memory_amp_and_channels_last(monkeypatch):
    """The CUDA branch without a GPU: timing and free memory are faked (unmeasured on a real GPU)."""
    import seglab.deep.plan as plan_module

    monkeypatch.setattr(plan_module, "time_steps", lambda *a, **k: (0.01, 50e6))
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda: (8e9, 16e9))
    pairs = _pairs(4, size=96)
    plan = plan_module.make_plan(pairs, pairs[:1], in_channels=1, classes=2, device="cuda", max_minutes=2.0,
                                 epochs=10, given={})
    assert plan.amp and plan.channels_last and plan.device == "cuda"
    assert plan.batch_size == 80 and plan.chosen_by["batch_size"] == "GPU memory"
    assert plan_module.batch_from_memory(8e9, 50e6, 32) == 80
    assert plan_module.batch_from_memory(1e9, 50e6, 32) == 32
    assert plan_module.batch_from_memory(1e12, 1e6, 32) == 256


def test_binary_sweep_threshold_and_auc():
    from seglab.deep.validate import BINS, binary_sweep

    pos, neg = np.zeros(BINS, np.int64), np.zeros(BINS, np.int64)
    pos[200], neg[50] = 100, 300
    threshold, matrix, auc = binary_sweep(pos, neg)
    assert 50 / BINS < threshold <= 200 / BINS and auc == pytest.approx(1.0)
    assert matrix.tolist() == [[300, 0], [0, 100]]
    _, _, flipped = binary_sweep(neg, pos)
    assert flipped == pytest.approx(0.0)


def test_rgb_first_convolution_is_adapted_for_grey(tmp_path):
    from seglab.deep.models import adapt_input_conv, create_model, load_weights_file

    rgb = create_model("smallunet", in_channels=3, classes=2, base=4, depth=1)
    torch.save(rgb.state_dict(), tmp_path / "w.pt")
    grey = create_model("smallunet", in_channels=1, classes=2, base=4, depth=1)
    load_weights_file(grey, tmp_path / "w.pt")
    first = rgb.state_dict()["down.0.0.weight"]
    assert torch.allclose(grey.state_dict()["down.0.0.weight"], first.sum(1, keepdim=True))
    four = adapt_input_conv(first, 4)
    assert four.shape[1] == 4 and torch.allclose(four[:, 3], first[:, 0] * 3 / 4)


def test_pixel_forest_trains_predicts_and_tiles(tmp_path):
    pytest.importorskip("lightgbm")
    import seglab
    from seglab.deep.forest import ForestModel
    from seglab.deep.models import load

    result = train(_pairs(6, 64), out=tmp_path, arch="forest", class_names=("background", "disk"))
    assert result.metrics["best"]["miou"] > 0.85
    model = load(tmp_path / "best.pt")
    assert isinstance(model, ForestModel) and model.threshold is not None
    for name in ("plan.json", "results.csv", "confusion.png", "metrics.json"):
        assert (tmp_path / name).is_file()
    image, mask = disk_pairs(1, size=64, seed=5)[0]
    seg = seglab.segment(image, "model", model=str(tmp_path / "best.pt"))
    assert np.mean((seg.class_map() == 1) == (mask == 1)) > 0.95
    whole = model.probabilities(image, strip=1000)
    assert np.allclose(model.probabilities(image, strip=16), whole, atol=1e-5)


def test_smallunet_runs_on_onnx_runtime_like_torch(run):
    pytest.importorskip("onnxruntime")
    from seglab.deep.models import load
    from seglab.deep.predict import predict

    model = load(run[0] / "best.pt", device="cpu")
    image = _pairs(1, size=48)[0].image
    onnx, eager = predict(model, image, backend="onnx"), predict(model, image, backend="torch")
    assert onnx.meta["backend"] == "onnx"
    assert np.abs(onnx.probabilities - eager.probabilities).max() < 1e-4


def _shapes(kind: str, n: int = 4, size: int = 256) -> list[Pair]:
    """Thick blobs (disks of radius 70) or thin lines (3 px wide) on noise."""
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[:size, :size]
    pairs = []
    for k in range(n):
        if kind == "thick":
            cy, cx = rng.integers(size // 3, 2 * size // 3, 2)
            mask = (rows - cy) ** 2 + (cols - cx) ** 2 <= 70**2
        else:
            mask = (np.abs(rows - cols - rng.integers(-60, 60)) <= 1) | (np.abs(rows - 40 * (k + 1)) <= 1)
        image = np.clip(np.where(mask, 170, 70) + rng.normal(0, 15, mask.shape), 0, 255).astype(np.uint8)
        pairs.append(Pair(image, mask.astype(np.uint8), str(k)))
    return pairs


def test_plan_downscales_thick_objects_and_keeps_thin_ones_at_full_resolution(monkeypatch):
    import seglab.deep.plan as plan_module

    thick, thin = plan_module.measure_data(_shapes("thick")), plan_module.measure_data(_shapes("thin"))
    assert thick["thickness"] > 100 and thin["thickness"] < 5
    assert plan_module.choose_downscale(thick) == 4 and plan_module.choose_downscale(thin) == 1
    # small images are not shrunk below 64 network pixels, moderate objects by 2 only
    assert plan_module.choose_downscale({**thick, "min_side": 200}) == 2
    assert plan_module.choose_downscale({**thick, "thickness": 40.0}) == 2
    assert plan_module.choose_downscale({**thick, "thickness": 31.0}) == 1
    assert plan_module.depth_for(256, 4) == 3 and plan_module.depth_for(192, 2) == 4

    monkeypatch.setattr(plan_module, "time_steps", lambda *a, **k: (0.01, 0.0))
    monkeypatch.setattr(plan_module, "choose_threads", lambda *a, **k: (1, {}))
    plans = {kind: plan_module.make_plan(_shapes(kind), _shapes(kind)[:1], in_channels=1, classes=2, device="cpu",
                                         max_minutes=1.0, epochs=10, given={}) for kind in ("thick", "thin")}
    big = plans["thick"]
    assert big.model_args["downscale"] == 4 and big.img_size == 256 and big.model_args["depth"] == 3
    assert big.batch_size == 32  # 64^2 network pixels per patch
    assert "downscale" not in plans["thin"].model_args and plans["thin"].img_size == 64
    given = plan_module.make_plan(_shapes("thick"), _shapes("thick")[:1], in_channels=1, classes=2, device="cpu",
                                  max_minutes=None, epochs=10, given={"model_args": {"downscale": 1}})
    assert given.model_args.get("downscale", 1) == 1 and given.chosen_by["downscale"] == "given"


def test_downscaled_network_predicts_at_the_input_size(tmp_path):
    from seglab.deep.models import DeepModel, load
    from seglab.deep.nets import SmallUNet
    from seglab.deep.predict import predict

    net = SmallUNet(1, 2, base=4, depth=3, downscale=4)
    assert net(torch.zeros(2, 1, 96, 64)).shape == (2, 2, 96, 64)
    with pytest.raises(InputError, match=r"downscale \* 2\*\*depth must be at most 32.*got 64; try depth=3"):
        SmallUNet(1, 2, depth=4, downscale=4)
    with pytest.raises(InputError, match="downscale must be 1, 2 or 4, got 3"):
        SmallUNet(1, 2, downscale=3)
    model = DeepModel.create("smallunet", class_names=("background", "disk"), in_channels=1, base=4, depth=2,
                             downscale=2)
    model.save(tmp_path / "m.pt")
    loaded = load(tmp_path / "m.pt", device="cpu")
    assert loaded.module.downscale == 2
    image = np.random.default_rng(0).integers(0, 255, (70, 91), dtype=np.uint8)
    seg = predict(loaded, image, backend="torch", tile_size=64, overlap=16)
    assert seg.probabilities.shape == (2, 70, 91) and seg.class_map().shape == (70, 91)
    if importlib.util.find_spec("onnxruntime") is not None:  # the pooling and the resize export
        onnx = predict(loaded, image, backend="onnx", tile_size=64, overlap=16,
                       onnx_path=str(loaded.export(tmp_path / "m.onnx")))
        assert np.abs(onnx.probabilities - seg.probabilities).max() < 1e-4


def test_downscaled_run_learns_thick_disks(tmp_path):
    """A planned run on big disks trains at half resolution and still finds them at full size."""
    from seglab.deep.predict import predict

    pairs = _shapes("thick", n=6, size=160)
    result = train(pairs, out=tmp_path, epochs=3, lr=5e-3, class_names=("background", "disk"), batch_size=4,
                   samples_per_epoch=24, model_args={"base": 8})
    plan = result.model.train_config["plan"]
    assert plan["model_args"]["downscale"] == 2 and plan["img_size"] == 160
    image, mask = pairs[-1].image, pairs[-1].mask  # the validation image
    found = predict(result.model, image, backend="torch").class_map()
    assert found.shape == mask.shape
    assert np.mean(found == mask) > max(np.mean(mask), 1 - np.mean(mask))  # beats the constant answer


def test_plan_rotates_only_objects_without_a_preferred_direction(monkeypatch):
    """Lying ellipses (all wider than tall) point one way: no 90-degree rotations; disks and
    lines crossing at right angles do not: rotations stay."""
    import seglab.deep.plan as plan_module

    rows, cols = np.mgrid[:128, :128]
    lying = []
    for k in range(4):
        mask = ((rows - 64) / 15) ** 2 + ((cols - 60 - 2 * k) / 45) ** 2 <= 1
        lying.append(Pair(np.where(mask, 200, 50).astype(np.uint8), mask.astype(np.uint8), str(k)))
    data = plan_module.measure_data(lying)
    assert data["orientation"] > 0.5 and not plan_module.choose_rotate(data)
    crossing = []  # a vertical and a horizontal line in each image, like vessels going every way
    for k in range(4):
        mask = (np.abs(rows - 30 - 10 * k) <= 1) | (np.abs(cols - 90 + 10 * k) <= 1)
        crossing.append(Pair(np.where(mask, 200, 50).astype(np.uint8), mask.astype(np.uint8), str(k)))
    for pairs in (_shapes("thick"), crossing):
        data = plan_module.measure_data(pairs)
        assert data["orientation"] < 0.2 and plan_module.choose_rotate(data), data
    monkeypatch.setattr(plan_module, "time_steps", lambda *a, **k: (0.01, 0.0))
    monkeypatch.setattr(plan_module, "choose_threads", lambda *a, **k: (1, {}))
    plan = plan_module.make_plan(lying, lying[:1], in_channels=1, classes=2, device="cpu", max_minutes=1.0,
                                 epochs=10, given={})
    assert plan.rotate is False and plan.chosen_by["rotate"] == "object orientation"
    assert "no 90-degree rotations" in plan.lines()[2]
    given = plan_module.make_plan(lying, lying[:1], in_channels=1, classes=2, device="cpu", max_minutes=None,
                                  epochs=10, given={"rotate": True})
    assert given.rotate is True and given.chosen_by["rotate"] == "given"


def test_patches_without_rotation_keep_the_direction():
    """A horizontal bar stays horizontal through flips and scaling when ``rotate=False``."""
    mask = np.zeros((64, 64), np.uint8)
    mask[28:36, :] = 1
    image = np.where(mask, 200, 50).astype(np.uint8)
    torch.manual_seed(0)
    upright = []
    for rotate in (False, True):
        data = SegmentationDataset([Pair(image, mask)], 1, [0.5], [0.25], crop_size=32, samples=40, rotate=rotate)
        bars = [m == 1 for m in (data[k][1] for k in range(40)) if (m == 1).any()]
        lying = sum(int(bar.any(1).sum()) < int(bar.any(0).sum()) for bar in bars)  # fewer rows than columns
        upright.append((lying, len(bars)))
    assert upright[0][0] == upright[0][1] > 20 and upright[1][0] < 0.8 * upright[1][1], upright
