"""The pixel forest: a second learner that trains in seconds (``seglab train DATA --arch forest``).

Each pixel is described by multi-scale filter responses, the features users know from ilastik
and scikit-image's trainable segmentation: Gaussian-smoothed intensity (every channel), gradient
magnitude, Laplacian of Gaussian, the two Hessian eigenvalues and the two structure-tensor
eigenvalues (of the luminance) at several sigmas, all computed with OpenCV. Pixels are sampled
with class balance (the same number per class) and a LightGBM gradient-boosted forest learns
them; the class priors of the full data are put back into the probabilities afterwards, and
for two classes the threshold is tuned on the validation split (folded into the probabilities,
so arg-max applies it, as for the networks).

The checkpoint has the seglab format (``arch="forest"``, the booster as LightGBM's text model),
so :func:`seglab.deep.load`, ``seglab predict``, the ``model`` method and tiling take it like
any model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation

__all__ = ["ForestModel", "pixel_features", "feature_names", "train_forest", "from_checkpoint", "SIGMAS"]

SIGMAS = (0.7, 1.0, 1.6, 3.5, 5.0, 10.0)
_TEXTURE = ("gradient", "log", "hessian_max", "hessian_min", "structure_max", "structure_min")


def _channels(image: np.ndarray, in_channels: int) -> np.ndarray:
    from seglab.deep.data import to_channels

    return to_channels(image, in_channels)  # (C, H, W) float32 in [0, 1]


def feature_names(in_channels: int, sigmas: tuple[float, ...] = SIGMAS) -> list[str]:
    names = [f"intensity_c{c}_s{s}" for s in sigmas for c in range(in_channels)]
    return names + [f"{kind}_s{s}" for s in sigmas for kind in _TEXTURE]


def _eigen(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (larger, smaller) of the symmetric 2x2 matrices [[a, c], [c, b]]."""
    half = (a + b) / 2
    root = np.sqrt(((a - b) / 2) ** 2 + c**2)
    return half + root, half - root


