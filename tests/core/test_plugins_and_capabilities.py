"""What methods declare at registration, the one registry type, and third-party plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import seglab
from seglab.core.errors import InputError, RegistrationError
from seglab.core.registry import METHODS, get_method, register
from seglab.core.registry_base import Registry


def test_builtin_declarations_drive_tiling_prompts_and_web():
    assert get_method("otsu").tiling == "global"
    assert get_method("adaptive").tiling == "pixel"
    assert get_method("adaptive").tile_halo({"block_size": 51}) == 26
    assert get_method("adaptive").tile_halo({}, minimum=40) == 40
    assert get_method("slic").tiling == "regions"
    assert get_method("grabcut").tiling == "none"
    assert get_method("grabcut").prompts == {"box": "box", "scribbles": ("foreground", "background")}
    assert get_method("region_growing").prompts == {"seeds": "seeds"}
    assert get_method("model").tiling == "model" and not get_method("model").web
    described = get_method("grabcut").to_dict()
    assert described["prompts"] == {"box": "box", "scribbles": ["foreground", "background"]}
    assert described["tiling"] == "none" and described["web"] is True


def test_tiling_refuses_a_method_declared_untileable():
    from seglab.tiling import segment_tiled

    image = np.zeros((40, 40), np.uint8)
    with pytest.raises(InputError, match="method 'grabcut' must see the whole image"):
        segment_tiled(image, "grabcut", tile=16, box=(2, 2, 30, 30))


def test_register_keeps_the_two_argument_form_and_checks_declarations():
    @register("plain_two_args", kind="threshold")
    def plain(image: np.ndarray, *, level: int = 3, box: tuple[float, float, float, float] | None = None
              ) -> seglab.Segmentation:
        return seglab.Segmentation((image > level).astype(np.int32))

    try:
        info = get_method("plain_two_args")
        assert (info.tiling, dict(info.prompts), info.web) == ("regions", {}, True)
        assert seglab.segment(np.full((4, 4), 9, np.uint8), "plain_two_args").areas.tolist() == [16]
    finally:
        METHODS.remove("plain_two_args")
    with pytest.raises(RegistrationError, match="tiling of method 'bad' must be one of pixel, global"):
        register("bad", kind="threshold", tiling="rows")
    with pytest.raises(RegistrationError, match="prompt 'box' of method 'bad_prompt' must name a parameter of it, "
                                                "got 'rect'"):
        register("bad_prompt", kind="threshold", prompts={"box": "rect"})(plain)
    with pytest.raises(RegistrationError, match="bounds of method 'bad_bounds' must name its parameters, "
                                                "got 'levle'; did you mean 'level'"):
        register("bad_bounds", kind="threshold", bounds={"levle": (0, 9)})(plain)
    register("bounded", kind="threshold", bounds={"level": (0, 255)})(plain)
    try:
        assert get_method("bounded").param("level").bounds == (0, 255)
        assert get_method("bounded").to_dict()["parameters"][0]["bounds"] == [0, 255]
    finally:
        METHODS.remove("bounded")


def test_a_taken_name_is_refused_naming_both():
    def otsu(image: np.ndarray) -> seglab.Segmentation:  # another function under a built-in name
        return seglab.Segmentation(np.zeros(image.shape[:2], np.int32))

    with pytest.raises(RegistrationError) as error:
        register("otsu", kind="threshold")(otsu)
    message = str(error.value)
    assert "method name 'otsu' is taken by seglab.classical.threshold.otsu" in message
    assert "test_a_taken_name_is_refused_naming_both.<locals>.otsu cannot be registered" in message
    assert get_method("otsu").function is not otsu


def test_one_registry_type_serves_every_lookup():
    from seglab.datasets.base import READERS
    from seglab.formats import FORMAT_REGISTRY
    from seglab.inpaint.api import INPAINT_METHODS
    from seglab.tiling import GLOBAL_PASSES

    for registry in (METHODS, INPAINT_METHODS, FORMAT_REGISTRY, READERS, GLOBAL_PASSES):
        assert isinstance(registry, Registry)
    assert {"coco", "voc", "yolo", "labelme", "png"} <= set(FORMAT_REGISTRY)
    assert {"folder", "bsds", "isbi", "drive", "voc", "coco", "cityscapes"} <= set(READERS)
    with pytest.raises(InputError, match="format must be one of .*got 'yollo'; did you mean 'yolo'"):
        FORMAT_REGISTRY.get("yollo")


# ---------------------------------------------------------------------------- plugins
def _plugin(root: Path, name: str, module_text: str, entry: str | None = None) -> None:
    """A package and its dist-info with a ``seglab.plugins`` entry point, as pip would lay them out."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_text))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[seglab.plugins]\n{name} = {entry or name}\n")


def _seglab(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "seglab", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


GOOD_PLUGIN = '''
    import numpy as np
    import seglab

    @seglab.register("brightest_half", kind="threshold", tiling="pixel")
    def brightest_half(image: np.ndarray, *, level: int = 128) -> seglab.Segmentation:
        """Pixels brighter than ``level`` (a plugin's method).

        Parameters
        ----------
        level : int
            Grey level.
        """
        gray = image if image.ndim == 2 else image.mean(axis=2)
        return seglab.Segmentation((gray > level).astype(np.int32))
'''


def test_a_plugin_method_is_listed_and_runs_through_the_cli(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _plugin(site, "seglab_demo_plugin", GOOD_PLUGIN)
    image = np.zeros((20, 30), np.uint8)
    image[5:15, 10:20] = 200
    seglab.save_image(tmp_path / "square.png", image)

    listed = _seglab(["methods", "--json"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    found = {m["name"]: m for m in json.loads(listed.stdout)}
    assert found["brightest_half"]["tiling"] == "pixel"
    assert found["brightest_half"]["parameters"][0]["doc"] == "Grey level."

    ran = _seglab(["segment", "square.png", "-m", "brightest_half", "-p", "level=100", "-o", "out"], site, tmp_path)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads((tmp_path / "out" / "square.json").read_text())
    assert summary["meta"]["method"] == "brightest_half" and summary["regions"][0]["area"] == 100


def test_a_plugin_reusing_a_name_or_failing_warns_and_seglab_goes_on(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _plugin(site, "seglab_clash_plugin", '''
        import numpy as np
        import seglab

        @seglab.register("otsu", kind="threshold")
        def otsu(image: np.ndarray) -> seglab.Segmentation:
            return seglab.Segmentation(np.zeros(image.shape[:2], np.int32))
    ''')
    _plugin(site, "seglab_broken_plugin", "raise ImportError('no module named cv3')\n")
    listed = _seglab(["methods", "--json"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "seglab plugin 'seglab_clash_plugin'" in listed.stderr
    assert "method name 'otsu' is taken by seglab.classical.threshold.otsu" in listed.stderr
    assert "seglab plugin 'seglab_broken_plugin' (seglab_broken_plugin) failed to load and is ignored: " \
           "ImportError: no module named cv3" in listed.stderr
    names = [m["name"] for m in json.loads(listed.stdout)]
    assert "otsu" in names and "kmeans" in names
