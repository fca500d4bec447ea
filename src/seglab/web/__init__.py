"""The web annotator: ``seglab serve DIR`` serves one static page and a JSON API over DIR.

>>> from seglab.web import create_app   # doctest: +SKIP
>>> app = create_app("photos/")          # doctest: +SKIP

FastAPI and SQLAlchemy are imported on first use (``pip install 'seglab[web]'``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Project", "Store", "create_app"]

_LAZY = {"create_app": "seglab.web.app", "Project": "seglab.web.project", "Store": "seglab.web.storage"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seglab.web' has no attribute {name!r}")
