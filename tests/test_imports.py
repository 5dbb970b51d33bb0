"""The package's import structure: one folder per stage of the study, dependencies pointing down
the pipeline, every module importable alone, no import cycle, other stages used only through
their public names, and DESIGN.md's public names importable from where it says."""
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

#: DESIGN.md's stages, in the order the study flows: a stage imports only earlier ones
STAGES = ["common", "facemodel", "samplers", "imaging", "faces", "datasets", "bprn", "evaluation",
          "studies", "viz", "report", "suite"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if p.name != "__main__.py"}
MODULES = sorted(FILES)


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_top_level_is_the_stages_and_nothing_else():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert entries == set(STAGES) | {"__init__.py", "__main__.py"}, sorted(entries)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_does_and_lists_its_public_names(stage):
    pkg = importlib.import_module(f"thesislib.{stage}")
    assert pkg.__doc__ and len(pkg.__doc__.split()) >= 10, f"thesislib.{stage} needs a docstring"
    assert isinstance(pkg.__all__, list) and pkg.__all__, f"thesislib.{stage} needs __all__"
    missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
    assert not missing, f"thesislib.{stage}.__all__ names {missing}, which it lacks"
    assert len(set(pkg.__all__)) == len(pkg.__all__)


_PROBE = """
import json, sys
import {stage}
print(json.dumps(sorted(m for m in sys.modules if m.startswith("{stage}."))))
"""


