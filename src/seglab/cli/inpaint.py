"""``seglab inpaint``: remove or fill a region given as a mask, a point, a box or label ids."""

from __future__ import annotations

from pathlib import Path

import typer

from seglab.core.errors import InputError

__all__ = ["register"]


def _numbers(text: str | None, count: int, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        example = "x,y" if count == 2 else "x0,y0,x1,y1"
        raise InputError(f"{what} must be {count} numbers written {example}, got {text!r}")
    return values


def _ids(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--ids must be integers separated by ',', got {text!r}") from None


def _build_mask(image, mask: Path | None, point, box, labels: Path | None, ids, segmenter: str, dilate: int):  # type: ignore[no-untyped-def]
    from seglab.inpaint import mask_from_box, mask_from_file, mask_from_point, mask_from_segmentation

    given = [name for name, value in (("--mask", mask), ("--point", point), ("--box", box), ("--labels", labels))
             if value is not None]
    if len(given) != 1:
        raise InputError(f"give exactly one of --mask, --point, --box or --labels, got {', '.join(given) or 'none'}")
    if mask is not None:
        return mask_from_file(mask, image.shape[:2], dilate=dilate)
    if point is not None:
        return mask_from_point(image, point, method=segmenter, dilate=dilate)
    if box is not None:
        return mask_from_box(image, box, method=segmenter or "", dilate=dilate)
    if ids is None:
        raise InputError("--labels needs --ids (region ids to remove, e.g. --ids 3,5)")
    from seglab.core.segmentation_io import load_segmentation
    from seglab.core.validate import as_mask

    seg = load_segmentation(labels)
    as_mask(seg.labels, image.shape[:2], name=f"labels {str(labels)!r}")
    return mask_from_segmentation(seg, ids, dilate=dilate)


def _pairs(images: Path, masks: Path | None, output: Path) -> list[tuple[Path, Path, Path]]:
    """(image, mask, output) for every image of a folder, its mask found by file stem."""
    from seglab.cli.common import expand_images

    if masks is None or not masks.is_dir():
        raise InputError(f"--mask must be a folder of masks when IMAGE is a folder, got {str(masks)!r}")
    by_stem = {p.stem: p for p in expand_images([masks])}
    jobs = []
    for image in expand_images([images]):
        if image.stem not in by_stem:
            raise InputError(f"mask folder {str(masks)!r} must hold a mask named {image.stem}.*, got none")
        jobs.append((image, by_stem[image.stem], output / f"{image.stem}.png"))
    return jobs


def register(app: typer.Typer) -> None:
    """Add the ``inpaint`` command to ``app``."""

    @app.command("inpaint")
    def inpaint_command(
        image: Path = typer.Argument(..., help="Image file, or a folder of images (with --mask a folder)."),
        output: Path = typer.Option(..., "-o", "--output", help="Output image (a folder for a folder of images)."),
        mask: Path = typer.Option(None, "--mask", help="Mask image (non-zero = fill), or a folder of masks."),
        point: str = typer.Option(None, "--point", help="x,y: remove the region under this point."),
        box: str = typer.Option(None, "--box", help="x0,y0,x1,y1: remove the object in this box (GrabCut)."),
        labels: Path = typer.Option(None, "--labels", help="Label image (PNG/npz segmentation)."),
        ids: str = typer.Option(None, "--ids", help="Region ids of --labels to remove, e.g. 3,5."),
        method: str = typer.Option("auto", "-m", "--method", help="Inpainting method (auto, completion, telea, ns, biharmonic, blend, patch, exemplar)."),
        param: list[str] = typer.Option(None, "-p", "--param", help="Method parameter key=value (repeatable)."),
        segmenter: str = typer.Option(None, "--segmenter",
                                      help="Method for --point / --box (default: prompt, or sam when SEGLAB_SAM "
                                           "is set; grabcut or region_growing also work)."),
        dilate: int = typer.Option(3, "--grow", "--dilate", help="Grow the mask by this many pixels (so no rim of the object is left)."),
        shadow: bool = typer.Option(False, "--shadow", help="Also remove the shadow the object casts on the ground below it."),
        save_mask: bool = typer.Option(False, "--save-mask", help="Also write the mask used, as OUT.mask.png."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Remove or fill a region of IMAGE and write the result to OUT."""
        from seglab.cli.common import check_outputs, progress
        from seglab.core.image import load_image, save_image
        from seglab.core.registry import parse_params
        from seglab.inpaint import get_inpaint_method, inpaint

        params = parse_params(get_inpaint_method(method), list(param or []))
        if image.is_dir():
            jobs = _pairs(image, mask, output)
        else:
            jobs = [(image, mask, output)]
        mask_paths = [_mask_path(out) for _, _, out in jobs] if save_mask else []
        check_outputs([out for _, _, out in jobs] + mask_paths, overwrite)
        single = len(jobs) == 1
        for source, mask_file, out in progress(jobs, description="inpainting", quiet=quiet):
            pixels = load_image(source)
            hole = _build_mask(pixels, mask_file, _numbers(point, 2, "--point"), _numbers(box, 4, "--box"),
                               labels, _ids(ids), segmenter, dilate)
            if shadow:
                from seglab.inpaint import extend_to_shadow

                hole = extend_to_shadow(pixels, hole)
            fill = _describe(method, hole)
            if single and not quiet and "progress" in {p.name for p in get_inpaint_method(method).params}:
                filled = _with_progress(pixels, hole, method, params, fill)
            else:
                filled = inpaint(pixels, hole, method, **params)
            save_image(out, filled)
            if save_mask:
                save_image(_mask_path(out), hole)
            if not quiet:
                saved = f", mask written to {_mask_path(out)}" if save_mask else ""
                typer.echo(f"{source.name}: filled {int(hole.sum())} px with {fill}{saved}", err=True)
        if not quiet:
            typer.echo(f"wrote {len(jobs)} image(s) to {output}", err=True)


def _describe(method: str, hole) -> str:  # type: ignore[no-untyped-def]
    """The method's name, and for ``auto`` what it chose for this mask."""
    if method.lower() != "auto":
        return method.lower()
    from seglab.inpaint.auto import choose_method

    return f"auto: {choose_method(hole)}"


def _with_progress(pixels, hole, method: str, params: dict, fill: str):  # type: ignore[no-untyped-def]
    """``inpaint`` with a rich progress bar fed by the method's ``progress(done, total)`` callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from seglab.cli.common import console
    from seglab.inpaint import inpaint

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console(), transient=True) as bar:
        task = bar.add_task(f"filling ({fill})", total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return inpaint(pixels, hole, method, **{"progress": report, **params})


def _mask_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.mask.png")
