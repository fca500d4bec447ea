"""The project learns from its labels: training pairs from Done images, models under ``DIR/.seglab/models/``.

A Done image is fully labelled: every pixel outside its objects is background, so its pairs
need no ignore mask. Class ``i + 1`` is the project's ``i``-th class (creation order); objects
without a class become a last class ``object``. Overlapping objects are flattened, later on top.

Models are referred to by name only (``[A-Za-z0-9_-]``, a folder under ``DIR/.seglab/models/``
holding ``best.pt``), so the page can never make the server read a path of its choosing.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seglab.core.errors import InputError
from seglab.web.storage import decode_mask

if TYPE_CHECKING:
    from seglab.web.project import Project

__all__ = ["Trainer", "model_path", "project_models", "project_pairs", "read_project"]

MODELS = "models"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: Below this many Done images the pixel forest is the default (when it is installed), else the plan.
FOREST_BELOW = 8


def models_dir(root: Path) -> Path:
    return Path(root) / ".seglab" / MODELS


def model_path(root: Path, name: Any) -> Path:
    """``DIR/.seglab/models/NAME/best.pt`` of an existing project model.

    Raises
    ------
    InputError
        If ``name`` is not a model name of this project (never a path).
    """
    known = [m["name"] for m in project_models(root)]
    if not isinstance(name, str) or not NAME.match(name) or name not in known:
        shown = ", ".join(known) if known else "none yet (train one with Learn)"
        raise InputError(f"model must be the name of one of this project's models ({shown}), got {name!r}")
    return models_dir(root) / name / "best.pt"


def project_models(root: Path) -> list[dict[str, Any]]:
    """The project's trained models, newest first: name, arch, classes, metrics, images, created."""
    folder = models_dir(root)
    out = []
    for run in sorted(folder.iterdir() if folder.is_dir() else [], key=lambda p: p.name, reverse=True):
        if not (NAME.match(run.name) and (run / "best.pt").is_file()):
            continue
        info: dict[str, Any] = {"name": run.name}
        card = run / "seglab-model.json"
        if card.is_file():
            info.update(json.loads(card.read_text()))
        out.append(info)
    return out


def project_pairs(project: Project) -> tuple[list[Any], tuple[str, ...], list[str]]:
    """``(pairs, class_names, image paths)`` of the Done images (pairs as :class:`seglab.deep.data.Pair`)."""
    from seglab.deep.data import Pair

    classes = project.store.classes()
    index = {c["id"]: i + 1 for i, c in enumerate(classes)}
    names = ["background", *[c["name"] for c in classes]]
    grouped = project.store.all_objects()
    done = [info for info in project.images() if info["done"]]
    if any(o["class_id"] is None for info in done for o in grouped.get(info["id"], [])):
        names.append("object")
    pairs, paths = [], []
    for info in done:
        mask = np.zeros((info["height"], info["width"]), np.uint8)
        for obj in grouped.get(info["id"], []):
            mask[decode_mask(obj["rle"], info["height"], info["width"])] = index.get(obj["class_id"], len(names) - 1)
        pairs.append(Pair(project.pixels(info), mask, info["path"]))
        paths.append(info["path"])
    return pairs, tuple(names), paths


def read_project(root: Any, db: str | None = None) -> tuple[list[Any], tuple[str, ...]]:
    """``(pairs, class_names)`` of the Done images of the annotator project in ``root`` (any store URL)."""
    from seglab.web.project import Project

    project = Project(root, db)
    try:
        pairs, names, _ = project_pairs(project)
    finally:
        project.store.close()
    if len(pairs) < 2:
        raise InputError(f"training needs at least 2 images marked Done in {str(root)!r}, got {len(pairs)}")
    return pairs, names


def default_arch(done_images: int) -> str:
    """The pixel forest for few Done images when it is installed, else ``"auto"``: the trainer's plan
    (:mod:`seglab.deep.plan`: network, width, resolution, patch and batch from the data and the budget)."""
    # the forest registers its checkpoint loader; it is not one of the smp architectures
    from seglab.deep.protocol import MODEL_LOADERS

    return "forest" if done_images < FOREST_BELOW and "forest" in MODEL_LOADERS else "auto"


class Trainer:
    """Training jobs of one project, one at a time, each in a background thread.

    ``start`` returns a job id at once; ``status(job)`` is ``{"state": "running" | "done" |
    "failed", "model": NAME, "metrics": {...}, "progress": 0..1, "error": ...}``.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def start(self, *, max_minutes: float = 1.0, arch: str | None = None, options: dict[str, Any] | None = None) -> str:
        """Start training on the Done images; InputError without two Done images or while one runs."""
        with self.lock:
            if any(j["state"] == "running" for j in self.jobs.values()):
                raise InputError("training must wait for the running job to finish, got a second request")
            pairs, names, paths = project_pairs(self.project)
            if len(pairs) < 2:
                raise InputError(f"training needs at least 2 images marked Done, got {len(pairs)}")
            if len(names) < 2:
                raise InputError("training needs at least one object on the Done images, got none")
            stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
            name = f"model-{stamp}-{len(pairs)}img"
            arch = arch or default_arch(len(pairs))
            job = f"{len(self.jobs) + 1}"
            self.jobs[job] = {"id": job, "state": "running", "model": name, "arch": arch, "images": len(pairs),
                              "metrics": {}, "progress": 0.0, "error": None, "started": time.time()}
        thread = threading.Thread(target=self._run, args=(job, pairs, names, paths, max_minutes, arch,
                                                          dict(options or {})), daemon=True, name=f"seglab-train-{job}")
        thread.start()
        return job

    def status(self, job: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.jobs.get(job)
            if found is None:
                return None
            out = dict(found)
        if out["state"] == "running":
            budget = out.get("budget_s") or 1.0
            out["progress"] = min(0.99, (time.time() - out["started"]) / budget)
        return out

    def _run(self, job: str, pairs: list[Any], names: tuple[str, ...], paths: list[str], max_minutes: float,
             arch: str, options: dict[str, Any]) -> None:
        from seglab.deep.train import train

        out = models_dir(self.project.root) / self.jobs[job]["model"]
        self.jobs[job]["budget_s"] = 60.0 * max_minutes
        try:
            # the plan sizes everything else from the Done images and the budget
            config = {"epochs": 1000, "patience": 1000, "val_fraction": 0.25, **options}
            result = train(pairs, out=out, class_names=names, arch=arch, max_minutes=max_minutes, **config)
            best = result.metrics.get("best", {})
            metrics = {k: v for k, v in best.items() if isinstance(v, (int, float))}
            card = {"arch": arch, "classes": list(names), "images": len(pairs), "trained_on": paths,
                    "metrics": metrics, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
            (out / "seglab-model.json").write_text(json.dumps(card, indent=2) + "\n")
            with self.lock:
                self.jobs[job].update(state="done", metrics=metrics, progress=1.0)
        except Exception as error:  # noqa: BLE001 - a failed job reports its error instead of dying silently
            with self.lock:
                self.jobs[job].update(state="failed", error=f"{type(error).__name__}: {error}",
                                      trace=traceback.format_exc(limit=5))
