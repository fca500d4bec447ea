"""The training plan: measure the data and the machine, then pick what the budget can buy.

As nnU-Net configures itself from the data, :func:`make_plan` reads image sizes, class
frequencies and object thickness from the labelled pairs, times a few optimiser steps of the
candidate networks on the training device, and picks architecture, width, depth, patch, batch,
learning rate, foreground oversampling and EMA so that the time budget buys enough steps.
Every choice the caller made explicitly is kept. The plan is printed by ``seglab train``,
written to ``plan.json`` and stored in the checkpoint (``train_config["plan"]``).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["Plan", "measure_data", "make_plan", "batch_from_memory", "choose_downscale", "choose_rotate",
           "TARGET_STEPS"]

#: Optimiser steps a budget should buy: the widest network reaching them is chosen.
TARGET_STEPS = 1200
#: Pixels per optimiser step (batch x patch^2) aimed at: 32 patches of 64^2, as in the small
#: U-Nets that reach 0.955 on DRIVE in minutes on a CPU.
PIXELS_PER_STEP = 32 * 64 * 64
WIDTHS = (32, 24, 16, 8)
#: Object thickness (pixels) still left after the network's downscaling: objects thicker than
#: twice this are learnt at half resolution (four times cheaper steps, twice the receptive field).
MIN_THICKNESS = 16
#: Orientation coherence above which the objects have a preferred direction (upright horses
#: 0.51; vessel trees 0.04, membranes 0.03): 90-degree rotations would show unseen poses.
MAX_COHERENCE = 0.2


@dataclass
class Plan:
    """What a run will do (all JSON-ready)."""

    arch: str
    model_args: dict[str, Any]
    img_size: int
    batch_size: int
    lr: float
    samples_per_epoch: int
    foreground: float
    ema: float
    device: str
    amp: bool
    channels_last: bool
    rotate: bool = True
    threads: int = 1
    parameters: int = 0
    step_seconds: float | None = None
    expected_steps: int | None = None
    train_images: int = 0
    val_images: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    chosen_by: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The plan in a few lines, as ``seglab train`` prints it."""
        net = self.arch + "".join(f" {k}={v}" for k, v in self.model_args.items() if k != "encoder_weights")
        steps = "" if self.expected_steps is None else \
            f", about {self.expected_steps} steps ({self.step_seconds:.3f} s each)"
        sizes = self.data.get("median_size")
        freq = ", ".join(f"{v:.3f}" for v in self.data.get("class_fractions", []))
        return [
            f"data: {self.train_images} training / {self.val_images} validation images, median size "
            f"{sizes}, class fractions [{freq}], object thickness {self.data.get('thickness')} px, "
            f"orientation {self.data.get('orientation', 0.0)}",
            f"model: {net} ({self.parameters:,} parameters) on {self.device}"
            f"{' with AMP' if self.amp else ''}{', channels_last' if self.channels_last else ''}"
            f"{f', {self.threads} CPU threads' if self.device == 'cpu' else ''}",
            f"training: patch {self.img_size}, batch {self.batch_size}, lr {self.lr:g}, "
            f"{self.samples_per_epoch} patches per epoch, {self.foreground:.2f} centred on a class pixel, "
            f"EMA {self.ema}, {'flips and 90-degree rotations' if self.rotate else 'flips, no 90-degree rotations'}"
            f"{steps}",
        ]


def _pow2(value: float) -> int:
    return 2 ** max(0, math.ceil(math.log2(max(value, 1.0))))


