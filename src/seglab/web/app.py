"""The FastAPI app of the annotator: a static page plus a JSON API over one project folder.

Security: only files under the project folder are served (:func:`resolve_under`, everything
else is 404 whatever its encoding); request bodies are limited in size and JSON bodies are
validated by pydantic; with a token every ``/api`` and ``/files`` request must carry it
(``Authorization: Bearer T``, ``X-Seglab-Token: T`` or ``?token=T``).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import types
import typing
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response

from seglab.core.errors import InputError, SeglabError
from seglab.web import security
from seglab.web.jobs import JobLimits, JobPool, run_http
from seglab.web.project import PixelSource, Project, crop_runs, mask_from_runs, resolve_under
from seglab.web.schemas import ClassIn, ClassPatch, DoneIn, SaveIn, SegmentIn
from seglab.web.storage import decode_mask

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_BODY = 64 * 2**20
#: Largest side of an image-list thumbnail (``/api/images/{id}/thumbnail?size=``).
MAX_THUMBNAIL = 256
_MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png",
          ".svg": "image/svg+xml", ".ico": "image/x-icon"}
_FILE_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
               ".tiff": "image/tiff", ".bmp": "image/bmp", ".gif": "image/gif", ".webp": "image/webp"}
_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'"}


class _BodyLimit:
    """ASGI middleware: 413 for a request body above ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            return await JSONResponse({"detail": "request body too large"}, 413)(scope, receive, send)
        body, more = [], True
        seen = 0
        while more:  # read (and count) the whole body first, then replay it to the app
            message = await receive()
            if message["type"] != "http.request":
                return None  # client went away
            body.append(message.get("body", b""))
            seen += len(body[-1])
            more = message.get("more_body", False)
            if seen > self.limit:
                return await JSONResponse({"detail": "request body too large"}, 413)(scope, receive, send)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(root: Any, *, db: str | None = None, token: str | None = None,
               max_body: int = DEFAULT_MAX_BODY, allowed_hosts: Any = None,
               limits: JobLimits | None = None) -> FastAPI:
    """The annotator app over the images in ``root``.

    Parameters
    ----------
    root : path-like
        Project folder; annotations go to ``root/.seglab/annotations.db`` unless ``db`` is given.
    db : str, optional
        SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``).
    token : str, optional
        Required on every API request when given.
    max_body : int
        Largest request body in bytes.
    allowed_hosts : iterable of str, optional
        ``Host`` names accepted besides loopback (``"*"``: any); see :mod:`seglab.web.security`.
    limits : JobLimits, optional
        Worker pool, time and memory limits of segment requests (:mod:`seglab.web.jobs`).

    Returns
    -------
    FastAPI
        ``app.state.project`` is the :class:`~seglab.web.project.Project`.
    """
    project = Project(root, db)
    hosts = security.HostPolicy(allowed_hosts)
    jobs = JobPool(limits)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()
        project.store.close()

    app = FastAPI(title="seglab annotator", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.project = project
    app.state.jobs = jobs

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        path = request.url.path
        problem = security.request_problem(request.method, path, request.headers, hosts, request.url.scheme)
        if problem is not None:
            return JSONResponse({"detail": problem}, 403, headers=_HEADERS)
        if token is not None and path.startswith(("/api", "/files")):
            given = request.headers.get("x-seglab-token") or request.query_params.get("token") or ""
            bearer = request.headers.get("authorization", "")
            if bearer.lower().startswith("bearer "):
                given = bearer[7:]
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"detail": "missing or wrong token"}, 401, headers=_HEADERS)
        response = await call_next(request)
        response.headers.update(_HEADERS)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": security.validation_detail(error.errors())}, 422)

    @app.exception_handler(SeglabError)
    async def seglab_error(_request: Request, error: SeglabError) -> JSONResponse:
        status = 422 if isinstance(error, security.OutOfBounds) else 400
        return JSONResponse({"detail": project.public(f"{type(error).__name__}: {error}")}, status)

    _static_routes(app)
    _image_routes(app, project, jobs)
    _class_routes(app, project)
    from seglab.web.routes import router

    app.include_router(router(project))
    app.add_middleware(_BodyLimit, limit=max_body)
    return app


def _static_routes(app: FastAPI) -> None:
    files = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in _MEDIA} if STATIC.is_dir() else {}

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if "index.html" not in files:
            raise HTTPException(404, "page not installed")
        return FileResponse(files["index.html"], media_type="text/html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in files:
            raise HTTPException(404, "not found")
        path = files[name]
        return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "no-cache"})


def _image_or_404(project: Project, image_id: int) -> dict[str, Any]:
    info = project.image(image_id)
    if info is None:
        raise HTTPException(404, "no such image")
    return info


