"""The suite's table of chapter output files: notebooks write and read through it, readers too."""
import ast
import json
import re
from pathlib import Path

import pytest

from thesislib.suite import OUTPUTS, output_name, output_names, output_path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: a chapter file name such as "03_ks.csv", "04_{variant}.pt" or "05_bprn" (a folder)
FILE_NAME = re.compile(r"\b0[1-6]_[\w{}]+(\.(csv|json|parquet|pt|png|html|ply))?\b")
CALL = re.compile(r"""output_(?:path|name)\((?:out, )?["'](\d\d)["'], ["'](\w+)["']""")


def _code(nb_path) -> str:
    nb = json.loads(nb_path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def _string_literals(py_path) -> list[str]:
    """String constants of a module's code, docstrings left out."""
    tree = ast.parse(py_path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_table_names_are_unique_relative_paths():
    names = [(c, k, v) for c, entries in OUTPUTS.items() for k, v in entries.items()]
    assert len({v for _, _, v in names}) == len(names)
    for chapter, key, name in names:
        assert not Path(name).is_absolute() and ".." not in Path(name).parts, name
        assert chapter in name or key in ("dataset", "dataset_card", "mean_face_png", "models") or chapter == "run", name


def test_names_fill_in_fields_and_unknown_keys_fail(tmp_path):
    assert output_name("03", "ks") == "data/03_ks.csv"
    assert output_path(tmp_path, "04", "gan", variant="cvgan1") == tmp_path / "models" / "04_cvgan1.pt"
    assert output_names("05")["comparisons"] == "data/05_comparisons.csv"
    with pytest.raises(KeyError, match="known"):
        output_name("03", "nope")
    with pytest.raises(KeyError):
        output_name("04", "gan")  # the variant is missing


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_name_their_files_through_the_table(nb_path):
    code = _code(nb_path)
    literals = [m.group(0) for m in FILE_NAME.finditer(code)]
    assert not literals, f"{nb_path.name} spells chapter file names itself: {literals}"
    for chapter, key in CALL.findall(code):
        assert key in OUTPUTS[chapter], f"{nb_path.name}: no output {key!r} in chapter {chapter}"


def test_chapters_03_to_05_write_and_read_what_the_table_names():
    used = {(c, k) for nb in NOTEBOOKS for c, k in CALL.findall(_code(nb))}
    for chapter in ("03", "04", "05"):
        data = {k for k, v in OUTPUTS[chapter].items() if v.startswith("data/0")}
        assert data <= {k for c, k in used if c == chapter}, (chapter, data)
    assert {("03", "grid"), ("03", "ks"), ("04", "gan")} <= used  # read by the chapters after them


@pytest.mark.parametrize("module", ["report/headlines.py", "studies/bprn.py", "studies/gan.py", "studies/gmm.py",
                                    "studies/_bprn_results.py"])
def test_readers_spell_no_chapter_file_names(module):
    literals = [s for s in _string_literals(ROOT / "thesislib" / module) if FILE_NAME.search(s)]
    assert not literals, f"{module} spells chapter file names itself: {literals}"


def test_runner_gives_the_headlines_the_table():
    src = (ROOT / "thesislib" / "suite" / "runner.py").read_text()
    assert "files=output_names(chapter.number)" in src


def test_no_notebook_prints_an_absolute_output_path():
    for nb_path in NOTEBOOKS:
        for line in _code(nb_path).splitlines():
            if "print(" in line:
                assert not re.search(r"\{out\b|\{out_dir\b|\{mesh_dir\b|\{views_dir\b", line), (nb_path.name, line)
