"""``seglab bench``: a leaderboard of methods on a labelled dataset, optionally tuned.

Each method is scored with the dataset's natural metric (BSDS: boundary ODS F; COCO: mask AP;
others: mean IoU) and timed per image. With ``tune``, the images (after ``limit``) are split in
two disjoint halves by position: the **tuning split** (even positions 0, 2, 4, ...) and the
**scoring split** (odd positions). Successive halving (eta = 3) over random parameter sets
(log-uniform in [default / 4, 4 x default] for each numeric parameter, the defaults always
among them) runs on the tuning split within ``budget`` seconds per method (when the budget
ends before the last rung, the winner must also beat the defaults on the whole tuning split,
which can add two passes over it); the winner and the
defaults are then both scored on the scoring split only, so the reported gain is not fitted to
the images it is measured on.

The report folder gets ``report.md``, ``report.html``, ``report.json`` and, for the leader, a
grid of its best and worst images (``best_*.png``, ``worst_*.png``: the image with the
method's boundaries next to the ground truth's).
"""

from __future__ import annotations

import html
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.errors import InputError, SeglabError
from seglab.core.progress import ProgressFn

__all__ = ["run_bench", "score_of", "tune_method"]

SKIP_PARAMS = {"seed", "sample", "backend", "max_num_iter", "markers"}


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
        if p.name in SKIP_PARAMS:
            continue
        if p.choices and default in p.choices:
            params[p.name] = p.choices[rng.integers(len(p.choices))]
            continue
        if isinstance(default, bool) or not isinstance(default, (int, float)) or default == 0:
            continue
        value = default * float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))
        params[p.name] = max(1, round(value)) if isinstance(default, int) else round(value, 4)
    return params


def _score(dataset: Path, format: str, method: str, params: dict[str, Any], names: list[str],
           thresholds: int) -> tuple[float, dict[str, Any] | None]:
    from seglab.workflows.evaluate import evaluate_dataset

    try:
        result = evaluate_dataset(dataset, format, method=method, params=params, thresholds=thresholds,
                                  names=names)
    except SeglabError:
        return -1.0, None
    return score_of(result, format), result


