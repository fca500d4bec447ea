"""The import contract: data flows one way (cli/web -> workflows -> methods -> core), and no module
reaches into another package's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import seglab

SRC = Path(seglab.__file__).parent

#: Layer of each top-level part of seglab (higher may import lower, never the reverse).
LAYERS = {
    "core": 0,
    "classical": 1, "deep": 1, "formats": 1, "metrics": 1, "datasets": 1, "inpaint": 1, "objects": 1,
    "viz": 1, "data": 1,
    "workflows": 2, "batch": 2, "tiling": 2, "demo": 2,
    "cli": 3, "web": 3, "__main__": 3,
}

#: Modules that moved up a layer keep an alias at their old place so old imports still work.
MOVED_ALIASES = {("metrics.bench", "workflows.bench")}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts:
            found.append((".".join(parts), path))
    return found


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute ``seglab.*`` import, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.startswith("seglab.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("seglab."):
            found.append((node.lineno, node.module, [a.name for a in node.names]))
    return found


def test_every_part_of_seglab_has_a_layer():
    tops = {name.split(".")[0] for name, _ in _modules()}
    assert tops <= set(LAYERS), f"give these a layer in LAYERS: {sorted(tops - set(LAYERS))}"


def test_no_module_imports_a_layer_above_it():
    wrong = []
    for name, path in _modules():
        top = name.split(".")[0]
        for line, module, _ in _imports(path):
            target = module.split(".")[1]
            moved = (name, module.removeprefix("seglab.")) in MOVED_ALIASES
            if LAYERS[target] > LAYERS[top] and not moved:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module}")
    assert not wrong, "layers must be one-way:\n" + "\n".join(wrong)


def test_no_module_reaches_into_another_package_s_private_names():
    wrong = []
    for name, path in _modules():
        top = name.split(".")[0]
        for line, module, names in _imports(path):
            parts = module.split(".")[1:]
            if parts[0] == top:
                continue  # a package may use its own private modules
            private = [p for p in parts if p.startswith("_")] + [n for n in names if n.startswith("_")]
            if private:
                wrong.append(f"{path.relative_to(SRC)}:{line} imports {module} {names}")
    assert not wrong, "use the other package's public names:\n" + "\n".join(wrong)


def test_the_check_catches_an_upward_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from seglab.cli.common import console\n")
    assert _imports(module) == [(2, "seglab.cli.common", ["console"])]
