"""Losses (cross-entropy, Dice, focal and their sums) and confusion-matrix metrics on tensors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from seglab.core.errors import InputError

__all__ = ["make_loss", "dice_loss", "focal_loss", "confusion", "scores_from_confusion", "LOSSES"]

LOSSES = ("ce", "dice", "focal")
Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def dice_loss(logits: torch.Tensor, target: torch.Tensor, *, ignore_index: int = 255,
              smooth: float = 1.0) -> torch.Tensor:
    """1 - mean soft Dice over classes present in the batch (target or prediction).

    Shape: logits (N, C, H, W), target (N, H, W) int64.
    """
    probs = logits.float().softmax(1)
    valid = (target != ignore_index).unsqueeze(1).float()
    onehot = F.one_hot(target.clamp(0, logits.shape[1] - 1), logits.shape[1]).permute(0, 3, 1, 2).float()
    probs, onehot = probs * valid, onehot * valid
    inter = (probs * onehot).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    dice = (2 * inter + smooth) / (total + smooth)
    return 1 - dice.mean()


def focal_loss(logits: torch.Tensor, target: torch.Tensor, *, gamma: float = 2.0, ignore_index: int = 255,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Focal loss (Lin et al. 2017): cross-entropy scaled by ``(1 - p_t) ** gamma``."""
    ce = F.cross_entropy(logits.float(), target, weight=weight, ignore_index=ignore_index, reduction="none")
    valid = target != ignore_index
    p_t = torch.exp(-ce)
    loss = ((1 - p_t) ** gamma * ce)[valid]
    return loss.mean() if loss.numel() else logits.sum() * 0


def make_loss(spec: str = "ce+dice", *, class_weights: Any = None, ignore_index: int = 255) -> Loss:
    """A loss from ``"ce"``, ``"dice"``, ``"focal"`` or sums such as ``"ce+dice"`` (``"0.5*ce+dice"`` weights).

    Raises
    ------
    InputError
        An unknown term.
    """
    terms: list[tuple[float, str]] = []
    for part in str(spec).lower().replace(" ", "").split("+"):
        factor, _, name = part.rpartition("*")
        if name not in LOSSES:
            raise InputError(f"loss terms must be among {', '.join(LOSSES)} joined by '+', got {spec!r}")
        try:
            terms.append((float(factor) if factor else 1.0, name))
        except ValueError:
            raise InputError(f"loss weight must be a number, got {factor!r} in {spec!r}") from None
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        w = None if weight is None else weight.to(logits.device)
        total = logits.new_zeros((), dtype=torch.float32)
        for factor, name in terms:
            if name == "ce":
                value = F.cross_entropy(logits.float(), target, weight=w, ignore_index=ignore_index)
            elif name == "dice":
                value = dice_loss(logits, target, ignore_index=ignore_index)
            else:
                value = focal_loss(logits, target, ignore_index=ignore_index, weight=w)
            total = total + factor * value
        return total

    return loss


def confusion(prediction: torch.Tensor, target: torch.Tensor, classes: int, ignore_index: int = 255) -> torch.Tensor:
    """(classes, classes) int64 counts, rows = target class, columns = predicted class."""
    valid = target != ignore_index
    index = target[valid] * classes + prediction[valid]
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes).cpu()


def scores_from_confusion(matrix: torch.Tensor) -> dict[str, float]:
    """Pixel accuracy, mean IoU and mean Dice over the classes present in target or prediction."""
    m = matrix.double()
    tp = m.diag()
    target, predicted = m.sum(1), m.sum(0)
    present = (target + predicted) > 0
    iou = tp / (target + predicted - tp).clamp(min=1)
    dice = 2 * tp / (target + predicted).clamp(min=1)
    total = m.sum().clamp(min=1)
    return {
        "pixel_acc": float(tp.sum() / total),
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "dice": float(dice[present].mean()) if present.any() else 0.0,
        "iou_per_class": [float(v) for v in iou],
    }
