"""Deep benchmarks: images/s at 512x512 (torch eager, channels_last, ONNX Runtime), a training step,
and peak memory of tiled vs whole-image prediction on a large image.

Run::

    python benchmarks/bench_deep.py [--encoder resnet18] [--size 512] [--repeat 5]
                                    [--memory-size 8192] [--no-whole]
    python benchmarks/bench_deep.py --train-steps [--threads 1] --skip-speed --memory-size 0

``--train-steps``: optimiser steps per second of each architecture the plan can choose and of
the smp U-Nets, on the same batch (32 patches of 64x64, 3 channels, CE + Dice, AdamW), measured
in one run, with the ratio to smp's resnet18 U-Net (the old default).

CPU unless CUDA. Peak memory is the resident set (``ru_maxrss``) of a fresh child process that
loads the model, builds the image and predicts it, minus the same child without the prediction
(so it counts what prediction adds: activations, tiles, accumulators and the output probabilities).
Memory uses a small U-Net (MobileNetV3-small encoder, 1 channel) so the whole-image run fits.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seglab.deep.export import export_onnx, onnx_session
from seglab.deep.models import DeepModel, set_threads

SMALL = {"encoder_name": "tu-mobilenetv3_small_050", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}

CHILD = r"""
import json, resource, sys, time
import numpy as np
from seglab.deep.models import load
from seglab.deep.predict import predict
path, size, tile, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
model = load(path, device="cpu")
image = (np.arange(size * size, dtype=np.uint32).reshape(size, size) % 251).astype(np.uint8)
start = time.perf_counter()
if run:
    seg = predict(model, image, tile_size=tile, overlap=64, batch_size=1, backend="torch")
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": time.perf_counter() - start}))
"""


def _rate(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return repeat / (time.perf_counter() - start)


def _child(path: Path, size: int, tile: int, run: bool) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(size), str(tile), "1" if run else "0"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"rss_mb": float("nan"), "seconds": float("nan"), "error": out.stderr.strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def speed(encoder: str, size: int, repeat: int) -> None:
    model = DeepModel.create("unet", in_channels=3, encoder_name=encoder)
    module = model.module.eval()
    x = torch.randn(1, 3, size, size)
    module_cl = copy.deepcopy(module).to(memory_format=torch.channels_last)  # outside inference mode
    xcl = x.to(memory_format=torch.channels_last)
    with torch.inference_mode():
        eager = _rate(lambda: module(x), repeat)
        ref = module(x).softmax(1).numpy()
        channels_last = _rate(lambda: module_cl(xcl), repeat)
        cl_out = module_cl(xcl).softmax(1).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "m.onnx")
        session = onnx_session(path)
        feed = {session.get_inputs()[0].name: x.numpy()}
        onnx_rate = _rate(lambda: session.run(None, feed), repeat)
        out = torch.from_numpy(session.run(None, feed)[0]).softmax(1).numpy()
    model.module.train()
    optimizer = torch.optim.AdamW(model.module.parameters())
    batch, target = torch.randn(4, 3, 256, 256), torch.randint(0, 2, (4, 256, 256))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model.module(batch), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    steps = _rate(step, max(2, repeat // 2))
    print(f"unet/{encoder} at {size}x{size}, batch 1, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| backend | images/s | vs eager | max prob diff |\n|---|---|---|---|")
    print(f"| torch eager | {eager:.2f} | 1.00x | 0 |")
    print(f"| torch channels_last | {channels_last:.2f} | {channels_last / eager:.2f}x | "
          f"{np.abs(ref - cl_out).max():.1e} |")
    print(f"| onnxruntime | {onnx_rate:.2f} | {onnx_rate / eager:.2f}x | {np.abs(ref - out).max():.1e} |")
    print(f"\ntraining step (batch 4 x 256x256, CE, AdamW): {1 / steps:.2f} s/step")


def train_steps(repeat: int) -> None:
    from seglab.deep.models import create_model
    from seglab.deep.plan import time_steps

    candidates = [("smallunet base 8 depth 3", "smallunet", {"base": 8, "depth": 3}),
                  ("smallunet base 16 depth 3", "smallunet", {"base": 16, "depth": 3}),
                  ("smallunet base 32 depth 3", "smallunet", {"base": 32, "depth": 3}),
                  ("smallunet base 16 depth 3 separable", "smallunet", {"base": 16, "depth": 3, "separable": True}),
                  ("smp unet mobilenetv3_small_050", "unet", {"encoder_name": "tu-mobilenetv3_small_050"}),
                  ("smp unet resnet18", "unet", {"encoder_name": "resnet18"})]
    rows = []
    for name, arch, args in candidates:
        module = create_model(arch, in_channels=3, classes=2, **args)
        seconds, _ = time_steps(module, 3, 2, 64, 32, "cpu", steps=repeat)
        rows.append((name, sum(p.numel() for p in module.parameters()), 1 / seconds))
    base = rows[-1][2]
    print(f"\ntraining steps (batch 32 x 64x64 x 3, CE + Dice, AdamW), {torch.get_num_threads()} threads, "
          f"median of {repeat}")
    print("| architecture | parameters | steps/s | vs smp resnet18 U-Net |\n|---|---|---|---|")
    for name, params, rate in rows:
        print(f"| {name} | {params:,} | {rate:.2f} | {rate / base:.1f}x |")


def memory(size: int, whole: bool) -> None:
    model = DeepModel.create("unet", in_channels=1, **SMALL)
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "m.pt")
        base = _child(path, size, 512, run=False)
        runs = [("tiled 512, overlap 64", 512)] + ([("whole image", size)] if whole else [])
        print(f"\npeak memory predicting a {size}x{size} grey image (small U-Net, {base['rss_mb']:.0f} MB "
              "for interpreter + model + image)")
        print("| prediction | added peak RSS (MB) | seconds |\n|---|---|---|")
        for name, tile in runs:
            got = _child(path, size, tile, run=True)
            print(f"| {name} | {got['rss_mb'] - base['rss_mb']:.0f} | {got['seconds']:.1f} |"
                  + (f" {got['error']}" if "error" in got else ""))
    probs_mb = 2 * size * size * 4 / 2**20
    print(f"(the returned (2, H, W) float32 probabilities alone are {probs_mb:.0f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory-size", type=int, default=8192)
    parser.add_argument("--no-whole", action="store_true", help="Skip the whole-image memory run.")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--train-steps", action="store_true", help="Steps/s of the trainable architectures.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all allowed)")
    args = parser.parse_args()
    set_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.train_steps:
        train_steps(args.repeat)
    if not args.skip_speed:
        speed(args.encoder, args.size, args.repeat)
    if args.memory_size:
        memory(args.memory_size, not args.no_whole)


if __name__ == "__main__":
    main()
