"""Segment Anything (SAM, MobileSAM, EfficientSAM...) from a local encoder / decoder ONNX pair.

The widely used two-file layout (SAM's own ``scripts/export_onnx_model.py`` for the decoder,
samexporter and X-AnyLabeling for both):

- encoder: the image resized so its longest side is ``input_size`` (1024), normalised with the
  pixel mean / std, padded bottom-right to ``input_size``², NCHW float32 -> ``image_embeddings``;
- decoder: ``image_embeddings``, ``point_coords`` (1, N, 2) in the resized frame, ``point_labels``
  (1, N) (1 positive, 0 negative, 2 / 3 box corners, -1 padding), ``mask_input`` (1, 1, 256, 256),
  ``has_mask_input`` (1,), ``orig_im_size`` (2,) -> ``masks``, ``iou_predictions``, ``low_res_masks``.

A model is named by a small YAML or JSON file::

    encoder: mobile_sam_encoder.onnx      # relative to this file
    decoder: mobile_sam_decoder.onnx
    input_size: 1024                      # optional, these are the defaults
    mean: [123.675, 116.28, 103.53]
    std: [58.395, 57.12, 57.375]

given as ``config=`` or in the ``SEGLAB_SAM`` environment variable. Nothing is downloaded.
onnxruntime is imported on first use; the image embedding is cached per image (LRU), so later
clicks on the same image run only the decoder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seglab.core.errors import FormatError, InputError
from seglab.core.registry import register
from seglab.core.segmentation import Segmentation
from seglab.core.validate import to_rgb, to_uint8

__all__ = ["SamConfig", "SamModel", "load_config", "sam", "sam_model"]

#: Image embeddings kept per model (an embedding of SAM ViT-H is 4 MB).
CACHE_SIZE = 8
#: Environment variable naming the default model's config file.
ENV = "SEGLAB_SAM"

_HELP = (
    "write a YAML/JSON file naming the two ONNX files ({'encoder': 'encoder.onnx', 'decoder': 'decoder.onnx'}, "
    "paths relative to it) and pass config=FILE (-p config=FILE on the command line) or set SEGLAB_SAM=FILE; "
    "nothing is downloaded. "
    "Export the decoder with segment-anything's scripts/export_onnx_model.py and the encoder with "
    "samexporter (pip install samexporter), or use the ONNX files X-AnyLabeling ships"
)


@dataclass(frozen=True)
class SamConfig:
    """Where a SAM-family model's two ONNX files are and how its encoder wants the image."""

    encoder: Path
    decoder: Path
    input_size: int = 1024
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)


def load_config(path: str | os.PathLike[str] | None = None) -> SamConfig:
    """Read a SAM config file (YAML or JSON); ``path`` None reads ``$SEGLAB_SAM``.

    Raises
    ------
    InputError
        Without a config, or when a file it names does not exist (the message says what to do).
    FormatError
        When the file is not a mapping with ``encoder`` and ``decoder``.
    """
    if path is None:
        path = os.environ.get(ENV) or None
    if path is None:
        raise InputError(f"sam must be given a model config, got none; {_HELP}")
    file = Path(path)
    if not file.is_file():
        raise InputError(f"sam config must be an existing YAML/JSON file, got {str(path)!r} (no such file); {_HELP}")
    import yaml

    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise FormatError(f"sam config {str(file)!r} must be YAML or JSON, got a parse error: {error}") from None
    if not isinstance(data, dict) or not {"encoder", "decoder"} <= set(data):
        raise FormatError(f"sam config {str(file)!r} must be a mapping with 'encoder' and 'decoder', "
                          f"got {type(data).__name__}{' with keys ' + str(sorted(map(str, data))) if isinstance(data, dict) else ''}")
    unknown = set(data) - {"encoder", "decoder", "input_size", "mean", "std"}
    if unknown:
        raise FormatError(f"sam config {str(file)!r} keys must be encoder, decoder, input_size, mean, std, "
                          f"got {sorted(unknown)}")
    paths = {}
    for key in ("encoder", "decoder"):
        found = (file.parent / str(data[key])).resolve()
        if not found.is_file():
            raise InputError(f"sam {key} must be an existing ONNX file, got {str(found)!r} (no such file); {_HELP}")
        paths[key] = found
    try:
        size = int(data.get("input_size", 1024))
        mean = tuple(float(v) for v in data.get("mean", SamConfig.mean))
        std = tuple(float(v) for v in data.get("std", SamConfig.std))
    except (TypeError, ValueError):
        raise FormatError(f"sam config {str(file)!r} input_size must be an integer and mean / std three numbers, "
                          f"got input_size={data.get('input_size')!r}, mean={data.get('mean')!r}, "
                          f"std={data.get('std')!r}") from None
    if size < 16 or len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise FormatError(f"sam config {str(file)!r} input_size must be >= 16 and mean / std three numbers "
                          f"(std > 0), got input_size={size}, mean={mean}, std={std}")
    return SamConfig(paths["encoder"], paths["decoder"], size, mean, std)  # type: ignore[arg-type]


