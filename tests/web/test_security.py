"""Only files under DIR, whatever the encoding; token; body size; loopback by default."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from seglab.core.errors import InputError
from seglab.web.project import resolve_under

TRAVERSALS = [
    "../secret.png",
    "..%2fsecret.png",
    "..%2Fsecret.png",
    "%2e%2e/secret.png",
    "%2e%2e%2fsecret.png",
    "%252e%252e%252fsecret.png",
    "%25252e%25252e/secret.png",
    "sub/../../secret.png",
    "sub%2f..%2f..%2fsecret.png",
    "..%5csecret.png",
    "..\\secret.png",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "C:/Windows/win.ini",
    ".seglab/annotations.db",
    "%2eseglab/annotations.db",
    "link_out.png",
    "linkdir/secret.png",
    "rect.png%00.txt",
    "nothere.png",
]


@pytest.fixture
def guarded(project_dir: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (4, 4)).save(project_dir.parent / "secret.png")
    os.symlink(project_dir.parent / "secret.png", project_dir / "link_out.png")
    os.symlink(project_dir.parent, project_dir / "linkdir")
    (project_dir / "notes.txt").write_text("not an image")
    return project_dir


@pytest.mark.parametrize("relative", TRAVERSALS)
def test_resolve_under_refuses(guarded, relative):
    assert resolve_under(guarded, relative) is None


def test_resolve_under_allows_inside(guarded):
    assert resolve_under(guarded, "sub/disk.jpg") == (guarded / "sub" / "disk.jpg").resolve()
    assert resolve_under(guarded, "sub%2fdisk.jpg") == (guarded / "sub" / "disk.jpg").resolve()


@pytest.mark.parametrize("relative", TRAVERSALS + ["notes.txt"])
def test_files_route_404(guarded, relative):
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as client:
        assert client.get("/files/" + relative).status_code == 404
        assert client.get("/files/rect.png").status_code == 200
        paths = [i["path"] for i in client.get("/api/images").json()]
        assert paths == ["rect.png", "sub/disk.jpg"]  # symlinks out of DIR are not listed


def raw_get(url: str, target: str, extra: str = "") -> int:
    """Status of a GET sent byte for byte (no client-side normalisation of the path)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n".encode())
        head = sock.recv(64).decode("latin-1")
    return int(head.split()[1])


def test_real_server_refuses_traversal_and_needs_token(guarded, server_factory):
    server = server_factory(guarded, "--token", "s3cret")
    token = "X-Seglab-Token: s3cret\r\n"
    assert raw_get(server.url, "/files/rect.png", token) == 200
    for relative in TRAVERSALS:
        assert raw_get(server.url, "/files/" + relative.replace("\\", "%5c"), token) in (400, 404), relative
    assert raw_get(server.url, "/files/../../secret.png", token) in (400, 404)
    assert raw_get(server.url, "/static/../app.py") == 404
    assert raw_get(server.url, "/api/images") == 401
    assert raw_get(server.url, "/api/images", "Authorization: Bearer wrong\r\n") == 401
    assert raw_get(server.url, "/api/images?token=s3cret") == 200
    assert raw_get(server.url, "/files/rect.png") == 401


def test_token_checked_on_every_api_request(project_dir):
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    with TestClient(create_app(project_dir, token="t0k"), base_url="http://127.0.0.1") as client:
        assert client.get("/").status_code in (200, 404)  # the page itself is public code
        for method, path in [("get", "/api/images"), ("get", "/api/classes"), ("post", "/api/classes"),
                             ("get", "/api/export"), ("post", "/api/images/1/save"), ("get", "/api/methods"),
                             ("get", "/api/images/1/thumbnail")]:
            assert getattr(client, method)(path).status_code == 401, path
        assert client.get("/api/images", headers={"Authorization": "Bearer t0k"}).status_code == 200


def test_body_size_limited(project_dir):
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    with TestClient(create_app(project_dir, max_body=1000), base_url="http://127.0.0.1") as client:
        big = {"upserts": [], "deletes": ["x" * 10] * 200}
        assert client.post("/api/images/1/save", json=big).status_code == 413

        def chunks():  # no Content-Length: counted while streaming
            for _ in range(10):
                yield b" " * 500

        response = client.post("/api/images/1/save", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert client.post("/api/images/1/save", json={"deletes": ["a"]}).status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_serve_refuses_beyond_loopback_without_token(project_dir, host):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    result = CliRunner().invoke(app, ["serve", str(project_dir), "--host", host])
    assert result.exit_code == 1 and "--token must be given when binding beyond loopback" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(host):
    from seglab.cli.serve import check_bind

    check_bind(host, None)
    with pytest.raises(InputError, match="--token must be given"):
        check_bind("10.0.0.1", None)