def _image_routes(app: FastAPI, project: Project, jobs: JobPool) -> None:
    @app.get("/api/info")
    def info() -> dict[str, Any]:
        from seglab import __version__
        from seglab.formats import format_names

        return {"name": project.root.name, "version": __version__, "formats": format_names()}

    @app.get("/api/methods")
    def methods() -> list[dict[str, Any]]:
        from seglab.core.registry import methods as all_methods

        # what each method declared it allows, and sam when the server's SEGLAB_SAM configures it
        return [m.to_dict() for m in all_methods() if m.web or _server_configured(m.name)]

    @app.get("/api/images")
    def images() -> list[dict[str, Any]]:
        return project.images()

    @app.get("/api/images/{image_id}")
    def image(image_id: int) -> dict[str, Any]:
        return _image_or_404(project, image_id)

    @app.get("/api/images/{image_id}/preview")
    def preview(image_id: int, max_side: int = 2048) -> Response:
        data, media = project.preview(_image_or_404(project, image_id), max_side)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/images/{image_id}/thumbnail")
    def thumbnail(image_id: int, size: int = Query(64, ge=16, le=MAX_THUMBNAIL)) -> Response:
        # a preview of the smallest cached size that holds `size`: the image list asks for one per image
        data, media = project.preview(_image_or_404(project, image_id), size)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/images/{image_id}/region")
    def region(image_id: int, x0: int, y0: int, x1: int, y1: int, max_side: int = 2048) -> Response:
        data = project.region(_image_or_404(project, image_id), (x0, y0, x1, y1), max_side)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/files/{relative:path}")
    def original(relative: str) -> Response:
        path = resolve_under(project.root, relative)
        if path is None or path.suffix.lower() not in _FILE_MEDIA:
            raise HTTPException(404, "not found")
        return FileResponse(path, media_type=_FILE_MEDIA[path.suffix.lower()])

    @app.get("/api/images/{image_id}/objects")
    def objects(image_id: int) -> list[dict[str, Any]]:
        info = _image_or_404(project, image_id)
        out = []
        for obj in project.store.objects(image_id):
            mask = decode_mask(obj.pop("rle"), info["height"], info["width"])
            out.append({**obj, "mask": crop_runs(mask)})
        return out

    @app.post("/api/images/{image_id}/save")
    def save(image_id: int, body: SaveIn) -> dict[str, Any]:
        info = _image_or_404(project, image_id)
        upserts = []
        for item in body.upserts:
            mask = mask_from_runs(item.mask.model_dump(), info["height"], info["width"])
            upserts.append({**item.model_dump(exclude={"mask"}), "mask": mask})
        return project.store.save(image_id, upserts, body.deletes)

    @app.post("/api/images/{image_id}/done")
    def done(image_id: int, body: DoneIn) -> dict[str, Any]:
        _image_or_404(project, image_id)
        project.store.set_done(image_id, body.done)
        return {"id": image_id, "done": body.done}

    @app.post("/api/images/{image_id}/segment")
    async def segment(image_id: int, body: SegmentIn, request: Request) -> dict[str, Any]:
        import asyncio

        info = await asyncio.to_thread(_image_or_404, project, image_id)
        name, params = _segment_params(body, project.root, info)  # refused here, before a worker is taken
        return await run_http(jobs, _segment, PixelSource(project.root), info, body, name, params, request=request)

    @app.get("/api/export")
    def export(format: str = "coco") -> Response:
        data, media, name, notes = project.export_bytes(format)
        if len(notes) > 50:  # keep the header small; the CLI prints them all
            notes = [*notes[:50], f"... and {len(notes) - 50} more (seglab export-project prints them all)"]
        headers = {"Content-Disposition": f'attachment; filename="{name}"',
                   "X-Seglab-Warnings": urllib.parse.quote(json.dumps(notes))}
        return Response(data, media_type=media, headers=headers)


def _class_routes(app: FastAPI, project: Project) -> None:
    @app.get("/api/classes")
    def classes() -> list[dict[str, Any]]:
        return project.store.classes()

    @app.post("/api/classes")
    def add_class(body: ClassIn) -> dict[str, Any]:
        return project.store.add_class(body.name.strip(), body.color)

    @app.patch("/api/classes/{class_id}")
    def update_class(class_id: int, body: ClassPatch) -> dict[str, Any]:
        found = project.store.update_class(class_id, name=body.name, color=body.color)
        if found is None:
            raise HTTPException(404, "no such class")
        return found

    @app.delete("/api/classes/{class_id}")
    def delete_class(class_id: int) -> dict[str, Any]:
        unclassed = project.store.delete_class(class_id)
        if unclassed is None:
            raise HTTPException(404, "no such class")
        return {"deleted": class_id, "unclassed": unclassed}


