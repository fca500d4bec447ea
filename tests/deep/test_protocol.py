"""Every deep model implements one protocol; checkpoints load through the architecture registry."""

from __future__ import annotations

import pytest

from seglab import InputError
from seglab.deep.protocol import MODEL_LOADERS, SegmentationModel


def test_unet_and_mask_rcnn_implement_the_protocol():
    from seglab.deep.maskrcnn import MaskRCNNModel
    from seglab.deep.models import DeepModel

    unet = DeepModel.create("unet", encoder_name="resnet18", in_channels=1, encoder_depth=3,
                            decoder_channels=(32, 16, 8))
    mrcnn = MaskRCNNModel.create(("background", "disk"), backbone="mobilenet_v3", min_size=64, max_size=64)
    for model in (unet, mrcnn):
        assert isinstance(model, SegmentationModel)
    assert (unet.exportable, mrcnn.exportable) == (True, False)
    with pytest.raises(InputError, match="model must be an instance model"):
        unet.predict_instances(None)
    with pytest.raises(InputError, match="got a Mask R-CNN"):
        mrcnn.export("never.onnx")


def test_checkpoints_load_by_their_architecture_name(tmp_path):
    import torch

    from seglab.deep import load
    from seglab.deep.models import FORMAT, FORMAT_VERSION

    assert {"unet", "fpn", "maskrcnn"} <= set(MODEL_LOADERS)
    path = tmp_path / "odd.pt"
    torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, "arch": "hypernet"}, path)
    with pytest.raises(InputError, match="model architecture must be one of .*got 'hypernet'"):
        load(path)

    loaded = []

    @MODEL_LOADERS.decorator("hypernet")
    def load_hypernet(data, where, device):
        loaded.append((data["arch"], str(where), device))
        return "a hypernet"

    try:
        assert load(path, device="cpu") == "a hypernet"
        assert loaded == [("hypernet", str(path), "cpu")]
    finally:
        MODEL_LOADERS.remove("hypernet")
