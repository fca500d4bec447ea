"""The method registry: one name per method, what it can do, and parameter types read from the signature.

Methods are plain functions, image first, keyword-only parameters with defaults::

    @register("otsu", kind="threshold", tiling="global")
    def otsu(image: np.ndarray, *, invert: bool = False) -> Segmentation: ...

``segment(image, "otsu")`` runs one; ``methods()`` lists them with typed parameters, and
:func:`parse_params` turns the CLI's ``key=value`` strings into those types without ``eval``.

A registration also declares, once, what the rest of seglab needs to know about the method:

- ``tiling``: how :func:`seglab.tiling.segment_tiled` may split an image for it (see
  :data:`TILING_MODES`) and ``halo``, the context in pixels a tile needs for given parameters;
- ``prompts``: which prompts it takes and through which parameters (see :data:`PROMPT_KINDS`);
- ``web``: whether the web annotator may run it, and ``bounds``: the range the annotator allows
  for a numeric parameter.

The tiler, the CLI and the web page read these instead of hard-coding method names.
"""

from __future__ import annotations

import inspect
import json
import re
import time
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seglab.core.errors import InputError, RegistrationError
from seglab.core.registry_base import Registry, suggest
from seglab.core.segmentation import Segmentation, json_safe

__all__ = [
    "KINDS",
    "METHODS",
    "PROMPT_KINDS",
    "TILING_MODES",
    "MethodInfo",
    "ParamInfo",
    "register",
    "describe_function",
    "get_method",
    "methods",
    "segment",
    "check_params",
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
    "seglab.classical.contour",
    "seglab.deep.method",
)

KINDS = ("threshold", "edges", "region", "cluster", "graph", "interactive", "contour", "deep")

#: How a method may be tiled by :func:`seglab.tiling.segment_tiled`:
#:
#: - ``"pixel"``: a pixel's label depends on the pixel and a window of ``halo`` pixels only, so
#:   tiles with that halo give exactly the untiled labels;
#: - ``"global"``: pixel-wise once parameters computed from the whole image are known (Otsu's
#:   threshold); the tiler runs the global pass registered for the method in
#:   :data:`seglab.tiling.GLOBAL_PASSES` first;
#: - ``"regions"``: tiles are segmented with a halo and regions overlapping across seams are
#:   merged (an approximation, with a warning);
#: - ``"model"``: a deep model whose probabilities are blended across overlapping tiles;
#: - ``"none"``: must see the whole image (prompts in image coordinates, global optimisation).
TILING_MODES = ("pixel", "global", "regions", "model", "none")

#: Prompts a method may take, and the value each parameter receives (pixel coordinates, x first):
#: ``box`` (x0, y0, x1, y1); ``points`` [(x, y, label)] with label 1 = on the object, 0 = not;
#: ``seeds`` [(x, y)] positive points only; ``scribbles`` two parameters, foreground and
#: background [(x, y)]; ``mask`` an (H, W) mask to refine (the previous answer).
PROMPT_KINDS = ("box", "points", "seeds", "scribbles", "mask")

HaloFn = Callable[[Mapping[str, Any]], int]

@dataclass(frozen=True)
class ParamInfo:
    """One keyword parameter of a method."""

    name: str
    annotation: Any
    default: Any
    type_name: str
    choices: tuple[Any, ...] | None
    doc: str
    bounds: tuple[float | None, float | None] | None = None  # (low, high) the web annotator allows

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "default": json_safe(self.default),
            "choices": None if self.choices is None else list(self.choices),
            "doc": self.doc,
            "bounds": None if self.bounds is None else list(self.bounds),
        }


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its name, kind, function, parameters, summary and declared capabilities.

    ``prompts`` maps a prompt kind (:data:`PROMPT_KINDS`) to the parameter that takes it (a pair
    of parameters for ``scribbles``); ``tiling`` is one of :data:`TILING_MODES`; ``halo(params)``
    the context a tile needs; ``web`` whether the annotator may run the method.
    """

    name: str
    kind: str
    function: Callable[..., Segmentation]
    params: tuple[ParamInfo, ...]
    summary: str
    tiling: str = "regions"
    prompts: Mapping[str, str | tuple[str, str]] = field(default_factory=dict)
    web: bool = True
    halo: HaloFn | None = None

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` completed with the defaults of every parameter not given."""
        return {**{p.name: p.default for p in self.params}, **params}

    def tile_halo(self, params: Mapping[str, Any], minimum: int = 0) -> int:
        """The halo in pixels a tile needs for ``params`` (at least ``minimum``)."""
        return max(minimum, int(self.halo(self.with_defaults(params)))) if self.halo else minimum

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
            "tiling": self.tiling,
            "prompts": {k: list(v) if isinstance(v, tuple) else v for k, v in self.prompts.items()},
            "web": self.web,
        }


#: Every segmentation method, by name; plugins add theirs through ``seglab.plugins`` entry points.
METHODS: Registry[MethodInfo] = Registry("method", builtins=BUILTIN_MODULES)
_REGISTRY = METHODS._entries  # kept for code written against the old dict


