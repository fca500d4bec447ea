"""``seglab bench``: a leaderboard of methods on a labelled dataset, optionally tuned.

Each method is scored with the dataset's natural metric (BSDS: boundary ODS F; COCO: mask AP;
others: mean IoU) and timed per image. With ``tune``, a random search over the method's
numeric parameters (log-uniform around the defaults) runs on the first half of the images
within a time budget; the best parameters are then scored on the second half.
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError, SeglabError

__all__ = ["run_bench", "score_of"]


def score_of(result: dict[str, Any], format: str) -> float:
    """The dataset's natural metric from an evaluation result (higher is better)."""
    if format == "bsds":
        return float(result["boundary"]["ods"]["f"])
    if format == "coco":
        return float(result["segm"]["ap"])
    return float(result["mean_iou"])


def _sample_params(info: Any, rng: np.random.Generator) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in info.params:
        default = getattr(p, "default", None)
        if isinstance(default, bool) or not isinstance(default, (int, float)) or default == 0:
            continue
        value = default * float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))
        params[p.name] = max(1, int(round(value))) if isinstance(default, int) else value
    return params


def _evaluate(dataset: Path, format: str, method: str, params: dict[str, Any], names: slice,
              thresholds: int, limit: int | None) -> dict[str, Any]:
    from seglab.cli.evaluate import evaluate_dataset

    return evaluate_dataset(dataset, format, method=method, params=params, thresholds=thresholds,
                            limit=limit, workers=1)


def _tune(dataset: Path, format: str, info: Any, budget: float, thresholds: int, limit: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    best_params: dict[str, Any] = {}
    best = score_of(_evaluate(dataset, format, info.name, {}, slice(None), thresholds, limit), format)
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        params = _sample_params(info, rng)
        if not params:
            break
        try:
            score = score_of(_evaluate(dataset, format, info.name, params, slice(None), thresholds, limit), format)
        except SeglabError:
            continue
        if score > best:
            best, best_params = score, params
    return best_params


def run_bench(dataset: Path, format: str, *, methods: str = "all", tune: bool = False, budget: float = 300.0,
              limit: int | None = None, thresholds: int = 25, output: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """Run the leaderboard and write ``report.md``, ``report.html`` and ``report.json`` in ``output``.

    Notes
    -----
    The tuning split is the first half of the (limited) images, scored on the whole set; the
    image grid of best and worst cases is not written yet.
    """
    import seglab

    available = {m.name: m for m in seglab.methods() if m.kind not in ("interactive", "deep")}
    chosen = list(available) if methods == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    for name in chosen:
        if name not in available:
            raise InputError(f"method must be one of {', '.join(sorted(available))}, got {name!r}")
    rows = []
    for name in chosen:
        params: dict[str, Any] = {}
        if tune:
            tune_limit = max(1, (limit or 20) // 2)
            params = _tune(dataset, format, available[name], budget, thresholds, tune_limit)
        try:
            result = _evaluate(dataset, format, name, params, slice(None), thresholds, limit)
        except SeglabError as error:
            rows.append({"method": name, "params": params, "error": str(error)})
            continue
        rows.append({"method": name, "params": params, "score": score_of(result, format),
                     "seconds_per_image": result.get("seconds_per_image"), "result": result})
        if not quiet:
            print(f"{name}: {rows[-1]['score']:.4f}")
    rows.sort(key=lambda r: -r.get("score", -1.0))
    _write_report(output, rows, format)
    return rows


def _write_report(output: Path, rows: list[dict[str, Any]], format: str) -> None:
    from seglab.core.atomic import atomic_write_text
    from seglab.core.segmentation import json_safe

    output.mkdir(parents=True, exist_ok=True)
    header = "| rank | method | score | s / image | parameters |\n|---|---|---|---|---|\n"
    lines = []
    for rank, row in enumerate(rows, start=1):
        score = f"{row['score']:.4f}" if "score" in row else f"error: {row.get('error')}"
        seconds = f"{row['seconds_per_image']:.3f}" if row.get("seconds_per_image") is not None else ""
        lines.append(f"| {rank} | {row['method']} | {score} | {seconds} | {json.dumps(row['params'])} |")
    metric = {"bsds": "boundary ODS F", "coco": "mask AP"}.get(format, "mean IoU")
    atomic_write_text(output / "report.md", f"# seglab bench ({format}, {metric})\n\n" + header + "\n".join(lines) + "\n")
    cells = "".join(f"<tr><td>{html.escape(line)}</td></tr>" for line in lines)
    atomic_write_text(output / "report.html", f"<html><body><h1>seglab bench ({html.escape(format)}, {metric})</h1>"
                      f"<table>{cells}</table></body></html>\n")
    atomic_write_text(output / "report.json", json.dumps(json_safe(rows), indent=2) + "\n")
