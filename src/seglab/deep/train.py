"""The trainer: plan -> patches -> loss -> AdamW + schedule + EMA -> validation -> best checkpoint.

``train(data, out=RUN_DIR)`` first plans the run from the data and the budget
(:mod:`seglab.deep.plan`: network, width, patch, batch, learning rate), then writes to RUN_DIR:

- ``best.pt``: the self-describing checkpoint of the epoch with the best validation mean IoU
  (weights of the exponential moving average; for two classes the threshold tuned on the
  validation split is stored and folded into the head);
- ``last.pt`` (plus optimizer and EMA state, for ``resume=True``), ``plan.json``,
  ``results.csv`` (one row per epoch), ``metrics.json``, ``curves.png``, ``confusion.png`` and
  ``val_predictions/epoch_NNN.png``.

The learning-rate schedule follows the fraction of the run done, measured in steps or, with
``max_minutes``, in time, whichever is further, so the last step of a time-budgeted run lands
at the budget with the rate annealed. A folder holding a run is refused unless ``overwrite``
or ``resume`` is given.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seglab.core.errors import InputError, expected
from seglab.core.segmentation import json_safe
from seglab.deep.data import (
    IGNORE,
    Pair,
    SegmentationDataset,
    normalization_stats,
    read_labelled,
    split_pairs,
)
from seglab.deep.losses import make_loss
from seglab.deep.models import DeepModel, default_device, read_checkpoint, save_checkpoint, set_threads

__all__ = ["TrainConfig", "TrainResult", "train", "Progress"]

#: Called with one dict per event: ``{"event": "plan", "lines": [...], "plan": {...}}``,
#: ``{"event": "step", "step", "total", "seconds", "budget", "loss", "epoch"}`` and
#: ``{"event": "epoch", "epoch", "text", "scores"}``.
Progress = Callable[[dict[str, Any]], None]


@dataclass
class TrainConfig:
    """Everything that defines a run (stored in the checkpoint as ``train_config``).

    ``arch="auto"`` and the options left at None are chosen by the plan
    (:func:`seglab.deep.plan.make_plan`); explicit values are kept.
    """

    arch: str = "auto"
    encoder: str = "resnet18"
    model_args: dict[str, Any] = field(default_factory=dict)
    encoder_weights: str | None = None
    epochs: int = 50
    max_minutes: float | None = None
    img_size: int | None = None
    batch_size: int | None = None
    samples_per_epoch: int | None = None
    lr: float | None = None
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    loss: str = "ce+dice"
    class_weights: list[float] | None = None
    augment: bool = True
    rotate: bool | None = None
    elastic: bool = False
    foreground: float | None = None
    ema: float | None = None
    tta: bool = False
    val_fraction: float = 0.2
    patience: int | None = None
    seed: int = 0
    workers: int = 0
    device: str | None = None
    amp: bool = True
    task: str = "semantic"

    def check(self) -> None:
        if self.task not in ("semantic", "instances"):
            raise InputError(f"task must be one of 'semantic', 'instances', got {self.task!r}")
        if self.schedule not in ("cosine", "onecycle", "constant"):
            raise InputError(f"schedule must be one of 'cosine', 'onecycle', 'constant', got {self.schedule!r}")
        for name in ("epochs", "img_size", "batch_size", "patience", "samples_per_epoch"):
            value = getattr(self, name)
            if value is None and name != "epochs":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise expected(name, "an integer >= 1", value)
        if self.img_size is not None and self.img_size % 32:
            raise expected("img_size", "a multiple of 32", self.img_size, f"try {math.ceil(self.img_size / 32) * 32}")
        if not 0 < self.val_fraction < 1:
            raise expected("val_fraction", "a number between 0 and 1 (exclusive)", self.val_fraction)
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise expected("max_minutes", "a positive number", self.max_minutes)
        if self.foreground is not None and not 0 <= self.foreground <= 1:
            raise expected("foreground", "a fraction between 0 and 1", self.foreground)
        if self.ema is not None and not 0 <= self.ema < 1:
            raise expected("ema", "a decay in [0, 1)", self.ema)
        if self.lr is not None and not self.lr > 0:
            raise expected("lr", "a positive number", self.lr)
        if self.workers < 0:
            raise expected("workers", "an integer >= 0", self.workers)


@dataclass
class TrainResult:
    """What :func:`train` returns: the best model, the per-epoch history and the output files."""

    model: DeepModel
    history: dict[str, list[float]]
    metrics: dict[str, Any]
    best_path: Path
    out: Path


def _seed(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _lr_factor(progress: float, schedule: str) -> float:
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "onecycle":
        if progress < 0.3:
            return 0.04 + 0.96 * progress / 0.3
        return 0.5 * (1 + math.cos(math.pi * (progress - 0.3) / 0.7)) + 1e-3
    warm = 0.03
    if progress < warm:
        return 0.1 + 0.9 * progress / warm
    return 0.5 * (1 + math.cos(math.pi * (progress - warm) / (1 - warm))) + 1e-3


def _infer_classes(pairs: list[Pair], class_names: Any) -> tuple[str, ...]:
    if class_names:
        names = tuple(str(c) for c in class_names)
    else:
        top = max(int(p.mask[p.mask != IGNORE].max(initial=0)) for p in pairs)
        names = ("background", *(f"class_{i}" for i in range(1, max(top, 1) + 1)))
    if len(names) < 2:
        raise expected("class_names", "at least two names (background first)", names)
    top = max(int(p.mask[p.mask != IGNORE].max(initial=0)) for p in pairs)
    if top >= len(names):
        raise InputError(f"masks must hold class indices below {len(names)} (the class names), got {top}")
    return names


def _as_pairs(data: Any, format: str, split: str) -> tuple[list[Pair], tuple[str, ...]]:
    """A dataset folder (read with :mod:`seglab.datasets`) or (image, mask) pairs -> Pairs."""
    if isinstance(data, (str, Path)):
        return read_labelled(data, format, split=split)
    pairs = list(data)
    if pairs and not isinstance(pairs[0], Pair):
        pairs = [Pair(np.asarray(i), np.asarray(m).astype(np.uint8), str(k)) for k, (i, m) in enumerate(pairs)]
    return pairs, ()


def _resolve_data(data: Any, val: Any, format: str,
                  val_fraction: float) -> tuple[list[Pair], list[Pair], tuple[str, ...]]:
    """Training and validation Pairs, and the dataset's class names (empty when it has none).

    Without ``val``, VOC and Cityscapes folders validate on their ``val`` split when they have
    one (and train on ``train``); everything else on the last ``val_fraction`` of the images.
    """
    from seglab.deep.data import _split_option

    if val is None and isinstance(data, (str, Path)) and Path(data).is_dir() and format in ("voc", "cityscapes") \
            and _split_option(Path(data), format, "train") and _split_option(Path(data), format, "val"):
        val = data
    pairs, names = _as_pairs(data, format, "train")
    if val is None:
        return (*split_pairs(pairs, val_fraction), names)
    val_pairs, _ = _as_pairs(val, format, "val")
    if not pairs or not val_pairs:
        raise expected("data", "at least one training and one validation image", (len(pairs), len(val_pairs)))
    return pairs, val_pairs, names


class _Clock:
    """Elapsed training time, carried over a resume."""

    def __init__(self, already: float = 0.0) -> None:
        self.start = time.perf_counter() - already

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _emit(progress: Progress | None, event: str, **data: Any) -> None:
    if progress is not None:
        progress({"event": event, **data})


def _fold_threshold(state: dict[str, torch.Tensor], module: torch.nn.Module, classes: int,
                    threshold: float) -> None:
    """Subtract logit(threshold) from the class-1 bias of the last convolution, in ``state``.

    For two classes P(1) = sigmoid(z1 - z0), so after the shift arg-max calls class 1 exactly
    where the original P(1) exceeds ``threshold``: ``predict``, ONNX, tiling and every other
    consumer of the probabilities apply the tuned threshold without knowing of it.
    """
    last = None
    for name, layer in module.named_modules():
        if isinstance(layer, torch.nn.Conv2d) and layer.out_channels == classes and layer.bias is not None:
            last = name
    if last is None:
        return
    t = min(max(threshold, 1 / 256), 255 / 256)
    key = f"{last}.bias"
    state[key] = state[key].clone()
    state[key][1] -= math.log(t / (1 - t))


def _train_epoch(state: dict[str, Any], loader: Any, progress: Progress | None) -> float:
    model, optimizer, scaler = state["model"], state["optimizer"], state["scaler"]
    config: TrainConfig = state["config"]
    module = model.module.train()
    device, losses = state["device"], []
    memory = torch.channels_last if state["channels_last"] else torch.contiguous_format
    for images, masks in loader:
        progress_fraction = state["step"] / state["total_steps"]
        if config.max_minutes:
            progress_fraction = max(progress_fraction, state["clock"].seconds() / (60 * config.max_minutes))
        lr = config.lr * _lr_factor(progress_fraction, config.schedule)
        for group in optimizer.param_groups:
            group["lr"] = lr
        images = images.to(device, non_blocking=True).contiguous(memory_format=memory)
        masks = masks.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=state["amp"]):
            logits = module(images)
        loss = state["loss_fn"](logits.float(), masks)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        state["ema"].update_parameters(module)
        state["step"] += 1
        state["lr"] = lr
        losses.append(loss.item())
        _emit(progress, "step", step=state["step"], total=state["total_steps"], seconds=state["clock"].seconds(),
              budget=60 * config.max_minutes if config.max_minutes else None, loss=losses[-1], epoch=state["epoch"])
        if state["out_of_time"]():
            break
    return float(np.mean(losses)) if losses else float("nan")

def train(
    data: Any,
    *,
    out: str | Path,
    val: Any = None,
    format: str = "folder",
    class_names: Any = None,
    in_channels: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    quiet: bool = True,
    progress: Progress | None = None,
    **options: Any,
) -> TrainResult:
    """Train a segmentation model on labelled images.

    Parameters
    ----------
    data : path-like or list of Pair or list of (image, mask)
        A dataset folder read with :func:`seglab.datasets.read_dataset` in ``format``, or pairs
        whose masks hold class indices (255 = ignore).
    out : path-like
        Run folder (see the module docstring); one holding a run is refused unless ``overwrite``
        or ``resume``.
    val : same as ``data``, optional
        Validation set; default the last ``val_fraction`` of ``data`` (a contiguous block).
    format : {"folder", "voc", "coco", "isbi", "drive", "cityscapes"}
        VOC void (255), pixels outside DRIVE's field of view and Cityscapes' void classes are
        ignored; COCO instances train their category (renumbered 1..K, 0 = background).
    class_names : sequence of str, optional
        Index = class id, background first; default the dataset's, else from the largest mask value.
    in_channels : int, optional
        1 or 3; default 1 for grey data, 3 for colour.
    resume : bool
        Continue from ``out/last.pt`` (same plan, read from ``out/plan.json``); an error without it.
    overwrite : bool
        Replace a run already in ``out``.
    quiet : bool
        Kept for compatibility: the library never prints; pass ``progress`` to follow a run.
    progress : callable, optional
        Receives the plan, every step and every epoch as dicts (see :data:`Progress`).
    **options
        Fields of :class:`TrainConfig` (``arch``, ``encoder``, ``epochs``, ``max_minutes``,
        ``img_size``, ``batch_size``, ``lr``, ``loss``, ``schedule``, ``patience``, ``seed``,
        ``foreground``, ``ema``, ``tta``, ``device``, ``amp``, ``workers``, ``class_weights``...).
        Left out, ``arch``, the network width, ``img_size``, ``batch_size``, ``lr``,
        ``samples_per_epoch``, ``foreground``, ``ema`` and ``rotate`` come from the plan. ``arch="forest"``
        trains the pixel forest instead (:mod:`seglab.deep.forest`, seconds on a CPU).
        ``task="instances"`` takes instance label images (0 = background, one id per object),
        trains background/interior/boundary and predicts instances (:mod:`seglab.deep.instances`).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> result = train("data/cells", out="runs/cells", max_minutes=5)  # doctest: +SKIP
    >>> result.metrics["best"]["miou"]  # doctest: +SKIP
    """
    begin = time.perf_counter()
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        from seglab.core.registry import suggest

        raise InputError(f"training option must be one of {', '.join(sorted(known))}, got {unknown[0]!r}"
                         f"{suggest(unknown[0], sorted(known))}")
    config = TrainConfig(**options)
    config.check()
    out = Path(out)
    _check_out(out, overwrite, resume)
    if str(config.arch).lower() == "forest":
        from seglab.deep.forest import train_forest

        return train_forest(data, out=out, val=val, format=format, class_names=class_names, config=config,
                            progress=progress)
    set_threads()
    generator = _seed(config.seed)
    if config.task == "instances":
        from seglab.deep.instances import INSTANCE_CLASSES, instance_pairs

        data = instance_pairs(data, format)
        val = None if val is None else instance_pairs(val, format)
        class_names = INSTANCE_CLASSES
        if config.class_weights is None:  # thin boundaries: weighting them 3x splits touching objects
            config.class_weights = [1.0, 1.0, 3.0]
    train_pairs, val_pairs, dataset_names = _resolve_data(data, val, format, config.val_fraction)
    names = _infer_classes(train_pairs + val_pairs, class_names or dataset_names or None)
    channels = in_channels or (1 if all(p.image.ndim == 2 for p in train_pairs) else 3)
    mean, std = normalization_stats(train_pairs, channels)
    plan = _plan(config, options, out, resume, train_pairs, val_pairs, channels, len(names))
    for key in ("img_size", "batch_size", "lr", "samples_per_epoch", "foreground", "ema"):
        setattr(config, key, plan[key])
    config.rotate = bool(plan.get("rotate", True))
    if config.patience is None:  # a time budget anneals to its end: no early stop before it
        config.patience = 10**6 if config.max_minutes else 10
    if config.max_minutes and "epochs" not in options:
        config.epochs = 10**6
    torch.manual_seed(config.seed)  # the same initial weights whatever the plan's timing did
    model = DeepModel.create(plan["arch"], class_names=names, in_channels=channels, mean=mean, std=std,
                             encoder_weights=config.encoder_weights, **plan["model_args"])
    model.train_config = {**asdict(config), "arch": plan["arch"], "train_images": len(train_pairs),
                          "val_images": len(val_pairs), "plan": plan}
    _emit(progress, "plan", lines=_plan_lines(plan), plan=plan)
    return _run(model, config, plan, train_pairs, val_pairs, out, resume, progress, generator,
                time.perf_counter() - begin)


def _plan(config: TrainConfig, options: dict[str, Any], out: Path, resume: bool, train_pairs: list[Pair],
          val_pairs: list[Pair], channels: int, classes: int) -> dict[str, Any]:
    """The plan: read back from ``plan.json`` on resume (the same network), else made now."""
    from seglab.deep.plan import make_plan

    if resume and (out / "plan.json").is_file():
        return json.loads((out / "plan.json").read_text())
    given = {k: options[k] for k in ("arch", "model_args", "img_size", "batch_size", "lr", "samples_per_epoch",
                                     "foreground", "ema", "encoder", "rotate") if options.get(k) is not None}
    if given.get("arch") == "auto":
        given.pop("arch")
    device = config.device or default_device()
    return make_plan(train_pairs, val_pairs, in_channels=channels, classes=classes, device=device,
                     max_minutes=config.max_minutes, epochs=config.epochs, given=given,
                     amp=config.amp).to_dict()


def _plan_lines(plan: dict[str, Any]) -> list[str]:
    from seglab.deep.plan import Plan

    return Plan(**plan).lines()

def _check_out(out: Path, overwrite: bool, resume: bool) -> None:
    """Refuse to write over a run unless asked; ``resume`` needs ``last.pt``."""
    from seglab.deep.report import RUN_FILES

    if resume and overwrite:
        raise InputError("resume and overwrite must not both be set, got both")
    if resume:
        if not (out / "last.pt").is_file():
            raise InputError(f"resume needs {str(out / 'last.pt')!r} from an earlier run, got no such file")
        return
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found and not overwrite:
        raise InputError(f"out must be a folder without a training run, got {str(out)!r} holding {found[0]} "
                         "(pass overwrite=True / --overwrite to replace it, or resume=True / --resume)")
    if found:
        import shutil

        for name in (*RUN_FILES, "metrics.json", "curves.png", "confusion.png"):
            if (out / name).is_file():
                (out / name).unlink()
        if (out / "val_predictions").is_dir():
            shutil.rmtree(out / "val_predictions")


def _model_runner(module: torch.nn.Module, device: str, amp: bool) -> Any:
    def run(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                logits = module(torch.from_numpy(batch).to(device))
            return logits.float().cpu().numpy()

    return run


def _run(model: DeepModel, config: TrainConfig, plan: dict[str, Any], train_pairs: list[Pair],
         val_pairs: list[Pair], out: Path, resume: bool, progress: Progress | None,
         generator: torch.Generator, planning_seconds: float) -> TrainResult:
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    from seglab.deep.predict import prepare_image
    from seglab.deep.report import append_results, confusion_picture, prediction_picture, write_plan
    from seglab.deep.validate import runner_probabilities, validate

    device = plan["device"]
    if device == "cpu" and plan.get("threads"):
        torch.set_num_threads(int(plan["threads"]))
    channels_last = bool(plan.get("channels_last"))
    model.module.to(device)
    if channels_last:
        model.module.to(memory_format=torch.channels_last)
    train_set = SegmentationDataset(train_pairs, model.in_channels, model.mean, model.std,
                                    crop_size=config.img_size, samples=config.samples_per_epoch,
                                    augment=config.augment, elastic=config.elastic, foreground=config.foreground,
                                    rotate=bool(config.rotate))
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=config.batch_size, shuffle=True, generator=generator,
        num_workers=config.workers, drop_last=len(train_set) >= config.batch_size,
        pin_memory=device.startswith("cuda"), persistent_workers=config.workers > 0)
    optimizer = torch.optim.AdamW(model.module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    amp = bool(plan.get("amp"))
    ema = AveragedModel(model.module, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
    state: dict[str, Any] = {
        "model": model, "optimizer": optimizer, "config": config, "device": device, "amp": amp, "ema": ema,
        "channels_last": channels_last, "scaler": torch.amp.GradScaler("cuda", enabled=amp), "step": 0,
        "lr": config.lr, "epoch": 0,
        "total_steps": max(1, config.epochs * len(loader)),
        "loss_fn": make_loss(config.loss, class_weights=config.class_weights, ignore_index=IGNORE),
    }
    keys = ("train_loss", "val_loss", "val_pixel_acc", "val_miou", "val_dice")
    history: dict[str, list[float]] = {k: [] for k in keys}
    start_epoch, best, best_epoch, elapsed = 0, -1.0, 0, planning_seconds
    out.mkdir(parents=True, exist_ok=True)
    write_plan(out / "plan.json", plan)
    if resume:
        saved = read_checkpoint(out / "last.pt")
        model.module.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        if "ema" in saved:
            ema.load_state_dict(saved["ema"])
        state["step"], start_epoch = int(saved["step"]), int(saved["epoch"])
        history, best, best_epoch = saved["history"], float(saved["best"]), int(saved["best_epoch"])
        elapsed = float(saved["elapsed_s"])
    clock = _Clock(elapsed)
    state["clock"] = clock
    state["out_of_time"] = lambda: bool(config.max_minutes) and clock.seconds() >= 60 * config.max_minutes
    prepare = lambda image: prepare_image(image, model.in_channels, model.mean, model.std)  # noqa: E731
    shown = min(3, len(val_pairs))
    epoch, reason = start_epoch, "epochs"
    losses: list[float] = []
    validation_seconds, validated_at = 0.0, 0.0
    for epoch in range(start_epoch + 1, config.epochs + 1):
        state["epoch"] = epoch
        losses.append(_train_epoch(state, loader, progress))
        last = state["out_of_time"]() or epoch == config.epochs
        if config.max_minutes and not last and epoch > start_epoch + 1 \
                and clock.seconds() - validated_at < 6 * validation_seconds:
            continue  # validation costs at most a seventh of the time
        train_loss, losses = float(np.mean(losses)), []
        evaluated = ema.module.eval()
        began = time.perf_counter()
        scores = validate(val_pairs, runner_probabilities(prepare, _model_runner(evaluated, device, amp),
                                                          model.classes, tta=config.tta), model.classes, keep=shown)
        maps = scores.pop("maps")
        validation_seconds, validated_at = time.perf_counter() - began, clock.seconds()
        for key, value in (("train_loss", train_loss), ("val_loss", scores["loss"]),
                           ("val_pixel_acc", scores["pixel_acc"]), ("val_miou", scores["miou"]),
                           ("val_dice", scores["dice"])):
            history[key].append(value)
        if "auc" in scores:
            history.setdefault("val_auc", []).append(scores["auc"])
        row = {"epoch": epoch, "step": state["step"], "seconds": round(clock.seconds(), 2), "lr": state["lr"],
               "train_loss": train_loss, "val_loss": scores["loss"], "val_pixel_acc": scores["pixel_acc"],
               "val_miou": scores["miou"], "val_dice": scores["dice"]}
        if "auc" in scores:
            row.update(val_auc=scores["auc"], threshold=scores["threshold"])
        row.update({f"iou_{name}": v for name, v in zip(model.class_names, scores["iou_per_class"])})
        append_results(out / "results.csv", row)
        improved = scores["miou"] > best
        text = (f"epoch {epoch} (step {state['step']}, {clock.seconds():.0f} s): train loss {train_loss:.4f}  "
                f"val loss {scores['loss']:.4f}  acc {scores['pixel_acc']:.4f}  mIoU {scores['miou']:.4f}  "
                f"Dice {scores['dice']:.4f}" + (f"  AUC {scores['auc']:.4f}" if "auc" in scores else "")
                + ("  *" if improved else ""))
        _emit(progress, "epoch", epoch=epoch, text=text, scores=scores)
        if improved:
            best, best_epoch = scores["miou"], epoch
            weights = {k: v.detach().cpu() for k, v in evaluated.state_dict().items()}
            if "threshold" in scores:
                _fold_threshold(weights, evaluated, model.classes, scores["threshold"])
            saved_model = replace(model, threshold=scores.get("threshold"),
                                  metrics={"epoch": epoch, "step": state["step"], **scores,
                                           "iou_per_class": dict(zip(model.class_names, scores["iou_per_class"]))})
            save_checkpoint(out / "best.pt", {**saved_model.checkpoint(), "state_dict": weights})
            confusion_picture(scores["confusion"], model.class_names, out / "confusion.png")
        if shown and (improved or epoch == 1 or epoch % 5 == 0):
            prediction_picture([p.image for p in val_pairs[:shown]], [p.mask for p in val_pairs[:shown]], maps,
                               out / "val_predictions" / f"epoch_{epoch:03d}.png",
                               title=f"epoch {epoch}, mIoU {scores['miou']:.3f}")
        model.save(out / "last.pt", optimizer=optimizer.state_dict(), ema=ema.state_dict(), step=state["step"],
                   epoch=epoch, history=history, best=best, best_epoch=best_epoch, elapsed_s=clock.seconds())
        if epoch - best_epoch >= config.patience:
            reason = "early stopping"
            break
        if state["out_of_time"]():
            reason = "time budget"
            break
    return _finish(out, history, best_epoch, epoch, reason, clock.seconds(), state["step"])


def _finish(out: Path, history: dict[str, list[float]], best_epoch: int, epoch: int, reason: str,
            seconds: float, steps: int) -> TrainResult:
    from seglab.core.atomic import atomic_write_text
    from seglab.deep.models import load
    from seglab.viz import training_curves

    if not (out / "best.pt").is_file():
        raise InputError(f"training must run at least one epoch, got none (resumed a finished run in {out}?)")
    best_model = load(out / "best.pt")
    metrics = {
        "best": best_model.metrics,
        "best_epoch": best_epoch,
        "epochs_run": epoch,
        "steps": steps,
        "stopped_by": reason,
        "train_seconds": round(seconds, 2),
        "history": history,
        "checkpoint": str(out / "best.pt"),
    }
    atomic_write_text(out / "metrics.json", json.dumps(json_safe(metrics), indent=2) + "\n")
    training_curves(history, out / "curves.png")
    return TrainResult(best_model, history, metrics, out / "best.pt", out)