class SamModel:
    """An encoder / decoder pair on ONNX Runtime (CPU, or CUDA when onnxruntime-gpu has it),
    with an LRU cache of image embeddings."""

    def __init__(self, config: SamConfig, cache_size: int = CACHE_SIZE) -> None:
        import onnxruntime as ort

        available = ort.get_available_providers()
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        self.config = config
        self.encoder = ort.InferenceSession(str(config.encoder), providers=providers)
        self.decoder = ort.InferenceSession(str(config.decoder), providers=providers)
        self.decoder_inputs = {i.name for i in self.decoder.get_inputs()}
        self.cache: OrderedDict[str, tuple[np.ndarray, float]] = OrderedDict()
        self.cache_size = cache_size
        self.encoder_runs = 0

    def embed(self, rgb: np.ndarray) -> tuple[np.ndarray, float, bool]:
        """The image embedding, the resize factor, and whether it came from the cache."""
        key = hashlib.blake2b(rgb.tobytes() + str(rgb.shape).encode(), digest_size=16).hexdigest()
        if key in self.cache:
            self.cache.move_to_end(key)
            return (*self.cache[key], True)
        size = self.config.input_size
        height, width = rgb.shape[:2]
        scale = size / max(height, width)
        resized = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                             interpolation=cv2.INTER_LINEAR)
        normalised = (resized.astype(np.float32) - np.float32(self.config.mean)) / np.float32(self.config.std)
        padded = np.zeros((size, size, 3), np.float32)
        padded[: normalised.shape[0], : normalised.shape[1]] = normalised
        feed = {self.encoder.get_inputs()[0].name: padded.transpose(2, 0, 1)[None]}
        outputs = self.encoder.run(None, feed)
        names = [o.name for o in self.encoder.get_outputs()]
        embedding = outputs[names.index("image_embeddings")] if "image_embeddings" in names else outputs[0]
        self.encoder_runs += 1
        self.cache[key] = (embedding, scale)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
        return embedding, scale, False

    def decode(self, embedding: np.ndarray, scale: float, shape: tuple[int, int], coords: np.ndarray,
               labels: np.ndarray, mask_input: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (K, H, W) logits, their predicted IoUs (K,) and low-resolution logits (K, 256, 256)."""
        feed = {
            "image_embeddings": embedding.astype(np.float32),
            "point_coords": (coords * scale).astype(np.float32)[None],
            "point_labels": labels.astype(np.float32)[None],
            "mask_input": (np.zeros((1, 1, 256, 256), np.float32) if mask_input is None
                           else mask_input.astype(np.float32)[None, None]),
            "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32),
            "orig_im_size": np.array(shape, np.float32),
        }
        outputs = dict(zip([o.name for o in self.decoder.get_outputs()],
                           self.decoder.run(None, {k: v for k, v in feed.items() if k in self.decoder_inputs})))
        masks, scores, low = outputs["masks"][0], outputs["iou_predictions"][0], outputs["low_res_masks"][0]
        if masks.shape[-2:] != tuple(shape):  # an export that returns masks in the padded input frame
            masks = np.stack([self._to_image(m, scale, shape) for m in masks])
        return masks, np.asarray(scores).reshape(-1), low

    def _to_image(self, logits: np.ndarray, scale: float, shape: tuple[int, int]) -> np.ndarray:
        size = self.config.input_size
        frame = cv2.resize(logits.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
        frame = frame[: max(1, round(shape[0] * scale)), : max(1, round(shape[1] * scale))]
        return cv2.resize(frame, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


_MODELS: dict[SamConfig, SamModel] = {}
#: The low-resolution logits of recent answers, by a hash of the mask, so ``previous`` can be
#: handed back to the decoder as its ``mask_input``.
_LOW_RES: OrderedDict[str, np.ndarray] = OrderedDict()


def sam_model(config: str | os.PathLike[str] | None = None) -> SamModel:
    """The (cached) :class:`SamModel` of a config file, or of ``$SEGLAB_SAM``."""
    loaded = load_config(config)
    if loaded not in _MODELS:
        _MODELS[loaded] = SamModel(loaded)
    return _MODELS[loaded]


def _mask_key(mask: np.ndarray) -> str:
    return hashlib.blake2b(np.packbits(mask).tobytes() + str(mask.shape).encode(), digest_size=16).hexdigest()


# web=False: ``config`` names a server path, which the annotator's requests must not choose (as for
# the ``model`` method); offering sam on the page needs the server's SEGLAB_SAM instead.
@register("sam", kind="interactive", tiling="none", web=False,
          prompts={"points": "points", "box": "box", "mask": "previous"})
def sam(
    image: np.ndarray,
    *,
    points: list[tuple[float, float, int]] | None = None,
    box: tuple[float, float, float, float] | None = None,
    previous: np.ndarray | list[list[int]] | None = None,
    config: str | None = None,
) -> Segmentation:
    """Segment Anything from local ONNX files: the object at the clicks and / or in the box.

    Parameters
    ----------
    image : (H, W[, 3]) ndarray
        Grey or RGB image of any dtype.
    points : list of (x, y, label), optional
        Clicks in pixel coordinates; label 1 = object, 0 = background.
    box : (x0, y0, x1, y1), optional
        A box around the object (sent as SAM's corner points, labels 2 and 3).
    previous : (H, W) mask, optional
        The previous answer of this method on this image: its low-resolution logits go back to
        the decoder as ``mask_input`` (a mask this method did not return recently is ignored).
    config : str, optional
        The model's YAML/JSON file (see the module docs); default ``$SEGLAB_SAM``.

    Returns
    -------
    Segmentation
        Label 1 is the object, holes kept; ``scores`` holds the decoder's predicted IoU and
        ``meta["embedding_cached"]`` whether the encoder was skipped.

    Raises
    ------
    InputError
        Without a model config (the message says where to put the files and how to export
        them), without a positive click or a box, or for prompts outside the image.
    FormatError
        For a config file that cannot be read.
    """
    from seglab.classical.prompt import read_prompts

    pixels, clicks, pixel_box, last = read_prompts("sam", image, points, box, previous)
    shape = pixels.shape[:2]
    model = sam_model(config)
    rgb = np.ascontiguousarray(to_rgb(to_uint8(pixels)))
    embedding, scale, cached = model.embed(rgb)
    coords = clicks[:, :2].astype(np.float64) + 0.5  # pixel centres, as SAM's predictor uses
    labels = clicks[:, 2].astype(np.float64)
    if pixel_box is not None:
        coords = np.concatenate([coords, [[pixel_box[0], pixel_box[1]], [pixel_box[2], pixel_box[3]]]])
        labels = np.concatenate([labels, [2.0, 3.0]])
    else:  # SAM's decoder expects a padding point when there is no box
        coords = np.concatenate([coords, [[0.0, 0.0]]])
        labels = np.concatenate([labels, [-1.0]])
    mask_input = None if last is None else _LOW_RES.get(_mask_key(last))
    masks, scores, low = model.decode(embedding, scale, shape, coords, labels, mask_input)
    best = int(np.argmax(scores)) if scores.size == len(masks) else 0
    found = masks[best] > 0.0
    _LOW_RES[_mask_key(found)] = low[best]
    while len(_LOW_RES) > CACHE_SIZE:
        _LOW_RES.popitem(last=False)
    score = float(scores[best]) if scores.size else float("nan")
    return Segmentation(
        found.astype(np.int32),
        class_ids=np.array([1]),
        scores=np.array([score], np.float32),
        class_names=("background", "foreground"),
        meta={"embedding_cached": cached, "mask_input": mask_input is not None,
              "model": str(model.config.decoder.name)},
    )
