"""Bring-your-own models: ONNX with a sidecar and Keras 3 on the torch backend, built in the test."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seglab.core.errors import FormatError


def _bright_image() -> tuple[np.ndarray, np.ndarray]:
    truth = np.zeros((70, 90), bool)
    truth[20:50, 30:75] = True
    return np.where(truth, 200, 40).astype(np.uint8), truth


def _onnx_threshold(path, *, nhwc: bool = False, fixed: int | None = None, output: str = "logits") -> None:
    """A 1x1 convolution: logit(class 1) - logit(class 0) = 20 * (x - 0.5) on x in [0, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    side = fixed if fixed else "h"
    shape = ["n", side, side if fixed else "w", 1] if nhwc else ["n", 1, side, side if fixed else "w"]
    nodes, inputs = [], "x"
    if nhwc:
        nodes.append(helper.make_node("Transpose", ["x"], ["xc"], perm=[0, 3, 1, 2]))
        inputs = "xc"
    weight = np.array([[[[-10.0]]], [[[10.0]]]], np.float32)
    bias = np.array([5.0, -5.0], np.float32)
    nodes.append(helper.make_node("Conv", [inputs, "w", "b"], ["logits"]))
    last = "logits"
    if output == "probabilities":
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=1))
        last = "probs"
    if nhwc:
        nodes.append(helper.make_node("Transpose", [last], ["y"], perm=[0, 2, 3, 1]))
    else:
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    graph = helper.make_graph(nodes, "threshold", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.parametrize("nhwc, fixed, output", [(False, None, "logits"), (True, None, "probabilities"),
                                                 (False, 64, "logits")])
def test_onnx_model_with_sidecar_segments_through_the_model_method(tmp_path, nhwc, fixed, output):
    pytest.importorskip("onnxruntime")
    import seglab

    path = tmp_path / "net.onnx"
    _onnx_threshold(path, nhwc=nhwc, fixed=fixed, output=output)
    (tmp_path / "net.json").write_text(json.dumps({"class_names": ["background", "bright"], "output": output}))
    image, truth = _bright_image()
    seg = seglab.segment(image, "model", model=str(path))
    assert seg.class_names == ("background", "bright")
    assert np.array_equal(seg.class_map() == 1, truth)
    assert seg.probabilities.shape == (2, 70, 90)
    assert seg.meta["backend"] == "onnx"


def test_onnx_sidecar_errors(tmp_path):
    pytest.importorskip("onnxruntime")
    from seglab.deep.byo import load_byo

    path = tmp_path / "net.onnx"
    _onnx_threshold(path)
    (tmp_path / "net.yaml").write_text("class_names: [a, b, c]\n")
    with pytest.raises(FormatError, match="sidecar class_names must have 2 names .*got 3"):
        load_byo(path)
    (tmp_path / "net.yaml").write_text("outputs: logits\n")
    with pytest.raises(FormatError, match="sidecar key must be one of .*got 'outputs'"):
        load_byo(path)
    (tmp_path / "net.yaml").unlink()
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(FormatError, match="must be an ONNX model"):
        load_byo(tmp_path / "bad.onnx")


def test_keras_model_on_the_torch_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    import seglab

    if keras.backend.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    inputs = keras.Input((None, None, 1))
    layer = keras.layers.Conv2D(2, 1, activation="softmax")
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.array([-10.0, 10.0], np.float32).reshape(1, 1, 1, 2), np.array([5.0, -5.0], np.float32)])
    path = tmp_path / "net.keras"
    model.save(path)
    image, truth = _bright_image()
    seg = seglab.segment(image, "model", model=str(path))
    assert np.array_equal(seg.class_map() == 1, truth)
    assert seg.meta["backend"] == "keras"
    assert seg.class_names == ("background", "class_1")
