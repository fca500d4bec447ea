"""``seglab train``, ``seglab predict`` and ``seglab model export|info``: thin layers over seglab.deep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from seglab.cli.common import check_outputs, expand_images, progress, write_json
from seglab.core.errors import InputError

if TYPE_CHECKING:
    import numpy as np

    from seglab.core.segmentation import Segmentation

__all__ = ["register"]


def _class_weights(text: str | None) -> list[float] | None:
    from seglab.core.errors import InputError

    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"--class-weights must be numbers separated by commas (one per class), got {text!r}") from None


class _TrainProgress:
    """A rich bar over the time budget (or the steps) and one line per validated epoch."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.task = quiet, None, None

    def __call__(self, event: dict) -> None:
        from seglab.cli.common import console

        if self.quiet:
            return
        if event["event"] == "plan":
            for line in event["lines"]:
                console().print(f"plan: {line}", highlight=False)
            return
        if event["event"] == "epoch":
            (self.bar.console if self.bar else console()).print(event["text"], highlight=False)
            return
        if self.bar is None:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                                TimeRemainingColumn(), console=console(), transient=False)
            self.timed = event["budget"] is not None
            self.task = self.bar.add_task("training", total=event["budget"] if self.timed else event["total"])
            self.bar.start()
        done = min(event["seconds"], event["budget"]) if self.timed else event["step"]
        self.bar.update(self.task, completed=done,
                        description=f"epoch {event['epoch']} step {event['step']} loss {event['loss']:.4f}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def train_command(
    data: Path = typer.Argument(..., help="Dataset folder."),
    format: str = typer.Option("folder", "--format",
                               help="folder | voc | coco | isbi | drive | cityscapes (seglab.datasets readers) | "
                                    "project (the Done images of a `seglab serve` folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (best.pt, plan.json, results.csv, pictures)."),
    arch: str = typer.Option("auto", "--arch",
                             help="auto (the plan's small U-Net), forest (pixel forest, seconds), smallunet, "
                                  "or an smp architecture: unet, unetplusplus, fpn, deeplabv3plus, ..."),
    encoder: str = typer.Option("resnet18", "--encoder", help="smp encoder name (smp architectures)."),
    width: int | None = typer.Option(None, "--width", help="smallunet base channels (default: the plan's)."),
    downscale: int | None = typer.Option(None, "--downscale",
                                         help="smallunet: learn and predict at 1/N resolution, N = 1, 2 or 4 "
                                              "(default: the plan's, from the object thickness)."),
    weights: Path | None = typer.Option(None, "--weights", help="Local encoder/model weights file."),
    in_channels: int | None = typer.Option(None, "--in-channels",
                                           help="1 trains on the grey image, 3 on colour (default: as the data)."),
    epochs: int = typer.Option(50, "--epochs", help="Epochs (with --max-minutes: the budget ends the run)."),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Time budget (the plan fits it)."),
    img_size: int | None = typer.Option(None, "--img-size", help="Training patch (multiple of 32; default: plan)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Default: the plan's."),
    samples_per_epoch: int | None = typer.Option(None, "--samples-per-epoch", help="Patches per epoch."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate (default: the plan's)."),
    loss: str = typer.Option("ce+dice", "--loss", help="ce, dice, focal or sums like ce+dice."),
    schedule: str = typer.Option("cosine", "--schedule", help="cosine | onecycle | constant."),
    class_weights: str | None = typer.Option(None, "--class-weights", help="Loss weight per class: 1,3."),
    foreground: float | None = typer.Option(None, "--foreground",
                                               help="Fraction of patches centred on a class pixel (1/3)."),
    ema: float | None = typer.Option(None, "--ema", help="Weight EMA decay (0 = off; default: the plan's)."),
    tta: bool = typer.Option(False, "--tta", help="Flip TTA when validating."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Last fraction of images used to validate."),
    patience: int | None = typer.Option(None, "--patience", help="Early stopping patience (epochs)."),
    seed: int = typer.Option(0, "--seed"),
    elastic: bool = typer.Option(False, "--elastic", help="Elastic deformation (microscopy)."),
    rotate: bool | None = typer.Option(None, "--rotate/--no-rotate",
                                       help="90-degree rotations in the augmentation (default: the plan's, "
                                            "off when the objects share a direction)."),
    device: str | None = typer.Option(None, "--device", help="cpu | cuda | cuda:1 (default: CUDA when present)."),
    amp: bool = typer.Option(True, "--amp/--no-amp", help="Mixed precision on CUDA."),
    workers: int = typer.Option(0, "--workers", help="Data-loading worker processes."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.pt."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run already in OUT."),
    task: str = typer.Option("semantic", "--task",
                             help="semantic | instances (masks are instance label images; predicts instances)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    db: str | None = typer.Option(None, "--db", help="With --format project: its SQLAlchemy URL, if not the default."),
) -> None:
    """Train a segmentation model on labelled images (planned from the data and the budget)."""
    from seglab.deep.train import train

    holds_run = any((out / name).exists() for name in ("best.pt", "last.pt"))  # train() names the run
    if not (resume or overwrite) and out.is_dir() and any(out.iterdir()) and not holds_run:
        raise InputError(f"run folder {str(out)!r} must be new or empty, got one with files "
                         "(pass --resume to continue it or --overwrite to replace it)")

    source, class_names = data, None
    if format == "project":  # the annotator's store: Done images, every pixel outside objects background
        from seglab.web.learn import read_project

        source, class_names = read_project(data, db)
        format = "folder"
    options = dict(class_names=class_names, arch=arch, encoder=encoder, encoder_weights=None if weights is None else str(weights),
                   epochs=epochs, max_minutes=max_minutes, img_size=img_size, batch_size=batch_size,
                   samples_per_epoch=samples_per_epoch, lr=lr, loss=loss, schedule=schedule,
                   class_weights=_class_weights(class_weights), foreground=foreground, ema=ema, tta=tta,
                   val_fraction=val_fraction, patience=patience, seed=seed, elastic=elastic, rotate=rotate, device=device,
                   amp=amp, workers=workers, task=task)
    model_args = {k: v for k, v in (("base", width), ("downscale", downscale)) if v is not None}
    if model_args:
        options["model_args"] = model_args
    options = {k: v for k, v in options.items() if v is not None}
    bar = _TrainProgress(quiet)
    try:
        result = train(source, out=out, format=format, resume=resume, overwrite=overwrite, progress=bar,
                       in_channels=in_channels, **options)
    finally:
        bar.stop()
    best = result.metrics["best"]
    extra = f", AUC {best['auc']:.4f}, threshold {best['threshold']:.3f}" if best.get("auc") is not None else ""
    typer.echo(f"best epoch {result.metrics['best_epoch']}: pixel acc {best['pixel_acc']:.4f}, "
               f"mIoU {best['miou']:.4f}, Dice {best['dice']:.4f}{extra} -> {result.best_path}")


def _class_overlay(image: np.ndarray, seg: Segmentation) -> np.ndarray:
    """Every class coloured; class 0 too when it is not a background (ISBI's membrane)."""
    import numpy as np

    from seglab.core.segmentation import Segmentation
    from seglab.viz import overlay

    names = seg.class_names
    if not names or names[0].lower() in ("background", "void", "bg", "unlabelled", "unlabeled"):
        return overlay(image, seg, by_class=True)
    classes = seg.class_map()
    lut = np.zeros(len(names), np.int32)
    present = np.unique(classes)
    lut[present] = np.arange(1, present.size + 1, dtype=np.int32)
    every = Segmentation(lut[classes], class_ids=present.astype(np.int64), class_names=names)
    return overlay(image, every)


def predict_command(
    model: Path = typer.Argument(..., help="Checkpoint (best.pt)."),
    images: list[Path] = typer.Argument(..., help="Image files or folders."),
    outdir: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    probabilities: bool = typer.Option(False, "--probabilities", help="Also write STEM.probs.npz."),
    backend: str = typer.Option("auto", "--backend",
                                help="auto (ONNX Runtime on CPU when installed, else torch) | torch | onnx."),
    tile_size: int = typer.Option(512, "--tile-size"),
    overlap: int = typer.Option(64, "--overlap"),
    tta: bool = typer.Option(False, "--tta", help="Flip test-time augmentation."),
    overwrite: bool = typer.Option(False, "--overwrite"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Segment images with a trained model: STEM.classes.png, .labels.png, .overlay.png, .json."""
    import numpy as np

    from seglab.core.image import load_image, save_image
    from seglab.core.registry import segment

    files = expand_images(images)
    outputs = []
    for path in files:
        outputs += [outdir / f"{path.stem}.{kind}" for kind in ("classes.png", "labels.png", "overlay.png", "json")]
    check_outputs(outputs, overwrite)
    outdir.mkdir(parents=True, exist_ok=True)
    for path in progress(files, description="predicting", quiet=quiet):
        image = load_image(path)
        seg = segment(image, "model", model=str(model), backend=backend, tile_size=tile_size,
                      overlap=overlap, tta=tta)
        save_image(outdir / f"{path.stem}.classes.png", seg.class_map().astype(np.uint8 if len(seg.class_names) < 256 else np.uint16))
        seg.save(outdir / f"{path.stem}.labels.png")
        save_image(outdir / f"{path.stem}.overlay.png", _class_overlay(image, seg))
        write_json(outdir / f"{path.stem}.json", seg.summary())
        if probabilities:
            from seglab.core.atomic import atomic_path

            with atomic_path(outdir / f"{path.stem}.probs.npz") as tmp:
                np.savez_compressed(tmp, probabilities=seg.probabilities, class_names=np.array(seg.class_names))
    if not quiet:
        typer.echo(f"wrote {len(files)} predictions to {outdir}")


def export_command(
    model: Path = typer.Argument(..., help="Checkpoint (best.pt)."),
    onnx: Path = typer.Option(..., "--onnx", help="Output .onnx file."),
    overwrite: bool = typer.Option(False, "--overwrite"),
) -> None:
    """Export a checkpoint to ONNX (dynamic batch, height and width)."""
    from seglab.deep.export import export_onnx

    check_outputs([onnx], overwrite)
    export_onnx(model, onnx)
    typer.echo(f"wrote {onnx}")


def info_command(
    model: Path = typer.Argument(..., help="Checkpoint (best.pt)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Describe a checkpoint: architecture, classes, normalisation, training metrics."""
    from seglab.core.segmentation import json_safe
    from seglab.deep.models import load

    info = load(model, device="cpu").info()
    if as_json:
        typer.echo(json.dumps(json_safe(info), indent=2))
        return
    typer.echo(f"{info['arch']} ({info['model_args'].get('encoder_name')}), {info['parameters']:,} parameters")
    typer.echo(f"classes: {', '.join(info['class_names'])}; in_channels: {info['in_channels']}")
    metrics = {k: round(v, 4) for k, v in info["metrics"].items() if isinstance(v, float)}
    typer.echo(f"metrics: {metrics}")
    typer.echo(f"seglab {info['seglab_version']}")


def register(app: typer.Typer) -> None:
    """Add ``train``, ``predict`` and the ``model`` group to the seglab app."""
    app.command("train")(train_command)
    app.command("predict")(predict_command)
    model_app = typer.Typer(help="Inspect and export trained models.", no_args_is_help=True)
    model_app.command("export")(export_command)
    model_app.command("info")(info_command)
    app.add_typer(model_app, name="model")
