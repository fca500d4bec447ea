"""``seglab batch``: segment many images on local processes or a Dask cluster, resumably."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    app.command("batch")(batch_command)


def batch_command(
    inputs: list[str] = typer.Argument(..., help="Folders, globs (quote them), text files of paths, or images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    method: str | None = typer.Option(None, "--method", "-m", help="A method name (see `seglab methods`)."),
    param: list[str] | None = typer.Option(None, "--param", "-p", help="Method parameter key=value (repeatable)."),
    model: Path | None = typer.Option(None, "--model", help="A trained checkpoint (the 'model' method)."),
    workers: int | None = typer.Option(None, "--workers", "-w", help="Worker processes (default: CPU count)."),
    local_cluster: bool = typer.Option(False, "--local-cluster", help="Run on a Dask LocalCluster."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, tcp://HOST:8786."),
    hash_inputs: bool = typer.Option(False, "--hash", help="Detect changed inputs by content hash, not mtime."),
    coco: bool = typer.Option(False, "--coco", help="Also write every finished image's regions to one COCO file, "
                              "OUT/seglab-batch.coco.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace output files this batch did not write."),
) -> None:
    """Segment many images; rerun the same command to resume (finished images are skipped).

    Writes STEM.labels.png, STEM.overlay.png and STEM.json per image (as `seglab segment`),
    seglab-batch.manifest.jsonl and seglab-batch.summary.json (and seglab-batch.coco.json with
    --coco). Exits with 1 when any image failed.
    """
    from seglab.batch import SUMMARY_NAME, run_batch
    from seglab.cli.common import console, method_params
    from seglab.core.errors import InputError

    if model is not None and method not in (None, "model"):
        raise InputError(f"--model must be used without --method (it runs the 'model' method), got --method {method}")
    if local_cluster and scheduler:
        raise InputError("--local-cluster and --scheduler must not be given together, got both")
    name = "model" if model is not None else (method or "otsu")
    params = method_params(name, param)
    if model is not None:
        params["model"] = str(model)
    backend = "dask" if (local_cluster or scheduler) else "process"
    with _progress(quiet) as on_result:
        report = run_batch(inputs, out, method=name, params=params, workers=workers, backend=backend,
                           scheduler=scheduler, check="hash" if hash_inputs else "mtime", coco=coco,
                           overwrite=overwrite, on_result=on_result)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    err = console()
    for failure in report.failed:
        err.print(f"[red]failed[/red] {failure['path']}: {failure['error']}", markup=True, highlight=False,
                  soft_wrap=True)  # one line per failure, however long, so logs stay greppable
    if not quiet or report.failed:
        err.print(
            f"{report.done} done, {report.skipped} skipped, {len(report.failed)} failed of {report.total} "
            f"({report.images_per_s:.2f} images/s) -> {out / SUMMARY_NAME}",
            highlight=False,
            soft_wrap=True,
        )
    if report.failed:
        raise typer.Exit(1)


class _Progress:
    """A rich progress bar with images/s, advanced from run_batch's on_result callback."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        return None if self.quiet else self

    def __call__(self, result: dict[str, Any], report: Any) -> None:
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from seglab.cli.common import console

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), console=console())
            self.bar.start()
            self.task = self.bar.add_task(report.method, total=report.total - report.skipped, rate="")
        failed = f" ({len(report.failed)} failed)" if report.failed else ""
        self.bar.update(self.task, advance=1, description=f"{report.method}{failed}",
                        rate=f"{report.images_per_s:.2f} img/s")

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _progress(quiet: bool) -> _Progress:
    return _Progress(quiet)
