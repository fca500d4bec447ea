"""Pydantic models of the JSON bodies the annotator accepts (anything else gets 422)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClassIn", "ClassPatch", "DoneIn", "ExportIn", "MaskRuns", "ObjectIn", "SaveIn", "SegmentIn"]

MAX_OBJECTS_PER_SAVE = 2000
COLOR = r"^#[0-9a-fA-F]{6}$"
UID = r"^[A-Za-z0-9_-]{1,64}$"
#: Finite floats of a sane size: NaN, inf and 1e300 would reach numpy and the database.
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-1e7, le=1e7)]
Order = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Score = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]
Size = Annotated[int, Field(ge=0, le=2**31 - 1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassIn(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    color: str = Field(default="#e6194b", pattern=COLOR)


class ClassPatch(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$")
    color: str | None = Field(default=None, pattern=COLOR)


class MaskRuns(_Strict):
    """A mask as crop runs: box ``x, y, w, h`` and row-major run lengths starting with zeros."""

    x: Size
    y: Size
    w: Size
    h: Size
    counts: list[int] = Field(max_length=20_000_000)


class ObjectIn(_Strict):
    uid: str = Field(pattern=UID)
    mask: MaskRuns
    class_id: Size | None = None
    visible: bool = True
    source: str = Field(default="manual", max_length=64)
    score: Score | None = None
    order: Order = 0.0


class SaveIn(_Strict):
    """One autosave: objects created or changed, and uids deleted, applied in one transaction."""

    upserts: list[ObjectIn] = Field(default_factory=list, max_length=MAX_OBJECTS_PER_SAVE)
    deletes: list[str] = Field(default_factory=list, max_length=MAX_OBJECTS_PER_SAVE)


class SegmentIn(_Strict):
    """Run a registered method; ``pick`` keeps only the region under that (x, y) point."""

    method: str = Field(min_length=1, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)
    pick: tuple[Coordinate, Coordinate] | None = None
    max_regions: int = Field(default=300, ge=1, le=5000)


class DoneIn(_Strict):
    done: bool


class ExportIn(_Strict):
    format: Literal["coco", "voc", "yolo", "labelme", "png"] = "coco"
