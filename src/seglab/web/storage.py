"""Project storage: images, classes and objects in one SQL database through SQLAlchemy 2.

SQLite by default (``DIR/.seglab/annotations.db``, WAL journal, ``synchronous=FULL``); any
SQLAlchemy URL works (``postgresql://...``). Masks are stored as compressed COCO RLE strings
(pycocotools). Every write is one transaction: a save either lands completely or not at all,
and once a request is acknowledged its transaction is committed, so a killed server loses
nothing it acknowledged. On SQLite every transaction starts with ``BEGIN IMMEDIATE``, so
concurrent writers queue on the database lock (``busy_timeout``) instead of failing.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from seglab.core.errors import InputError

__all__ = ["Store", "decode_mask", "default_url", "encode_mask", "private_dir"]

MAX_CLASS_NAME = 64


class _Base(DeclarativeBase):
    pass


class ImageRow(_Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), unique=True, index=True)  # relative to DIR, '/'
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class ClassRow(_Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_CLASS_NAME), unique=True)
    color: Mapped[str] = mapped_column(String(7))


class SettingRow(_Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON


class ObjectRow(_Base):
    __tablename__ = "objects"
    uid: Mapped[str] = mapped_column(String(64), primary_key=True)  # chosen by the client
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id", ondelete="SET NULL"), nullable=True)
    rle: Mapped[str] = mapped_column(Text)
    area: Mapped[int] = mapped_column(Integer)
    bbox: Mapped[str] = mapped_column(String(64))  # "x0,y0,x1,y1" exclusive end
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(64), default="manual")
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    order: Mapped[float] = mapped_column(Float, default=0.0)
    updated: Mapped[_dt.datetime] = mapped_column(DateTime, default=lambda: _dt.datetime.now(_dt.timezone.utc))


# ---------------------------------------------------------------------------- masks
def encode_mask(mask: np.ndarray) -> str:
    """Compressed COCO RLE counts of a (H, W) bool mask."""
    from pycocotools import mask as coco_mask

    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return rle["counts"].decode("ascii")


def decode_mask(counts: str, height: int, width: int) -> np.ndarray:
    """(H, W) bool mask from compressed COCO RLE counts."""
    from pycocotools import mask as coco_mask

    return coco_mask.decode({"size": [height, width], "counts": counts.encode("ascii")}).astype(bool)


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), exclusive end, of the true pixels; (0, 0, 0, 0) when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


def _writable(folder: Path) -> bool:
    """True when files can be created in ``folder`` (created if missing)."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            return True
    except OSError:
        return False


