"""Fixtures of the web annotator tests: a small project folder, an in-process client, a real server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")


def make_project(folder: Path) -> Path:
    """Two small RGB images: a red rectangle on grey, and a green disk on blue."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rect = np.full((60, 80, 3), 40, np.uint8)
    rect[15:45, 20:60] = (200, 60, 60)
    Image.fromarray(rect).save(folder / "rect.png")
    rows, cols = np.mgrid[:64, :64]
    disk = np.zeros((64, 64, 3), np.uint8)
    disk[...] = (30, 30, 160)
    disk[(rows - 32) ** 2 + (cols - 30) ** 2 <= 15**2] = (60, 200, 60)
    (folder / "sub").mkdir(exist_ok=True)
    Image.fromarray(disk).save(folder / "sub" / "disk.jpg", quality=95)
    return folder


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return make_project(tmp_path / "photos")


@pytest.fixture
def client(project_dir: Path) -> Iterator:
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    with TestClient(create_app(project_dir), base_url="http://127.0.0.1") as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``seglab serve`` in a subprocess on 127.0.0.1 and a free port; stop() always kills it."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder, self.extra = folder, extra
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> Server:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "seglab", "serve", str(self.folder), "--port", str(port), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")
            try:
                httpx.get(self.url + "/", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start within 60 s")

    def kill(self) -> None:
        """kill -9, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def server_factory() -> Iterator:
    servers: list[Server] = []

    def start(folder: Path, *extra: str) -> Server:
        server = Server(folder, *extra)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


#: Debian's Chromium flags for headless browser tests (Playwright cannot download a browser here).
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser() -> Iterator:
    """A headless Chromium (``$SEGLAB_CHROMIUM``, default Debian's) driven by Playwright."""
    import os

    from playwright import sync_api

    executable = os.environ.get("SEGLAB_CHROMIUM", "/usr/bin/chromium")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
