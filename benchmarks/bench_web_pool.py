"""Cost of running annotator segment requests in the worker pool (seglab.web.jobs), against
calling the same function in the server process, measured in the same run.

    PYTHONPATH=src python benchmarks/bench_web_pool.py
"""

import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, "tests/web")
from pathlib import Path

from conftest import make_project
from fastapi.testclient import TestClient
from PIL import Image

from seglab.web.app import _segment, _segment_params, create_app
from seglab.web.project import PixelSource
from seglab.web.schemas import SegmentIn

root = make_project(Path(tempfile.mkdtemp()) / "photos")
Image.fromarray(np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), dtype=np.uint8)).save(root / "big.png")
with TestClient(create_app(root), base_url="http://127.0.0.1") as client:
    images = {i["path"]: i for i in client.get("/api/images").json()}
    for path, method in (("rect.png", "otsu"), ("big.png", "slic")):
        info = images[path]
        body = {"method": method, "params": {}}
        client.post(f"/api/images/{info['id']}/segment", json=body)  # warm the worker
        name, params = _segment_params(SegmentIn(**body), root)
        source = PixelSource(root)
        _segment(source, info, SegmentIn(**body), name, params)
        n = 10
        t = time.perf_counter()
        for _ in range(n):
            _segment(source, info, SegmentIn(**body), name, params)
        direct = (time.perf_counter() - t) / n
        t = time.perf_counter()
        for _ in range(n):
            assert client.post(f"/api/images/{info['id']}/segment", json=body).status_code == 200
        pooled = (time.perf_counter() - t) / n
        print(f"{path} {method}: in-process {direct*1000:.1f} ms, through the route + worker pool {pooled*1000:.1f} ms, ratio {pooled/direct:.2f}")
