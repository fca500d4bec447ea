"""Commands never replace what the user had without --overwrite (train: or --resume)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from seglab.cli.main import app


@pytest.fixture
def precious(tmp_path):
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    return folder


def test_demo_refuses_an_existing_folder(precious):
    result = CliRunner().invoke(app, ["demo", "-o", str(precious), "-q"])
    assert result.exit_code == 1
    assert "must not exist already or be an empty folder (pass --overwrite" in result.output
    assert sorted(p.name for p in precious.iterdir()) == ["notes.txt"]


def test_evaluate_refuses_an_existing_json_before_working(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text('{"mine": 1}')
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "pred"), "--gt", str(tmp_path / "nowhere"),
                                      "--json", str(target)])
    assert result.exit_code == 1
    assert "metrics.json' must not exist already (pass --overwrite" in result.output
    assert target.read_text() == '{"mine": 1}'


def test_train_refuses_an_existing_run(precious, tmp_path):
    result = CliRunner().invoke(app, ["train", str(tmp_path / "data"), "--out", str(precious)])
    assert result.exit_code == 1
    assert "must be new or empty, got one with files (pass --resume to continue it or --overwrite" in result.output
    assert (precious / "notes.txt").read_text() == "keep me"
