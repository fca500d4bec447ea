"""The annotator's editing and learning routes: page settings, object outlines, training, models."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import Field

from seglab.web.project import Project, mask_from_runs
from seglab.web.schemas import MaskRuns, _Strict

__all__ = ["OutlineIn", "SettingsIn", "TrainIn", "mask_outline", "router"]


class SettingsIn(_Strict):
    """Page settings remembered per project (``null`` forgets one)."""

    active_class: int | None = None


class OutlineIn(_Strict):
    """An object's mask and the simplification tolerance of its outline, in pixels."""

    mask: MaskRuns
    tolerance: float = Field(default=1.0, ge=0.0, le=100.0)


class TrainIn(_Strict):
    """Train on the Done images for at most ``max_minutes``; ``arch`` picks the model (default by data)."""

    max_minutes: float = Field(default=1.0, gt=0.0, le=120.0)
    arch: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")


def mask_outline(mask: np.ndarray, tolerance: float) -> list[list[list[float]]]:
    """Rings ``[[x, y], ...]`` (pixel-corner coordinates) whose even-odd fill is ``mask``: outer outlines and holes.

    Vertices lie on pixel edges (marching squares at 0.5), simplified by Douglas-Peucker with
    ``tolerance`` pixels; rings that shrink below 3 vertices are dropped.
    """
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(mask.astype(np.uint8), 1)
    rings = []
    for contour in find_contours(padded, 0.5, fully_connected="high"):
        contour = approximate_polygon(contour, tolerance=float(tolerance))
        if len(contour) > 1 and np.allclose(contour[0], contour[-1]):
            contour = contour[:-1]
        if len(contour) < 3:
            continue
        xy = np.stack([contour[:, 1], contour[:, 0]], axis=1) - 0.5  # -1 for the pad, +0.5 for corners
        rings.append(np.round(xy, 2).tolist())
    return rings


def router(project: Project) -> APIRouter:
    from seglab.web.learn import Trainer, project_models

    api = APIRouter()
    trainer = Trainer(project)

    @api.get("/api/settings")
    def settings() -> dict[str, Any]:
        return project.store.settings()

    @api.put("/api/settings")
    def update_settings(body: SettingsIn) -> dict[str, Any]:
        values = body.model_dump(exclude_unset=True)
        if values.get("active_class") is not None and not any(c["id"] == values["active_class"]
                                                              for c in project.store.classes()):
            raise HTTPException(400, f"active_class must be an existing class id, got {values['active_class']}")
        return project.store.update_settings(values)

    @api.post("/api/images/{image_id}/outline")
    def outline(image_id: int, body: OutlineIn) -> dict[str, Any]:
        info = project.image(image_id)
        if info is None:
            raise HTTPException(404, "no such image")
        mask = mask_from_runs(body.mask.model_dump(), info["height"], info["width"])
        rings = mask_outline(mask, body.tolerance)
        return {"rings": rings, "vertices": sum(len(r) for r in rings)}

    @api.post("/api/train")
    def start_training(body: TrainIn) -> dict[str, Any]:
        job = trainer.start(max_minutes=body.max_minutes, arch=body.arch)
        return trainer.status(job) or {}

    @api.get("/api/train/{job}")
    def training(job: str) -> dict[str, Any]:
        found = trainer.status(job)
        if found is None:
            raise HTTPException(404, "no such training job")
        found.pop("trace", None)
        return found

    @api.get("/api/models")
    def models() -> list[dict[str, Any]]:
        return project_models(project.root)

    return api
