"""thesislib.datasets.wiki.load_wiki: by default the images are looked up beside wiki.mat."""
import numpy as np

from thesislib.datasets import load_wiki
from tests.datasets.test_generation import WIKI_ROWS, write_wiki


def test_default_root_is_the_folder_of_the_mat_file(tmp_path):
    mat = tmp_path / "wiki_crop" / "wiki.mat"
    mat.parent.mkdir()
    write_wiki(mat, WIKI_ROWS[:2])
    (mat.parent / "17").mkdir()
    (mat.parent / "17" / "1_1981-05-05_2009.jpg").write_bytes(b"jpg")  # 02/... is missing
    df = load_wiki(mat)
    assert df["path"].tolist() == [str(mat.parent / "17" / "1_1981-05-05_2009.jpg")]
    assert df.attrs["skipped"]["missing_file"] == 1 and df.attrs["n_total"] == 2
    # an explicit root still wins: nothing is found under an empty folder
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert len(load_wiki(mat, root=other)) == 0
    assert load_wiki(mat, root=other).attrs["skipped"]["missing_file"] == 2
    # labels only: relative paths, no row dropped for its image
    labels = load_wiki(mat, check_files=False)
    assert labels["path"].tolist() == ["17/1_1981-05-05_2009.jpg", "02/2_1950-12-24_2000.jpg"]
    assert labels.attrs["skipped"]["missing_file"] == 0
    assert np.array_equal(labels["age"].to_numpy(), [28, 49])


def test_relative_mat_path(tmp_path, monkeypatch):
    (tmp_path / "17").mkdir()
    (tmp_path / "17" / "1_1981-05-05_2009.jpg").write_bytes(b"jpg")
    write_wiki(tmp_path / "wiki.mat", WIKI_ROWS[:1])
    monkeypatch.chdir(tmp_path)
    df = load_wiki("wiki.mat")
    assert df["path"].tolist() == [str(tmp_path / "17" / "1_1981-05-05_2009.jpg")]
