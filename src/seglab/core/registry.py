"""The method registry: one name per method, parameter types read from the signature.

Methods are plain functions, image first, keyword-only parameters with defaults::

    @register("otsu", kind="threshold")
    def otsu(image: np.ndarray, *, invert: bool = False) -> Segmentation: ...

``segment(image, "otsu")`` runs one; ``methods()`` lists them with typed parameters, and
:func:`parse_params` turns the CLI's ``key=value`` strings into those types without ``eval``.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import re
import time
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seglab.core.errors import InputError
from seglab.core.segmentation import Segmentation, json_safe

__all__ = [
    "MethodInfo",
    "ParamInfo",
    "register",
    "describe_function",
    "get_method",
    "methods",
    "segment",
    "parse_params",
    "parse_value",
    "suggest",
]

#: Modules whose import registers the built-in methods (imported on first use of the registry).
BUILTIN_MODULES = (
    "seglab.classical.threshold",
    "seglab.classical.edges",
    "seglab.classical.region",
    "seglab.classical.cluster",
    "seglab.classical.graph",
    "seglab.classical.interactive",
    "seglab.classical.prompt",
    "seglab.classical.contour",
    "seglab.deep.method",
    "seglab.deep.sam",
)

KINDS = ("threshold", "edges", "region", "cluster", "graph", "interactive", "contour", "deep")

_REGISTRY: dict[str, MethodInfo] = {}
_LOADED = False


@dataclass(frozen=True)
class ParamInfo:
    """One keyword parameter of a method."""

    name: str
    annotation: Any
    default: Any
    type_name: str
    choices: tuple[Any, ...] | None
    doc: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "default": json_safe(self.default),
            "choices": None if self.choices is None else list(self.choices),
            "doc": self.doc,
        }


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its name, kind, function, parameters and one-line summary."""

    name: str
    kind: str
    function: Callable[..., Segmentation]
    params: tuple[ParamInfo, ...]
    summary: str

    def param(self, name: str) -> ParamInfo:
        for info in self.params:
            if info.name == name:
                return info
        raise _unknown(f"parameter of method {self.name!r}", name, [p.name for p in self.params])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "parameters": [p.to_dict() for p in self.params],
        }


def register(name: str, *, kind: str) -> Callable[[Callable[..., Segmentation]], Callable[..., Segmentation]]:
    """Register ``function`` under ``name`` (lower case) as a method of ``kind``."""
    if name != name.lower() or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"method names are lower-case identifiers, got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")

    def decorator(function: Callable[..., Segmentation]) -> Callable[..., Segmentation]:
        _REGISTRY[name] = describe_function(name, kind, function)
        return function

    return decorator


def describe_function(name: str, kind: str, function: Callable[..., Any], *, inputs: int = 1) -> MethodInfo:
    """A :class:`MethodInfo` for ``function``, whose first ``inputs`` arguments are data, not parameters.

    Other registries (inpainting takes an image and a mask) use this so their parameters are typed
    and parsed exactly like segmentation methods'.
    """
    return MethodInfo(name, kind, function, _read_params(function, inputs), _summary(function))


def _load_builtins() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def methods(kind: str | None = None) -> list[MethodInfo]:
    """All registered methods, sorted by kind then name; optionally only one ``kind``."""
    _load_builtins()
    found = [info for info in _REGISTRY.values() if kind is None or info.kind == kind]
    return sorted(found, key=lambda info: (KINDS.index(info.kind), info.name))


def get_method(name: str) -> MethodInfo:
    """The method registered as ``name``.

    Raises
    ------
    InputError
        If no method has that name; the message lists the choices and the closest match.
    """
    _load_builtins()
    if not isinstance(name, str) or name.lower() not in _REGISTRY:
        raise _unknown("method", name, sorted(_REGISTRY))
    return _REGISTRY[name.lower()]


def segment(image: Any, method: str = "otsu", **params: Any) -> Segmentation:
    """Segment ``image`` with the registered ``method``.

    Parameters
    ----------
    image : path-like or (H, W[, 3]) ndarray
        An image file or array (see :func:`seglab.load_image`).
    method : str
        A registered name; ``seglab.methods()`` lists them.
    **params
        The method's keyword parameters.

    Returns
    -------
    Segmentation
        With ``meta["method"]``, ``meta["params"]``, ``meta["time_s"]`` and, for files,
        ``meta["source"]``.

    Raises
    ------
    InputError
        Unknown method or parameter (with a did-you-mean), or a bad value.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> image = np.zeros((20, 20), np.uint8); image[5:15, 5:15] = 200
    >>> seglab.segment(image, "otsu").areas.tolist()
    [100]
    """
    from seglab.core.image import load_image

    info = get_method(method)
    check_params(info, params)
    pixels = load_image(image)
    start = time.perf_counter()
    result = info.function(pixels, **params)
    elapsed = time.perf_counter() - start
    result.meta.setdefault("method", info.name)
    result.meta["params"] = json_safe(params)
    result.meta["time_s"] = round(elapsed, 6)
    if not isinstance(image, np.ndarray) and (isinstance(image, str) or hasattr(image, "__fspath__")):
        result.meta["source"] = str(image)
    return result


def check_params(info: MethodInfo, params: dict[str, Any]) -> None:
    """Raise an InputError for an unknown key or a value outside a parameter's fixed choices."""
    names = [p.name for p in info.params]
    for key, value in params.items():
        if key not in names:
            raise _unknown(f"parameter of method {info.name!r}", key, names)
        choices = info.param(key).choices
        if choices is not None and value not in choices:
            listed = ", ".join(repr(c) for c in choices)
            raise InputError(f"parameter {key!r} of method {info.name!r} must be one of {listed}, got {value!r}")


