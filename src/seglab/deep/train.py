"""The trainer: data -> augmentation -> split -> loss -> AdamW + schedule -> metrics -> best checkpoint.

``train(data, out=RUN_DIR)`` writes ``RUN_DIR/best.pt`` (the self-describing checkpoint with
the best validation mIoU), ``RUN_DIR/last.pt`` (plus optimizer state, for ``resume=True``),
``RUN_DIR/metrics.json`` and ``RUN_DIR/curves.png``. The learning-rate schedule follows the
fraction of the run done, measured in steps or, with ``max_minutes``, in time, whichever is
further, so a time-budgeted run still anneals.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seglab.core.errors import InputError, expected
from seglab.deep.data import (
    IGNORE,
    Pair,
    SegmentationDataset,
    normalization_stats,
    read_labelled,
    split_pairs,
)
from seglab.deep.losses import confusion, make_loss, scores_from_confusion
from seglab.deep.models import DeepModel, default_device, read_checkpoint, set_threads

__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass
class TrainConfig:
    """Everything that defines a run (stored in the checkpoint as ``train_config``)."""

    arch: str = "unet"
    encoder: str = "resnet18"
    model_args: dict[str, Any] = field(default_factory=dict)
    encoder_weights: str | None = None
    epochs: int = 50
    max_minutes: float | None = None
    img_size: int = 256
    batch_size: int = 8
    samples_per_epoch: int | None = None
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    loss: str = "ce+dice"
    class_weights: list[float] | None = None
    augment: bool = True
    elastic: bool = False
    val_fraction: float = 0.2
    patience: int = 10
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
        for name in ("epochs", "img_size", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise expected(name, "an integer >= 1", value)
        if self.img_size % 32:
            raise expected("img_size", "a multiple of 32", self.img_size, f"try {math.ceil(self.img_size / 32) * 32}")
        if not 0 < self.val_fraction < 1:
            raise expected("val_fraction", "a number between 0 and 1 (exclusive)", self.val_fraction)
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise expected("max_minutes", "a positive number", self.max_minutes)


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


def _evaluate(model: DeepModel, dataset: SegmentationDataset, loss_fn: Any, device: str) -> dict[str, Any]:
    module = model.module.eval()
    matrix = torch.zeros(model.classes, model.classes, dtype=torch.int64)
    losses = []
    with torch.inference_mode():
        for index in range(len(dataset)):
            image, mask = dataset[index]
            logits = module(image[None].to(device)).float()
            target = mask[None].to(device)
            losses.append(float(loss_fn(logits, target)))
            matrix += confusion(logits.argmax(1), target, model.classes)
    scores = scores_from_confusion(matrix)
    return {"loss": float(np.mean(losses)), **scores}


class _Clock:
    """Elapsed training time, carried over a resume."""

    def __init__(self, already: float = 0.0) -> None:
        self.start = time.perf_counter() - already

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _train_epoch(state: dict[str, Any], loader: Any, bar: Any) -> float:
    model, optimizer, scaler = state["model"], state["optimizer"], state["scaler"]
    config: TrainConfig = state["config"]
    module = model.module.train()
    device, losses = state["device"], []
    for images, masks in loader:
        progress = state["step"] / state["total_steps"]
        if config.max_minutes:
            progress = max(progress, state["clock"].seconds() / (60 * config.max_minutes))
        for group in optimizer.param_groups:
            group["lr"] = config.lr * _lr_factor(progress, config.schedule)
        images, masks = images.to(device, non_blocking=True), masks.to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=state["amp"]):
            logits = module(images)
        loss = state["loss_fn"](logits.float(), masks)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        state["step"] += 1
        losses.append(loss.item())
        bar.advance(losses[-1])
        if state["out_of_time"]():
            break
    return float(np.mean(losses)) if losses else float("nan")


class _Bar:
    """A rich progress bar over all steps (nothing when quiet)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.progress = None
        if not quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(stderr=True), transient=False)
            self.task = self.progress.add_task("training", total=total)
            self.progress.start()
        self.epoch = 0

    def advance(self, loss: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=1, description=f"epoch {self.epoch} loss {loss:.4f}")

    def log(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def train(
    data: Any,
    *,
    out: str | Path,
    val: Any = None,
    format: str = "folder",
    class_names: Any = None,
    in_channels: int | None = None,
    resume: bool = False,
    quiet: bool = True,
    **options: Any,
) -> TrainResult:
    """Train a segmentation model on labelled images.

    Parameters
    ----------
    data : path-like or list of Pair or list of (image, mask)
        A dataset folder read with :func:`seglab.datasets.read_dataset` in ``format``, or pairs
        whose masks hold class indices (255 = ignore).
    out : path-like
        Run folder: ``best.pt``, ``last.pt``, ``metrics.json``, ``curves.png``.
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
        Continue from ``out/last.pt`` (same configuration).
    quiet : bool
        No progress bar.
    **options
        Fields of :class:`TrainConfig` (``arch``, ``encoder``, ``epochs``, ``max_minutes``,
        ``img_size``, ``batch_size``, ``lr``, ``loss``, ``schedule``, ``patience``, ``seed``...).
        ``task="instances"`` takes instance label images (0 = background, one id per object),
        trains background/interior/boundary and predicts instances (:mod:`seglab.deep.instances`).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> result = train("data/cells", out="runs/cells", epochs=20)  # doctest: +SKIP
    >>> result.metrics["best"]["miou"]  # doctest: +SKIP
    """
    known = set(TrainConfig.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        from seglab.core.registry import suggest

        raise InputError(f"training option must be one of {', '.join(sorted(known))}, got {unknown[0]!r}"
                         f"{suggest(unknown[0], sorted(known))}")
    config = TrainConfig(**options)
    config.check()
    out = Path(out)
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
    model = DeepModel.create(config.arch, class_names=names, in_channels=channels, mean=mean, std=std,
                             encoder_weights=config.encoder_weights,
                             encoder_name=config.encoder, **config.model_args)
    model.train_config = {**asdict(config), "train_images": len(train_pairs), "val_images": len(val_pairs)}
    return _run(model, config, train_pairs, val_pairs, out, resume, quiet, generator)


def _run(model: DeepModel, config: TrainConfig, train_pairs: list[Pair], val_pairs: list[Pair], out: Path,
         resume: bool, quiet: bool, generator: torch.Generator) -> TrainResult:
    device = config.device or default_device()
    model.module.to(device)
    train_set = SegmentationDataset(train_pairs, model.in_channels, model.mean, model.std,
                                    crop_size=config.img_size, samples=config.samples_per_epoch,
                                    augment=config.augment, elastic=config.elastic)
    val_set = SegmentationDataset(val_pairs, model.in_channels, model.mean, model.std, crop_size=None)
    loader = torch.utils.data.DataLoader(
        train_set, batch_size=config.batch_size, shuffle=True, generator=generator,
        num_workers=config.workers, drop_last=len(train_set) >= config.batch_size,
        pin_memory=device == "cuda", persistent_workers=config.workers > 0)
    optimizer = torch.optim.AdamW(model.module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    amp = config.amp and device == "cuda"
    state: dict[str, Any] = {
        "model": model, "optimizer": optimizer, "config": config, "device": device, "amp": amp,
        "scaler": torch.amp.GradScaler("cuda", enabled=amp), "step": 0,
        "total_steps": max(1, config.epochs * len(loader)),
        "loss_fn": make_loss(config.loss, class_weights=config.class_weights, ignore_index=IGNORE),
    }
    history: dict[str, list[float]] = {k: [] for k in ("train_loss", "val_loss", "val_pixel_acc", "val_miou", "val_dice")}
    start_epoch, best, best_epoch, elapsed = 0, -1.0, 0, 0.0
    out.mkdir(parents=True, exist_ok=True)
    if resume and (out / "last.pt").is_file():
        saved = read_checkpoint(out / "last.pt")
        model.module.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        state["step"], start_epoch = int(saved["step"]), int(saved["epoch"])
        history, best, best_epoch = saved["history"], float(saved["best"]), int(saved["best_epoch"])
        elapsed = float(saved["elapsed_s"])
    clock = _Clock(elapsed)
    state["clock"] = clock
    state["out_of_time"] = lambda: bool(config.max_minutes) and clock.seconds() >= 60 * config.max_minutes
    bar = _Bar(config.epochs * len(loader), quiet)
    epoch, reason = start_epoch, "epochs"
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            bar.epoch = epoch
            train_loss = _train_epoch(state, loader, bar)
            scores = _evaluate(model, val_set, state["loss_fn"], device)
            for key, value in (("train_loss", train_loss), ("val_loss", scores["loss"]),
                               ("val_pixel_acc", scores["pixel_acc"]), ("val_miou", scores["miou"]),
                               ("val_dice", scores["dice"])):
                history[key].append(value)
            bar.log(f"epoch {epoch}: train loss {train_loss:.4f}  val loss {scores['loss']:.4f}  "
                    f"acc {scores['pixel_acc']:.4f}  mIoU {scores['miou']:.4f}  Dice {scores['dice']:.4f}")
            if scores["miou"] > best:
                best, best_epoch = scores["miou"], epoch
                model.metrics = {"epoch": epoch, **scores}
                model.save(out / "best.pt")
            model.save(out / "last.pt", optimizer=optimizer.state_dict(), step=state["step"], epoch=epoch,
                       history=history, best=best, best_epoch=best_epoch, elapsed_s=clock.seconds())
            if epoch - best_epoch >= config.patience:
                reason = "early stopping"
                break
            if state["out_of_time"]():
                reason = "time budget"
                break
    finally:
        bar.stop()
    return _finish(out, history, best_epoch, epoch, reason, clock.seconds())


def _finish(out: Path, history: dict[str, list[float]], best_epoch: int, epoch: int, reason: str,
            seconds: float) -> TrainResult:
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
        "stopped_by": reason,
        "train_seconds": round(seconds, 2),
        "history": history,
        "checkpoint": str(out / "best.pt"),
    }
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    training_curves(history, out / "curves.png")
    return TrainResult(best_model, history, metrics, out / "best.pt", out)
