"""``seglab methods | segment | compare | demo``."""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperCommand

from seglab.cli.common import check_outputs, console, expand_images, method_params, progress, progress_bar
from seglab.core.errors import InputError


def register(app: typer.Typer) -> None:
    app.command("methods")(methods_command)
    app.command("segment")(segment_command)
    app.command("compare", cls=_PairedParams)(compare_command)
    app.command("demo")(demo_command)


def methods_command(
    name: str | None = typer.Argument(None, help="One method: its full page (every parameter, an example)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    kind: str | None = typer.Option(None, "--kind", help="Only methods of this kind."),
) -> None:
    """List the segmentation methods with their parameters, or show one method's page."""
    from seglab.core.registry import KINDS, get_method, methods

    if name is not None:
        info = get_method(name)
        typer.echo(json.dumps(info.to_dict(), indent=2) if as_json else method_page(info))
        return
    if kind is not None and kind not in KINDS:
        raise InputError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    found = methods(kind)
    if as_json:
        typer.echo(json.dumps([m.to_dict() for m in found], indent=2))
        return
    from rich.table import Table

    table = Table(title="seglab methods", caption="`seglab methods NAME` shows one method's parameters in full.")
    for column in ("name", "kind", "parameters", "summary"):
        table.add_column(column, overflow="fold")
    for info in found:
        params = ", ".join(f"{p.name}: {p.type_name} = {p.default!r}" for p in info.params)
        table.add_row(info.name, info.kind, params, plain_text(info.summary))
    console(stderr=False).print(table)


def plain_text(text: str) -> str:
    """reStructuredText markup removed for the terminal: ``x`` and :func:`x` become x."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", text)
    return re.sub(r"``([^`]+)``", r"\1", text)


def method_page(info: Any, width: int = 88) -> str:
    """One method's page: summary, description, every parameter in full, examples."""
    import inspect
    import textwrap

    item = r"\s*(?:[*-]|\d+\.) "

    def wrap(text: str, indent: str) -> list[str]:
        """Each line of ``text`` wrapped; list items get a hanging indent."""
        return [line for part in plain_text(text).split("\n")
                for line in textwrap.wrap(part, width, initial_indent=indent,
                                          subsequent_indent=indent + ("  " if re.match(item, part) else ""))
                or [""]]

    doc = inspect.getdoc(info.function) or ""
    body = re.split(r"^Parameters\n-+$", doc, maxsplit=1, flags=re.M)[0].split("\n\n")[1:]
    lines = [f"{info.name} ({info.kind})", "", *wrap(info.summary, "")]
    for paragraph in filter(str.strip, body):
        pieces = re.split(rf"\n(?={item})", paragraph)  # one piece per list item
        lines += ["", *wrap("\n".join(" ".join(piece.split()) for piece in pieces), "")]
    lines += ["", "Parameters (-p key=value):"]
    for param in info.params:
        choices = "" if param.choices is None else f"; one of {', '.join(repr(c) for c in param.choices)}"
        lines += ["", f"  {param.name} : {param.type_name} = {param.default!r}{choices}"]
        lines += wrap(param.doc or "(undocumented)", "      ")
    example = next((p for p in info.params if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)),
                   None)
    cli_param = f" -p {example.name}={example.default!r}" if example else ""
    api_param = f", {example.name}={example.default!r}" if example else ""
    lines += ["", "Example:", f"  seglab segment photo.jpg -m {info.name}{cli_param} -o out/",
              f'  seglab.segment("photo.jpg", "{info.name}"{api_param})']
    return "\n".join(lines)


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
    alpha: float = typer.Option(0.45, "--alpha", help="Opacity of the region colours in STEM.overlay.png, 0..1."),
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
    from seglab.core.image import check_untiled_memory, load_image
    from seglab.core.registry import segment

    params = method_params(method, param)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"--alpha must be between 0 and 1, got {alpha!r}")
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
        check_untiled_memory(path)
        image = load_image(path)
        seg = segment(image, method, **params)
        seg.meta["source"] = str(path)
        write_outputs(image, seg, out, path.stem, alpha=alpha)
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


