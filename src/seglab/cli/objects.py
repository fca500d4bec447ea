"""``seglab detect | export | convert | annotate``: objects and annotation formats."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import typer

from seglab.cli.common import check_outputs, console, expand_images, method_params, progress, write_json
from seglab.core.errors import InputError

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("detect")(detect_command)
    app.command("export")(export_command)
    app.command("convert")(convert_command)
    app.command("annotate")(annotate_command)


_METHOD = typer.Option("otsu", "--method", "-m", help="A method name (see `seglab methods`).")
_PARAM = typer.Option(None, "--param", "-p", help="Method parameter key=value (repeatable).")
_MIN_AREA = typer.Option(20, "--min-area", help="Drop objects smaller than this (pixels).")
_MAX_AREA = typer.Option(None, "--max-area", help="Drop objects larger than this (pixels).")
_BORDER = typer.Option(False, "--exclude-border", help="Drop objects touching the image border.")
_SEPARATE = typer.Option(False, "--separate", help="Split touching objects (watershed on the distance).")
_MIN_DISTANCE = typer.Option(7, "--min-distance", help="Seed spacing for --separate (pixels).")
_SPLIT = typer.Option(True, "--split/--no-split", help="One object per connected component.")
_FILL = typer.Option(True, "--fill/--no-fill", help="Fill holes inside objects.")
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace existing outputs.")
_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
_POLYGONS = typer.Option(
    False, "--polygons", help="COCO: polygons instead of RLE (objects with holes stay RLE)."
)
_VOID = typer.Option(0, "--void-border", help="VOC: width of the void (255) band around objects.")
_PER_OBJECT = typer.Option(False, "--per-object", help="png: one mask PNG per object.")


def detect_command(
    images: list[Path] = typer.Argument(..., help="Image files or folders of images."),
    method: str = _METHOD,
    param: list[str] | None = _PARAM,
    out: Path = typer.Option(Path("."), "--out", "-o", help="Output folder."),
    min_area: int = _MIN_AREA,
    max_area: int | None = _MAX_AREA,
    exclude_border: bool = _BORDER,
    separate: bool = _SEPARATE,
    min_distance: int = _MIN_DISTANCE,
    split: bool = _SPLIT,
    fill: bool = _FILL,
    padding: int = typer.Option(4, "--padding", help="Pixels around each crop."),
    crops: bool = typer.Option(True, "--crops/--no-crops", help="Write STEM_crops/NNNN.png."),
    as_json: bool = typer.Option(False, "--json", help="Print the object lists on stdout."),
    overwrite: bool = _OVERWRITE,
    quiet: bool = _QUIET,
) -> None:
    """Find objects: write STEM.objects.json, STEM.boxes.png and STEM_crops/ per image."""
    from seglab.core.image import load_image, save_image
    from seglab.objects import detect, object_records, save_crops
    from seglab.viz import draw_boxes

    params = method_params(method, param)
    files = expand_images(images)
    planned = [
        (f, out / f"{f.stem}.objects.json", out / f"{f.stem}.boxes.png", out / f"{f.stem}_crops")
        for f in files
    ]
    check_outputs([p for _, *paths in planned for p in paths[: 3 if crops else 2]], overwrite)
    documents = []
    for path, json_path, boxes_path, crop_dir in progress(
        planned, description=f"detect ({method})", quiet=quiet
    ):
        image = load_image(path)
        seg = detect(
            image,
            method,
            split=split,
            fill=fill,
            min_area=min_area,
            max_area=max_area,
            exclude_border=exclude_border,
            separate=separate,
            min_distance=min_distance,
            **params,
        )
        document = {
            "image": str(path),
            "shape": list(seg.shape),
            "method": method,
            "params": params,
            "n_objects": len(seg),
            "objects": object_records(seg, image),
        }
        write_json(json_path, document)
        save_image(boxes_path, draw_boxes(image, seg.boxes_xyxy, texts=[str(i) for i in seg.ids]))
        if crops:
            for stale in crop_dir.glob("*.png") if crop_dir.is_dir() else []:
                stale.unlink()
            save_crops(image, seg, crop_dir, padding=padding)
        documents.append(document)
    if as_json:
        typer.echo(json.dumps(documents if len(documents) != 1 else documents[0], indent=2))
    elif not quiet:
        total = sum(d["n_objects"] for d in documents)
        console().print(f"found {total} object(s) in {len(files)} image(s) -> {out}")


def export_command(
    seg_dir: Path = typer.Argument(
        ..., help="Folder of STEM.labels.png (+ STEM.json) from `seglab segment`."
    ),
    images: Path | None = typer.Option(None, "--images", help="Folder of the images (matched by stem)."),
    to: str = typer.Option(..., "--to", help="coco, voc, yolo, labelme or png."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (or .json file for coco)."),
    polygons: bool = _POLYGONS,
    void_border: int = _VOID,
    per_object: bool = _PER_OBJECT,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Export segmentations written by `seglab segment` to an annotation format."""
    from seglab.core.segmentation import Segmentation

    options = _format_options(to, polygons, void_border, per_object)
    if not seg_dir.is_dir():
        raise InputError(f"segmentation folder {str(seg_dir)!r} does not exist")
    label_files = sorted(seg_dir.glob("*.labels.png"))
    if not label_files:
        raise InputError(f"folder {str(seg_dir)!r} must contain STEM.labels.png files, got none")
    items = []
    for label_file in label_files:
        stem = label_file.name[: -len(".labels.png")]
        seg = Segmentation.load(label_file)
        items.append((_image_for(stem, seg, seg_dir, images), seg))
    _write(items, to, out, options, overwrite, image_root=images)


