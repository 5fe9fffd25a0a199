"""The plan of the house: every module on one layer, imports only downward, no circle.

The layers and the walk over imports are ``tools/layers.py``'s (``python tools/layers.py`` draws
the house); these tests hold the package to it, reading every ``import`` in each module's syntax
tree, so a lazy import inside a function is an arrow like any other.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("layers", ROOT / "tools" / "layers.py")
layers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layers)

MAX_LINES = 400  # STYLE.md: a module a reader can hold in mind


def test_no_module_imports_a_layer_above_its_own():
    assert layers.climbing(layers.arrows()) == []


def test_the_package_has_no_import_circle():
    assert layers.circles(layers.arrows()) == []


@pytest.mark.parametrize("folder", ["results", "running", "judging", "report", "cli"])
def test_each_layer_folder_says_what_it_holds_and_may_import(folder):
    doc = (ROOT / "src" / "imagelab" / folder / "__init__.py").read_text()
    assert doc.startswith('"""') and "may import" in doc.split('"""')[1]


def test_every_module_is_on_a_layer_and_the_lab_is_the_package_top():
    modules = layers.modules()
    assert layers.layer_of("imagelab.training") == "lab"  # what the notebooks call
    assert layers.layer_of("imagelab.analysis.compare") == "lab"
    assert layers.layer_of("imagelab.results.store") == "results"
    assert layers.layer_of("imagelab.running.sweeps.spec") == "running"
    assert layers.layer_of("imagelab.judging.verify") == "judging"
    assert layers.layer_of("imagelab.cli.verify") == "cli"
    assert {layers.layer_of(m) for m in modules} == {name for name, _ in layers.LAYERS}


def test_a_lazy_import_climbing_a_layer_is_caught(tmp_path):
    package = tmp_path / "imagelab"
    (package / "results").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "results" / "__init__.py").write_text("")
    (package / "results" / "store.py").write_text("def f():\n    from imagelab.cli import x\n")
    (package / "cli").mkdir()
    (package / "cli" / "__init__.py").write_text("x = 1\nfrom . import store_user\n")
    (package / "cli" / "store_user.py").write_text("import imagelab.results.store\n")
    graph = layers.arrows(tmp_path)
    assert layers.climbing(graph) == ["imagelab.results.store (results) -> imagelab.cli (cli)"]
    assert layers.circles(graph) == [
        ["imagelab.cli", "imagelab.cli.store_user", "imagelab.results.store"]
    ]


def test_every_module_is_at_most_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in layers.modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
