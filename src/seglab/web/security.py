"""Request checks of the annotator: Host and Origin (DNS rebinding, cross-site writes), web parameters.

- **Host**: a page on ``attacker.example`` whose name the attacker re-points at 127.0.0.1
  reaches the server with ``Host: attacker.example``. Only the names the server was bound to
  and the names of loopback are accepted (``allowed_hosts``); anything else is 403.
- **Origin**: a browser sends ``Origin`` with every cross-origin write. A state-changing
  request (POST, PUT, PATCH, DELETE) whose ``Origin`` is not this server's is 403, as is any
  ``/api`` or ``/files`` request a browser marks ``Sec-Fetch-Site: cross-site``.
- **Parameters** the page may set are finite, within the bounds their method declares at
  registration, and a ``model`` is the name of a project model, never a server path.
"""

from __future__ import annotations

import ipaddress
import math
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from seglab.core.errors import InputError

__all__ = ["LOOPBACK_NAMES", "HostPolicy", "OutOfBounds", "check_web_params", "project_model", "request_problem", "validation_detail"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Integers the page may send: beyond this no method parameter makes sense, and numpy may overflow.
MAX_WEB_INT = 2**31 - 1
MODEL_DIR = Path(".seglab") / "models"
MODEL_SUFFIXES = (".pt", ".onnx")


def _strip_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which ``Host`` names the server answers.

    Parameters
    ----------
    allowed_hosts : iterable of str, optional
        Names (or addresses) besides the loopback names; ``"*"`` accepts any host (for a
        server bound to every interface, where a token is required anyway).
    """

    def __init__(self, allowed_hosts: Iterable[str] | None = None) -> None:
        names = {_strip_port(h) for h in (allowed_hosts or ())}
        self.any_host = "*" in names
        self.names = frozenset(names - {"*"})

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        if self.any_host:
            return True
        name = _strip_port(host_header)
        return _is_loopback(name) or name in self.names


def request_problem(
    method: str, path: str, headers: Mapping[str, str], policy: HostPolicy, scheme: str = "http"
) -> str | None:
    """Why a request must be refused (403), or None when it may go on."""
    host = headers.get("host")
    if not policy.allows(host):
        return f"Host must be one this server was bound to (or loopback), got {host!r}"
    guarded = path.startswith(("/api", "/files"))
    if guarded and headers.get("sec-fetch-site", "") == "cross-site":
        return "cross-site requests are refused"
    if method.upper() in _WRITES:
        origin = headers.get("origin")
        if origin is not None:
            parsed = urllib.parse.urlsplit(origin)
            same = parsed.scheme == scheme and parsed.netloc.lower() == (host or "").lower()
            if origin == "null" or not same:
                return f"Origin must be this server ({scheme}://{host}), got {origin!r}"
    return None


def validation_detail(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors without the values given (NaN cannot be sent back as JSON; no echo)."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in list(errors)[:20]]


# ---------------------------------------------------------------------------- parameters
class OutOfBounds(InputError):
    """A parameter outside the range its method declares for the web page (HTTP 422)."""


def _check_number(where: str, value: Any) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where} must be a finite number, got {value!r}")
    if isinstance(value, int) and abs(value) > MAX_WEB_INT:
        raise InputError(f"{where} must be at most {MAX_WEB_INT} in size, got {value!r}")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_number(where, item)


def check_web_params(info: Any, params: dict[str, Any], root: Path) -> dict[str, Any]:
    """``params`` (typed by the registry) checked for the web page, with ``model`` names resolved.

    Raises
    ------
    InputError
        A non-finite or huge number, a value outside the bounds the method declares
        (``ParamInfo.bounds``), or a ``model`` that is not a project model.
    """
    checked = dict(params)
    for key, value in params.items():
        where = f"parameter {key!r} of method {info.name!r}"
        _check_number(where, value)
        bounds = getattr(info.param(key), "bounds", None)
        if bounds is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            low, high = bounds
            if (low is not None and value < low) or (high is not None and value > high):
                raise OutOfBounds(f"{where} must be between {low} and {high} on the web page, got {value!r}")
        if key == "model" and isinstance(value, str):
            checked[key] = str(project_model(root, value))
    return checked


def project_model(root: Path, name: str) -> Path:
    """The project model ``name`` (a file in ``DIR/.seglab/models``), never any other path.

    One answer for every refusal, so the page cannot learn which server paths exist.
    """
    folder = Path(root) / MODEL_DIR
    refused = InputError(
        f"model must be the name of a project model (a file in {MODEL_DIR.as_posix()}/), got {name!r}"
    )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", name) or ".." in name:
        raise refused
    candidates = [folder / name] + [folder / f"{name}{suffix}" for suffix in MODEL_SUFFIXES]
    for candidate in candidates:
        if candidate.suffix in MODEL_SUFFIXES and candidate.is_file():
            real = candidate.resolve()
            if real.is_relative_to(folder.resolve()):
                return real
    raise refused
