"""Inputs, outputs and the manifest of a batch run.

- :func:`collect_inputs` turns a folder, a glob, a text file of paths (or a list of them) into
  image paths.
- :func:`write_outputs` writes what ``seglab segment`` writes per image, each file atomically.
- :class:`Manifest` is an append-only JSON-lines file of finished images keyed by input
  (path, size, mtime or content hash), method and parameters; a torn last line (``kill -9``)
  is ignored on reading.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from seglab.core.inputs import collect_images
from seglab.core.segmentation import Segmentation, json_safe

__all__ = [
    "COCO_NAME",
    "MANIFEST_NAME",
    "SUMMARY_NAME",
    "Manifest",
    "collect_inputs",
    "input_key",
    "output_paths",
    "remove_stale_temporaries",
    "write_outputs",
]

COCO_NAME = "seglab-batch.coco.json"
MANIFEST_NAME = "seglab-batch.manifest.jsonl"
SUMMARY_NAME = "seglab-batch.summary.json"


def output_paths(out_dir: Any, stem: str) -> dict[str, Path]:
    """The files ``seglab segment`` writes for an image called ``stem``: labels, overlay, json."""
    out = Path(out_dir)
    return {
        "labels": out / f"{stem}.labels.png",
        "overlay": out / f"{stem}.overlay.png",
        "json": out / f"{stem}.json",
    }


def write_outputs(image: np.ndarray, seg: Segmentation, out_dir: Any, stem: str) -> dict[str, Path]:
    """Write ``STEM.labels.png``, ``STEM.overlay.png`` and ``STEM.json`` for one image, atomically.

    The same files as ``seglab segment``: the label PNG (:meth:`Segmentation.save`), the overlay
    (:func:`seglab.viz.overlay`) and the JSON summary (:meth:`Segmentation.summary`). Each is
    written to a temporary file and renamed, so a reader never sees half a file.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        The image that was segmented (for the overlay).
    seg : Segmentation
        Its segmentation.
    out_dir : path-like
        Output folder (created if missing).
    stem : str
        File name stem, usually the input file's stem.

    Returns
    -------
    dict of str to Path
        ``{"labels": ..., "overlay": ..., "json": ...}``.

    Examples
    --------
    >>> import numpy as np, seglab, tempfile
    >>> image = np.zeros((8, 8), np.uint8); image[2:6, 2:6] = 200
    >>> paths = write_outputs(image, seglab.segment(image, "otsu"), tempfile.mkdtemp(), "square")
    >>> sorted(paths)
    ['json', 'labels', 'overlay']
    """
    from seglab.core.atomic import atomic_write_text
    from seglab.core.image import save_image
    from seglab.viz import overlay

    paths = output_paths(out_dir, stem)
    seg.save(paths["labels"])
    save_image(paths["overlay"], overlay(image, seg))
    atomic_write_text(paths["json"], json.dumps(json_safe(seg.summary()), indent=2) + "\n")
    return paths


def remove_stale_temporaries(out_dir: Any, stems: Iterable[str]) -> int:
    """Delete temporary files a killed run left beside its outputs; return how many.

    :func:`seglab.core.atomic.atomic_path` names them ``.STEM.labels.XXXXXXXX.png``,
    ``.STEM.overlay.XXXXXXXX.png`` and ``.STEM.XXXXXXXX.json``; nothing else is touched.
    """
    out = Path(out_dir)
    if not out.is_dir():
        return 0
    targets = {"seglab-batch.summary"}
    for stem in stems:
        targets.update((stem, f"{stem}.labels", f"{stem}.overlay"))
    pattern = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.(?:png|json)$")
    removed = 0
    for entry in out.iterdir():
        match = pattern.match(entry.name)
        if match and match.group("target") in targets and entry.is_file():
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


# ---------------------------------------------------------------------------- inputs
def collect_inputs(source: Any) -> list[Path]:
    """Image paths for a batch run: :func:`seglab.core.inputs.collect_images` (one collector for every command)."""
    return collect_images(source)


# ---------------------------------------------------------------------------- keys
def _file_signature(path: Path, check: str) -> dict[str, Any]:
    stat = path.stat()
    signature: dict[str, Any] = {"path": str(path.resolve()), "size": stat.st_size}
    if check == "hash":
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        signature["sha256"] = digest.hexdigest()
    else:
        signature["mtime_ns"] = stat.st_mtime_ns
    return signature


def input_key(path: Path, method: str, params: dict[str, Any], *, check: str = "mtime") -> str:
    """A hex digest of the input file (path, size, mtime or content hash), the method and its parameters.

    A path-valued parameter that names a file (a model checkpoint) adds that file's signature too,
    so a retrained model redoes every image.
    """
    from seglab import __version__

    files = {
        key: _file_signature(Path(value), check)
        for key, value in params.items()
        if isinstance(value, (str, os.PathLike)) and Path(value).is_file()
    }
    record = {
        "input": _file_signature(path, check),
        "method": method,
        "params": json_safe(params),
        "param_files": files,
        "seglab": __version__,
    }
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------------------- manifest
class Manifest:
    """Append-only JSON lines: one record per finished (or failed) image; the last record of a stem wins."""

    def __init__(self, path: Any) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line torn by kill -9
                    if isinstance(record, dict) and "stem" in record:
                        self.records[record["stem"]] = record
        self._handle: Any = None

    def is_done(self, stem: str, key: str, outputs: dict[str, Path]) -> bool:
        """True when ``stem`` finished with this ``key`` and its outputs are there with the recorded sizes."""
        record = self.records.get(stem)
        if not record or record.get("status") != "ok" or record.get("key") != key:
            return False
        sizes = record.get("sizes", {})
        for name, path in outputs.items():
            try:
                if path.stat().st_size != sizes.get(name):
                    return False
            except FileNotFoundError:
                return False
        return True

    def append(self, record: dict[str, Any]) -> None:
        """Add one record and flush it to disk (fsync) before returning."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a", encoding="utf-8")
            if self._handle.tell() > 0:
                self._handle.write("\n")  # end a line torn by an earlier kill
        self._handle.write(json.dumps(json_safe(record), sort_keys=True) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.records[record["stem"]] = record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