def convert_command(
    source: Path = typer.Argument(..., help="A COCO .json file or a dataset folder."),
    source_format: str = typer.Option(..., "--from", help="coco, voc, yolo, labelme or png."),
    to: str = typer.Option(..., "--to", help="coco, voc, yolo, labelme or png."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (or .json file for coco)."),
    images: Path | None = typer.Option(
        None, "--images", help="Folder of the images, where the source needs it."
    ),
    polygons: bool = _POLYGONS,
    void_border: int = _VOID,
    per_object: bool = _PER_OBJECT,
    overwrite: bool = _OVERWRITE,
) -> None:
    """Convert annotations from one format to another."""
    from seglab.formats import read

    options = _format_options(to, polygons, void_border, per_object)
    read_options: dict[str, Any] = {}
    if images is not None:
        key = {"coco": "image_root", "voc": "image_dir", "yolo": "image_dir"}.get(source_format.lower())
        if key is None:
            raise InputError(
                f"--images must not be given with --from {source_format} (it records image paths)"
            )
        read_options[key] = images
    items = read(source, source_format, **read_options)
    _write(items, to, out, options, overwrite, image_root=images)


def annotate_command(
    images: list[Path] = typer.Argument(..., help="Image files or folders of images."),
    method: str = _METHOD,
    param: list[str] | None = _PARAM,
    classes: str | None = typer.Option(None, "--classes", help="Class names, comma-separated."),
    to: str = typer.Option("coco", "--to", help="coco, voc, yolo, labelme or png."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (or .json file for coco)."),
    min_area: int = _MIN_AREA,
    max_area: int | None = _MAX_AREA,
    exclude_border: bool = _BORDER,
    separate: bool = _SEPARATE,
    min_distance: int = _MIN_DISTANCE,
    split: bool = _SPLIT,
    fill: bool = _FILL,
    polygons: bool = _POLYGONS,
    overwrite: bool = _OVERWRITE,
    quiet: bool = _QUIET,
) -> None:
    """Annotate images automatically: segment, extract objects, write an annotation file."""
    from seglab.core.image import load_image
    from seglab.objects import detect

    options = _format_options(to, polygons, 0, False)
    params = method_params(method, param)
    names = [n.strip() for n in (classes or "").split(",") if n.strip()]
    files = expand_images(images)
    _check_target(to, out, overwrite)
    items = []
    for path in progress(files, description=f"annotate ({method})", quiet=quiet):
        seg = detect(
            load_image(path),
            method,
            split=split,
            fill=fill,
            min_area=min_area,
            max_area=max_area,
            exclude_border=exclude_border,
            separate=separate,
            min_distance=min_distance,
            **params,
        )
        items.append((path, apply_classes(seg, names, method)))
    _write(items, to, out, options, True)
    if not quiet:
        console().print(
            f"annotated {sum(len(s) for _, s in items)} object(s) in {len(items)} image(s) -> {out}"
        )


# ---------------------------------------------------------------------------- helpers
def apply_classes(seg: Any, names: list[str], method: str = "the method") -> Any:
    """``seg`` with its classes renamed to ``names`` (background excluded); unclassed regions get names[0]."""
    import numpy as np

    from seglab.formats import BACKGROUND_NAMES

    if not names:
        return seg
    if seg.class_ids is None:
        if len(names) != 1:
            raise InputError(
                f"--classes must name 1 class for {method}, whose regions have no classes, got {len(names)}"
            )
        return dataclasses.replace(
            seg,
            class_ids=np.ones(len(seg), dtype=np.int64),
            class_names=("background", names[0]),
            meta=dict(seg.meta),
        )
    one_based = bool(seg.class_names) and seg.class_names[0].lower() in BACKGROUND_NAMES
    ids = seg.class_ids if one_based else seg.class_ids + 1
    if ids.size and ids.max() > len(names):
        raise InputError(
            f"--classes must name at least {int(ids.max())} classes for {method}, got {len(names)}"
        )
    return dataclasses.replace(seg, class_ids=ids, class_names=("background", *names), meta=dict(seg.meta))


def _format_options(to: str, polygons: bool, void_border: int, per_object: bool) -> dict[str, Any]:
    from seglab.formats import get_format

    get_format(to)
    to = to.lower()
    given = {
        "--polygons": (polygons, "coco"),
        "--void-border": (void_border, "voc"),
        "--per-object": (per_object, "png"),
    }
    for flag, (value, fmt) in given.items():
        if value and to != fmt:
            raise InputError(f"{flag} applies to --to {fmt} only, got --to {to}")
    return {
        "coco": {"polygons": polygons},
        "voc": {"void_border": void_border},
        "png": {"per_object": per_object},
    }.get(to, {})


def _target(to: str, out: Path) -> Path:
    if to.lower() == "coco" and out.suffix.lower() != ".json":
        return out / "annotations.json"
    return out


def _check_target(to: str, out: Path, overwrite: bool) -> None:
    target = _target(to, out)
    if target.is_dir() and not any(target.iterdir()):
        return
    check_outputs([target], overwrite)


def _write(
    items: list[Any],
    to: str,
    out: Path,
    options: dict[str, Any],
    overwrite: bool,
    image_root: Path | None = None,
) -> None:
    from seglab.formats import write

    _check_target(to, out, overwrite)
    target = _target(to, out)
    if to.lower() == "coco" and image_root is not None and all(_is_under(p, image_root) for p, _ in items):
        options = {**options, "image_root": image_root}
    write(items, target, to, **options)
    console().print(
        f"wrote {sum(len(s) for _, s in items)} object(s) of {len(items)} image(s) as {to} -> {target}"
    )


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _image_for(stem: str, seg: Any, seg_dir: Path, images: Path | None) -> Path:
    from seglab.core.image import IMAGE_SUFFIXES

    if images is not None:
        for suffix in IMAGE_SUFFIXES:
            for candidate in (images / f"{stem}{suffix}", images / f"{stem}{suffix.upper()}"):
                if candidate.is_file():
                    _check_size(candidate, seg.shape)
                    return candidate
        raise InputError(f"image for {stem}.labels.png must be in {str(images)!r} as {stem}.*, got none")
    source = seg.meta.get("source")
    summary = seg_dir / f"{stem}.json"
    if not isinstance(source, str) and summary.is_file():
        source = json.loads(summary.read_text(encoding="utf-8")).get("meta", {}).get("source")
    if not isinstance(source, str):
        raise InputError(f"image for {stem}.labels.png must be given with --images (no meta.source recorded)")
    return Path(source)


def _check_size(path: Path, shape: tuple[int, int]) -> None:
    from PIL import Image

    with Image.open(path) as image:
        if (image.height, image.width) != tuple(shape):
            raise InputError(
                f"image {str(path)!r} must have size {tuple(shape)} like its labels, "
                f"got {(image.height, image.width)}"
            )
