"""``seglab serve`` (the web annotator) and ``seglab export-project``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import typer

from seglab.core.errors import InputError

__all__ = ["is_loopback", "register"]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise InputError(
            f"--token must be given when binding beyond loopback, got --host {host!r} without one "
            "(anyone on the network could read and change the annotations)"
        )


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        folder: Path = typer.Argument(..., help="Folder of images to annotate (searched recursively)."),
        db: str = typer.Option(None, "--db", help="SQLAlchemy URL; default sqlite in DIR/.seglab/annotations.db."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
        port: int = typer.Option(8000, "--port", help="Port to listen on."),
        token: str = typer.Option(None, "--token", envvar="SEGLAB_TOKEN",
                                  help="Secret every API request must carry; required beyond loopback."),
        max_body_mb: int = typer.Option(64, "--max-body-mb", help="Largest request body in MiB."),
    ) -> None:
        """Annotate the images in FOLDER in the browser (box -> GrabCut, clicks, scribbles, polygons)."""
        check_bind(host, token)
        try:
            import uvicorn

            from seglab.web.app import create_app
        except ModuleNotFoundError as error:
            raise InputError(f"the web annotator needs {error.name!r}: pip install 'seglab[web]'") from None
        # Host names the server answers: what it is bound to (and loopback); any name when bound to
        # every interface, where a token is required and guards instead
        hosts = ["*"] if host in ("0.0.0.0", "::", "") else [host]
        web_app = create_app(folder, db=db, token=token, max_body=max_body_mb * 2**20, allowed_hosts=hosts)
        shown = f"[{host}]" if ":" in host else host
        query = f"/?token={token}" if token else "/"
        typer.echo(f"seglab annotator on http://{shown}:{port}{query} (Ctrl+C to stop)", err=True)
        uvicorn.run(web_app, host=host, port=port, log_level="warning")

    @app.command("export-project")
    def export_project(
        folder: Path = typer.Argument(..., help="Project folder served by `seglab serve`."),
        to: str = typer.Option("coco", "--to", help="Format: coco, voc, yolo, labelme or png."),
        output: Path = typer.Option(..., "-o", "--output", help="COCO: a JSON file; others: a folder."),
        db: str = typer.Option(None, "--db", help="SQLAlchemy URL, if not the default."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    ) -> None:
        """Export a project's annotations: one mask per object, Done images without objects kept."""
        from seglab.cli.common import check_outputs
        from seglab.web.project import Project

        check_outputs([output], overwrite)
        project = Project(folder, db)
        try:
            result = project.export(to, output)
        finally:
            project.store.close()
        for note in result.warnings:
            typer.echo(f"warning: {note}", err=True)
        typer.echo(f"exported {result.objects} objects in {result.images} images to {result.path}", err=True)
