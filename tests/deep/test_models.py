"""Models and self-describing checkpoints."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from deep_helpers import TINY

from seglab.core.errors import FormatError, InputError
from seglab.deep.models import DeepModel, create_model, load

SMALL = {"encoder_name": TINY["encoder"], **TINY["model_args"]}


def test_import_seglab_deep_does_not_import_torch():
    code = "import sys, seglab.deep, seglab.deep.method; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("arch", ["unet", "fpn", "deeplabv3plus", "UnetPlusPlus"])
def test_create_model_outputs_logits(arch):
    kwargs = {"encoder_name": "resnet18"} if arch != "unet" else SMALL
    model = create_model(arch, in_channels=1, classes=3, **kwargs).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 1, 64, 64)).shape == (1, 3, 64, 64)


def test_unknown_arch_suggests():
    with pytest.raises(InputError, match="arch must be one of .*got 'uent'; did you mean 'unet'"):
        create_model("uent")


def test_missing_weights_file_is_refused():
    with pytest.raises(InputError, match="encoder_weights must be None or a local weights file"):
        create_model("unet", encoder_weights="imagenet")


def test_local_weights_file_is_loaded(tmp_path):
    source = create_model("unet", in_channels=1, classes=2, **SMALL)
    torch.save(source.encoder.state_dict(), tmp_path / "enc.pt")
    target = create_model("unet", in_channels=1, classes=2, encoder_weights=tmp_path / "enc.pt", **SMALL)
    for key, value in source.encoder.state_dict().items():
        assert torch.equal(value, target.encoder.state_dict()[key])


def test_checkpoint_round_trip_is_self_describing(tmp_path):
    model = DeepModel.create("unet", class_names=("bg", "a", "b"), in_channels=1, mean=0.4, std=0.2, **SMALL)
    model.metrics = {"miou": 0.5}
    model.save(tmp_path / "m.pt")
    loaded = load(tmp_path / "m.pt", device="cpu")
    assert loaded.class_names == ("bg", "a", "b")
    assert loaded.in_channels == 1 and loaded.classes == 3
    assert loaded.mean == pytest.approx((0.4,)) and loaded.std == pytest.approx((0.2,))
    assert loaded.metrics == {"miou": 0.5}
    assert loaded.info()["seglab_version"]
    x = torch.randn(1, 1, 64, 64)
    model.module.eval()
    with torch.inference_mode():
        assert torch.allclose(model.module(x), loaded.module(x))


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match="model file .* does not exist"):
        load(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FormatError, match="must be a seglab checkpoint"):
        load(tmp_path / "bad.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(FormatError, match="must be a seglab checkpoint"):
        load(tmp_path / "other.pt")
