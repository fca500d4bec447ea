"""Small, fast networks of our own for training on a CPU in minutes.

:class:`SmallUNet` is a plain U-Net (Ronneberger et al. 2015) with a configurable width and
depth: two 3x3 convolutions with batch norm and ReLU per level, max pooling down, a 2x2
transposed convolution up, skip connections by concatenation. With 16-32 base channels it
has 0.1-2 M parameters, against 14 M for smp's resnet18 U-Net, so a ten-minute CPU budget buys
thousands of optimiser steps instead of about a hundred. ``separable=True`` replaces the second
convolution of each block by a depthwise-separable one (fewer operations at the wide levels).
``downscale=2`` (or 4) runs the U-Net on the image average-pooled by that factor and resizes the
logits back bilinearly (as nnU-Net's low-resolution stage): for thick objects a step costs
about ``downscale**2`` times less and the receptive field grows by the same factor, while
inputs and outputs keep the full resolution, so training, prediction, tiling and ONNX export
see an ordinary full-resolution network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seglab.core.errors import expected

__all__ = ["SmallUNet", "OWN_ARCHITECTURES"]

#: Architecture names (as in ``create_model(arch=...)``) built here instead of by smp.
OWN_ARCHITECTURES = ("smallunet",)


def _conv(cin: int, cout: int, separable: bool) -> list[nn.Module]:
    if separable and cin == cout:
        return [nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _block(cin: int, cout: int, separable: bool) -> nn.Sequential:
    return nn.Sequential(*_conv(cin, cout, False), *_conv(cout, cout, separable))


class SmallUNet(nn.Module):
    """A width-configurable U-Net that outputs NCHW logits.

    Parameters
    ----------
    in_channels : int
        Image channels.
    classes : int
        Output channels.
    base : int
        Channels of the first level; level ``k`` has ``base * 2**k`` (capped at ``8 * base``).
    depth : int
        Number of poolings (1-5); inputs must be multiples of ``downscale * 2**depth`` (at most
        32: prediction pads to 32).
    separable : bool
        Depthwise-separable second convolution in each block.
    downscale : {1, 2, 4}
        Run the network on the input average-pooled by this factor and upsample the logits
        back to the input's size (bilinear).

    Examples
    --------
    >>> net = SmallUNet(1, 2, base=16, depth=3)
    >>> net(torch.zeros(1, 1, 64, 64)).shape
    torch.Size([1, 2, 64, 64])
    >>> SmallUNet(1, 2, base=8, depth=4, downscale=2)(torch.zeros(1, 1, 96, 64)).shape
    torch.Size([1, 2, 96, 64])
    """

    def __init__(self, in_channels: int = 3, classes: int = 2, *, base: int = 16, depth: int = 3,
                 separable: bool = False, downscale: int = 1) -> None:
        super().__init__()
        for name, value, low, high in (("base", base, 4, 256), ("depth", depth, 1, 5)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise expected(name, f"an integer in [{low}, {high}]", value)
        if isinstance(downscale, bool) or downscale not in (1, 2, 4):
            raise expected("downscale", "1, 2 or 4", downscale)
        if downscale * 2**depth > 32:
            raise expected("downscale * 2**depth", "at most 32 (prediction pads images to multiples of 32)",
                           downscale * 2**depth, f"try depth={5 - downscale.bit_length() + 1}")
        self.downscale = downscale
        widths = [min(base * 2**k, base * 8) for k in range(depth + 1)]
        self.down = nn.ModuleList([_block(in_channels, widths[0], False)])
        self.down.extend(_block(widths[k - 1], widths[k], separable) for k in range(1, depth + 1))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[k + 1], widths[k], 2, stride=2) for k in reversed(range(depth)))
        self.merge = nn.ModuleList(_block(2 * widths[k], widths[k], separable) for k in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        if self.downscale > 1:
            x = F.avg_pool2d(x, self.downscale)
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], 1))
        x = self.head(x)
        if self.downscale > 1:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return x


def build(arch: str, *, in_channels: int, classes: int, **kwargs: object) -> nn.Module:
    """One of :data:`OWN_ARCHITECTURES` (``encoder_name`` and ``encoder_weights`` are ignored)."""
    kwargs.pop("encoder_name", None)
    kwargs.pop("encoder_weights", None)
    return SmallUNet(in_channels, classes, **kwargs)  # type: ignore[arg-type]
