from typing import Literal

import numpy as np
import pytest

import seglab
from seglab import InputError, Segmentation
from seglab.core import registry
from seglab.core.registry import get_method, parse_params, register


@pytest.fixture
def toy():
    @register("toy_method", kind="threshold")
    def toy_method(
        image: np.ndarray,
        *,
        level: int = 3,
        weight: float = 0.5,
        flag: bool = False,
        mode: Literal["a", "b"] = "a",
        box: tuple[float, float, float, float] | None = None,
        seeds: list[tuple[float, float]] | None = None,
        markers: int | np.ndarray | None = None,
    ) -> Segmentation:
        """Toy method for tests.

        Parameters
        ----------
        level : int
            The level.
        weight : float
            The weight.
        """
        return Segmentation((np.asarray(image) > level).astype(np.int32))

    yield get_method("toy_method")
    registry.METHODS.remove("toy_method")


def test_method_info_reads_signature_and_docs(toy):
    assert toy.summary == "Toy method for tests."
    level = toy.param("level")
    assert (level.annotation, level.default, level.doc) == (int, 3, "The level.")
    assert toy.param("mode").choices == ("a", "b")
    assert toy.param("box").type_name == "(float, float, float, float) | None"
    assert toy.to_dict()["parameters"][0] == {
        "name": "level", "type": "int", "default": 3, "choices": None, "doc": "The level.", "bounds": None,
    }


def test_parse_params_converts_by_type(toy, tmp_path):
    seglab.save_image(tmp_path / "m.png", np.ones((2, 2), np.uint8))
    params = parse_params(toy, [
        "level=5", "weight=0.25", "flag=yes", "mode=B", "box=1,2,30,40", "seeds=1,2;3,4",
        f"markers={tmp_path / 'm.png'}",
    ])
    assert params["level"] == 5 and params["weight"] == 0.25 and params["flag"] is True
    assert params["mode"] == "b"
    assert params["box"] == (1, 2, 30, 40)
    assert params["seeds"] == [(1, 2), (3, 4)]
    assert params["markers"].shape == (2, 2)
    assert parse_params(toy, ["markers=7"])["markers"] == 7
    assert parse_params(toy, ["seeds=[[5, 6]]"])["seeds"] == [(5, 6)]
    assert parse_params(toy, ["box=none"])["box"] is None


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("level", r"parameter must be written key=value, got 'level'"),
        ("levle=3", r"parameter of method 'toy_method' must be one of level, weight, .*, got 'levle'; did you mean 'level'\?"),
        ("level=abc", r"parameter 'level' of method 'toy_method' must be an integer, got 'abc'"),
        ("weight=x", r"parameter 'weight' of method 'toy_method' must be a number, got 'x'"),
        ("flag=maybe", r"parameter 'flag' of method 'toy_method' must be true or false, got 'maybe'"),
        ("mode=c", r"parameter 'mode' of method 'toy_method' must be one of 'a', 'b', got 'c'"),
        ("box=1,2,3", r"parameter 'box' of method 'toy_method' must be \(float, float, float, float\) \| None, got '1,2,3'"),
        ("markers=nofile.png", r"parameter 'markers' of method 'toy_method' must be int \| array .* \| None, got 'nofile.png'"),
    ],
)
def test_parse_params_errors(toy, pair, message):
    with pytest.raises(InputError, match=message):
        parse_params(toy, [pair])


def test_segment_runs_method_and_records_meta(toy, tmp_path):
    image = np.arange(25, dtype=np.uint8).reshape(5, 5)
    seg = seglab.segment(image, "toy_method", level=20)
    assert seg.areas.tolist() == [4]
    assert seg.meta["method"] == "toy_method" and seg.meta["params"] == {"level": 20}
    assert seg.meta["time_s"] >= 0
    path = seglab.save_image(tmp_path / "i.png", image)
    assert seglab.segment(path, "toy_method").meta["source"] == str(path)


def test_segment_errors(toy):
    image = np.zeros((3, 3), np.uint8)
    with pytest.raises(InputError, match=r"method must be one of .*, got 'toy_metod'; did you mean 'toy_method'\?"):
        seglab.segment(image, "toy_metod")
    with pytest.raises(InputError, match=r"parameter of method 'toy_method' must be one of .*, got 'lvl'"):
        seglab.segment(image, "toy_method", lvl=3)
    with pytest.raises(InputError, match=r"parameter 'mode' of method 'toy_method' must be one of 'a', 'b', got 'z'"):
        seglab.segment(image, "toy_method", mode="z")


def test_builtin_methods_are_listed_with_kinds():
    names = {m.name: m.kind for m in seglab.methods()}
    for name in ("threshold", "otsu", "multiotsu", "adaptive", "sobel", "canny", "log", "region_growing",
                 "watershed", "kmeans", "meanshift", "felzenszwalb", "slic", "quickshift", "grabcut"):
        assert name in names, name
    assert all(m.summary for m in seglab.methods())


def test_grouped_parameter_docs_document_every_name():
    from seglab.core.registry import _param_docs

    doc = """Summary.

    Parameters
    ----------
    alpha, beta : float
        Shared weight.
    gamma : int
        Other.

    Returns
    -------
    int
    """
    assert _param_docs(doc) == {"alpha": "Shared weight.", "beta": "Shared weight.", "gamma": "Other."}
