"""Image and segmentation files built to hurt: bombs below max_pixels, odd TIFFs, EPS, broken headers.

Each bomb is refused from its header, before anything is decoded.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from seglab.core.errors import FormatError, InputError
from seglab.core.image import check_untiled_memory, load_image
from seglab.core.segmentation import Segmentation


def png_header_only(path: Path, width: int, height: int, colour_type: int = 2, depth: int = 8) -> Path:
    """A tiny PNG that declares ``width`` x ``height`` (its data would inflate to gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
                     + chunk(b"IEND", b""))
    return path


def test_png_bomb_below_max_pixels_is_refused_for_untiled_methods(tmp_path):
    bomb = png_header_only(tmp_path / "bomb.png", 16000, 16000)
    assert bomb.stat().st_size < 2000
    with pytest.raises(InputError, match=r"\(16000 x 16000\) must need at most 8.0 GiB .*use --tiled"):
        check_untiled_memory(bomb)
    check_untiled_memory(bomb, limit_bytes=2**40)  # a big machine may, when told so


def test_segment_cli_refuses_the_bomb_pointing_at_tiled(tmp_path):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    bomb = png_header_only(tmp_path / "bomb.png", 16000, 16000)
    result = CliRunner().invoke(app, ["segment", str(bomb), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "InputError:" in result.output and "use --tiled" in result.output
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_decoded_bytes_are_bounded_before_decoding(tmp_path):
    bomb = png_header_only(tmp_path / "bomb.png", 10000, 10000)
    with pytest.raises(InputError, match=r"must decode to at most max_bytes=1000000 bytes, got 10000 x 10000 x 3"):
        load_image(bomb, max_bytes=10**6)


def test_tiff_with_400_samples_is_refused_before_decoding(tmp_path, monkeypatch):
    import tifffile

    path = tmp_path / "many.tif"
    tifffile.imwrite(path, np.zeros((8, 8, 400), np.uint8), photometric="minisblack", planarconfig="contig")

    def no_decoding(*_args, **_kwargs):
        raise AssertionError("decoded before the check")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_decoding)
    with pytest.raises(FormatError, match=r"has shape \(8, 8, 400\), not a grey or colour image"):
        load_image(path)


def test_complex_tiff_is_refused(tmp_path):
    import tifffile

    path = tmp_path / "complex.tif"
    tifffile.imwrite(path, (np.ones((4, 5)) + 2j).astype(np.complex64))
    with pytest.raises(FormatError, match="must hold real values, got complex dtype complex64"):
        load_image(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".eps"])
def test_eps_is_never_opened(tmp_path, suffix, monkeypatch):
    from PIL import EpsImagePlugin

    def ghostscript(*_args, **_kwargs):
        raise AssertionError("Ghostscript would have run")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    path = tmp_path / f"x{suffix}"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\nshowpage\n")
    with pytest.raises(FormatError, match="is not an image file seglab can read"):
        load_image(path)


# ---------------------------------------------------------------------------- .npz and label PNG headers
def npz_with(path: Path, arrays: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in arrays.items():
            archive.writestr(name, data)
    return path


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def test_npz_zip_bomb_is_refused_from_its_header(tmp_path):
    header = np.frombuffer(json.dumps({"class_ids": None}).encode(), np.uint8)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, header)
    path = npz_with(tmp_path / "bomb.npz", {"labels.npy": npy_header((50000, 50000), "<i4") + b"\x00" * 100,
                                            "header.npy": buffer.getvalue()})
    with pytest.raises(FormatError, match=r"its 'labels' array must take at most 4294967296 bytes"):
        Segmentation.load(path)


@pytest.mark.parametrize("content", [b"", b"PK\x05\x06" + b"\x00" * 18, b"not a zip at all"])
def test_empty_or_broken_npz_is_a_format_error(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(FormatError, match="is not a seglab .npz segmentation"):
        Segmentation.load(path)


def test_empty_npz_on_the_cli_is_one_line(tmp_path):
    from typer.testing import CliRunner

    from seglab.cli.main import app

    (tmp_path / "seg").mkdir()
    (tmp_path / "seg" / "a.labels.png").write_bytes(b"")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "seg"), "--to", "coco", "-o", str(tmp_path / "c.json")])
    assert result.exit_code == 1 and "Aborted" not in result.output and "Error:" in result.output


BAD_HEADERS = [
    [],
    {"class_ids": "x"},
    {"class_ids": [[1]]},
    {"class_ids": [10**30]},
    {"class_ids": [1], "class_names": ["background"]},
    {"scores": ["a"]},
    {"class_names": [1]},
    {"meta": []},
    {"class_names": {"a": 1}},
]


@pytest.mark.parametrize("header", BAD_HEADERS)
@pytest.mark.parametrize("suffix", [".npz", ".png"])
def test_wrong_header_types_are_format_errors(tmp_path, header, suffix):
    from PIL import Image, PngImagePlugin

    labels = np.zeros((4, 5), np.uint8)
    labels[1:3, 1:3] = 1
    path = tmp_path / f"x{suffix}"
    if suffix == ".npz":
        np.savez(path, labels=labels, header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    else:
        info = PngImagePlugin.PngInfo()
        info.add_text("seglab", json.dumps(header))
        Image.fromarray(labels).save(path, pnginfo=info)
    with pytest.raises(FormatError, match="the seglab header"):
        Segmentation.load(path)


@pytest.mark.parametrize("suffix", [".npz", ".png"])
def test_deeply_nested_header_is_a_format_error(tmp_path, suffix):
    from PIL import Image, PngImagePlugin

    text = "[" * 100_000 + "]" * 100_000
    labels = np.zeros((4, 5), np.uint8)
    path = tmp_path / f"x{suffix}"
    if suffix == ".npz":
        np.savez(path, labels=labels, header=np.frombuffer(text.encode(), np.uint8))
    else:
        info = PngImagePlugin.PngInfo()
        info.add_text("seglab", text)
        Image.fromarray(labels).save(path, pnginfo=info)
    with pytest.raises(FormatError):
        Segmentation.load(path)


def test_uint64_labels_do_not_wrap(tmp_path):
    path = tmp_path / "x.npz"
    labels = np.array([[0, 2**32 + 1]], dtype=np.uint64)
    np.savez(path, labels=labels, header=np.frombuffer(json.dumps({}).encode(), np.uint8))
    with pytest.raises(FormatError, match=r"labels must be between 0 and 2147483647, got 0..4294967297"):
        Segmentation.load(path)


def test_huge_label_png_is_a_format_error_not_a_bomb_error(tmp_path):
    path = png_header_only(tmp_path / "big.png", 17000, 17000, colour_type=0)
    with pytest.raises(FormatError, match="must have at most 268435456 pixels, got 17000 x 17000"):
        Segmentation.load(path)