# ---------------------------------------------------------------------------- methods
def _web_annotation(annotation: Any) -> Any:
    """The annotation without array members (arrays would be read from server paths)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(annotation) if m is not np.ndarray]
        if not members:
            return None
        return members[0] if len(members) == 1 else typing.Union[tuple(members)]  # noqa: UP007
    return None if annotation is np.ndarray else annotation


def coerce_params(info: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Typed keyword arguments from JSON values or form text, checked against the method's signature.

    Array parameters cannot be given (on the CLI they name image files, which the page must
    not be able to read), so a union like ``ndarray | list of points`` only takes the points.
    """
    from seglab.core.registry import parse_value

    typed: dict[str, Any] = {}
    for key, value in params.items():
        param = info.param(key)
        what = f"parameter {key!r} of method {info.name!r}"
        annotation = _web_annotation(param.annotation)
        if annotation is None:
            raise InputError(f"{what} must be left out on the web page (it takes an array), got {value!r}")
        text = value if isinstance(value, str) else json.dumps(value)
        typed[key] = parse_value(annotation, text, what)
    return typed


#: Methods registered ``web=False`` because a parameter names a server file, which the page may run
#: when the server's own environment configures that file (the page never names it).
SERVER_CONFIGURED = {"sam": "SEGLAB_SAM"}

#: Methods the page may run with a project model's name (``DIR/.seglab/models/NAME``) as ``model``,
#: although they are registered ``web=False`` (they would otherwise open any server path).
PROJECT_MODEL_METHODS = ("model", "model_instances")


def _server_configured(name: str) -> bool:
    import os

    return name in SERVER_CONFIGURED and bool(os.environ.get(SERVER_CONFIGURED[name]))


def _mask_prompt(method: Any, given: dict[str, Any], info: dict[str, Any]) -> dict[str, np.ndarray]:
    """The mask prompt (``previous``) given as crop runs ``{x, y, w, h, counts}``, as a full mask.

    Taken out of ``given``; nested 0/1 lists stay there and go through the method's signature.
    A mask of a large image is a few hundred run lengths this way instead of H x W numbers.
    """
    key = method.prompts.get("mask")
    if not isinstance(key, str) or not isinstance(given.get(key), dict):
        return {}
    from pydantic import ValidationError

    from seglab.web.schemas import MaskRuns

    value = given.pop(key)
    try:
        runs = MaskRuns(**value).model_dump()
    except (TypeError, ValidationError):
        raise InputError(f"parameter {key!r} of method {method.name!r} must be a mask as crop runs "
                         f"{{x, y, w, h, counts}} or nested 0/1 lists, got an object with keys {sorted(value)}") from None
    return {key: mask_from_runs(runs, info["height"], info["width"])}


def _segment_params(body: SegmentIn, root: Path, info: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The method's name and its typed, checked parameters (bounds: :mod:`seglab.web.security`).

    The model methods are registered ``web=False``; the page may still run them with the name of
    one of the project's own models (:func:`seglab.web.learn.model_path`), never a server path.
    The mask prompt may come as crop runs (:func:`_mask_prompt`) when ``info`` (the image) is given.
    """
    from seglab.core.registry import get_method

    method = get_method(body.method)
    given = dict(body.params)
    masks = {} if info is None else _mask_prompt(method, given, info)
    model = None
    if method.name in PROJECT_MODEL_METHODS and "model" in given:
        from seglab.web.learn import model_path

        model = str(model_path(root, given.pop("model")))
    elif _server_configured(method.name) and "config" not in given:
        pass  # e.g. sam with the model that SEGLAB_SAM names
    elif not method.web:
        raise InputError(f"method must be one the annotator may run, got {method.name!r} "
                         "(registered with web=False)")
    params = {**security.check_web_params(method, coerce_params(method, given), root), **masks}
    return method.name, params if model is None else {**params, "model": model}


def _segment(project: Any, info: dict[str, Any], body: SegmentIn, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run in a worker process (:mod:`seglab.web.jobs`); ``project`` gives ``root`` and ``pixels(info)``."""
    from seglab.core.registry import segment

    seg = segment(project.pixels(info), name, **params)
    if body.pick is not None:
        x, y = (round(v) for v in body.pick)
        if not (0 <= x < info["width"] and 0 <= y < info["height"]):
            raise InputError(f"pick must be a point inside the image ({info['width']}x{info['height']}), got {body.pick}")
        region = int(seg.labels[y, x])
        ids = [region] if region else []
    else:
        order = np.argsort(-seg.areas, kind="stable")[: body.max_regions] + 1
        ids = [int(i) for i in order if seg.areas[i - 1] > 0]
    regions = []
    for region in ids:
        mask = seg.labels == region
        score = None if seg.scores is None else float(seg.scores[region - 1])
        name = None if seg.class_ids is None or not seg.class_names else seg.class_names[int(seg.class_ids[region - 1])]
        regions.append({"mask": crop_runs(mask), "area": int(mask.sum()), "score": score, "class_name": name})
    return {"method": name, "regions": regions, "total": len(seg), "time_s": seg.meta.get("time_s")}
