"""``seglab methods | segment | compare | demo``."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import typer

from seglab.cli.common import check_outputs, console, expand_images, method_params, progress, progress_bar
from seglab.core.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("methods")(methods_command)
    app.command("segment")(segment_command)
    app.command("compare")(compare_command)
    app.command("demo")(demo_command)


def methods_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    kind: str | None = typer.Option(None, "--kind", help="Only methods of this kind."),
) -> None:
    """List the segmentation methods with their parameters."""
    from seglab.core.registry import KINDS, methods

    if kind is not None and kind not in KINDS:
        from seglab.core.errors import InputError

        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    found = methods(kind)
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in found], indent=2))
        return
    from rich.table import Table

    table = Table(title="seglab methods")
    for column in ("name", "kind", "parameters", "summary"):
        table.add_column(column, overflow="fold")
    for info in found:
        params = ", ".join(f"{p.name}: {p.type_name} = {p.default!r}" for p in info.params)
        table.add_row(info.name, info.kind, params, info.summary)
    console(stderr=False).print(table)


def segment_command(
    images: list[Path] = typer.Argument(..., help="Image files or folders of images."),
    method: str = typer.Option("otsu", "--method", "-m", help="A method name (see `seglab methods`)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="Method parameter key=value (repeatable)."),
    point: list[str] | None = typer.Option(None, "--point", help="A click on the object, x,y in pixels "
                                           "(repeatable; for -m prompt, sam or grabcut)."),
    negative: list[str] | None = typer.Option(None, "--negative", help="A click on the background, x,y in "
                                              "pixels (repeatable)."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Output folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON summaries on stdout."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    tiled: bool = typer.Option(False, "--tiled", help="Bounded memory: process in tiles and write "
                               "STEM.labels.tif (tiled TIFF) + STEM.labels.json."),
    tile: int = typer.Option(1024, "--tile", help="Tile edge for --tiled (multiple of 16)."),
    connected: bool = typer.Option(False, "--connected", help="With --tiled: one region per connected component."),
    workers: int = typer.Option(1, "--workers", "-w", help="With --tiled: tiles in parallel on N local processes."),
    local_cluster: bool = typer.Option(False, "--local-cluster", help="With --tiled: tiles on a Dask LocalCluster "
                                       "of --workers processes (default: one per CPU)."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="With --tiled: tiles on an existing Dask "
                                          "cluster, tcp://HOST:8786."),
) -> None:
    """Segment images; write STEM.labels.png, STEM.overlay.png and STEM.json per image."""
    from seglab.batch import output_paths, write_outputs
    from seglab.core.errors import InputError
    from seglab.core.image import load_image
    from seglab.core.registry import segment

    params = method_params(method, param)
    if point or negative:
        params.update(click_params(method, params, point or [], negative or []))
    given = [name for name, on in (("--workers", workers != 1), ("--local-cluster", local_cluster),
                                   ("--scheduler", scheduler is not None)) if on]
    if given and not tiled:
        raise InputError(f"{given[0]} needs --tiled (it spreads the tiles of one image), got it without; "
                         "for many images use `seglab batch`")
    if local_cluster and scheduler:
        raise InputError("--local-cluster and --scheduler must not be given together, got both")
    if given and method == "model":
        raise InputError(f"{given[0]} must be left out with -m model (a deep model's tiles run in batches on "
                         "one device), got it")
    files = expand_images(images)
    if tiled:
        _segment_tiled(files, method, params, out, tile=tile, connected=connected, workers=workers,
                       local_cluster=local_cluster, scheduler=scheduler, overwrite=overwrite, quiet=quiet)
        return
    planned = [(f, output_paths(out, f.stem)) for f in files]
    check_outputs([p for _, paths in planned for p in paths.values()], overwrite)
    summaries = []
    for path, _targets in progress(planned, description=f"{method}", quiet=quiet):
        image = load_image(path)
        seg = segment(image, method, **params)
        seg.meta["source"] = str(path)
        write_outputs(image, seg, out, path.stem)
        if as_json:
            summaries.append(seg.summary())
    if as_json:
        typer.echo(json.dumps(summaries if len(summaries) != 1 else summaries[0], indent=2))
    elif not quiet:
        console().print(f"segmented {len(files)} image(s) with {method} -> {out}")


def _parse_click(text: str, option: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"{option} must be x,y (pixel column, row), got {text!r}") from None


def click_params(method: str, params: dict[str, Any], points: list[str], negatives: list[str]) -> dict[str, Any]:
    """The keyword arguments ``--point`` / ``--negative`` clicks stand for with ``method``: ``points``
    of (x, y, label) for methods that take clicks, foreground / background points for grabcut."""
    from seglab.core.registry import get_method

    positive = [_parse_click(t, "--point") for t in points]
    negative = [_parse_click(t, "--negative") for t in negatives]
    prompts = get_method(method).prompts
    if "points" in prompts:
        name = prompts["points"]
        if name in params:
            raise InputError(f"--point / --negative and -p {name}=... must not be given together, got both")
        return {name: [(x, y, 1) for x, y in positive] + [(x, y, 0) for x, y in negative]}
    if "scribbles" in prompts:
        names = prompts["scribbles"]
        taken = [k for k in names if k in params]
        if taken:
            raise InputError(f"--point / --negative and -p {taken[0]}=... must not be given together, got both")
        return {key: value for key, value in zip(names, (positive, negative)) if value}
    raise InputError(f"--point / --negative need a method that takes clicks (prompt, sam, grabcut), got {method!r}")


def _segment_tiled(files: list[Path], method: str, params: dict, out: Path, *, tile: int, connected: bool,
                   workers: int, local_cluster: bool, scheduler: str | None, overwrite: bool, quiet: bool) -> None:
    """Each image through :func:`seglab.tiling.segment_tiled`, its tiles in this process, on a local
    process pool (``workers``) or on a Dask cluster."""
    from seglab.tiling import segment_tiled

    targets = [(f, out / f"{f.stem}.labels.tif") for f in files]
    check_outputs([p for _, t in targets for p in (t, t.with_suffix(".json"))], overwrite)
    cluster: Any = contextlib.nullcontext(None)
    if local_cluster or scheduler:
        from seglab.batch import dask_client

        cluster = dask_client(workers if workers > 1 else (os.cpu_count() or 1), scheduler)
    with cluster as client:
        for path, target in progress(targets, description=f"{method} (tiled)", quiet=quiet):
            segment_tiled(path, method, target, tile=tile, connected=connected,
                          workers=1 if client is not None else workers, client=client, **params)
    if not quiet:
        console().print(f"segmented {len(files)} image(s) with {method} in tiles -> {out}")


def compare_command(
    image: Path = typer.Argument(..., help="An image file."),
    method: str = typer.Option("otsu,kmeans,felzenszwalb,slic", "--methods", "-m",
                               help="Comma-separated method names, each with its defaults."),
    out: Path = typer.Option(Path("compare.png"), "--out", "-o", help="Output PNG."),
    columns: int = typer.Option(4, "--columns", help="Panels per row."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Run several methods on one image and write a comparison grid."""
    from seglab.core.image import load_image
    from seglab.core.registry import get_method, segment
    from seglab.demo import demo_prompts
    from seglab.viz import compare_grid

    names = [n.strip() for n in method.split(",") if n.strip()]
    for name in names:
        get_method(name)
    check_outputs([out], overwrite)
    pixels = load_image(image)
    results = {name: segment(pixels, name, **demo_prompts(name, pixels)) for name in names}
    compare_grid(pixels, results, out, columns=columns, title=image.name)
    console().print(f"wrote {out}")


def demo_command(
    out: Path = typer.Option(Path("demo_output"), "--out", "-o", help="Output folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Every classical method on bundled sample images: comparison grids and an index.html."""
    from seglab import data
    from seglab.demo import run_demo

    images = data.samples()
    with progress_bar(len(images), description="demo", quiet=quiet) as advance:
        index = run_demo(out, images=images, on_step=lambda _stem: advance())
    console().print(f"wrote {index}")
