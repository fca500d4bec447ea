"""One registry type for everything seglab looks up by name, and the ``seglab.plugins`` entry points.

Methods, inpainting methods, annotation formats, dataset readers, model loaders and the tiler's
global passes are each a :class:`Registry`: a name -> entry table that

- imports the modules holding the built-in entries on the first lookup (so ``import seglab``
  stays light), and then every third-party plugin (:func:`load_plugins`);
- refuses a name that is taken, naming both the entry there and the one that wanted the name
  (re-registering the same object from the same place, as a module reload does, replaces it);
- answers an unknown name with an :class:`~seglab.InputError` listing the choices and the
  closest match.

A plugin is a package that declares, in its ``pyproject.toml``::

    [project.entry-points."seglab.plugins"]
    mymethods = "mypackage.seglab_methods"

Importing ``mypackage.seglab_methods`` runs its ``@seglab.register(...)`` calls. A plugin that
fails to import is reported with a :class:`UserWarning` naming it and otherwise ignored.
"""

from __future__ import annotations

import difflib
import importlib
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from seglab.core.errors import InputError, RegistrationError

__all__ = ["PLUGIN_GROUP", "Registry", "load_plugins", "suggest", "origin_of"]

#: The entry-point group third-party packages use to add methods (and anything else registered).
PLUGIN_GROUP = "seglab.plugins"

T = TypeVar("T")

_plugins_loaded = False
_plugins_lock = threading.RLock()


def suggest(name: Any, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def origin_of(obj: Any) -> str:
    """``module.qualname`` of a function or class (what a duplicate-name error shows)."""
    target = getattr(obj, "function", obj)  # MethodInfo-like entries carry the function
    module = getattr(target, "__module__", None) or type(target).__module__
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return f"{module}.{name}"


def load_plugins() -> None:
    """Import every module named in the ``seglab.plugins`` entry-point group, once.

    A plugin that raises while importing gives a :class:`UserWarning` naming the entry point
    and its module; seglab goes on without it.
    """
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=PLUGIN_GROUP):
            try:
                importlib.import_module(entry.value.split(":", 1)[0])
            except Exception as error:  # noqa: BLE001 - a broken plugin must not break seglab
                warnings.warn(f"seglab plugin {entry.name!r} ({entry.value}) failed to load and is ignored: "
                              f"{type(error).__name__}: {error}", UserWarning, stacklevel=2)


def reset_plugins() -> None:
    """Forget that plugins were loaded, so the next lookup imports them again (for tests)."""
    global _plugins_loaded
    with _plugins_lock:
        _plugins_loaded = False


class Registry(Generic[T]):
    """A name -> entry table, filled by the modules in ``builtins`` and by plugins.

    Parameters
    ----------
    what : str
        What an entry is, for messages (``"method"``, ``"format"``...).
    builtins : sequence of str
        Modules imported on the first lookup; importing them registers the built-in entries.
    plugins : bool
        Also load the ``seglab.plugins`` entry points on the first lookup.

    Examples
    --------
    >>> colours = Registry("colour")
    >>> colours.add("red", (255, 0, 0))
    >>> colours.get("red")
    (255, 0, 0)
    >>> colours.get("rde")
    Traceback (most recent call last):
    ...
    seglab.core.errors.InputError: colour must be one of red, got 'rde'; did you mean 'red'?
    """

    def __init__(self, what: str, *, builtins: Sequence[str] = (), plugins: bool = True) -> None:
        self.what = what
        self._builtins = tuple(builtins)
        self._plugins = plugins
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}
        self._loaded = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ filling
    def add(self, name: str, entry: T, *, origin: str | None = None) -> None:
        """Register ``entry`` as ``name``.

        Raises
        ------
        RegistrationError
            ``name`` is taken by an entry from somewhere else; the message names both.
        """
        origin = origin or origin_of(entry)
        with self._lock:
            taken = self._origins.get(name)
            if taken is not None and taken != origin:
                raise RegistrationError(f"{self.what} name {name!r} is taken by {taken}, "
                                        f"so {origin} cannot be registered under it; choose another name")
            self._entries[name] = entry
            self._origins[name] = origin

    def remove(self, name: str) -> None:
        """Forget ``name`` (tests and plugins that replace themselves)."""
        with self._lock:
            self._entries.pop(name, None)
            self._origins.pop(name, None)

    def decorator(self, name: str, make: Callable[[Any], T] | None = None) -> Callable[[Any], Any]:
        """``@registry.decorator("name")``: register the decorated object (or ``make(obj)``), return it."""
        def wrap(obj: Any) -> Any:
            self.add(name, make(obj) if make else obj, origin=origin_of(obj))
            return obj

        return wrap

    # ------------------------------------------------------------------ lookups
    def load(self) -> None:
        """Import the built-in modules and the plugins (once; every lookup calls this)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module in self._builtins:
                importlib.import_module(module)
        if self._plugins:
            load_plugins()

    def get(self, name: Any) -> T:
        """The entry named ``name`` (case-insensitive).

        Raises
        ------
        InputError
            No entry has that name; the message lists the choices and the closest match.
        """
        self.load()
        key = name.lower() if isinstance(name, str) else name
        if not isinstance(key, str) or key not in self._entries:
            raise self.unknown(name)
        return self._entries[key]

    def unknown(self, name: Any) -> InputError:
        """The error for a name that is not registered."""
        choices = self.names()
        listed = ", ".join(choices) if choices else "(none)"
        return InputError(f"{self.what} must be one of {listed}, got {name!r}{suggest(name, choices)}")

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self.load()
        return sorted(self._entries)

    def values(self) -> list[T]:
        """Entries in name order."""
        self.load()
        return [self._entries[name] for name in sorted(self._entries)]

    def origin(self, name: str) -> str:
        """Where the entry ``name`` was registered from (``module.qualname``)."""
        self.load()
        return self._origins[name]

    def __contains__(self, name: object) -> bool:
        self.load()
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load()
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {len(self._entries)} entries)"
