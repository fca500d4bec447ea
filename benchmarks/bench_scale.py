"""Scale benchmarks: batch throughput (1 vs 2 workers, process pool vs Dask) and tiled vs untiled memory/time.

    python benchmarks/bench_scale.py batch --images 40 --size 768
    python benchmarks/bench_scale.py tiled --sizes 1000 2000 4000
    python benchmarks/bench_scale.py huge --size 20000          # 20000 x 20000 RGB, otsu + components
    python benchmarks/bench_scale.py huge --size 20000 --unet   # ... and a U-Net through the same tiles
    python benchmarks/bench_scale.py tiles --size 8000          # one image's tiles: 1 process, 2, Dask x2

Every memory figure is the peak resident set (ru_maxrss) of a fresh child process that does only
that one run, so numbers do not leak between measurements.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _image(i: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    yy, xx = np.mgrid[:size, :size]
    image = (40 + 30 * np.sin(xx / 17.0 + i) * np.cos(yy / 23.0)).astype(np.uint8)
    for _ in range(12):
        cy, cx, r = rng.integers(0, size, 2).tolist() + [int(rng.integers(size // 40, size // 10))]
        image[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 200
    return np.dstack([image, image, image])


def bench_batch(images: int, size: int, method: str = "otsu") -> dict:
    import seglab
    from seglab.batch import run_batch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(images):
            seglab.save_image(folder / f"im{i:03d}.png", _image(i, size))
        rows = {}
        for label, kwargs in (("process x1", {"workers": 1}), ("process x2", {"workers": 2}),
                              ("dask x2", {"workers": 2, "backend": "dask"})):
            finished: list[float] = []
            start = time.perf_counter()
            report = run_batch(folder, Path(tmp) / label.replace(" ", "_"), method=method, **kwargs,
                               on_result=lambda _result, _report: finished.append(time.perf_counter()))
            total = time.perf_counter() - start
            # steady state: from the first finished image to the last, so pool / cluster start-up
            # (about a second for a process pool, a few for Dask) does not count
            steady = (len(finished) - 1) / (finished[-1] - finished[0]) if len(finished) > 1 else 0.0
            rows[label] = {"images_per_s": round(report.images_per_s, 2), "steady_images_per_s": round(steady, 2),
                           "wall_s_incl_startup": round(total, 2), "done": report.done}
        for key in ("images_per_s", "steady_images_per_s"):
            rows[f"scaling_x2_over_x1 ({key})"] = round(rows["process x2"][key] / rows["process x1"][key], 2)
            rows[f"dask_over_process_x2 ({key})"] = round(rows["dask x2"][key] / rows["process x2"][key], 2)
    return rows


def _child(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


_RUN = """
import json, resource, time, sys, numpy as np, seglab
sys.path.insert(0, {bench!r})
from bench_scale import _image
from seglab.tiling import segment_tiled
mode, size, path, backend = {mode!r}, {size}, {path!r}, {backend!r}
start = time.perf_counter()
if mode == "untiled":
    seg = seglab.segment(seglab.load_image(path, max_pixels=None), "otsu").split_connected()
    n = len(seg)
elif mode == "unet":
    out = segment_tiled(path, "model", path + ".unet.tif", tile=1024, halo=32, model=path + ".pt",
                        backend=backend, batch_size=1)
    n = json.load(open(path + ".unet.json"))["n_regions"]
else:
    out = segment_tiled(path, "otsu", path + ".labels.tif", tile=1024, connected=True)
    n = json.load(open(path + ".labels.json"))["n_regions"]
print(json.dumps({{"s": round(time.perf_counter() - start, 2), "n": n,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""


def _write_tiff(path: Path, size: int) -> None:
    """A size x size RGB tiled TIFF written tile by tile (never the whole image in memory)."""
    import tifffile

    tile = 1024
    base = _image(0, tile)

    def tiles():
        for i in range(-(-size // tile)):
            for j in range(-(-size // tile)):
                yield np.roll(base, (i * 37 + j * 11) % tile, axis=1)

    tifffile.imwrite(path, tiles(), shape=(size, size, 3), dtype=np.uint8, tile=(tile, tile),
                     photometric="rgb", compression="zlib")


def _unet_checkpoint(path: str) -> None:
    """A light U-Net (MobileNetV3 encoder; untrained: memory and time do not depend on the weights)."""
    from seglab.deep.models import DeepModel

    DeepModel.create("unet", encoder_name="tu-mobilenetv3_small_100", encoder_depth=4,
                     decoder_channels=[64, 32, 16, 8]).save(path)


def bench_tiled(sizes: list[int], untiled: bool = True, unet: bool = False, backend: str = "auto") -> dict:
    bench = str(Path(__file__).parent)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = str(Path(tmp) / f"img{size}.tif")
            _write_tiff(Path(path), size)
            row = {"tiled": _child(_RUN.format(bench=bench, mode="tiled", size=size, path=path, backend=backend))}
            if unet:
                _unet_checkpoint(path + ".pt")
                row["unet_tiled"] = _child(_RUN.format(bench=bench, mode="unet", size=size, path=path, backend=backend))
            if untiled:
                row["untiled"] = _child(_RUN.format(bench=bench, mode="untiled", size=size, path=path, backend=backend))
            row["tiled"]["s_per_mpixel"] = round(row["tiled"]["s"] / (size * size / 1e6), 4)
            if untiled:
                # the same labels either way (tests check it); what tiling costs or saves
                row["tiled_over_untiled"] = {key: round(row["tiled"][key] / row["untiled"][key], 2)
                                             for key in ("s", "peak_mb")}
            rows[f"{size}x{size} RGB"] = row
            print(size, row, file=sys.stderr, flush=True)
    return rows


def bench_tiles(size: int) -> dict:
    """One image's tiles (otsu + connected components) in this process, on 2 processes, on Dask x2."""
    from seglab.batch import dask_client
    from seglab.tiling import segment_tiled

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "img.tif"
        _write_tiff(path, size)
        for label, kwargs in (("1 process", {}), ("process x2", {"workers": 2})):
            start = time.perf_counter()
            segment_tiled(path, "otsu", Path(tmp) / "out.tif", connected=True, **kwargs)
            rows[label] = round(time.perf_counter() - start, 2)
        with dask_client(2, None) as client:
            start = time.perf_counter()  # the cluster is up: its start-up is not counted
            segment_tiled(path, "otsu", Path(tmp) / "out.tif", connected=True, client=client)
            rows["dask x2"] = round(time.perf_counter() - start, 2)
    rows["speed-up process x2"] = round(rows["1 process"] / rows["process x2"], 2)
    rows["speed-up dask x2"] = round(rows["1 process"] / rows["dask x2"], 2)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=("batch", "tiled", "huge", "tiles"))
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--method", default="otsu", help="batch: the method run on every image")
    parser.add_argument("--unet", action="store_true", help="huge/tiled: also a light U-Net through the tiles")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                        help="the U-Net's backend: auto (the default users get: ONNX Runtime on CPU) or one of them")
    args = parser.parse_args()
    if args.part == "batch":
        result = bench_batch(args.images, args.size, args.method)
    elif args.part == "tiled":
        result = bench_tiled(args.sizes, unet=args.unet, backend=args.backend)
    elif args.part == "tiles":
        result = bench_tiles(args.size)
    else:
        result = bench_tiled([args.size], untiled=False, unet=args.unet, backend=args.backend)
    result["peak_mb_parent"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
