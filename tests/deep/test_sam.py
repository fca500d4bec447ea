"""sam: a tiny encoder / decoder pair with exactly SAM's two-file ONNX signature, built here.

The tiny decoder answers a ring (with a hole) around its first prompt point, so the tests can
read back where seglab put the clicks and box corners, in which frame, and that holes survive.
Its ``iou_predictions`` is the number of padding points (label -1) it was sent, and its
``low_res_masks`` echo ``has_mask_input``, so the prompt encoding is visible too.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab.core.errors import FormatError, InputError
from seglab.deep import sam as sam_module
from seglab.deep.sam import load_config, sam, sam_model

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


SIZE = 64  # the tiny model's input_size (SAM's is 1024)
INNER, OUTER = 4.0, 12.0  # ring radii in the resized frame


class TinyEncoder(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, kernel_size=16, stride=16)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.conv(image)


class TinyDecoder(torch.nn.Module):
    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        height = orig_im_size[0].to(torch.int64)
        width = orig_im_size[1].to(torch.int64)
        scale = SIZE / torch.maximum(orig_im_size[0], orig_im_size[1])
        ys = (torch.arange(height).to(torch.float32)[:, None] + 0.5) * scale
        xs = (torch.arange(width).to(torch.float32)[None, :] + 0.5) * scale
        distance = torch.sqrt((xs - point_coords[0, 0, 0]) ** 2 + (ys - point_coords[0, 0, 1]) ** 2)
        ring = (distance > INNER) & (distance < OUTER)
        used = 0.0 * (image_embeddings.mean() + mask_input.mean())
        masks = (ring.to(torch.float32) * 2 - 1 + used)[None, None]
        padding = (point_labels == -1).to(torch.float32).sum()
        iou_predictions = padding.reshape(1, 1)
        low_res_masks = torch.zeros(1, 1, 256, 256) + has_mask_input.reshape(1, 1, 1, 1)
        return masks, iou_predictions, low_res_masks


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sam")
    decoder_inputs = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input",
                      "orig_im_size")
    example = (torch.zeros(1, 8, SIZE // 16, SIZE // 16), torch.zeros(1, 2, 2), torch.zeros(1, 2),
               torch.zeros(1, 1, 256, 256), torch.zeros(1), torch.tensor([30.0, 40.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(TinyEncoder(), (torch.zeros(1, 3, SIZE, SIZE),), folder / "encoder.onnx", dynamo=False,
                          input_names=["image"], output_names=["image_embeddings"])
        torch.onnx.export(TinyDecoder(), example, folder / "decoder.onnx", dynamo=False,
                          input_names=list(decoder_inputs),
                          output_names=["masks", "iou_predictions", "low_res_masks"],
                          dynamic_axes={"point_coords": {1: "points"}, "point_labels": {1: "points"}})
    path = folder / "tiny.yaml"
    path.write_text(f"encoder: encoder.onnx\ndecoder: decoder.onnx\ninput_size: {SIZE}\n")
    return path


def _ring(shape: tuple[int, int], x: float, y: float) -> np.ndarray:
    scale = SIZE / max(shape)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    distance = np.hypot((cols + 0.5) * scale - x * scale, (rows + 0.5) * scale - y * scale)
    return (distance > INNER) & (distance < OUTER)


def test_a_click_gives_the_decoders_mask_with_its_hole(config: Path) -> None:
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    seg = sam(image, points=[(40, 30, 1)], config=str(config))
    # the click went to the decoder at the pixel centre, scaled to the 64-pixel frame
    expected = _ring((96, 128), 40.5, 30.5)
    np.testing.assert_array_equal(seg.labels == 1, expected)
    assert seg.labels[30, 40] == 0  # the hole is kept
    assert seg.scores.tolist() == [1.0]  # one padding point was sent (no box)
    assert seg.class_names == ("background", "foreground")


def test_box_corners_replace_the_padding_point(config: Path) -> None:
    image = np.zeros((96, 128), np.uint8)
    seg = sam(image, box=(20, 10, 60, 50), config=str(config))
    np.testing.assert_array_equal(seg.labels == 1, _ring((96, 128), 20, 10))  # first point: the top-left corner
    assert seg.scores.tolist() == [0.0]


def test_embedding_is_cached_and_previous_goes_back_as_mask_input(config: Path) -> None:
    image = np.random.default_rng(1).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    model = sam_model(str(config))
    runs = model.encoder_runs
    first = seglab.segment(image, "sam", points=[(20, 20, 1)], config=str(config))
    assert first.meta["embedding_cached"] is False and not first.meta["mask_input"]
    second = seglab.segment(image, "sam", points=[(20, 20, 1), (40, 30, 0)], previous=first.labels == 1,
                            config=str(config))
    assert second.meta["embedding_cached"] is True and second.meta["mask_input"] is True
    assert model.encoder_runs == runs + 1
    other = seglab.segment(image[::-1].copy(), "sam", points=[(20, 20, 1)], config=str(config))
    assert other.meta["embedding_cached"] is False and model.encoder_runs == runs + 2


def test_environment_variable_names_the_model(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGLAB_SAM", str(config))
    assert load_config().input_size == SIZE
    seg = seglab.segment(np.zeros((32, 32), np.uint8), "sam", points=[(10, 10, 1)])
    assert seg.labels.shape == (32, 32)


def test_without_a_model_the_error_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SEGLAB_SAM", raising=False)
    with pytest.raises(InputError, match=r"sam must be given a model config, got none; write a YAML/JSON file .*"
                                         r"SEGLAB_SAM=FILE; nothing is downloaded\. Export the decoder"):
        sam(np.zeros((8, 8), np.uint8), points=[(1, 1, 1)])
    with pytest.raises(InputError, match="sam config must be an existing YAML/JSON file, got .*missing.yaml"):
        sam(np.zeros((8, 8), np.uint8), points=[(1, 1, 1)], config=str(tmp_path / "missing.yaml"))
    (tmp_path / "a.json").write_text(json.dumps({"encoder": "e.onnx", "decoder": "d.onnx"}))
    with pytest.raises(InputError, match=r"sam encoder must be an existing ONNX file, got .*e\.onnx"):
        load_config(tmp_path / "a.json")
    (tmp_path / "b.json").write_text("[1, 2]")
    with pytest.raises(FormatError, match="must be a mapping with 'encoder' and 'decoder'"):
        load_config(tmp_path / "b.json")


def test_prompt_errors(config: Path) -> None:
    with pytest.raises(InputError, match="sam must be given at least one positive click"):
        sam(np.zeros((8, 8), np.uint8), points=[(1, 1, 0)], config=str(config))
    with pytest.raises(InputError, match="points must lie inside the image"):
        sam(np.zeros((8, 8), np.uint8), points=[(9, 1, 1)], config=str(config))


def test_sam_is_registered_without_importing_onnxruntime() -> None:
    import subprocess
    import sys

    code = ("import sys; from seglab.core.registry import get_method; info = get_method('sam'); "
            "print(info.kind, sorted(p.name for p in info.params), 'onnxruntime' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "interactive ['box', 'config', 'points', 'previous'] False False"
    assert sam_module.CACHE_SIZE >= 1


def test_sam_is_kept_off_the_web_page_because_config_is_a_server_path(tmp_path: Path) -> None:
    from seglab.core.registry import get_method

    assert get_method("sam").web is False and get_method("prompt").web is True
    (tmp_path / "c.yaml").write_text("secret: 1\nencoder: x\n")
    with pytest.raises(FormatError, match=r"got dict with keys \['encoder', 'secret'\]$"):
        load_config(tmp_path / "c.yaml")  # the message names keys, never the file's values
