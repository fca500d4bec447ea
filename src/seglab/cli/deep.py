"""``seglab train``, ``seglab predict`` and ``seglab model export|info``: thin layers over seglab.deep."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from seglab.cli.common import check_outputs, expand_images, progress, write_json

__all__ = ["register"]


def train_command(
    data: Path = typer.Argument(..., help="Dataset folder."),
    format: str = typer.Option("folder", "--format",
                               help="folder | voc | coco | isbi | drive | cityscapes (seglab.datasets readers) | "
                                    "project (the Done images of a `seglab serve` folder)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (best.pt, metrics.json, curves.png)."),
    arch: str = typer.Option("unet", "--arch", help="unet, unetplusplus, fpn, deeplabv3plus, ..."),
    encoder: str = typer.Option("resnet18", "--encoder", help="smp encoder name."),
    weights: Path | None = typer.Option(None, "--weights", help="Local encoder/model weights file."),
    epochs: int = typer.Option(50, "--epochs"),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Time budget."),
    img_size: int = typer.Option(256, "--img-size", help="Training crop size (multiple of 32)."),
    batch_size: int = typer.Option(8, "--batch-size"),
    samples_per_epoch: int | None = typer.Option(None, "--samples-per-epoch", help="Crops per epoch."),
    lr: float = typer.Option(1e-3, "--lr"),
    loss: str = typer.Option("ce+dice", "--loss", help="ce, dice, focal or sums like ce+dice."),
    schedule: str = typer.Option("cosine", "--schedule", help="cosine | onecycle | constant."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Last fraction of images used to validate."),
    patience: int = typer.Option(10, "--patience", help="Early stopping patience (epochs)."),
    seed: int = typer.Option(0, "--seed"),
    elastic: bool = typer.Option(False, "--elastic", help="Elastic deformation (microscopy)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT/last.pt."),
    task: str = typer.Option("semantic", "--task",
                             help="semantic | instances (masks are instance label images; predicts instances)."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    db: str | None = typer.Option(None, "--db", help="With --format project: its SQLAlchemy URL, if not the default."),
) -> None:
    """Train a segmentation model on labelled images."""
    from seglab.deep.train import train

    source, class_names = data, None
    if format == "project":  # the annotator's store: Done images, every pixel outside objects background
        from seglab.web.learn import read_project

        source, class_names = read_project(data, db)
        format = "folder"
    result = train(source, out=out, format=format, class_names=class_names, resume=resume, quiet=quiet, arch=arch, encoder=encoder,
                   encoder_weights=None if weights is None else str(weights), epochs=epochs,
                   max_minutes=max_minutes, img_size=img_size, batch_size=batch_size,
                   samples_per_epoch=samples_per_epoch, lr=lr, loss=loss,
                   schedule=schedule, val_fraction=val_fraction, patience=patience, seed=seed, elastic=elastic,
                   task=task)
    best = result.metrics["best"]
    typer.echo(f"best epoch {result.metrics['best_epoch']}: pixel acc {best['pixel_acc']:.4f}, "
               f"mIoU {best['miou']:.4f}, Dice {best['dice']:.4f} -> {result.best_path}")


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
    from seglab.viz import overlay

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
        save_image(outdir / f"{path.stem}.overlay.png", overlay(image, seg, by_class=True))
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
