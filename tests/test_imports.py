"""The package's import structure: every module imports alone, no import cycle, and the
public names of DESIGN.md import from where the design says."""
import ast
import importlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import thesislib

PACKAGE = Path(thesislib.__file__).parent
MODULES = sorted(f"thesislib.{p.stem}" for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _import_alone(module: str) -> tuple[str, int, str]:
    """Import one module in a fresh interpreter (nothing of thesislib loaded before)."""
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return module, r.returncode, r.stderr[-2000:]


def test_each_module_imports_alone_in_a_fresh_interpreter():
    # one interpreter per module (a module that only works after another one was imported
    # would pass in a shared interpreter); a few run at once
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        failed = [(m, err) for m, rc, err in pool.map(_import_alone, MODULES) if rc != 0]
    assert not failed, "\n\n".join(f"import {m} failed:\n{err}" for m, err in failed)


def _imports(path: Path, module: str, call_time: bool = False) -> set[str]:
    """thesislib modules that ``module`` imports: ``import``/``from`` statements at module level
    (also inside module-level ``if``/``try``/``with``); with ``call_time`` also every one inside
    functions and classes (run when they are called). Never those under ``if TYPE_CHECKING:``."""
    package = module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()

    def add(node):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # from . import gmm

    def visit(stmts):  # module level
        for node in stmts:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                add(node)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, (ast.Try, ast.With)):
                visit(node.body)
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))

    if call_time:
        typing_only = {id(n) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                       for stmt in node.body for n in ast.walk(stmt)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in typing_only:
                add(node)
    else:
        visit(tree.body)
    return {m for m in found if m in MODULES and m != module}


def _module_level_imports(path: Path, module: str) -> set[str]:
    """thesislib modules imported when ``module`` is imported (see :func:`_imports`)."""
    return _imports(path, module)


def _import_graph(call_time: bool = False) -> dict[str, set[str]]:
    return {m: _imports(PACKAGE / f"{m.split('.')[-1]}.py", m, call_time) for m in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def dfs(m):
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (c := dfs(n)):
                return c
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := dfs(m)):
            return c
    return None


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_graph_reads_relative_and_absolute_imports(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from .model import Mesh\nfrom . import gmm\nimport thesislib.scene\n"
                 "try:\n    from thesislib import viz\nexcept ImportError:\n    pass\n"
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .render import render\n"
                 "def f():\n    from .gan import CVGAN1\n"
                 "class C:\n    def m(self):\n        for i in range(2):\n            if i:\n"
                 "                from thesislib import bprn\n"
                 "def g():\n    try:\n        import thesislib.faces as F\n    except ImportError:\n"
                 "        with open('x'):\n            from .crops import CROPS\n"
                 "    if TYPE_CHECKING:\n        from .scores import ranks\n")
    top = {"thesislib.model", "thesislib.gmm", "thesislib.scene", "thesislib.viz"}
    assert _module_level_imports(f, "thesislib.x") == top
    assert _imports(f, "thesislib.x", call_time=True) == top | {
        "thesislib.gan", "thesislib.bprn", "thesislib.faces", "thesislib.crops"}


def test_no_import_cycle_among_modules():
    graph = _import_graph()
    assert "thesislib.procedural" in graph["thesislib.model"]  # model -> procedural, one way
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle at module level: " + " -> ".join(cycle)


def test_no_import_cycle_with_call_time_imports():
    """Imports inside functions count too: a loop through them still ties two modules together."""
    graph = _import_graph(call_time=True)
    assert "thesislib.meshio" in graph["thesislib.model"]  # model -> meshio (Mesh lives there)
    assert "thesislib.testsets" in graph["thesislib.photos"]  # photos -> testsets (TestSet)
    assert {"thesislib.dataset_exec", "thesislib.dataset_store", "thesislib.dataset_card"} <= graph[
        "thesislib.datasets"]
    assert "thesislib.dataset_store" in graph["thesislib.dataset_exec"]
    assert "thesislib.dataset_card" in graph["thesislib.dataset_store"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle through call-time imports: " + " -> ".join(cycle)


# DESIGN.md, "Public names": (module, dotted name in it)
PUBLIC_NAMES = [
    ("thesislib.model", "load_bfm2017"),
    ("thesislib.model", "default_model"),
    ("thesislib.model", "MorphableModel.instance"),
    ("thesislib.model", "Mesh"),
    ("thesislib.bprn", "BPRN"),
    ("thesislib.samplers", "make_sampler"),
    ("thesislib.samplers", "SAMPLERS"),
    ("thesislib.render", "render"),
    ("thesislib.faces", "detect"),
    ("thesislib.faces", "crop"),
    ("thesislib.faces", "embed"),
    ("thesislib.faces", "similarity"),
    ("thesislib.metrics", "ks_summary"),
    ("thesislib.metrics", "kmeans_distortion"),
    ("thesislib.metrics", "distance_quartiles"),
    ("thesislib.metrics", "corrected_score"),
    ("thesislib.metrics", "vertex_error"),
    ("thesislib.scene", "load_backgrounds"),
    ("thesislib.scene", "load_illumination_prior"),
    ("thesislib.datasets", "generate"),
    ("thesislib.datasets", "load_wiki"),
    ("thesislib.cli", "main"),
]


@pytest.mark.parametrize("module, name", PUBLIC_NAMES, ids=[f"{m}.{n}" for m, n in PUBLIC_NAMES])
def test_public_name_imports_from_where_design_says(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    assert callable(obj) or isinstance(obj, dict)


def test_mesh_save():
    from thesislib import meshio
    from thesislib.model import Mesh

    assert Mesh is meshio.Mesh and callable(Mesh.save)


#: every public name of thesislib.datasets before it was split into dataset_card, dataset_store
#: and dataset_exec (scripts import these from thesislib.datasets)
DATASETS_NAMES = [
    "AGE_RANGE", "CROPS", "CROP_SIZE", "Dataset", "DatasetCard", "ExpressionSettings", "FORMAT", "ID_DIGITS",
    "INSTANCE_BATCH", "LANDMARK_CROP_MARGIN", "LANDMARK_CROP_SHIFT", "PNG_FILTER", "SKIP_REASONS",
    "SimpleCrop", "WIKI_FIELDS", "center_crop", "dataset_gallery", "detector_crop", "generate", "image_id",
    "landmark_crop", "landmark_crop_box", "load_card", "load_dataset", "load_wiki",
]


def test_datasets_keeps_its_public_names():
    from thesislib import crops, dataset_card, dataset_store, datasets, wiki

    assert sorted(datasets.__all__) == sorted(DATASETS_NAMES)
    missing = [n for n in DATASETS_NAMES if not hasattr(datasets, n)]
    assert not missing, f"thesislib.datasets lost {missing}"
    assert datasets.load_dataset is dataset_store.load_dataset and datasets.DatasetCard is dataset_card.DatasetCard
    assert datasets.load_wiki is wiki.load_wiki and datasets.landmark_crop is crops.landmark_crop


def test_photo_test_sets_import_where_notebooks_call_them():
    from thesislib import evaluation, photos, testsets

    assert evaluation.package_photos is photos.package_photos  # chapter 05 calls E.package_photos
    assert callable(photos.photo_test_set) and evaluation.TestSet is testsets.TestSet