# ---------------------------------------------------------------------------- parsing
def parse_params(info: MethodInfo, pairs: Sequence[str]) -> dict[str, Any]:
    """Turn ``["k=3", "seeds=10,20;30,40"]`` into typed keyword arguments for ``info``.

    Raises
    ------
    InputError
        A pair without ``=``, an unknown key (with did-you-mean) or a value of the wrong type.
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise InputError(f"parameter must be written key=value, got {pair!r}")
        key, text = (part.strip() for part in pair.split("=", 1))
        param = info.param(key)
        params[key] = parse_value(param.annotation, text, f"parameter {key!r} of method {info.name!r}")
    return params


def parse_value(annotation: Any, text: str, what: str = "value") -> Any:
    """Convert ``text`` to ``annotation`` (int, float, bool, str, Literal, tuples, points, arrays, unions)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if type(None) in members and text.lower() in ("none", "null", ""):
            return None
        errors = []
        for member in members:
            if member is type(None):
                continue
            try:
                return parse_value(member, text, what)
            except InputError as error:
                errors.append(error)
        raise InputError(f"{what} must be {_type_name(annotation)}, got {text!r}")
    if origin is Literal:
        choices = typing.get_args(annotation)
        for choice in choices:
            if str(choice).lower() == text.lower():
                return choice
        raise InputError(f"{what} must be one of {', '.join(repr(c) for c in choices)}, got {text!r}")
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise InputError(f"{what} must be true or false, got {text!r}")
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            raise InputError(f"{what} must be an integer, got {text!r}") from None
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise InputError(f"{what} must be a number, got {text!r}") from None
    if annotation is str or annotation is Any:
        return text
    if annotation is np.ndarray:
        from seglab.core.image import load_image

        if not Path(text).is_file():
            raise InputError(f"{what} must be an image file, got {text!r} (no such file)")
        return load_image(text)
    if origin in (tuple, list, Sequence, typing.Sequence) or annotation in (tuple, list):
        return _parse_sequence(annotation, text, what)
    raise InputError(f"{what} cannot be given on the command line (type {_type_name(annotation)})")


def _parse_sequence(annotation: Any, text: str, what: str) -> Any:
    args = typing.get_args(annotation)
    inner = args[0] if args else float
    nested = typing.get_origin(inner) in (tuple, list)
    if text.lstrip().startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise InputError(f"{what} must be {_type_name(annotation)}, got {text!r}") from None
    elif nested or ";" in text:
        value = [[_number(v, what, text) for v in group.split(",")] for group in text.split(";") if group.strip()]
    else:
        value = [_number(v, what, text) for v in text.split(",") if v.strip()]
    if typing.get_origin(annotation) is tuple and args and args[-1] is not Ellipsis and len(value) != len(args):
        raise InputError(f"{what} must be {_type_name(annotation)}, got {text!r}")
    return tuple(value) if typing.get_origin(annotation) is tuple else [tuple(v) if isinstance(v, list) else v for v in value]


def _number(text: str, what: str, whole: str) -> int | float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what} must be numbers separated by ',' (and ';' between points), got {whole!r}") from None
    return int(value) if value.is_integer() else value


# ---------------------------------------------------------------------------- introspection
def _read_params(function: Callable[..., Any], inputs: int = 1) -> tuple[ParamInfo, ...]:
    signature = inspect.signature(function)
    hints = typing.get_type_hints(function)
    docs = _param_docs(function.__doc__ or "")
    params = []
    for index, (name, parameter) in enumerate(signature.parameters.items()):
        if index < inputs:
            continue  # the image (and other data inputs)
        if parameter.kind not in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        choices = _choices(annotation)
        default = None if parameter.default is inspect.Parameter.empty else parameter.default
        params.append(ParamInfo(name, annotation, default, _type_name(annotation), choices, docs.get(name, "")))
    return tuple(params)


def _choices(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        if len(members) == 1 and typing.get_origin(members[0]) is Literal:
            return (*typing.get_args(members[0]), None)
    return None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if annotation is np.ndarray:
        return "array (image file on the CLI)"
    if origin is tuple:
        args = typing.get_args(annotation)
        if args and args[-1] is Ellipsis:
            return f"tuple of {_type_name(args[0])}"
        return "(" + ", ".join(_type_name(a) for a in args) + ")"
    if origin in (list, Sequence, typing.Sequence):
        args = typing.get_args(annotation)
        return f"list of {_type_name(args[0])}" if args else "list"
    return getattr(annotation, "__name__", str(annotation))


def _summary(function: Callable[..., Any]) -> str:
    doc = inspect.getdoc(function) or ""
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ")


def _param_docs(doc: str) -> dict[str, str]:
    """First description line of each entry in a numpydoc Parameters section."""
    text = inspect.cleandoc(doc)
    match = re.search(r"^Parameters\n-+\n(.*?)(?:^\S[^\n]*\n-+\n|\Z)", text, flags=re.S | re.M)
    if not match:
        return {}
    docs: dict[str, str] = {}
    group: list[str] = []  # "foreground, background : ..." documents both names
    for line in match.group(1).splitlines():
        if line and not line.startswith(" "):
            group = [name.strip() for name in line.split(":", 1)[0].split(",") if name.strip()]
            for name in group:
                docs.setdefault(name, "")
        elif group and line.strip() and not docs[group[0]]:
            for name in group:
                docs[name] = line.strip()
    return docs


def suggest(name: Any, choices: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unknown(what: str, name: Any, choices: Sequence[str]) -> InputError:
    listed = ", ".join(choices) if choices else "(none)"
    return InputError(f"{what} must be one of {listed}, got {name!r}{suggest(name, choices)}")