def measure_data(pairs: list[Any], *, ignore: int = 255, sample: int = 12) -> dict[str, Any]:
    """Image sizes, class fractions and object thickness of labelled pairs.

    ``thickness`` is twice the 95th percentile of the distance to the class border inside the
    classes other than the most frequent one (the width of thick vessels, membranes, objects),
    measured on up to ``sample`` images spread over the set. ``orientation`` is the coherence
    of their elongation: each class mask of each image gives the unit-free vector
    ``(mu20 - mu02, 2 mu11) / (mu20 + mu02)`` of its second central moments, and the length of
    the mean vector is 0 when the shapes point every way and 1 when all are lines in one direction.
    """
    import cv2

    sizes = np.array([p.mask.shape for p in pairs])
    counts: dict[int, int] = {}
    for pair in pairs:
        values, n = np.unique(pair.mask, return_counts=True)
        for v, c in zip(values.tolist(), n.tolist()):
            if v != ignore:
                counts[v] = counts.get(v, 0) + c
    classes = max(counts, default=0) + 1
    total = max(sum(counts.values()), 1)
    fractions = [counts.get(c, 0) / total for c in range(classes)]
    dominant = int(np.argmax(fractions)) if fractions else 0
    depths, axes = [], []
    for pair in pairs[:: max(1, len(pairs) // sample)][:sample]:
        for c in range(classes):
            if c == dominant:
                continue
            inside = (pair.mask == c).astype(np.uint8)
            if inside.any():
                m = cv2.moments(inside, binaryImage=True)
                spread = m["mu20"] + m["mu02"]
                if spread > 0:
                    axes.append((m["mu20"] - m["mu02"], 2 * m["mu11"]) / np.float64(spread))
                dist = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
                depths.append(float(np.percentile(dist[inside > 0], 95)))
    thickness = 2 * float(np.median(depths)) if depths else 0.0
    return {
        "images": len(pairs),
        "median_size": [int(v) for v in np.median(sizes, axis=0)],
        "min_side": int(np.median(sizes.min(axis=1))),
        "class_fractions": [round(f, 4) for f in fractions],
        "thickness": round(thickness, 1),
        "orientation": round(float(np.linalg.norm(np.mean(axes, axis=0))), 3) if axes else 0.0,
    }


def choose_downscale(data: dict[str, Any]) -> int:
    """1, 2 or 4: the largest factor leaving objects :data:`MIN_THICKNESS` thick and images 64 wide.

    Thin structures (vessels, membranes) keep the full resolution; big blobs (a horse, an organ)
    are learnt and predicted on the image average-pooled by the factor, the logits resized back.
    """
    factor = 1
    while factor < 4 and data["thickness"] / (2 * factor) >= MIN_THICKNESS \
            and data["min_side"] / (2 * factor) >= 64:
        factor *= 2
    return factor


def choose_patch(data: dict[str, Any], downscale: int = 1) -> int:
    """Patch edge: four object thicknesses as a power of two, 64-256 network pixels, within the image."""
    patch = min(max(_pow2(4 * data["thickness"]), 64 * downscale), 256 * downscale)
    fits = max(32, data["min_side"] // 32 * 32)
    return int(min(patch, max(fits, 64)))


def depth_for(patch: int, downscale: int = 1) -> int:
    """Poolings so the bottleneck sees about 8x8 positions of a patch (3 for 64, 4 for 128).

    The network's input (``patch / downscale``) counts, and ``downscale * 2**depth`` stays at
    most 32, the multiple prediction pads images to.
    """
    depth = int(min(max(round(math.log2(patch / downscale)) - 3, 3), 5))
    return min(depth, 5 - int(math.log2(downscale)))


def choose_rotate(data: dict[str, Any]) -> bool:
    """90-degree rotations in the augmentation unless the objects share a direction.

    Vessels, membranes and cells look alike at any angle; horses, people and cars stand upright,
    and rotated copies of them cost steps on poses the test images never show (horses, 3
    minutes: IoU 0.72 without rotations, 0.62 with). Flips keep an axis' direction and stay.
    """
    return bool(data.get("orientation", 0.0) <= MAX_COHERENCE)


def batch_from_memory(free_bytes: float, bytes_per_sample: float, base: int, *, share: float = 0.5,
                      most: int = 256) -> int:
    """A GPU batch: as many samples as ``share`` of the free memory holds, at least ``base``."""
    if bytes_per_sample <= 0:
        return base
    return int(min(max(base, int(share * free_bytes // bytes_per_sample)), most))


def time_steps(module: Any, in_channels: int, classes: int, patch: int, batch: int, device: str, *,
               amp: bool = False, channels_last: bool = False, steps: int = 2) -> tuple[float, float]:
    """Seconds per optimiser step (after one warm-up) and peak CUDA bytes per sample (0 on CPU)."""
    import torch

    from seglab.deep.losses import make_loss

    module = module.to(device).train()
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(module.parameters(), lr=1e-4)
    loss_fn = make_loss("ce+dice")
    images = torch.randn(batch, in_channels, patch, patch, device=device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    masks = torch.randint(0, classes, (batch, patch, patch), device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    seconds = []
    for k in range(steps + 1):
        begin = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            logits = module(images)
        loss = loss_fn(logits.float(), masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if k:
            seconds.append(time.perf_counter() - begin)
    peak = torch.cuda.max_memory_allocated() / batch if device == "cuda" else 0.0
    return float(np.median(seconds)), float(peak)


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def choose_threads(module: Any, in_channels: int, classes: int, patch: int, device: str) -> tuple[int, dict[str, float]]:
    """The faster of one thread and all allowed ones for a training step (the thread count is left set).

    On a CPU shared with other busy processes, torch's threads wait for each other at every
    operation: one thread can be several times faster than two (measured 0.62 s against 2.6 s
    per step on 2 cores with a load of 7).
    """
    import torch

    from seglab.deep.models import set_threads

    set_threads()
    most = torch_threads()
    if most == 1:
        return 1, {}
    times = {}
    for count in (most, 1):
        torch.set_num_threads(count)
        times[count] = time_steps(module, in_channels, classes, patch, 4, device)[0]
    best = min(times, key=times.get)
    torch.set_num_threads(best)
    return best, {f"threads={k}": round(v, 4) for k, v in times.items()}


def make_plan(train_pairs: list[Any], val_pairs: list[Any], *, in_channels: int, classes: int,
              device: str, max_minutes: float | None, epochs: int, given: dict[str, Any],
              amp: bool = True) -> Plan:
    """Choose the run's settings; ``given`` holds the options the caller set (kept as they are).

    Parameters
    ----------
    train_pairs, val_pairs : list of Pair
    in_channels, classes : int
    device : str
        The training device; CUDA takes its batch from free memory, AMP and channels_last.
    max_minutes : float or None
        With a budget, a few timed steps per candidate width choose the widest network that still
        makes :data:`TARGET_STEPS` steps; without one, the widest.
    epochs : int
    given : dict
        Explicit options (``arch``, ``model_args``, ``img_size``, ``batch_size``, ``lr``,
        ``samples_per_epoch``, ``foreground``, ``ema``, ``rotate``).
    amp : bool
        Mixed precision where it pays (CUDA only).

    Returns
    -------
    Plan
    """
    from seglab.deep.models import create_model

    data = measure_data(train_pairs)
    chosen: dict[str, str] = {}
    arch = given.get("arch") or "auto"
    model_args = dict(given.get("model_args") or {})
    own = arch == "auto"
    downscale = 1
    if own:
        arch = "smallunet"
        chosen["downscale"] = "given" if "downscale" in model_args else "object thickness and image size"
        downscale = int(model_args.get("downscale", choose_downscale(data)))
        if downscale != 1:
            model_args["downscale"] = downscale
    patch = given.get("img_size") or choose_patch(data, downscale)
    chosen["img_size"] = "given" if given.get("img_size") else "object thickness and image size"
    if own:
        model_args.setdefault("depth", depth_for(patch, downscale))
    cuda = device.split(":")[0] == "cuda"
    use_amp = bool(amp and cuda)
    channels_last = cuda
    net_pixels = (patch / downscale) ** 2
    batch = given.get("batch_size") or int(min(max(round(PIXELS_PER_STEP / net_pixels), 4), 64))
    chosen["batch_size"] = "given" if given.get("batch_size") else f"{PIXELS_PER_STEP} network pixels per step"
    timings: dict[str, float] = {}
    budget = 60 * max_minutes if max_minutes else None

    def build(width: int | None) -> Any:
        args = dict(model_args)
        if width is not None:
            args["base"] = width
        if not own:
            args.setdefault("encoder_name", given.get("encoder", "resnet18"))
        return create_model(arch, in_channels=in_channels, classes=classes, **args), args

    step_seconds = None
    widths = WIDTHS if own and "base" not in model_args else (None,)
    module, args = build(widths[-1])
    threads = torch_threads()
    if budget is not None and budget >= 20:
        if not cuda:
            threads, thread_times = choose_threads(build(widths[-1])[0], in_channels, classes, patch, device)
            timings.update(thread_times)
            chosen["threads"] = "fastest timed step"
        # narrowest first, a small batch scaled to the real one: planning costs seconds, not minutes
        probe = min(batch, 4)
        for width in reversed(widths):
            candidate, candidate_args = build(width)
            seconds, per_sample = time_steps(candidate, in_channels, classes, patch, probe, device,
                                             amp=use_amp, channels_last=channels_last)
            seconds *= batch / probe
            timings[f"base={width}" if width else arch] = round(seconds, 4)
            if step_seconds is not None and 0.85 * budget / seconds < TARGET_STEPS:
                break
            module, args, step_seconds = candidate, candidate_args, seconds
            if cuda and not given.get("batch_size"):
                import torch

                free, _ = torch.cuda.mem_get_info()
                new = batch_from_memory(free, per_sample, batch)
                step_seconds *= new / batch
                batch = new
                chosen["batch_size"] = "GPU memory"
            if 0.85 * budget / step_seconds < TARGET_STEPS:
                break
        chosen["width"] = f"widest making {TARGET_STEPS} steps in the budget" if own else "given"
    elif own:
        module, args = build(widths[0])
        chosen["width"] = "widest (no time budget to fit)" if budget is None else "widest (budget too short to time)"
    parameters = sum(p.numel() for p in module.parameters())
    expected_steps = None
    if budget is not None and step_seconds:
        expected_steps = int(0.85 * budget / step_seconds)
    if given.get("samples_per_epoch"):
        samples = int(given["samples_per_epoch"])
    elif expected_steps:
        samples = batch * max(10, expected_steps // 12)  # about a dozen validations per run
    else:
        samples = max(len(train_pairs), 64 * batch // 8)
    lr = given.get("lr") or (2e-3 if own else 1e-3)
    steps_total = expected_steps or epochs * max(1, samples // batch)
    rotate = bool(given["rotate"]) if given.get("rotate") is not None else choose_rotate(data)
    chosen["rotate"] = "given" if given.get("rotate") is not None else "object orientation"
    ema = given.get("ema")
    if ema is None:
        ema = float(min(max(1 - 10 / max(steps_total, 1), 0.9), 0.999))
    return Plan(arch=arch, model_args={k: v for k, v in args.items() if k not in ("in_channels", "classes")},
                img_size=int(patch), batch_size=int(batch), lr=float(lr), samples_per_epoch=int(samples),
                foreground=float(given.get("foreground", 1 / 3)), ema=round(ema, 4), device=device,
                amp=use_amp, channels_last=channels_last, rotate=rotate, threads=int(threads),
                parameters=int(parameters),
                step_seconds=None if step_seconds is None else round(step_seconds, 4),
                expected_steps=expected_steps, train_images=len(train_pairs), val_images=len(val_pairs),
                data=data, timings=timings, chosen_by=chosen)
