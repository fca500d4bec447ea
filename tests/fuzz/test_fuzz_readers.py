"""Fuzzing (hypothesis, bounded): the image loader, the RLE decoders and every annotation reader
raise nothing but seglab's own errors, whatever the bytes or the JSON."""

from __future__ import annotations

import io
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from seglab import formats  # noqa: E402
from seglab.core.errors import SeglabError  # noqa: E402

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2, 5, 10, -1, 2**31, 2**62, 1e9, 1e23]),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=6), st.dictionaries(st.text(max_size=8), children, max_size=6)),
    max_leaves=30,
)


def only_seglab_errors(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call(*args, **kwargs)
        except SeglabError:
            pass


def _png_bytes(shape=(6, 7), mode="RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, shape[::-1], 90).save(buffer, format="PNG")
    return buffer.getvalue()


HEADS = {
    ".png": _png_bytes(),
    ".jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    ".tif": b"II*\x00\x08\x00\x00\x00",
    ".bmp": b"BM",
    ".gif": b"GIF89a",
    ".webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
}


@FUZZ
@given(suffix=st.sampled_from(sorted(HEADS)), cut=st.integers(0, 80), noise=st.binary(max_size=200),
       flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6))
def test_image_loader(suffix, cut, noise, flips):
    from seglab.core.image import load_image

    data = bytearray(HEADS[suffix][:cut] + noise if cut < len(HEADS[suffix]) else HEADS[suffix] + noise)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x{suffix}"
        path.write_bytes(bytes(data))
        only_seglab_errors(load_image, path)


@FUZZ
@given(x=NUMBERS, y=NUMBERS, w=st.integers(-2, 6), h=st.integers(-2, 6), counts=st.lists(NUMBERS, max_size=8))
def test_web_run_decoder(x, y, w, h, counts):
    from seglab.web.project import mask_from_runs

    if not all(isinstance(v, int) for v in (x, y)):
        return  # the pydantic schema only lets integers through
    only_seglab_errors(mask_from_runs, {"x": x, "y": y, "w": w, "h": h, "counts": counts}, 5, 6)


@FUZZ
@given(text=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=140), max_size=40))
def test_coco_compressed_rle(text):
    from seglab.formats.coco import decode_annotation

    only_seglab_errors(decode_annotation, {"segmentation": {"size": [5, 6], "counts": text}}, 5, 6, "fuzz")


@FUZZ
@given(segmentation=JSON, bbox=JSON)
def test_coco_annotation_values(segmentation, bbox):
    from seglab.formats.coco import decode_annotation

    only_seglab_errors(decode_annotation, {"segmentation": segmentation, "bbox": bbox}, 5, 6, "fuzz")


def _coco_doc(where: str, value) -> dict:
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "height": 5, "width": 6}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 4, 1, 4, 4]]}],
    }
    if where == "root":
        return value
    section, _, key = where.partition(".")
    if key:
        doc[section][0][key] = value
    else:
        doc[section] = value
    return doc


@FUZZ
@given(where=st.sampled_from(["root", "images", "categories", "annotations", "images.id", "images.file_name",
                               "images.height", "annotations.image_id", "annotations.category_id",
                               "annotations.segmentation", "annotations.bbox", "annotations.score",
                               "categories.id", "categories.name"]), value=JSON)
def test_coco_reader(where, value):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.json"
        path.write_text(json.dumps(_coco_doc(where, value)))
        only_seglab_errors(formats.read, path, "coco", image_root=folder)


@FUZZ
@given(key=st.sampled_from(["shapes", "imagePath", "imageHeight", "imageWidth", "points", "label", "group_id",
                            "shape_type"]), value=JSON)
def test_labelme_reader(key, value):
    shape = {"label": "a", "points": [[1, 1], [4, 1], [4, 4]], "group_id": None, "shape_type": "polygon"}
    doc = {"shapes": [shape], "imagePath": "a.png", "imageHeight": 5, "imageWidth": 6}
    if key in shape:
        shape[key] = value
    else:
        doc[key] = value
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "a.json").write_text(json.dumps(doc))
        only_seglab_errors(formats.read, folder, "labelme")


@FUZZ
@given(label=st.binary(max_size=120), names=st.text(max_size=60))
def test_yolo_reader(label, names):
    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "labels").mkdir()
        (root / "images").mkdir()
        Image.new("RGB", (6, 5)).save(root / "images" / "a.png")
        (root / "labels" / "a.txt").write_bytes(label)
        (root / "data.yaml").write_text(names)
        only_seglab_errors(formats.read, root, "yolo")


@FUZZ
@given(filename=st.text(max_size=30), box=st.lists(st.text(max_size=6), min_size=4, max_size=4),
       junk=st.text(max_size=40))
def test_voc_reader(filename, box, junk):
    from xml.sax.saxutils import escape

    from seglab.core.segmentation import Segmentation

    labels = np.zeros((5, 6), np.int32)
    labels[1:4, 1:4] = 1
    with tempfile.TemporaryDirectory() as folder:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            target = formats.write([("a.png", Segmentation(labels))], Path(folder) / "voc", "voc")
        xml = target / "Annotations" / "a.xml"
        text = xml.read_text().replace("<filename>a.png</filename>", f"<filename>{escape(filename)}</filename>")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            text = text.replace(f"<{key}>", f"<{key}>{escape(value)}<!--", 1).replace(f"</{key}>", f"--></{key}>", 1)
        xml.write_text(text + junk)
        only_seglab_errors(formats.read, target, "voc")


@FUZZ
@given(header=JSON, objects=JSON)
def test_png_reader(header, objects):
    from PIL import Image, PngImagePlugin

    labels = np.zeros((5, 6), np.uint8)
    labels[1:3, 1:3] = 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "png"
        root.mkdir()
        info = PngImagePlugin.PngInfo()
        info.add_text("seglab", json.dumps(header))
        Image.fromarray(labels).save(root / "a.png", pnginfo=info)
        (root / "b").mkdir()
        Image.fromarray(labels * 255).save(root / "b" / "0001.png")
        (root / "b" / "objects.json").write_text(json.dumps({"objects": objects, "image": "b.png"}))
        only_seglab_errors(formats.read, root, "png")


@FUZZ
@given(header=JSON, dtype=st.sampled_from(["uint8", "int32", "uint64", "float32", "bool"]))
def test_npz_segmentation(header, dtype):
    from seglab.core.segmentation import Segmentation

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.npz"
        np.savez(path, labels=np.ones((3, 4), dtype), header=np.frombuffer(json.dumps(header).encode(), np.uint8))
        only_seglab_errors(Segmentation.load, path)