def tune_method(dataset: Path, format: str, info: Any, names: list[str], *, budget: float,
                thresholds: int = 25, seed: int = 0) -> tuple[dict[str, Any], float, int]:
    """Successive halving over random parameter sets of one method on the images ``names``.

    Returns
    -------
    params, score, tried : dict, float, int
        The best parameters ({} = the defaults), their score on the largest rung reached, and
        the number of parameter sets tried.
    """
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    size = min(len(names), max(2, len(names) // 9))
    rungs = 1 + max(0, math.ceil(math.log(len(names) / size, 3)))
    default_score, _ = _score(dataset, format, info.name, {}, names[:size], thresholds)
    elapsed = max(time.perf_counter() - start, 1e-3)
    count = int(np.clip(budget / (elapsed * rungs), 1, 81))
    configs = [{}] + [_sample_params(info, rng) for _ in range(count - 1)]
    configs = [c for i, c in enumerate(configs) if i == 0 or c and c not in configs[:i]]
    scores = {0: default_score}
    tried = len(configs)
    while True:
        subset = names[:size]
        for i, params in enumerate(configs):
            if i in scores:
                continue
            if time.perf_counter() - start > budget and scores:
                break
            scores[i] = _score(dataset, format, info.name, params, subset, thresholds)[0]
        ranked = sorted(scores, key=lambda i: -scores[i])
        best = ranked[0]
        if size >= len(names) or len(ranked) == 1:
            return configs[best], scores[best], tried
        if time.perf_counter() - start > budget:  # cut short on a small rung: check on every image
            return _check_on_all(dataset, format, info.name, configs[best], names, thresholds) + (tried,)
        configs = [configs[i] for i in ranked[: max(1, math.ceil(len(ranked) / 3))]]
        scores, size = {}, min(len(names), size * 3)


def _check_on_all(dataset: Path, format: str, method: str, params: dict[str, Any], names: list[str],
                  thresholds: int) -> tuple[dict[str, Any], float]:
    """The better of ``params`` and the defaults on every tuning image (a winner picked on a few
    images is often noise)."""
    default = _score(dataset, format, method, {}, names, thresholds)[0]
    if not params:
        return {}, default
    score = _score(dataset, format, method, params, names, thresholds)[0]
    return (params, score) if score > default else ({}, default)


def _splits(dataset: Path, format: str, limit: int | None, tune: bool) -> tuple[list[str], list[str]]:
    from seglab.datasets import read_dataset

    options = {"split": "val"} if format == "bsds" else {}
    names = read_dataset(dataset, format, **options).names
    names = names[:limit] if limit else names
    if not tune:
        return [], names
    if len(names) < 2:
        raise InputError(f"dataset must have at least 2 images to tune on one half and score on the other, "
                         f"got {len(names)}")
    return names[0::2], names[1::2]


def run_bench(dataset: Path, format: str, *, methods: str = "all", tune: bool = False, budget: float = 300.0,
              limit: int | None = None, thresholds: int = 25, output: Path, quiet: bool = False,
              progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """Run the leaderboard and write ``report.md``, ``report.html``, ``report.json`` and the
    best / worst case images in ``output``; returns the rows, best first.

    ``progress(done, total, "METHOD: SCORE")`` is called after each method; ``quiet`` is kept
    for old callers and ignored (nothing here prints).
    """
    import seglab

    available = {m.name: m for m in seglab.methods() if m.kind not in ("interactive", "deep")}
    chosen = list(available) if methods == "all" else [m.strip() for m in methods.split(",") if m.strip()]
    for name in chosen:
        if name not in available:
            raise InputError(f"method must be one of {', '.join(sorted(available))}, got {name!r}")
    tune_names, score_names = _splits(dataset, format, limit, tune)
    rows = []
    for name in chosen:
        row: dict[str, Any] = {"method": name, "params": {}}
        if tune:
            start = time.perf_counter()
            params, tune_score, tried = tune_method(dataset, format, available[name], tune_names,
                                                    budget=budget, thresholds=thresholds)
            row.update(params=params, tune_score=tune_score, tried=tried,
                       tune_seconds=time.perf_counter() - start)
            row["default_score"] = _score(dataset, format, name, {}, score_names, thresholds)[0]
        score, result = _score(dataset, format, name, row["params"], score_names, thresholds)
        if result is None:
            row["error"] = "the method failed on this dataset"
        else:
            row.update(score=score, seconds_per_image=result.get("seconds_per_image"), result=result)
        rows.append(row)
        if progress is not None:
            progress(len(rows), len(chosen), f"{name}: {row.get('score', float('nan')):.4f}")
    rows.sort(key=lambda r: -r.get("score", -1.0))
    output.mkdir(parents=True, exist_ok=True)
    cases = _cases(dataset, format, rows[0], score_names, output) if "score" in rows[0] else []
    _write_report(output, rows, format, tune, len(tune_names), len(score_names), cases)
    return rows


def _image_score(format: str, seg: Any, sample: Any) -> float:
    """The natural metric of one image (BSDS: boundary F of this image alone)."""
    if format == "bsds":
        from seglab.metrics.boundary import summarize_boundaries
        from seglab.metrics.bsds import evaluate_bsds_image

        edges = seg.meta.get("edges") if isinstance(seg.meta, dict) else None
        pred = [seg.labels] if edges is None else {"boundary": np.asarray(edges, bool).astype(float)}
        counts = evaluate_bsds_image(pred, sample.target, sample.meta.get("boundaries"), thresholds=1)[0]
        return float(summarize_boundaries([counts])["ods"]["f"])
    from seglab.metrics.pixel import pixel_metrics

    target = np.asarray(sample.target.labels > 0 if format == "coco" else sample.target, dtype=np.int64)
    pred = seg.class_map() if seg.class_ids is not None else seg.labels
    if target.max(initial=0) <= 1:
        pred = (pred > 0).astype(np.int64)
    return float(pixel_metrics(pred, target, ignore_index=sample.meta.get("ignore_index"),
                               valid_mask=sample.valid_mask)["mean_iou"])


def _truth(format: str, sample: Any) -> Any:
    from seglab.core.segmentation import Segmentation

    if format == "coco":
        return sample.target
    target = np.asarray(sample.target[0] if format == "bsds" else sample.target, dtype=np.int64)
    ignore = sample.meta.get("ignore_index")
    if ignore is not None:
        target = np.where(target == ignore, 0, target)
    return Segmentation.from_labels(target.astype(np.int32))


def _cases(dataset: Path, format: str, row: dict[str, Any], names: list[str], output: Path,
           count: int = 3, pool: int = 12) -> list[dict[str, Any]]:
    """Score the leader on up to ``pool`` scoring images one by one and save its ``count`` best
    and worst: the image with the method's boundaries, next to the ground truth's."""
    import seglab
    from seglab.core.atomic import atomic_path
    from seglab.core.image import save_image
    from seglab.datasets import read_dataset
    from seglab.viz import draw_boundaries

    data = read_dataset(dataset, format, **({"split": "val"} if format == "bsds" else {}))
    index = {n: i for i, n in enumerate(data.names)}
    scored = []
    for name in names[:pool]:
        sample = data[index[name]]
        try:
            seg = seglab.segment(sample.image, row["method"], **row["params"])
        except SeglabError:
            continue
        scored.append((_image_score(format, seg, sample), name, sample, seg))
    scored.sort(key=lambda item: -item[0])
    picks = [("best", item) for item in scored[:count]]
    picks += [("worst", item) for item in scored[max(count, len(scored) - count):][::-1]]
    cases = []
    for kind, (score, name, sample, seg) in picks:
        image = sample.image
        panel = np.concatenate([draw_boundaries(image, seg), draw_boundaries(image, _truth(format, sample))], axis=1)
        file = f"{kind}_{name}.png"
        with atomic_path(output / file) as path:
            save_image(path, panel)
        cases.append({"kind": kind, "name": name, "score": score, "file": file})
    return cases


def _write_report(output: Path, rows: list[dict[str, Any]], format: str, tune: bool, n_tune: int,
                  n_score: int, cases: list[dict[str, Any]]) -> None:
    from seglab.core.atomic import atomic_write_text
    from seglab.core.segmentation import json_safe

    metric = {"bsds": "boundary ODS F", "coco": "mask AP"}.get(format, "mean IoU")
    if tune:
        intro = (f"Tuned by successive halving on the tuning split ({n_tune} images: even positions), "
                 f"scored on the separate scoring split ({n_score} images: odd positions).")
        header = ["rank", "method", metric, "defaults", "s / image", "sets tried", "parameters"]
    else:
        intro = f"Defaults, scored on {n_score} images."
        header = ["rank", "method", metric, "s / image", "parameters"]
    table = []
    for rank, row in enumerate(rows, start=1):
        score = f"{row['score']:.4f}" if "score" in row else f"error: {row.get('error')}"
        seconds = f"{row['seconds_per_image']:.3f}" if row.get("seconds_per_image") is not None else ""
        cells = [str(rank), row["method"], score]
        if tune:
            cells += [f"{row.get('default_score', float('nan')):.4f}", seconds, str(row.get("tried", ""))]
        else:
            cells += [seconds]
        table.append(cells + [json.dumps(row["params"])])
    md = [f"# seglab bench ({format}, {metric})", "", intro, "",
          "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(cells) + " |" for cells in table]
    if cases:
        md += ["", f"## Best and worst images of {rows[0]['method']} (left: method, right: ground truth)", ""]
        md += [f"- {c['kind']} {c['name']}: {c['score']:.4f}  ![{c['name']}]({c['file']})" for c in cases]
    atomic_write_text(output / "report.md", "\n".join(md) + "\n")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in table)
    figures = "".join(f"<figure><img src=\"{html.escape(c['file'])}\"><figcaption>{html.escape(c['kind'])} "
                      f"{html.escape(c['name'])}: {c['score']:.4f}</figcaption></figure>" for c in cases)
    atomic_write_text(output / "report.html",
                      f"<html><head><meta charset=\"utf-8\"><title>seglab bench</title></head><body>"
                      f"<h1>seglab bench ({html.escape(format)}, {html.escape(metric)})</h1><p>{html.escape(intro)}</p>"
                      f"<table border=\"1\"><tr>{head}</tr>{body}</table>{figures}</body></html>\n")
    atomic_write_text(output / "report.json", json.dumps(json_safe(rows), indent=2) + "\n")
