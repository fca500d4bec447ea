"""The one input collector: image paths from what a user names on the command line or in Python."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seglab.core.errors import InputError

__all__ = ["LIST_SUFFIXES", "collect_images"]

_GLOB_CHARS = set("*?[")
#: Text files that list image paths, one per line.
LIST_SUFFIXES = (".txt", ".lst", ".list", ".csv")
_LIST_SUFFIXES = LIST_SUFFIXES


def collect_images(source: Any) -> list[Path]:
    """Image paths from a folder, a glob, a text file of paths, an image file, or a list of those.

    Every command that takes images (``segment``, ``detect``, ``predict``, ``batch``...) collects
    them here. A folder gives the images directly in it (sorted); a text file (``.txt``,
    ``.lst``, ``.list``, ``.csv``) holds one path per line (blank lines and lines starting with
    ``#`` are skipped, relative paths are relative to the file's folder). Outputs are named by
    file stem, so two inputs with one stem (``a/x.png`` and ``b/x.png``, or ``x.jpg`` and
    ``x.png``) are refused rather than left to overwrite each other's results.

    Raises
    ------
    InputError
        A path that does not exist, a folder or glob with no images, or two inputs with the same
        file stem (their outputs would overwrite each other).
    """
    if isinstance(source, (list, tuple)):
        files = [f for entry in source for f in _collect_one(entry)]
    else:
        files = _collect_one(source)
    if not files:
        raise InputError(f"input must name at least one image, got none from {_shown(source)}")
    _check_unique_stems(files)
    return files


def _collect_one(entry: Any) -> list[Path]:
    from seglab.core.image import IMAGE_SUFFIXES

    text = str(entry)
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise InputError(f"folder {text!r} must contain images ({', '.join(IMAGE_SUFFIXES)}), got none")
        return found
    if path.is_file() and path.suffix.lower() in _LIST_SUFFIXES:
        base = path.parent
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        listed = [Path(ln) if Path(ln).is_absolute() else base / ln for ln in lines if ln and not ln.startswith("#")]
        missing = [str(p) for p in listed if not p.is_file()]
        if missing:
            raise InputError(f"image {missing[0]!r} listed in {text!r} does not exist")
        return listed
    if path.is_file():
        return [path]
    if _GLOB_CHARS & set(text):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"glob {text!r} must match at least one file, got none")
        return found
    what = "image" if path.suffix.lower() in IMAGE_SUFFIXES else "input"
    raise InputError(f"{what} {text!r} does not exist")


def _check_unique_stems(files: Sequence[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in files:
        other = seen.setdefault(path.stem, path)
        if other != path:
            raise InputError(
                f"input file stems must be unique (outputs are named by stem), got {path.stem!r} "
                f"for {str(other)!r} and {str(path)!r}; rename one or run them separately"
            )


def _shown(source: Any) -> str:
    if isinstance(source, (list, tuple)):
        return ", ".join(repr(str(s)) for s in source) or "an empty list"
    return repr(str(source))
