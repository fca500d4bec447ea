"""``seglab inpaint`` through typer's CliRunner."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from seglab.cli.main import app
from seglab.core.image import load_image, save_image
from seglab.core.segmentation import Segmentation

runner = CliRunner()


def _files(tmp_path):  # type: ignore[no-untyped-def]
    image = np.full((40, 50, 3), 80, np.uint8)
    image[10:20, 15:30] = 250
    mask = np.zeros((40, 50), np.uint8)
    mask[10:20, 15:30] = 255
    save_image(tmp_path / "img.png", image)
    save_image(tmp_path / "mask.png", mask)
    return image, mask > 0


def test_inpaint_with_mask_and_save_mask(tmp_path) -> None:
    image, mask = _files(tmp_path)
    out = tmp_path / "out.png"
    args = ["inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"), "-m", "telea", "-o", str(out), "--save-mask"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    filled = load_image(out)
    used = load_image(tmp_path / "out.mask.png") > 0
    assert used.sum() > mask.sum()  # dilated by 3 px
    assert np.array_equal(filled[~used], image[~used])
    assert np.abs(filled[mask].astype(int) - 80).max() <= 2
    again = runner.invoke(app, args)
    assert again.exit_code == 1
    assert "must not exist already (pass --overwrite to replace it)" in again.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0


def test_inpaint_with_labels_box_and_param(tmp_path) -> None:
    image, mask = _files(tmp_path)
    Segmentation(mask.astype(np.int32)).save(tmp_path / "labels.png")
    out = tmp_path / "a.png"
    result = runner.invoke(app, ["inpaint", str(tmp_path / "img.png"), "--labels", str(tmp_path / "labels.png"),
                                 "--ids", "1", "-m", "ns", "-p", "radius=3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert np.abs(load_image(out)[mask].astype(int) - 80).max() <= 2
    result = runner.invoke(app, ["inpaint", str(tmp_path / "img.png"), "--box", "12,7,33,23", "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0, result.output
    assert np.abs(load_image(tmp_path / "b.png")[mask].astype(int) - 80).max() <= 2


def test_inpaint_folder(tmp_path) -> None:
    image, mask = _files(tmp_path)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        save_image(tmp_path / "imgs" / f"{name}.png", image)
        save_image(tmp_path / "masks" / f"{name}.png", mask)
    result = runner.invoke(app, ["inpaint", str(tmp_path / "imgs"), "--mask", str(tmp_path / "masks"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_inpaint_errors(tmp_path) -> None:
    _files(tmp_path)
    base = ["inpaint", str(tmp_path / "img.png"), "-o", str(tmp_path / "o.png")]
    result = runner.invoke(app, base)
    assert result.exit_code == 1
    assert "InputError: give exactly one of --mask, --point, --box or --labels, got none" in result.output
    result = runner.invoke(app, [*base, "--point", "99,5"])
    assert "InputError: point must lie inside the image (0 <= x < 50, 0 <= y < 40), got (x, y) = (99, 5)" in result.output
    result = runner.invoke(app, [*base, "--box", "1,2,3"])
    assert "InputError: --box must be 4 numbers written x0,y0,x1,y1, got '1,2,3'" in result.output
    result = runner.invoke(app, [*base, "--mask", str(tmp_path / "mask.png"), "-m", "nope"])
    assert "InputError: inpainting method must be one of" in result.output
    assert not (tmp_path / "o.png").exists()


def test_inpaint_grow_shadow_prints_method_and_mask(tmp_path) -> None:
    image = np.full((60, 60, 3), 190, np.uint8)
    image[10:40, 20:35] = (120, 60, 30)
    image[40:45, 14:42] = 50  # the object's shadow, not in the mask
    mask = np.zeros((60, 60), np.uint8)
    mask[10:40, 20:35] = 255
    save_image(tmp_path / "img.png", image)
    save_image(tmp_path / "mask.png", mask)
    out = tmp_path / "out.png"
    args = ["inpaint", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out),
            "--grow", "2", "--shadow", "--save-mask"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    used = load_image(tmp_path / "out.mask.png") > 0
    assert used[40:45, 14:42].all()  # the shadow went with the object
    assert f"img.png: filled {int(used.sum())} px with auto: completion, mask written to {tmp_path / 'out.mask.png'}" in result.output
    assert np.abs(load_image(out)[used].astype(int) - 190).max() < 40
    plain = runner.invoke(app, [*args[:-4], "--grow", "0", "-m", "telea", "--overwrite"])
    assert plain.exit_code == 0, plain.output
    assert "with telea" in plain.output
