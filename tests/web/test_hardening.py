"""The annotator under attack: DNS rebinding, cross-site writes, greedy requests, odd numbers, paths."""

from __future__ import annotations

import asyncio
import json
import operator
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from seglab.web.jobs import Busy, JobLimits, JobPool, LimitExceeded


def rect_id(client) -> int:
    return next(i["id"] for i in client.get("/api/images").json() if i["path"] == "rect.png")


def app_client(folder: Path, **options):
    from fastapi.testclient import TestClient

    from seglab.web.app import create_app

    return TestClient(create_app(folder, **options), base_url="http://127.0.0.1")


# ---------------------------------------------------------------------------- Host and Origin
@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8000", "127.0.0.1.nip.io", "", "10.0.0.1"])
def test_foreign_host_is_refused(client, host):
    for method, path in (("get", "/api/images"), ("post", "/api/classes"), ("get", "/"), ("get", "/files/rect.png")):
        kwargs = {"json": {"name": "x"}} if method == "post" else {}
        response = getattr(client, method)(path, headers={"host": host}, **kwargs)
        assert response.status_code == 403, (host, path)
        assert "Host must be one this server was bound to" in response.json()["detail"]
    assert client.get("/api/classes").json() == []


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost", "127.0.0.5"])
def test_loopback_hosts_are_answered(client, host):
    assert client.get("/api/images", headers={"host": host}).status_code == 200


def test_bound_host_is_allowed_and_star_allows_any(project_dir):
    with app_client(project_dir, allowed_hosts=["annotate.lab:9000"]) as client:
        assert client.get("/api/images", headers={"host": "annotate.lab:9000"}).status_code == 200
        assert client.get("/api/images", headers={"host": "other.lab"}).status_code == 403
    with app_client(project_dir, allowed_hosts=["*"], token="t") as client:
        assert client.get("/api/images?token=t", headers={"host": "any.where"}).status_code == 200


@pytest.mark.parametrize("origin", ["http://attacker.example", "null", "http://127.0.0.1:9999", "https://127.0.0.1"])
def test_cross_origin_writes_are_refused(client, origin):
    for method, path, body in (("post", "/api/classes", {"name": "x"}), ("post", "/api/images/1/done", {"done": True})):
        response = getattr(client, method)(path, json=body, headers={"origin": origin})
        assert response.status_code == 403 and "Origin must be this server" in response.json()["detail"]
    response = client.delete("/api/classes/1", headers={"origin": origin})
    assert response.status_code == 403
    assert client.get("/api/classes").json() == []


