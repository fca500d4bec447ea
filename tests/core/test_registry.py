import inspect
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
        ("flag=maybe", r"parameter 'flag' of method 'toy_method' must be true or false \(also yes/no, 1/0\), got 'maybe'"),
        ("flag=on", r"parameter 'flag' of method 'toy_method' must be true or false \(also yes/no, 1/0\), got 'on'"),
        ("mode=c", r"parameter 'mode' of method 'toy_method' must be one of 'a', 'b', got 'c'"),
        ("box=1,2,3", r"parameter 'box' of method 'toy_method' must be \(float, float, float, float\) \| None, got '1,2,3'"),
        ("markers=nofile.png", r"^file not found: nofile.png \(parameter 'markers' of method 'toy_method' must be an image file\)$"),
        ("markers=1.5", r"parameter 'markers' of method 'toy_method' must be int \| array .* \| None, got '1.5'"),
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


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("yes", True), ("1", True), ("false", False), ("NO", False), ("0", False)],
)
def test_booleans_from_text(toy, text, value):
    assert parse_params(toy, [f"flag={text}"])["flag"] is value


def test_python_api_converts_text_for_bool_and_int_parameters():
    image = np.zeros((20, 20), np.uint8)
    image[5:15, 5:15] = 200
    plain = seglab.segment(image, "otsu")
    for text in ("no", "false", "0"):
        assert (seglab.segment(image, "otsu", invert=text).labels == plain.labels).all(), text
    inverted = seglab.segment(image, "otsu", invert="yes")
    assert inverted.areas.tolist() == [300] and inverted.meta["params"] == {"invert": True}
    assert seglab.segment(image, "kmeans", k="2").meta["params"] == {"k": 2}
    with pytest.raises(InputError, match=r"parameter 'invert' of method 'otsu' must be true or false .*got 'nope'"):
        seglab.segment(image, "otsu", invert="nope")
    with pytest.raises(InputError, match=r"parameter 'k' of method 'kmeans' must be an integer, got 'three'"):
        seglab.segment(image, "kmeans", k="three")


def test_warnings_through_segment_point_at_the_callers_line(toy):
    import warnings

    @register("toy_warns", kind="threshold")
    def toy_warns(image: np.ndarray) -> Segmentation:
        warnings.warn("suspicious", UserWarning, stacklevel=2)
        return Segmentation(np.ones(np.asarray(image).shape[:2], np.int32))

    try:
        with pytest.warns(UserWarning, match="suspicious") as record:
            line = inspect.currentframe().f_lineno + 1
            seglab.segment(np.zeros((4, 4), np.uint8), "toy_warns")
        assert (record[0].filename, record[0].lineno) == (__file__, line)
    finally:
        del registry._REGISTRY["toy_warns"]


def test_wrapped_parameter_docs_are_whole():
    from seglab.core.registry import _param_docs

    doc = """Summary.

    Parameters
    ----------
    block_size : int
        Side of the square neighbourhood, odd and >= 3; about the size of the
        objects works best.

        A second paragraph.
    mode : str
        One of:

        * ``"a"``: first,
          wrapped.
        * ``"b"``: second.
    """
    docs = _param_docs(doc)
    assert docs["block_size"] == ("Side of the square neighbourhood, odd and >= 3; about the size of the objects "
                                  "works best.\nA second paragraph.")
    assert docs["mode"] == 'One of:\n* ``"a"``: first, wrapped.\n* ``"b"``: second.'
    assert get_method("adaptive").param("block_size").doc.endswith("about the size of the objects (or larger) works best.")
