"""A read-only, full or unwritable output gives one line and exit 1 in every command, no traceback."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from seglab.cli.main import app


@pytest.fixture
def image(tmp_path):
    from PIL import Image

    pixels = np.full((20, 24), 30, np.uint8)
    pixels[5:15, 6:18] = 200
    path = tmp_path / "a.png"
    Image.fromarray(pixels).save(path)
    return path


def commands(image, tmp_path):
    import json

    coco = tmp_path / "c.json"
    coco.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.png", "height": 20, "width": 24}],
                                "categories": [{"id": 1, "name": "x"}],
                                "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                                 "segmentation": [[2, 2, 8, 2, 8, 8]]}]}))
    out = str(tmp_path / "out")
    return {
        "segment": ["segment", str(image), "-o", out, "-q"],
        "detect": ["detect", str(image), "-o", out, "-q"],
        "convert": ["convert", str(coco), "--from", "coco", "--to", "voc", "-o", out],
        "annotate": ["annotate", str(image), "--to", "coco", "-o", out, "-q"],
        "compare": ["compare", str(image), "-m", "otsu", "-o", str(tmp_path / "out.png")],
        "demo": ["demo", "-o", out, "-q"],
    }


@pytest.mark.parametrize("code, text", [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system"),
                                        (errno.EACCES, "Permission denied")])
@pytest.mark.parametrize("name", ["segment", "detect", "convert", "annotate", "compare", "demo"])
def test_disk_errors_are_one_line(image, tmp_path, monkeypatch, name, code, text):
    def refuse(src, dst):
        raise OSError(code, text, str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    result = CliRunner().invoke(app, commands(image, tmp_path)[name])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [ln for ln in result.output.splitlines() if ln.startswith("OSError:")]
    assert len(lines) == 1 and text in lines[0]
    assert "Traceback" not in result.output


def test_output_inside_a_file(image, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    for target in (blocker / "sub", blocker):
        result = CliRunner().invoke(app, ["segment", str(image), "-o", str(target), "-q", "--overwrite"])
        assert result.exit_code == 1 and "OSError: could not write or read" in result.output, result.output