def test_same_origin_writes_pass_and_cross_site_reads_are_refused(client):
    response = client.post("/api/classes", json={"name": "cat"}, headers={"origin": "http://127.0.0.1"})
    assert response.status_code == 200
    assert client.get("/api/images", headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert client.get("/api/images", headers={"sec-fetch-site": "same-origin"}).status_code == 200


def test_real_default_server_refuses_rebinding(project_dir, server_factory):
    import httpx

    server = server_factory(project_dir)
    port = server.url.rsplit(":", 1)[1]
    evil = httpx.post(server.url + "/api/classes", json={"name": "pwned"}, headers={"host": f"attacker.example:{port}"})
    assert evil.status_code == 403
    assert httpx.get(server.url + "/api/classes").json() == []


# ---------------------------------------------------------------------------- odd numbers
@pytest.mark.parametrize("raw", [
    '{"method": "slic", "pick": [Infinity, 3]}',
    '{"method": "slic", "pick": [NaN, 3]}',
    '{"method": "slic", "pick": [1e23, 3]}',
])
def test_non_finite_pick_is_422(client, raw):
    response = client.post(f"/api/images/{rect_id(client)}/segment", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("field, value", [("order", "NaN"), ("order", "1e300"), ("score", "Infinity"),
                                          ("class_id", "100000000000000000000000")])
def test_non_finite_save_fields_are_422(client, field, value):
    raw = ('{"upserts": [{"uid": "a", "mask": {"x": 0, "y": 0, "w": 1, "h": 1, "counts": [0, 1]}, '
           f'"{field}": {value}}}]}}')
    response = client.post(f"/api/images/{rect_id(client)}/save", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert client.get(f"/api/images/{rect_id(client)}/objects").json() == []


@pytest.mark.parametrize("params, message", [
    ({"sigma": "inf"}, "must be a finite number"),
    ({"sigma": "nan"}, "must be a finite number"),
    ({"compactness": 1e308 * 10}, "must be a finite number"),
    ({"n_segments": 10**23}, "must be"),
])
def test_non_finite_params_are_400(client, params, message):
    raw = json.dumps({"method": "slic", "params": params})
    response = client.post(f"/api/images/{rect_id(client)}/segment", content=raw,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400 and message in response.json()["detail"], response.json()


# ---------------------------------------------------------------------------- the worker pool
def test_pool_time_limit_kills_the_job():
    pool = JobPool(JobLimits(workers=1, time_limit=1.0))
    try:
        with pytest.raises(LimitExceeded, match="longer than the limit of 1 s"):
            asyncio.run(pool.run(time.sleep, 60))
        assert asyncio.run(pool.run(operator.add, 2, 3)) == 5  # a fresh worker took its place
    finally:
        pool.close()


def test_pool_memory_limit_stops_the_job():
    pool = JobPool(JobLimits(workers=1, memory_mb=300))
    try:
        with pytest.raises(LimitExceeded, match="300 MiB"):
            asyncio.run(pool.run(operator.mul, b"x", 3 * 2**30))
    finally:
        pool.close()


def test_pool_answers_busy_beyond_its_queue():
    pool = JobPool(JobLimits(workers=1, queue=1, time_limit=30))

    async def three():
        return await asyncio.gather(*(pool.run(time.sleep, 1.5) for _ in range(3)), return_exceptions=True)

    try:
        results = asyncio.run(three())
    finally:
        pool.close()
    assert sum(isinstance(r, Busy) for r in results) == 1
    assert sum(r is None for r in results) == 2
    assert "the server is busy (1 segment requests running, 1 waiting)" in str(next(r for r in results if isinstance(r, Busy)))


def test_pool_stops_the_job_when_the_client_leaves():
    pool = JobPool(JobLimits(workers=1, time_limit=60))
    seen = []

    async def gone() -> bool:
        seen.append(1)
        return len(seen) > 2

    async def go():
        await pool.run(time.sleep, 60, disconnected=gone)

    try:
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(go())
        assert pool._idle == []  # the worker was killed, not kept
    finally:
        pool.close()


def test_slow_segment_is_stopped_and_the_page_stays_responsive(project_dir):
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    Image.fromarray(noise).save(project_dir / "noise.png")
    with app_client(project_dir, limits=JobLimits(workers=1, queue=0, time_limit=3)) as client:
        image = next(i["id"] for i in client.get("/api/images").json() if i["path"] == "noise.png")
        answers = {}

        def slow():  # within the bounds, but about 9 s on 600x600 noise
            body = {"method": "slic", "params": {"max_num_iter": 100, "n_segments": 20000, "sigma": 5}}
            answers["slow"] = client.post(f"/api/images/{image}/segment", json=body)

        thread = threading.Thread(target=slow)
        thread.start()
        while not client.app.state.jobs._running:  # the slow job has its worker
            time.sleep(0.05)
        busy = client.post(f"/api/images/{image}/segment", json={"method": "otsu"})
        listed = client.get("/api/images")
        still_running = thread.is_alive()
        thread.join(60)
    assert busy.status_code == 429 and "the server is busy" in busy.json()["detail"]
    assert listed.status_code == 200 and still_running
    assert answers["slow"].status_code == 503
    assert "longer than the limit of 3 s" in answers["slow"].json()["detail"]


# ---------------------------------------------------------------------------- paths and files
def test_model_parameter_is_no_existence_oracle(client, project_dir):
    image = rect_id(client)
    details = []
    for name in ("/etc/passwd", "/etc/shadow", "/nonexistent/x.pt", "../../x", "nothere"):
        response = client.post(f"/api/images/{image}/segment", json={"method": "model", "params": {"model": name}})
        assert response.status_code == 400
        details.append(response.json()["detail"].replace(repr(name), "NAME"))
    assert len(set(details)) == 1  # one answer whatever exists on the server


def test_project_model_names_only(project_dir):
    from seglab.core.errors import InputError
    from seglab.web.security import project_model

    folder = project_dir / ".seglab" / "models"
    folder.mkdir(parents=True)
    (folder / "cells.pt").write_bytes(b"x")
    (project_dir / "outside.pt").write_bytes(b"x")
    (folder / "link.pt").symlink_to(project_dir / "outside.pt")
    assert project_model(project_dir, "cells") == (folder / "cells.pt").resolve()
    assert project_model(project_dir, "cells.pt") == (folder / "cells.pt").resolve()
    messages = set()
    for name in ("/etc/passwd", "../outside.pt", "link", "nothere", "..", "a/b", "x" * 300):
        with pytest.raises(InputError) as caught:
            project_model(project_dir, name)
        messages.add(str(caught.value).replace(repr(name), "NAME"))
    assert messages == {"model must be the name of a project model (a file in .seglab/models/), got NAME"}


@pytest.mark.parametrize("params, message", [
    ({"max_num_iter": 100000}, "parameter 'max_num_iter' of method 'slic' must be between 1 and 100 on the web page, got 100000"),
    ({"sigma": 1e5}, "parameter 'sigma' of method 'slic' must be between 0 and 50 on the web page, got 100000.0"),
    ({"n_segments": 0}, "parameter 'n_segments' of method 'slic' must be between 1 and 20000"),
])
def test_parameters_beyond_their_declared_bounds_are_422(client, params, message):
    response = client.post(f"/api/images/{rect_id(client)}/segment", json={"method": "slic", "params": params})
    assert response.status_code == 422 and message in response.json()["detail"]
    assert client.app.state.jobs._idle == []  # refused before any worker was taken


def test_every_web_method_bounds_what_costs_time():
    from seglab.core.registry import methods

    costly = {"max_num_iter", "iterations", "sigma", "n_segments", "k", "spatial_radius", "color_radius",
              "kernel_size", "max_seeds", "classes", "block_size", "sample", "max_side"}
    for info in methods():
        if not info.web:
            continue
        for param in info.params:
            if param.name in costly and param.type_name in ("int", "float", "int | None"):
                assert param.bounds is not None, f"{info.name}.{param.name} has no bounds"
                assert param.bounds[0] <= param.default <= param.bounds[1] if param.default is not None else True


def test_preview_sizes_are_snapped_and_cached_once(client, project_dir):
    image = rect_id(client)
    for side in (40, 41, 50, 63, 64):
        assert client.get(f"/api/images/{image}/preview?max_side={side}").status_code == 200
    assert len(list((project_dir / ".seglab" / "previews").glob(f"{image}_*.jpg"))) == 1


def test_percent_names_are_listed_and_served(project_dir):
    from PIL import Image

    Image.new("RGB", (8, 6)).save(project_dir / "a%41b.png")
    with app_client(project_dir) as client:
        listed = {i["path"]: i["id"] for i in client.get("/api/images").json()}
        assert "a%41b.png" in listed
        assert client.get(f"/api/images/{listed['a%41b.png']}/preview").status_code == 200


def test_error_messages_hide_server_paths(project_dir):
    (project_dir / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    from PIL import Image

    Image.new("RGB", (8, 6)).save(project_dir / "trunc.png")
    data = (project_dir / "trunc.png").read_bytes()
    with app_client(project_dir) as client:
        (project_dir / "trunc.png").write_bytes(data[: len(data) // 2])
        listed = {i["path"]: i["id"] for i in client.get("/api/images").json()}
        response = client.post(f"/api/images/{listed['trunc.png']}/segment", json={"method": "otsu"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert str(project_dir.parent) not in detail and "photos/trunc.png" in detail


def test_read_only_project_is_served_with_its_data_elsewhere(project_dir, tmp_path, monkeypatch):
    """The database and previews move to the user's cache when DIR cannot be written."""
    from seglab.web import storage

    real = storage._writable
    monkeypatch.setattr(storage, "_writable", lambda folder: folder != project_dir / ".seglab" and real(folder))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with app_client(project_dir) as client:
        image = rect_id(client)
        assert client.post("/api/classes", json={"name": "cat"}).status_code == 200
        assert client.get(f"/api/images/{image}/preview").status_code == 200
    assert not (project_dir / ".seglab").exists()
    [folder] = (tmp_path / "cache" / "seglab" / "projects").iterdir()
    assert (folder / "annotations.db").is_file() and list((folder / "previews").glob("*.jpg"))


def test_a_script_without_main_guard_does_not_rerun_in_workers(project_dir, tmp_path):
    """spawn re-imports ``__main__`` in each worker; the pool starts workers without it."""
    import subprocess
    import sys

    script = tmp_path / "serve_inline.py"
    script.write_text(
        "from fastapi.testclient import TestClient\n"
        "from seglab.web.app import create_app\n"
        f"client = TestClient(create_app({str(project_dir)!r}), base_url='http://127.0.0.1')\n"
        "image = client.get('/api/images').json()[0]['id']\n"
        "print('STATUS', client.post(f'/api/images/{image}/segment', json={'method': 'otsu'}).status_code)\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert run.stdout.count("STATUS") == 1 and "STATUS 200" in run.stdout, run.stderr[-2000:]