class _PairedParams(TyperCommand):
    """Remembers which ``-p`` followed which ``-m`` (click keeps each option's values apart)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["seglab.compare"] = _pair_methods(args)
        return super().parse_args(ctx, args)


def _pair_methods(args: list[str]) -> list[tuple[str, list[str]]]:
    """``[(methods, [key=value, ...]), ...]`` in command-line order."""
    groups: list[tuple[str, list[str]]] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            break
        for flags, is_method in ((("-m", "--methods"), True), (("-p", "--param"), False)):
            value = None
            if token in flags:
                value = next(tokens, None)
            elif token.startswith("--") and token.split("=", 1)[0] == flags[1] and "=" in token:
                value = token.split("=", 1)[1]
            elif token.startswith(flags[0]) and not token.startswith("--") and len(token) > 2:
                value = token[2:]
            if value is None:
                continue
            if is_method:
                groups.append((value, []))
            elif not groups:
                raise InputError(f"-p must follow the -m METHOD it sets, got -p {value} before any -m")
            else:
                groups[-1][1].append(value)
    return groups


def compare_command(
    ctx: typer.Context,
    image: Path = typer.Argument(..., help="An image file."),
    method: list[str] | None = typer.Option(
        None, "--methods", "-m",
        help="Method names, comma-separated or repeated; a -p after a -m sets that method's parameter, so "
             "`-m slic -p n_segments=100 -m slic -p n_segments=400` compares two settings. "
             "Default: otsu,kmeans,felzenszwalb,slic."),
    param: list[str] | None = typer.Option(None, "--param", "-p",
                                           help="key=value for the method given just before (repeatable)."),
    out: Path = typer.Option(Path("compare.png"), "--out", "-o",
                             help="Output picture; the extension picks the format (.png, .jpg, .pdf, .svg)."),
    columns: int = typer.Option(4, "--columns", help="Panels per row."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Run several methods (or settings of one) on one image and write a comparison grid."""
    from seglab.core.image import load_image
    from seglab.core.registry import segment
    from seglab.demo import demo_prompts
    from seglab.viz import FIGURE_FORMATS, compare_grid

    groups = ctx.meta.get("seglab.compare") or [("otsu,kmeans,felzenszwalb,slic", [])]
    runs: list[tuple[str, str, dict[str, Any]]] = []  # (title, method, params)
    for names, pairs in groups:
        names_here = [n.strip() for n in names.split(",") if n.strip()]
        if pairs and len(names_here) > 1:
            raise InputError(f"-p must follow a single method (-m NAME), got -p {pairs[0]} after -m {names}")
        for name in names_here:
            params = method_params(name, pairs)
            runs.append((" ".join([name, *pairs]), name, params))
    if out.suffix.lower() not in FIGURE_FORMATS:
        raise InputError(f"--out must end in one of {', '.join(FIGURE_FORMATS)}, got {str(out)!r}")
    check_outputs([out], overwrite)
    pixels = load_image(image)
    results = {}
    for title, name, params in runs:
        while title in results:  # the same method and settings twice: keep both panels
            title += " (again)"
        results[title] = segment(pixels, name, **{**demo_prompts(name, pixels), **params})
    compare_grid(pixels, results, out, columns=columns, title=image.name)
    console().print(f"wrote {out}")


def demo_command(
    out: Path = typer.Option(Path("demo_output"), "--out", "-o", help="Output folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an existing, non-empty folder."),
) -> None:
    """Every classical method on bundled sample images: comparison grids and an index.html."""
    from seglab import data
    from seglab.core.errors import InputError
    from seglab.demo import run_demo

    if not overwrite and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"output {str(out)!r} must not exist already or be an empty folder "
                         "(pass --overwrite to write into it)")

    images = data.samples()
    with progress_bar(len(images), description="demo", quiet=quiet) as advance:
        index = run_demo(out, images=images, on_step=lambda _stem: advance())
    console().print(f"wrote {index}")