def pixel_features(image: np.ndarray, in_channels: int, sigmas: tuple[float, ...] = SIGMAS) -> np.ndarray:
    """(H, W, F) float32 multi-scale features of an image (see :func:`feature_names`)."""
    import cv2

    data = _channels(image, in_channels)
    luminance = data.mean(0) if in_channels > 1 else data[0]
    height, width = luminance.shape
    out = np.empty((height, width, len(feature_names(in_channels, sigmas))), np.float32)
    k = 0
    for sigma in sigmas:
        for channel in data:
            out[..., k] = cv2.GaussianBlur(channel, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
            k += 1
    for sigma in sigmas:
        smooth = cv2.GaussianBlur(luminance, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        hxx = cv2.Sobel(smooth, cv2.CV_32F, 2, 0, ksize=3, scale=0.25)
        hyy = cv2.Sobel(smooth, cv2.CV_32F, 0, 2, ksize=3, scale=0.25)
        hxy = cv2.Sobel(smooth, cv2.CV_32F, 1, 1, ksize=3, scale=0.25)
        big, small = _eigen(hxx, hyy, hxy)
        tensor = [cv2.GaussianBlur(v, (0, 0), 2 * sigma, borderType=cv2.BORDER_REFLECT)
                  for v in (gx * gx, gy * gy, gx * gy)]
        s_big, s_small = _eigen(*tensor)
        for value in (np.sqrt(gx * gx + gy * gy) * sigma, (hxx + hyy) * sigma**2, big * sigma**2,
                      small * sigma**2, s_big * sigma**2, s_small * sigma**2):
            out[..., k] = value
            k += 1
    return out


@dataclass
class ForestModel:
    """A trained pixel forest with what it needs to run (see :func:`train_forest`)."""

    booster: Any
    class_names: tuple[str, ...]
    in_channels: int
    sigmas: tuple[float, ...] = SIGMAS
    priors: tuple[float, ...] = ()
    threshold: float | None = None
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    seglab_version: str = ""
    path: str = ""
    arch: str = "forest"

    @property
    def classes(self) -> int:
        return len(self.class_names)

    @property
    def task(self) -> str:
        return "semantic"

    @property
    def model_args(self) -> dict[str, Any]:
        return {"sigmas": list(self.sigmas), "learner": "lightgbm", "in_channels": self.in_channels,
                "classes": self.classes}

    @property
    def margin(self) -> int:
        """Rows of context a strip needs on each side (the widest filter: the structure tensor's)."""
        return int(math.ceil(3 * 2 * max(self.sigmas))) + 2

    def _raw(self, features: np.ndarray) -> np.ndarray:
        flat = features.reshape(-1, features.shape[-1])
        probs = np.asarray(self.booster.predict(flat), np.float64)
        if probs.ndim == 1:  # binary objective: P(class 1)
            probs = np.stack([1 - probs, probs], 1)
        if self.priors:  # the forest saw balanced classes: put the real priors back
            probs = probs * (np.asarray(self.priors) * self.classes)
            probs /= probs.sum(1, keepdims=True)
        if self.threshold is not None and self.classes == 2:
            t = min(max(self.threshold, 1 / 256), 255 / 256)
            p1 = np.clip(probs[:, 1], 1e-7, 1 - 1e-7)
            z = np.log(p1 / (1 - p1)) - math.log(t / (1 - t))
            probs[:, 1] = 1 / (1 + np.exp(-z))
            probs[:, 0] = 1 - probs[:, 1]
        return probs.reshape(*features.shape[:2], self.classes).transpose(2, 0, 1).astype(np.float32)

    def probabilities(self, image: Any, *, strip: int = 256) -> np.ndarray:
        """(classes, H, W) float32, computed in strips of rows (bounded memory for any height)."""
        from seglab.core.validate import as_image

        image = as_image(image)
        height = image.shape[0]
        out = np.empty((self.classes, *image.shape[:2]), np.float32)
        for top in range(0, height, strip):
            lo, hi = max(0, top - self.margin), min(height, top + strip + self.margin)
            features = pixel_features(image[lo:hi], self.in_channels, self.sigmas)
            out[:, top:min(top + strip, height)] = self._raw(features)[:, top - lo:top - lo + min(strip, height - top)]
        return out

    #: No ONNX graph for a LightGBM forest; it runs in LightGBM (in strips of rows).
    exportable = False

    def export(self, path: str | Path, **_: Any) -> Path:
        """Refused: see :attr:`exportable`."""
        raise InputError("model must be a network for ONNX export, got a pixel forest (it runs in LightGBM)")

    def predict_instances(self, image: Any, **_: Any) -> Segmentation:
        """Refused: a pixel forest is a semantic model."""
        raise InputError("model must be an instance model (trained with task='instances'), got a pixel forest")

    def predict(self, image: Any, **_: Any) -> Segmentation:
        """Segment ``image`` (tiling and TTA options of the networks are accepted and not needed)."""
        from seglab.deep.predict import segmentation_from_probabilities

        seg = segmentation_from_probabilities(self.probabilities(image), self.class_names)
        seg.meta["backend"] = "lightgbm"
        return seg

    def info(self) -> dict[str, Any]:
        return {"arch": "forest", "model_args": self.model_args, "class_names": list(self.class_names),
                "in_channels": self.in_channels, "normalization": {}, "parameters": int(self.booster.num_trees()),
                "train_config": dict(self.train_config), "metrics": dict(self.metrics),
                "seglab_version": self.seglab_version, "path": self.path, "threshold": self.threshold}

    def checkpoint(self) -> dict[str, Any]:
        from seglab.deep.models import FORMAT, FORMAT_VERSION

        info = self.info()
        info.pop("parameters")
        info.pop("path")
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **info, "priors": list(self.priors),
                "booster": self.booster.model_to_string(), "state_dict": {}}

    def save(self, path: str | Path) -> Path:
        from seglab.deep.models import save_checkpoint

        return save_checkpoint(path, self.checkpoint())


def _register() -> None:
    from seglab.deep.protocol import MODEL_LOADERS

    MODEL_LOADERS.add("forest", lambda data, path, device: from_checkpoint(data, path),
                      origin=f"{__name__}.from_checkpoint")


def from_checkpoint(data: dict[str, Any], path: Any) -> ForestModel:
    """A :class:`ForestModel` from a checkpoint dict read by :func:`seglab.deep.models.read_checkpoint`."""
    from seglab.core.errors import FormatError

    try:
        import lightgbm
    except ImportError:  # pragma: no cover - lightgbm is in seglab[deep]
        raise InputError("a pixel-forest model needs lightgbm (pip install 'seglab[deep]'), got it missing") from None
    if not isinstance(data.get("booster"), str):
        raise FormatError(f"model file {str(path)!r} must hold the forest's booster text, got none")
    booster = lightgbm.Booster(model_str=data["booster"])
    args = data.get("model_args", {})
    return ForestModel(booster=booster, class_names=tuple(data["class_names"]), in_channels=int(data["in_channels"]),
                       sigmas=tuple(float(s) for s in args.get("sigmas", SIGMAS)),
                       priors=tuple(float(p) for p in data.get("priors", ())), threshold=data.get("threshold"),
                       train_config=dict(data.get("train_config", {})), metrics=dict(data.get("metrics", {})),
                       seglab_version=str(data.get("seglab_version", "")), path=str(path))


def _threads() -> int:
    """One OpenMP thread when the CPU is oversubscribed (threads then wait for each other), else all."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if os.getloadavg()[0] > cores else cores


def _sample(features: np.ndarray, mask: np.ndarray, per_class: int, classes: int,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for c in range(classes):
        where = np.flatnonzero(mask.ravel() == c)
        if where.size:
            pick = rng.choice(where, min(per_class, where.size), replace=False)
            rows.append(features.reshape(-1, features.shape[-1])[pick])
            labels.append(np.full(pick.size, c, np.int32))
    if not rows:
        return np.empty((0, features.shape[-1]), np.float32), np.empty(0, np.int32)
    return np.concatenate(rows), np.concatenate(labels)


def train_forest(data: Any, *, out: Path, val: Any = None, format: str = "folder", class_names: Any = None,
                 config: Any = None, progress: Any = None, in_channels: int | None = None,
                 samples: int = 200_000, trees: int = 300) -> Any:
    """Train the pixel forest; the run folder gets the files of a network run (one epoch).

    Parameters
    ----------
    data, val, format, class_names
        As for :func:`seglab.deep.train.train`.
    out : Path
        Run folder (already checked by ``train``).
    config : TrainConfig
        ``max_minutes`` bounds the boosting rounds (the features and validation run first and
        last), ``val_fraction``, ``seed``, ``class_weights`` (multiply each class's samples).
    samples : int
        Training pixels in all, the same number from each class and spread over the images
        (with a budget: 100 000 per minute, 100 000-800 000).
    trees : int
        Boosting rounds at most (with a budget: 150 per minute, 300-1500).

    Returns
    -------
    TrainResult
    """
    import lightgbm

    from seglab import __version__
    from seglab.deep.report import append_results, confusion_picture, prediction_picture, write_plan
    from seglab.deep.train import TrainConfig, TrainResult, _emit, _infer_classes, _resolve_data
    from seglab.deep.validate import validate

    begin = time.perf_counter()
    config = config or TrainConfig(arch="forest")
    budget = 60 * config.max_minutes if config.max_minutes else None
    train_pairs, val_pairs, dataset_names = _resolve_data(data, val, format, config.val_fraction)
    names = _infer_classes(train_pairs + val_pairs, class_names or dataset_names or None)
    classes = len(names)
    channels = in_channels or (1 if all(p.image.ndim == 2 for p in train_pairs) else 3)
    counts = np.zeros(classes, np.float64)
    for pair in train_pairs:
        counts += np.bincount(pair.mask[pair.mask < classes].ravel(), minlength=classes)[:classes]
    priors = counts / max(counts.sum(), 1)
    if budget is not None and samples == 200_000 and trees == 300:  # a longer budget buys more pixels and trees
        samples = int(min(max(100_000 * config.max_minutes, 100_000), 800_000))
        trees = int(min(max(150 * config.max_minutes, 300), 1500))
    per_class = max(1, samples // (classes * len(train_pairs)))
    plan = {"arch": "forest", "learner": "lightgbm", "sigmas": list(SIGMAS), "features": len(feature_names(channels)),
            "samples_per_class_per_image": per_class, "trees": trees, "num_leaves": 63, "learning_rate": 0.1,
            "train_images": len(train_pairs), "val_images": len(val_pairs), "device": "cpu",
            "class_fractions": [round(float(p), 4) for p in priors]}
    lines = [f"data: {len(train_pairs)} training / {len(val_pairs)} validation images, class fractions "
             f"[{', '.join(f'{p:.3f}' for p in priors)}]",
             f"model: pixel forest (LightGBM, up to {trees} trees of 63 leaves) on {plan['features']} features "
             f"at sigmas {', '.join(map(str, SIGMAS))}",
             f"training: {per_class} pixels per class per image, class-balanced"]
    _emit(progress, "plan", lines=lines, plan=plan)
    rng = np.random.default_rng(config.seed)
    weights = config.class_weights
    xs, ys = [], []
    for pair in train_pairs:
        x, y = _sample(pixel_features(pair.image, channels), pair.mask, per_class, classes, rng)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    sample_weight = None if weights is None else np.asarray(weights, np.float64)[y]
    params = {"objective": "binary" if classes == 2 else "multiclass", "num_leaves": 63, "learning_rate": 0.1,
              "min_data_in_leaf": 20, "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
              "seed": config.seed, "verbose": -1, "num_threads": _threads()}
    if classes > 2:
        params["num_class"] = classes
    feature_seconds = time.perf_counter() - begin

    def clock(env: Any) -> None:  # stop boosting when the budget (less room to validate) is spent
        if budget is not None and time.perf_counter() - begin > 0.7 * budget:
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

    booster = lightgbm.train(params, lightgbm.Dataset(x, y, weight=sample_weight), num_boost_round=trees,
                             callbacks=[clock])
    model = ForestModel(booster=booster, class_names=names, in_channels=channels, priors=tuple(priors.tolist()),
                        seglab_version=__version__)
    shown = min(3, len(val_pairs))
    scores = validate(val_pairs, model.probabilities, classes, keep=shown)
    maps = scores.pop("maps")
    model.threshold = scores.get("threshold")
    seconds = time.perf_counter() - begin
    model.train_config = {**{k: v for k, v in vars(config).items()}, "arch": "forest", "plan": plan,
                          "train_images": len(train_pairs), "val_images": len(val_pairs)}
    model.metrics = {"epoch": 1, "trees": booster.current_iteration(), **scores,
                     "iou_per_class": dict(zip(names, scores["iou_per_class"]))}
    out.mkdir(parents=True, exist_ok=True)
    plan.update(feature_seconds=round(feature_seconds, 2), train_seconds=round(seconds, 2))
    write_plan(out / "plan.json", plan)
    model.save(out / "best.pt")
    model.save(out / "last.pt")
    row = {"epoch": 1, "step": booster.current_iteration(), "seconds": round(seconds, 2), "lr": 0.1,
           "train_loss": float("nan"), "val_loss": scores["loss"], "val_pixel_acc": scores["pixel_acc"],
           "val_miou": scores["miou"], "val_dice": scores["dice"]}
    if "auc" in scores:
        row.update(val_auc=scores["auc"], threshold=scores["threshold"])
    row.update({f"iou_{name}": v for name, v in zip(names, scores["iou_per_class"])})
    append_results(out / "results.csv", row)
    confusion_picture(scores["confusion"], names, out / "confusion.png")
    if shown:
        prediction_picture([p.image for p in val_pairs[:shown]], [p.mask for p in val_pairs[:shown]], maps,
                           out / "val_predictions" / "epoch_001.png", title=f"mIoU {scores['miou']:.3f}")
    text = (f"forest ({booster.current_iteration()} rounds, {seconds:.0f} s): val acc {scores['pixel_acc']:.4f}  "
            f"mIoU {scores['miou']:.4f}" + (f"  AUC {scores['auc']:.4f}" if "auc" in scores else ""))
    _emit(progress, "epoch", epoch=1, text=text, scores=scores)
    history = {"val_loss": [scores["loss"]], "val_pixel_acc": [scores["pixel_acc"]], "val_miou": [scores["miou"]],
               "val_dice": [scores["dice"]]}
    from seglab.deep.train import _finish

    result = _finish(out, history, 1, 1, "trees" if budget is None or seconds < budget else "time budget",
                     seconds, booster.current_iteration())
    return TrainResult(result.model, history, result.metrics, result.best_path, out)


_register()
