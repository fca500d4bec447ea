"""``seglab evaluate`` and ``seglab bench``: metrics of predictions or methods against ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from seglab.workflows.evaluate import EVAL_FORMATS, bsds_method_prediction, evaluate_dataset

__all__ = ["EVAL_FORMATS", "bsds_method_prediction", "evaluate_dataset", "register"]


def _print_table(result: dict[str, Any], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in _flatten(result):
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


def _flatten(result: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in result.items():
        if key == "curve":
            continue
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            rows.append((prefix + key, value))
    return rows


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` and ``bench`` commands to ``app``."""

    @app.command()
    def evaluate(
        pred: Path = typer.Argument(None, help="Folder with one prediction per image stem (label PNG, soft boundary PNG, .mat ucm2/segs, .npz)."),
        gt: Path = typer.Option(..., "--gt", help="The ground-truth dataset folder."),
        format: str = typer.Option("bsds", "--format", help="bsds|folder|voc|coco|drive|isbi|cityscapes"),
        method: str = typer.Option(None, "--method", help="Run this method on the fly instead of reading PRED."),
        param: list[str] = typer.Option(None, "-p", "--param", help="Method parameter key=value (repeatable)."),
        images: Path = typer.Option(None, "--images", help="With --method: run it on the images of this folder (matched to the ground truth by stem) instead of the dataset's own."),
        thresholds: int = typer.Option(99, "--thresholds", help="Thresholds for soft boundaries / ucm2 (BSDS)."),
        split: str = typer.Option(None, "--split", help="Dataset split (bsds: val)."),
        limit: int = typer.Option(None, "--limit", help="Evaluate only the first N images."),
        json_out: Path = typer.Option(None, "--json", help="Write the metrics as JSON here."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar or table."),
    ) -> None:
        """Score predictions (or a method) against ground truth: BSDS boundaries and regions, pixel IoU, COCO AP."""
        from seglab.cli.common import method_params, progress_callback, write_json

        params = method_params(method, param) if method else {}
        with progress_callback(quiet=quiet) as progress:
            result = evaluate_dataset(gt, format, predictions=pred, method=method, params=params,
                                      thresholds=thresholds, split=split, limit=limit, images=images,
                                      progress=progress)
        if json_out is not None:
            write_json(json_out, result)
        if not quiet:
            _print_table(result, f"{method or pred} on {gt} ({format})")

    @app.command()
    def bench(
        dataset: Path = typer.Argument(..., help="The ground-truth dataset folder."),
        format: str = typer.Option("bsds", "--format"),
        methods: str = typer.Option("all", "--methods", help="all, or a comma-separated list."),
        tune: bool = typer.Option(False, "--tune", help="Random parameter search per method on a tuning split."),
        budget: float = typer.Option(300.0, "--budget", help="Seconds of tuning per method."),
        limit: int = typer.Option(None, "--limit", help="Use only the first N images."),
        thresholds: int = typer.Option(25, "--thresholds"),
        output: Path = typer.Option(..., "-o", "--output", help="Report folder (report.md, report.html, report.json)."),
        quiet: bool = typer.Option(False, "--quiet"),
    ) -> None:
        """Leaderboard of methods on a dataset: quality and time per image, optionally tuned."""
        from seglab.cli.common import console
        from seglab.workflows.bench import run_bench

        def report(done: int, total: int, line: str) -> None:
            if not quiet:
                console().print(line)

        run_bench(dataset, format, methods=methods, tune=tune, budget=budget, limit=limit,
                  thresholds=thresholds, output=output, progress=report)