def private_dir(root: Path) -> Path:
    """Where a project keeps its database and caches: ``DIR/.seglab``, or, when the project
    folder is read-only, ``$XDG_CACHE_HOME/seglab/projects/<hash of DIR>`` (``~/.cache``)."""
    import hashlib
    import os

    folder = Path(root) / ".seglab"
    if _writable(folder):
        return folder
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
    fallback = cache / "seglab" / "projects" / digest
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def default_url(root: Path) -> str:
    """``sqlite:///DIR/.seglab/annotations.db`` (the folder is created; see :func:`private_dir`)."""
    return f"sqlite:///{(private_dir(root) / 'annotations.db').resolve()}"


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """The annotations of one project folder.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL, e.g. ``sqlite:///DIR/.seglab/annotations.db``.

    Examples
    --------
    >>> import tempfile
    >>> store = Store(f"sqlite:///{tempfile.mkdtemp()}/a.db")
    >>> store.add_class("cat", "#ff0000")["name"]
    'cat'
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _sqlite_engine(url) if url.startswith("sqlite") else create_engine(url, pool_pre_ping=True)
        _Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    # ------------------------------------------------------------------ images
    def sync_images(self, entries: Iterable[tuple[str, int, int]]) -> None:
        """Add images (relative path, width, height) not yet in the database; keep the rest."""
        with self.session() as s:
            known = set(s.scalars(select(ImageRow.path)))
            for path, width, height in entries:
                if path not in known:
                    s.add(ImageRow(path=path, width=width, height=height))

    def images(self, paths: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Images with their object counts, sorted by path (only ``paths`` when given)."""
        wanted = None if paths is None else set(paths)
        with self.session() as s:
            counts = dict(s.execute(select(ObjectRow.image_id, func.count()).group_by(ObjectRow.image_id)).all())
            rows = s.scalars(select(ImageRow).order_by(ImageRow.path)).all()
            return [
                {"id": r.id, "path": r.path, "width": r.width, "height": r.height, "done": r.done,
                 "objects": int(counts.get(r.id, 0))}
                for r in rows if wanted is None or r.path in wanted
            ]

    def image(self, image_id: int) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(ImageRow, image_id)
            if row is None:
                return None
            return {"id": row.id, "path": row.path, "width": row.width, "height": row.height, "done": row.done}

    def set_done(self, image_id: int, done: bool) -> None:
        with self.session() as s:
            row = s.get(ImageRow, image_id)
            if row is not None:
                row.done = done

    # ------------------------------------------------------------------ classes
    def classes(self) -> list[dict[str, Any]]:
        """Classes in creation order, each with ``objects``: how many objects have it."""
        with self.session() as s:
            counts = dict(s.execute(select(ObjectRow.class_id, func.count()).group_by(ObjectRow.class_id)).all())
            return [{"id": c.id, "name": c.name, "color": c.color, "objects": int(counts.get(c.id, 0))}
                    for c in s.scalars(select(ClassRow).order_by(ClassRow.id))]

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict[str, Any]:
        """The project's page settings (active class and the like), JSON values by key."""
        import json

        with self.session() as s:
            return {r.key: json.loads(r.value) for r in s.scalars(select(SettingRow))}

    def update_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """Set (``None`` removes) the given keys; returns every setting."""
        import json

        with self.session() as s:
            for key, value in values.items():
                row = s.get(SettingRow, key)
                if value is None:
                    if row is not None:
                        s.delete(row)
                elif row is None:
                    s.add(SettingRow(key=key, value=json.dumps(value)))
                else:
                    row.value = json.dumps(value)
        return self.settings()

    def add_class(self, name: str, color: str) -> dict[str, Any]:
        """Create a class (or return the existing one of that name)."""
        with self.session() as s:
            row = s.scalars(select(ClassRow).where(ClassRow.name == name)).first()
            if row is None:
                row = ClassRow(name=name, color=color)
                s.add(row)
                s.flush()
            return {"id": row.id, "name": row.name, "color": row.color}

    def update_class(self, class_id: int, *, name: str | None = None, color: str | None = None) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(ClassRow, class_id)
            if row is None:
                return None
            if name is not None and name != row.name:
                if s.scalars(select(ClassRow).where(ClassRow.name == name)).first() is not None:
                    raise InputError(f"class name must be unique, got {name!r} (already used)")
                row.name = name
            if color is not None:
                row.color = color
            return {"id": row.id, "name": row.name, "color": row.color}

    def delete_class(self, class_id: int) -> int | None:
        """Delete a class; its objects stay, without a class. Returns how many, or None for no such class."""
        with self.session() as s:
            row = s.get(ClassRow, class_id)
            if row is None:
                return None
            count = 0
            for obj in s.scalars(select(ObjectRow).where(ObjectRow.class_id == class_id)):
                obj.class_id = None
                count += 1
            s.delete(row)
            return count

    # ------------------------------------------------------------------ objects
    def objects(self, image_id: int) -> list[dict[str, Any]]:
        """Objects of one image in drawing order, masks as compressed RLE counts."""
        with self.session() as s:
            rows = s.scalars(select(ObjectRow).where(ObjectRow.image_id == image_id)
                             .order_by(ObjectRow.order, ObjectRow.updated)).all()
            return [_object_dict(r) for r in rows]

    def save(self, image_id: int, upserts: list[dict[str, Any]], deletes: list[str]) -> dict[str, int]:
        """Create or replace ``upserts`` and remove ``deletes`` of one image, in one transaction.

        Each upsert has ``uid``, ``mask`` ((H, W) bool), ``class_id``, ``visible``, ``source``,
        ``score`` and ``order``. Raises InputError for an unknown class or a uid of another image.
        """
        with self.session() as s:
            image = s.get(ImageRow, image_id)
            if image is None:
                raise InputError(f"image id must be a project image, got {image_id}")
            class_ids = set(s.scalars(select(ClassRow.id)))
            for item in upserts:
                self._upsert(s, image, item, class_ids)
            if deletes:
                s.execute(delete(ObjectRow).where(ObjectRow.image_id == image_id, ObjectRow.uid.in_(deletes)))
            count = s.scalar(select(func.count()).select_from(ObjectRow).where(ObjectRow.image_id == image_id))
        return {"saved": len(upserts), "deleted": len(deletes), "objects": int(count or 0)}

    @staticmethod
    def _upsert(s: Session, image: ImageRow, item: dict[str, Any], class_ids: set[int]) -> None:
        mask = item["mask"]
        if mask.shape != (image.height, image.width):
            raise InputError(f"mask must have shape ({image.height}, {image.width}) like the image, got {mask.shape}")
        if item.get("class_id") is not None and item["class_id"] not in class_ids:
            raise InputError(f"class_id must be an existing class, got {item['class_id']}")
        row = s.get(ObjectRow, item["uid"])
        if row is not None and row.image_id != image.id:
            raise InputError(f"object uid must be unique across images, got {item['uid']!r} (used in another image)")
        if row is None:
            row = ObjectRow(uid=item["uid"], image_id=image.id)
            s.add(row)
        row.rle = encode_mask(mask)
        row.area = int(mask.sum())
        row.bbox = ",".join(str(v) for v in mask_box(mask))
        row.class_id = item.get("class_id")
        row.visible = bool(item.get("visible", True))
        row.source = str(item.get("source", "manual"))[:64]
        row.score = item.get("score")
        row.order = float(item.get("order", 0.0))
        row.updated = _dt.datetime.now(_dt.timezone.utc)

    def all_objects(self) -> dict[int, list[dict[str, Any]]]:
        """Every object, grouped by image id (drawing order)."""
        grouped: dict[int, list[dict[str, Any]]] = {}
        with self.session() as s:
            for r in s.scalars(select(ObjectRow).order_by(ObjectRow.image_id, ObjectRow.order, ObjectRow.updated)):
                grouped.setdefault(r.image_id, []).append(_object_dict(r))
        return grouped


def _object_dict(r: ObjectRow) -> dict[str, Any]:
    return {
        "uid": r.uid, "image_id": r.image_id, "class_id": r.class_id, "rle": r.rle, "area": r.area,
        "bbox": [int(v) for v in r.bbox.split(",")], "visible": r.visible, "source": r.source,
        "score": r.score, "order": r.order,
    }