def register(
    name: str,
    *,
    kind: str,
    tiling: str = "regions",
    halo: HaloFn | int | None = None,
    prompts: Mapping[str, str | tuple[str, str]] | None = None,
    web: bool = True,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
) -> Callable[[Callable[..., Segmentation]], Callable[..., Segmentation]]:
    """Register a function under ``name`` (lower case) as a method of ``kind``, with what it can do.

    Parameters
    ----------
    name : str
        A lower-case identifier; a name registered from elsewhere is refused.
    kind : str
        One of :data:`KINDS`.
    tiling : str
        How the tiler may split an image for this method, one of :data:`TILING_MODES`.
    halo : int or callable, optional
        Context in pixels a tile needs, or ``halo(params) -> int`` of the parameters with their
        defaults filled in (an adaptive threshold's block size).
    prompts : mapping, optional
        Prompt kind (:data:`PROMPT_KINDS`) -> the parameter that takes it, e.g.
        ``{"box": "box", "scribbles": ("foreground", "background")}``.
    web : bool
        Whether the web annotator may run the method.
    bounds : mapping, optional
        Parameter -> (low, high), either None for open: the values the web annotator accepts.

    Raises
    ------
    RegistrationError
        A malformed name or declaration, or a name taken by another function.

    Examples
    --------
    >>> import numpy as np, seglab
    >>> @seglab.register("brighter_than_mean", kind="threshold", tiling="global")
    ... def brighter_than_mean(image: np.ndarray) -> seglab.Segmentation:
    ...     return seglab.Segmentation((image > image.mean()).astype(np.int32))
    >>> seglab.get_method("brighter_than_mean").tiling
    'global'
    >>> seglab.core.registry.METHODS.remove("brighter_than_mean")
    """
    if name != name.lower() or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise RegistrationError(f"method name must be a lower-case identifier, got {name!r}")
    if kind not in KINDS:
        raise RegistrationError(f"kind of method {name!r} must be one of {', '.join(KINDS)}, got {kind!r}")
    if tiling not in TILING_MODES:
        raise RegistrationError(f"tiling of method {name!r} must be one of {', '.join(TILING_MODES)}, "
                                f"got {tiling!r}")
    halo_fn: HaloFn | None = (lambda params, _h=int(halo): _h) if isinstance(halo, int) else halo

    def decorator(function: Callable[..., Segmentation]) -> Callable[..., Segmentation]:
        info = describe_function(name, kind, function)
        params = _with_bounds(info, dict(bounds or {}))
        declared = _check_prompts(info, dict(prompts or {}))
        info = MethodInfo(info.name, kind, function, params, info.summary, tiling=tiling, prompts=declared,
                          web=bool(web), halo=halo_fn)
        METHODS.add(name, info)
        return function

    return decorator


def _check_prompts(info: MethodInfo, prompts: dict[str, Any]) -> dict[str, str | tuple[str, str]]:
    names = {p.name for p in info.params}
    checked: dict[str, str | tuple[str, str]] = {}
    for kind, param in prompts.items():
        if kind not in PROMPT_KINDS:
            raise RegistrationError(f"prompt of method {info.name!r} must be one of {', '.join(PROMPT_KINDS)}, "
                                    f"got {kind!r}")
        wanted = tuple(param) if isinstance(param, (tuple, list)) else (param,)
        if len(wanted) != (2 if kind == "scribbles" else 1):
            raise RegistrationError(f"prompt {kind!r} of method {info.name!r} must name "
                                    f"{'two parameters' if kind == 'scribbles' else 'one parameter'}, got {param!r}")
        missing = [p for p in wanted if p not in names]
        if missing:
            raise RegistrationError(f"prompt {kind!r} of method {info.name!r} must name a parameter of it, "
                                    f"got {missing[0]!r}")
        checked[kind] = wanted if kind == "scribbles" else wanted[0]
    return checked


def _with_bounds(info: MethodInfo, bounds: dict[str, Any]) -> tuple[ParamInfo, ...]:
    names = [p.name for p in info.params]
    for key, value in bounds.items():
        if key not in names:
            raise RegistrationError(f"bounds of method {info.name!r} must name its parameters, got {key!r}"
                                    f"{suggest(key, names)}")
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise RegistrationError(f"bounds of parameter {key!r} of method {info.name!r} must be (low, high), "
                                    f"got {value!r}")
    return tuple(
        ParamInfo(p.name, p.annotation, p.default, p.type_name, p.choices, p.doc, tuple(bounds[p.name]))
        if p.name in bounds else p
        for p in info.params
    )


def describe_function(name: str, kind: str, function: Callable[..., Any], *, inputs: int = 1) -> MethodInfo:
    """A :class:`MethodInfo` for ``function``, whose first ``inputs`` arguments are data, not parameters.

    Other registries (inpainting takes an image and a mask) use this so their parameters are typed
    and parsed exactly like segmentation methods'.
    """
    return MethodInfo(name, kind, function, _read_params(function, inputs), _summary(function))


def methods(kind: str | None = None) -> list[MethodInfo]:
    """All registered methods, sorted by kind then name; optionally only one ``kind``."""
    found = [info for info in METHODS.values() if kind is None or info.kind == kind]
    return sorted(found, key=lambda info: (KINDS.index(info.kind), info.name))


def get_method(name: str) -> MethodInfo:
    """The method registered as ``name``.

    Raises
    ------
    InputError
        If no method has that name; the message lists the choices and the closest match.
    """
    return METHODS.get(name)


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


def _unknown(what: str, name: Any, choices: Sequence[str]) -> InputError:
    listed = ", ".join(choices) if choices else "(none)"
    return InputError(f"{what} must be one of {listed}, got {name!r}{suggest(name, choices)}")