def _import_alone(module: str) -> tuple[str, int, str]:
    """Import one module (or package) in a fresh interpreter (nothing of thesislib loaded before);
    for a package also list the modules the import loaded (on the last line of stdout)."""
    r = subprocess.run([sys.executable, "-c", _PROBE.format(stage=module)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return module, r.returncode, r.stderr[-2000:] if r.returncode else r.stdout.strip().splitlines()[-1]


def test_each_module_imports_alone_in_a_fresh_interpreter():
    """Importing ``thesislib.a.b`` first runs ``thesislib/a/__init__.py``, which imports most of its
    stage: so each stage package is imported alone, and each module it did not load on its own."""
    import json

    workers = max(1, min(4, os.cpu_count() or 1))
    stages = ["thesislib"] + [f"thesislib.{s}" for s in STAGES]
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(_import_alone, stages))
        failed = [(m, out) for m, rc, out in results if rc != 0]
        loaded = {m for _, rc, out in results if rc == 0 for m in json.loads(out)} | set(stages)
        rest = [m for m in MODULES if m not in loaded]
        failed += [(m, out) for m, rc, out in pool.map(_import_alone, rest) if rc != 0]
    assert not failed, "\n\n".join(f"import {m} failed:\n{err}" for m, err in failed)


def _import_nodes(tree: ast.AST, call_time: bool):
    """``import``/``from`` statements: at module level (also inside module-level ``if``/``try``/
    ``with``), and with ``call_time`` also those inside functions and classes. Never those under
    ``if TYPE_CHECKING:``."""
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    if call_time:
        return [n for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in typing_only]
    found = []

    def visit(stmts):
        for node in stmts:
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in typing_only:
                found.append(node)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for body in ("body", "orelse", "finalbody"):
                    visit(getattr(node, body, []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)

    visit(tree.body)
    return found


def _statements(path: Path, module: str, call_time: bool = False) -> list[tuple[str, list[str]]]:
    """(imported module, names) per import statement; relative imports made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), call_time):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        out.append((base, [a.name for a in node.names]))
    return out


def _imports(path: Path, module: str, call_time: bool = False) -> set[str]:
    """thesislib modules (and packages) that ``module`` imports."""
    found = set()
    for base, names in _statements(path, module, call_time):
        subs = {f"{base}.{n}" for n in names}
        if not (names and subs <= FILES.keys()):  # `from . import gmm` needs gmm, not the package
            found.add(base)
        found.update(subs)
    return {m for m in found if m in FILES and m not in (module, "thesislib")}


def _import_graph(call_time: bool = False) -> dict[str, set[str]]:
    return {m: _imports(FILES[m], m, call_time) for m in MODULES}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def dfs(m):
        state[m] = 1
        path.append(m)
        for n in sorted(graph.get(m, ())):
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


def test_graph_reads_relative_and_absolute_imports_at_every_depth(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("from .model import Mesh\nfrom . import population\nimport thesislib.imaging.scene\n"
                 "try:\n    from thesislib import viz\nexcept ImportError:\n    pass\n"
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..imaging import render\n"
                 "def f():\n    from ..samplers.gan import estimator\n"
                 "class C:\n    def m(self):\n        for i in range(2):\n            if i:\n"
                 "                from thesislib import bprn\n"
                 "def g():\n    try:\n        import thesislib.faces as F\n    except ImportError:\n"
                 "        with open('x'):\n            from ..imaging.crops import resample\n"
                 "    if TYPE_CHECKING:\n        from ..evaluation import scores\n")
    top = {"thesislib.facemodel.model", "thesislib.facemodel.population",
           "thesislib.imaging.scene", "thesislib.viz"}
    assert _imports(f, "thesislib.facemodel.x") == top
    assert _imports(f, "thesislib.facemodel.x", call_time=True) == top | {
        "thesislib.samplers.gan.estimator", "thesislib.bprn", "thesislib.faces",
        "thesislib.imaging.crops"}


def test_no_import_cycle_among_modules():
    graph = _import_graph()
    assert "thesislib.facemodel.procedural" in graph["thesislib.facemodel.model"]  # one way
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle at module level: " + " -> ".join(cycle)


def test_no_import_cycle_with_call_time_imports():
    """Imports inside functions count too: a loop through them still ties two modules together."""
    graph = _import_graph(call_time=True)
    assert "thesislib.facemodel.meshio" in graph["thesislib.facemodel.model"]
    assert {"thesislib.datasets.chunks", "thesislib.datasets.store", "thesislib.datasets.card"} <= graph[
        "thesislib.datasets.generation"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle through call-time imports: " + " -> ".join(cycle)


def _direction_problems(files: dict[str, Path]) -> list[str]:
    problems = []
    for m, path in files.items():
        here = _stage(m)
        if here is None:
            continue
        for base, _names in _statements(path, m, call_time=True):
            there = _stage(base) if base.startswith("thesislib.") else None
            if there in STAGES and STAGES.index(there) > STAGES.index(here):
                problems.append(f"{m} imports {base}, a later stage")
    return problems


def test_stages_import_only_earlier_stages_even_inside_functions():
    problems = _direction_problems(FILES)
    assert not problems, "\n".join(problems)


def test_direction_check_catches_a_backward_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from thesislib.evaluation import vertex_error\n")
    assert _direction_problems({"thesislib.imaging.m": f}) == [
        "thesislib.imaging.m imports thesislib.evaluation, a later stage"]
    assert _direction_problems({"thesislib.studies.m": f}) == []


def _foreign_problems(files: dict[str, Path]) -> list[str]:
    """A module uses another stage only through ``from thesislib.<stage> import <public names>``
    or ``from thesislib import <stage>``."""
    problems = []
    for m, path in files.items():
        here = _stage(m)
        for base, names in _statements(path, m, call_time=True):
            if not base.startswith("thesislib"):
                continue
            if base == "thesislib":
                bad = [n for n in names if n not in STAGES and n != "__version__"]
                problems += [f"{m}: from thesislib import {n}" for n in bad]
                continue
            there = _stage(base)
            if there == here:
                continue
            if base != f"thesislib.{there}":
                problems.append(f"{m} imports {base}: use thesislib.{there}'s public names")
                continue
            public = importlib.import_module(base).__all__
            problems += [f"{m}: {n} is not public in {base}" for n in names if n not in public]
    return problems


def test_other_stages_are_used_through_their_public_names_only():
    problems = _foreign_problems(FILES)
    assert not problems, "\n".join(problems)


def test_public_name_check_catches_a_module_path_and_a_private_name(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from thesislib.imaging.mesh_render import render\nfrom thesislib.faces import as_image\n")
    assert _foreign_problems({"thesislib.datasets.m": f}) == [
        "thesislib.datasets.m imports thesislib.imaging.mesh_render: use thesislib.imaging's public names",
        "thesislib.datasets.m: as_image is not public in thesislib.faces"]


# DESIGN.md, "Public names": (module, dotted name in it)
PUBLIC_NAMES = [
    ("thesislib.facemodel", "load_bfm2017"),
    ("thesislib.facemodel", "default_model"),
    ("thesislib.facemodel", "MorphableModel.instance"),
    ("thesislib.facemodel", "Mesh.save"),
    ("thesislib.facemodel", "load_mesh"),
    ("thesislib.facemodel", "reference_population"),
    ("thesislib.samplers", "make_sampler"),
    ("thesislib.samplers", "SAMPLERS"),
    ("thesislib.imaging", "render"),
    ("thesislib.imaging", "SceneSampler"),
    ("thesislib.imaging", "load_backgrounds"),
    ("thesislib.imaging", "load_illumination_prior"),
    ("thesislib.faces", "detect"),
    ("thesislib.faces", "crop"),
    ("thesislib.faces", "embed"),
    ("thesislib.faces", "similarity"),
    ("thesislib.datasets", "generate"),
    ("thesislib.datasets", "load_dataset"),
    ("thesislib.datasets", "load_wiki"),
    ("thesislib.bprn", "BPRN"),
    ("thesislib.evaluation", "ks_summary"),
    ("thesislib.evaluation", "kmeans_distortion"),
    ("thesislib.evaluation", "distance_quartiles"),
    ("thesislib.evaluation", "corrected_score"),
    ("thesislib.evaluation", "vertex_error"),
    ("thesislib.suite", "main"),
]


@pytest.mark.parametrize("module, name", PUBLIC_NAMES, ids=[f"{m}.{n}" for m, n in PUBLIC_NAMES])
def test_public_name_imports_from_where_design_says(module, name):
    obj = importlib.import_module(module)
    assert name.split(".")[0] in obj.__all__
    for part in name.split("."):
        obj = getattr(obj, part)
    assert callable(obj) or isinstance(obj, dict)


def test_python_dash_m_runs_the_command():
    r = subprocess.run([sys.executable, "-m", "thesislib", "--help"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "run" in r.stdout and "check" in r.stdout, r.stderr
