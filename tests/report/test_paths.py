import os

import nbformat

from thesislib.report import relative_paths, shown_path


def test_shown_path_is_relative_to_the_output_folder(tmp_path, monkeypatch):
    out = tmp_path / "outputs" / "smoke"
    assert shown_path(out / "data" / "05_ensemble.parquet", out) == "data/05_ensemble.parquet"
    assert shown_path(str(out / "meshes" / "01_event_space"), str(out)) == "meshes/01_event_space"
    assert shown_path(out, out) == "."
    monkeypatch.chdir(tmp_path)
    assert shown_path("outputs/smoke/data/x.csv", out) == "data/x.csv"  # relative in, relative out
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert shown_path(tmp_path / "home" / "bfm" / "model.h5", out) == "~/bfm/model.h5"
    assert shown_path("/opt/elsewhere.h5", out) == "/opt/elsewhere.h5"


def test_relative_paths_rewrites_what_a_page_shows(tmp_path, monkeypatch):
    out = tmp_path / "run"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f'out_dir = "{out}"\nother = "{out}2/x"'),
        nbformat.v4.new_markdown_cell(f"see {out}/index.html"),
        nbformat.v4.new_code_cell("print()", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text=f"4 faces -> {out}/data/05_ensemble.parquet\n"),
            nbformat.v4.new_output("display_data", data={
                "text/plain": f"PosixPath('{out}/meshes')", "text/html": f"<b>{tmp_path}/home/w.pt</b>",
                "image/png": f"{out}/not-text"}),
            nbformat.v4.new_output("error", ename="OSError", evalue=f"{out}/data/x: gone",
                                   traceback=[f"File {out}/x.py"])]),
    ]
    assert relative_paths(nb, out) == 7
    code, md, printed = nb.cells
    assert code.source == f'out_dir = "."\nother = "{out}2/x"'  # a longer name is another folder
    assert md.source == "see index.html"
    stream, shown, error = printed.outputs
    assert stream.text == "4 faces -> data/05_ensemble.parquet\n"
    assert shown.data["text/plain"] == "PosixPath('meshes')" and shown.data["text/html"] == "<b>~/w.pt</b>"
    assert shown.data["image/png"] == f"{out}/not-text"  # binary data untouched
    assert error.evalue == "data/x: gone" and error.traceback == ["File x.py"]
    assert relative_paths(nb, out) == 0


def test_relative_paths_knows_the_folder_through_a_symlink(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"a = '{real}/data/a.csv'\nb = '{tmp_path}/link/data/b.csv'")]
    relative_paths(nb, tmp_path / "link")
    assert nb.cells[0].source == "a = 'data/a.csv'\nb = 'data/b.csv'"
