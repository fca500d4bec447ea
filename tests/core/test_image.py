import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from seglab import FormatError, InputError, load_image, save_image


@pytest.fixture
def rgb(rng):
    return rng.integers(0, 256, size=(12, 17, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp"])
def test_lossless_rgb_round_trip(tmp_path, rgb, suffix):
    path = save_image(tmp_path / f"x{suffix}", rgb) if suffix != ".webp" else tmp_path / "x.webp"
    if suffix == ".webp":
        Image.fromarray(rgb).save(path, lossless=True)
    loaded = load_image(path)
    assert loaded.dtype == np.uint8 and loaded.shape == (12, 17, 3)
    np.testing.assert_array_equal(loaded, rgb)


def test_jpeg_is_close(tmp_path, rgb):
    smooth = np.repeat(np.linspace(0, 255, 17, dtype=np.uint8)[None, :, None], 12, 0).repeat(3, 2)
    loaded = load_image(save_image(tmp_path / "x.jpg", smooth))
    assert loaded.shape == smooth.shape and np.abs(loaded.astype(int) - smooth).mean() < 3


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3])
def test_16bit_is_kept(tmp_path, rng, suffix, channels):
    shape = (9, 11) if channels == 1 else (9, 11, 3)
    data = rng.integers(0, 65536, size=shape, dtype=np.uint16)
    loaded = load_image(save_image(tmp_path / f"x{suffix}", data))
    assert loaded.dtype == np.uint16
    np.testing.assert_array_equal(loaded, data)


def test_float_tiff(tmp_path, rng):
    data = rng.random((5, 6)).astype(np.float32)
    np.testing.assert_array_equal(load_image(save_image(tmp_path / "f.tif", data)), data)


def test_multipage_tiff_reads_first_page_with_warning(tmp_path):
    import tifffile

    pages = np.stack([np.full((4, 5), 10, np.uint8), np.full((4, 5), 20, np.uint8)])
    tifffile.imwrite(tmp_path / "m.tif", pages)
    with pytest.warns(UserWarning, match="has 2 pages; reading the first"):
        image = load_image(tmp_path / "m.tif")
    assert image.shape == (4, 5) and (image == 10).all()


def test_palette_gif_becomes_rgb(tmp_path):
    image = Image.new("P", (6, 4))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((2, 1), 1)
    image.save(tmp_path / "p.gif")
    loaded = load_image(tmp_path / "p.gif")
    assert loaded.shape == (4, 6, 3)
    assert loaded[1, 2].tolist() == [255, 0, 0] and loaded[0, 0].tolist() == [0, 0, 0]


def test_rgba_alpha_dropped_with_warning_when_transparent(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(load_image(tmp_path / "opaque.png"), rgb)
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    with pytest.warns(UserWarning, match="transparent pixels; seglab drops alpha"):
        np.testing.assert_array_equal(load_image(tmp_path / "clear.png"), rgb)


def test_grey_alpha_and_one_bit(tmp_path):
    Image.fromarray(np.full((3, 4, 2), 200, np.uint8), mode="LA").save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png").shape == (3, 4)
    Image.fromarray(np.eye(4, dtype=bool)).save(tmp_path / "b.png")
    assert load_image(tmp_path / "b.png").tolist()[0] == [255, 0, 0, 0]


def test_exif_orientation_is_applied(tmp_path):
    data = np.zeros((4, 6), np.uint8)
    data[0, 5] = 255  # top-right
    image = Image.fromarray(data)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "r.jpg", exif=exif, quality=100)
    loaded = load_image(tmp_path / "r.jpg")
    assert loaded.shape == (6, 4)
    assert loaded[5, 3] > 128  # top-right moved to bottom-right


def test_array_input_is_validated_not_copied():
    array = np.zeros((3, 4), np.uint8)
    assert load_image(array) is array


def test_missing_directory_empty_truncated_and_garbage(tmp_path, rgb):
    with pytest.raises(InputError, match=r"image file '.*nope.png' does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="is a directory, expected an image file"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(FormatError, match=r"empty.png' is empty \(0 bytes\)"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(FormatError, match="is not an image file seglab can read"):
        load_image(tmp_path / "text.png")
    save_image(tmp_path / "full.png", rgb)
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="cut.png' is truncated or corrupt"):
        load_image(tmp_path / "cut.png")


def test_unsupported_values_and_modes(tmp_path):
    import tifffile

    from seglab.core.image import _pil_to_array

    tifffile.imwrite(tmp_path / "i.tif", np.full((2, 2), -5, np.int32))
    with pytest.raises(FormatError, match="has dtype int32 with values outside 0..65535"):
        load_image(tmp_path / "i.tif")
    with pytest.raises(FormatError, match="has mode 'HSV'; supported modes are"):
        _pil_to_array(Image.new("HSV", (2, 2)), tmp_path / "hsv.png")


def _png_header_only(path, width, height):
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"garbage") + chunk(b"IEND", b""))


def test_decompression_bomb_refused_from_header(tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100_000, 100_000)  # 10^10 pixels, data never decoded
    with pytest.raises(InputError, match=r"must have at most max_pixels=268435456 pixels, got 100000 x 100000"):
        load_image(bomb)
    with pytest.raises(InputError, match="max_pixels=100 pixels"):
        load_image(save_image(tmp_path / "small.png", np.zeros((20, 20), np.uint8)), max_pixels=100)


def test_zero_size_and_bad_arrays():
    with pytest.raises(InputError, match=r"image must be a non-empty image, got an array of shape \(0, 5\)"):
        load_image(np.zeros((0, 5)))
    with pytest.raises(InputError, match=r"image must be a 2D \(H, W\) grey or 3D \(H, W, 3\) colour array"):
        load_image(np.zeros((2, 3, 5)))
    with pytest.raises(InputError, match="image must be finite"):
        load_image(np.array([[np.nan, 1.0]]))
    with pytest.raises(InputError, match="image must be an array of bool, integer or float dtype"):
        load_image(np.array([["a"]]))


def test_save_image_errors(tmp_path):
    with pytest.raises(InputError, match="path must end in one of"):
        save_image(tmp_path / "x.xyz", np.zeros((2, 2), np.uint8))
    with pytest.raises(InputError, match="image dtype must be uint8 for .jpg"):
        save_image(tmp_path / "x.jpg", np.zeros((2, 2), np.uint16))
    assert not list(tmp_path.iterdir())  # a failed save leaves nothing behind


def test_lzw_tiff_like_drive(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "lzw.tif", compression="tiff_lzw")
    np.testing.assert_array_equal(load_image(tmp_path / "lzw.tif"), rgb)


def test_real_drive_tiff_loads(data_dir):
    image = load_image(data_dir / "drive_retina" / "training" / "images" / "21_training.tif")
    assert image.shape == (584, 565, 3) and image.dtype == np.uint8


def test_rgba_array_alpha_dropped_with_the_same_rule(rgb):
    rgba = np.dstack([rgb, np.zeros(rgb.shape[:2], np.uint8)])
    with pytest.warns(UserWarning, match="image has transparent pixels; seglab drops alpha"):
        np.testing.assert_array_equal(load_image(rgba), rgb)
