"""Deep benchmarks: images/s at 512x512 for torch eager, channels_last and ONNX Runtime; a training step.

Run: ``python benchmarks/bench_deep.py [--encoder resnet18] [--repeat 5]`` (CPU unless CUDA).
Not measured yet: peak memory of tiled vs whole-image prediction on an 8192x8192 image.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from seglab.deep.export import export_onnx, onnx_session
from seglab.deep.models import DeepModel, set_threads


def _rate(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return repeat / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    set_threads()
    model = DeepModel.create("unet", in_channels=3, encoder_name=args.encoder)
    module = model.module.eval()
    x = torch.randn(1, 3, args.size, args.size)
    with torch.inference_mode():
        eager = _rate(lambda: module(x), args.repeat)
        ref = module(x).softmax(1).numpy()
        module_cl = module.to(memory_format=torch.channels_last)
        xcl = x.to(memory_format=torch.channels_last)
        channels_last = _rate(lambda: module_cl(xcl), args.repeat)
        module.to(memory_format=torch.contiguous_format)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_onnx(model, Path(tmp) / "m.onnx")
        session = onnx_session(path)
        feed = {session.get_inputs()[0].name: x.numpy()}
        onnx_rate = _rate(lambda: session.run(None, feed), args.repeat)
        out = torch.from_numpy(session.run(None, feed)[0]).softmax(1).numpy()
    model.module.train()
    optimizer = torch.optim.AdamW(model.module.parameters())
    batch, target = torch.randn(4, 3, 256, 256), torch.randint(0, 2, (4, 256, 256))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model.module(batch), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    steps = _rate(step, max(2, args.repeat // 2))
    print(f"unet/{args.encoder} at {args.size}x{args.size}, {torch.get_num_threads()} threads")
    print(f"torch eager      {eager:7.2f} images/s")
    print(f"channels_last    {channels_last:7.2f} images/s")
    print(f"onnxruntime      {onnx_rate:7.2f} images/s  (x{onnx_rate / eager:.2f}, max prob diff "
          f"{np.abs(ref - out).max():.2e})")
    print(f"train step 4x256 {steps:7.2f} steps/s")


if __name__ == "__main__":
    main()
