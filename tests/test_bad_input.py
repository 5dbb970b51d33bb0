"""What a user can get wrong, and what they see: one test per row of README "What you can get wrong".

Every test goes through the public API (or the ``thesislib`` command) and checks the message a
user reads: it names the file, the key or field, and what is allowed. Killed runs (SIGKILL /
SIGINT of a real subprocess) must leave no half-written file under a final name, resume where
they stopped, and keep the outputs of earlier chapters.
"""
from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from thesislib.suite import cli
from thesislib.suite.params import ParamsError, load_params

ROOT = Path(__file__).resolve().parents[1]
from tests.bfm_fixture import write_bfm  # noqa: E402


def _params(tmp_path, text: str) -> Path:
    p = tmp_path / "my_params.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def _wait_for(predicate, proc, what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}: {out[-2000:]}")
        assert time.time() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.05)


def _default_sigint():
    # pytest-xdist workers ignore SIGINT, and an ignored signal stays ignored across exec:
    # the child must get Python's Ctrl-C handling back, as from a terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(args, **kw) -> subprocess.Popen:
    """A subprocess in its own process group, so the test can clean up what it started."""
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", PYTHONUNBUFFERED="1")
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=_default_sigint, **kw)


def _reap(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test created (kernels included)
    except ProcessLookupError:
        pass
    proc.wait()


def _final_files(folder: Path, pattern: str = "*") -> list[Path]:
    return [p for p in folder.rglob(pattern) if p.is_file()
            and not p.name.startswith(".") and not p.name.endswith(".tmp") and ".partial" not in p.name]


# ======================================================================= params file
def test_params_unknown_key(tmp_path, capsys):
    p = _params(tmp_path, "gan: {epochs: 3, epoch_count: 4}\n")
    with pytest.raises(ParamsError) as e:
        load_params(p)
    msg = str(e.value)
    assert str(p) in msg and "gan.epoch_count: unknown key" in msg and "allowed keys:" in msg and "epochs" in msg
    assert cli.main(["check", str(p)]) == 2
    assert "gan.epoch_count: unknown key" in capsys.readouterr().err


def test_params_wrong_type(tmp_path, capsys):
    p = _params(tmp_path, "gan: {epochs: many}\n")
    with pytest.raises(ParamsError, match=r"gan\.epochs: .*integer.*\(got 'many'\)"):
        load_params(p)
    assert cli.main(["run", "--params", str(p), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("thesislib: ") and "gan.epochs" in err
    assert not (tmp_path / "out").exists(), "nothing may run when the params are invalid"


def test_params_out_of_range(tmp_path):
    p = _params(tmp_path, "event_space: {slider_steps: 100}\npopulation: {holdout: 1.5}\n")
    with pytest.raises(ParamsError) as e:
        load_params(p)
    msg = str(e.value)  # every problem at once, each with the allowed range
    assert "event_space.slider_steps: Input should be less than or equal to 41 (got 100)" in msg
    assert "population.holdout: Input should be less than 1 (got 1.5)" in msg


def test_params_file_missing_or_not_yaml(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = _params(tmp_path, "gan: {epochs: [1,\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)


def test_params_unknown_sampler_and_bfm_without_path(tmp_path):
    with pytest.raises(ParamsError, match=r"unknown sampler 'naive_normal_7'; known: "):
        load_params(_params(tmp_path, "samplers: {names: [naive_normal_7]}\n"))
    with pytest.raises(ParamsError, match=r"model\.path: required when model\.kind is bfm2017"):
        load_params(_params(tmp_path, "model: {kind: bfm2017}\n"))


def test_params_missing_model_file(tmp_path, capsys):
    """The BFM file is checked when the params are: one message, exit 2, no kernel starts."""
    p = _params(tmp_path, f"model: {{kind: bfm2017, path: {tmp_path / 'model2017.h5'}}}\n")
    with pytest.raises(ParamsError) as e:
        load_params(p)
    msg = str(e.value)
    assert str(p) in msg and "model.path:" in msg and str(tmp_path / "model2017.h5") in msg
    assert "does not exist; set model.path to the Basel Face Model 2017 .h5" in msg
    assert "faces.dmi.unibas.ch" in msg
    assert cli.main(["check", str(p)]) == 2
    assert "model.path:" in capsys.readouterr().err
    out = tmp_path / "out"
    assert cli.main(["run", "--params", str(p), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("thesislib: ") == 1 and "model.path:" in err
    assert not out.exists(), "no chapter may start when a path is wrong"
    # an existing file that is not HDF5 (e.g. a saved download page)
    page = tmp_path / "model2017.h5"
    page.write_text("<html>download</html>")
    with pytest.raises(ParamsError, match=r"model\.path: .*model2017\.h5 is not an HDF5 file"):
        load_params(p)


def test_params_folder_where_a_file_belongs(tmp_path):
    folder = tmp_path / "wiki_crop"
    folder.mkdir()
    p = _params(tmp_path, f"data: {{wiki: {folder}, fitted_set: {folder}}}\n")
    with pytest.raises(ParamsError) as e:
        load_params(p)
    msg = str(e.value)  # every bad key at once
    assert f"data.wiki: {folder} is a folder, expected a file; set data.wiki to IMDB-WIKI's wiki.mat" in msg
    assert f"data.fitted_set: {folder} is a folder, expected a file" in msg
    mat = folder / "wiki.mat"
    mat.write_bytes(b"x")
    p = _params(tmp_path, f"data: {{backgrounds: {mat}}}\n")  # and a file where a folder belongs
    with pytest.raises(ParamsError, match=r"data\.backgrounds: .*wiki\.mat is a file, expected a folder"):
        load_params(p)


def test_params_missing_wiki_image_root(tmp_path, monkeypatch):
    root = tmp_path / "wiki_crop"
    root.mkdir()
    (root / "wiki.mat").write_bytes(b"x")
    p = _params(tmp_path, f"data: {{wiki: {root / 'wiki.mat'}, wiki_images: {tmp_path / 'wiki_images'}}}\n")
    with pytest.raises(ParamsError, match=r"data\.wiki_images: .*wiki_images does not exist; set data\.wiki_images "
                                          r"to the folder wiki\.mat's full_path entries are relative to"):
        load_params(p)
    # relative paths are taken from the current folder and come back absolute
    monkeypatch.chdir(tmp_path)
    ok = load_params(_params(tmp_path, "data: {wiki: wiki_crop/wiki.mat, wiki_images: wiki_crop}\n"))
    assert ok.data.wiki == str(root / "wiki.mat") and ok.data.wiki_images == str(root)


# ======================================================================= BFM 2017 file
def test_bfm_missing(tmp_path):
    from thesislib.facemodel import load_bfm2017

    with pytest.raises(FileNotFoundError, match=r"no such BFM 2017 file; set model.path .*faces.dmi.unibas.ch"):
        load_bfm2017(tmp_path / "model2017-1_face12_nomouth.h5")


def test_bfm_not_hdf5(tmp_path):
    from thesislib.facemodel import load_bfm2017

    p = tmp_path / "model.h5"
    p.write_bytes(b"<html>download page, not the model</html>")
    with pytest.raises(ValueError, match=r"model\.h5: not a readable HDF5 file"):
        load_bfm2017(p)


def test_bfm_truncated(tmp_path):
    from thesislib.facemodel import load_bfm2017

    good = write_bfm(tmp_path / "good.h5", n_vertices=400)
    data = good.read_bytes()
    for fraction in (0.3, 0.6, 0.9):
        cut = tmp_path / f"cut{int(fraction * 100)}.h5"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(ValueError) as e:
            load_bfm2017(cut)
        assert cut.name in str(e.value) and re.search(r"not a readable HDF5|unreadable|truncated|missing",
                                                      str(e.value)), str(e.value)


def test_bfm_wrong_layout(tmp_path):
    from thesislib.facemodel import load_bfm2017

    def drop_basis(f):
        del f["color/model/pcaBasis"]

    def short_mean(f):
        del f["shape/model/mean"]
        f["shape/model/mean"] = np.zeros(7, np.float32)

    with pytest.raises(ValueError, match=r"/color/model/pcaBasis: missing"):
        load_bfm2017(write_bfm(tmp_path / "a.h5", mutate=drop_basis))
    with pytest.raises(ValueError, match=r"/shape/model/mean: expected shape \(120,\), got \(7,\)"):
        load_bfm2017(write_bfm(tmp_path / "b.h5", mutate=short_mean))
    with pytest.raises(ValueError, match=r"asked for 50 components but the file has 6"):
        load_bfm2017(write_bfm(tmp_path / "c.h5"), n_shape=50)


# ======================================================================= image folders
def _png(path: Path, value: int = 128) -> None:
    from PIL import Image

    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def test_backgrounds_empty_or_missing(tmp_path):
    from thesislib.imaging import load_backgrounds

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no pictures here")
    with pytest.raises(ValueError, match=r"background folder .*empty has no image files"):
        load_backgrounds(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match=r"background folder .*nope does not exist"):
        load_backgrounds(tmp_path / "nope")


def test_backgrounds_corrupt_files_skipped_and_counted(tmp_path):
    from thesislib.imaging import load_backgrounds

    folder = tmp_path / "places"
    folder.mkdir()
    _png(folder / "a.png")
    _png(folder / "b.png", 30)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    good = (folder / "a.png").read_bytes()
    (folder / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable image file\(s\) in .*places: broken\.jpg, cut\.png"):
        images = load_backgrounds(folder)
    assert len(images) == 2 and all(im.dtype == np.uint8 and im.shape == (8, 8, 3) for im in images)
    for f in ("a.png", "b.png"):
        (folder / f).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="no readable images"):
            load_backgrounds(folder)


# ======================================================================= wiki.mat
def _write_wiki(path: Path, drop: str | None = None) -> Path:
    from scipy.io import savemat

    n = 3
    boxes = np.empty((1, n), dtype=object)
    for i in range(n):
        boxes[0, i] = np.array([[1.0, 1.0, 50.0, 50.0]])
    fields = dict(dob=np.array([[723671.0, 703186.0, 711677.0]]), photo_taken=np.array([[2009, 1964, 2008]]),
                  full_path=np.array([["17/10000217_1981-05-05_2009.jpg", "48/10000548_1925-04-04_1964.jpg",
                                       "12/100012_1948-07-03_2008.jpg"]], dtype=object),
                  gender=np.array([[1.0, 1.0, np.nan]]),
                  name=np.array([["A", "B", "C"]], dtype=object),
                  face_location=boxes,
                  face_score=np.array([[4.3, 2.6, -np.inf]]), second_face_score=np.array([[np.nan, 1.9, np.nan]]))
    if drop:
        fields.pop(drop)
    savemat(path, {"wiki": fields})
    return path


def test_wiki_missing_fields(tmp_path):
    from thesislib import datasets

    mat = _write_wiki(tmp_path / "wiki.mat", drop="gender")
    with pytest.raises(ValueError, match=r"wiki\.mat: struct 'wiki' has no field 'gender'"):
        datasets.load_wiki(mat)
    with pytest.raises(FileNotFoundError, match=r"does not exist; download wiki_crop\.tar"):
        datasets.load_wiki(tmp_path / "missing" / "wiki.mat")
    df = datasets.load_wiki(_write_wiki(tmp_path / "ok.mat"))  # the complete file reads, rows counted
    assert sum(df.attrs["skipped"].values()) + len(df) == df.attrs["n_total"] == 3


# ======================================================================= killed runs
DATASET_KILL = """
import sys, time
import thesislib.datasets.chunks as e
import thesislib.datasets.generation as d
real = e.save_png  # the worker (dataset_exec) writes the images
def slow(path, image):
    time.sleep(0.2)
    real(path, image)
e.save_png = slow
d.generate(sys.argv[1], sampler="naive_normal_1", n_faces=6, images_per_face=1, seed=3, chunk_size=2,
           crop="center", progress=False)
"""


def test_kill_during_dataset_generation(tmp_path):
    from thesislib.datasets import generate, load_dataset

    out = tmp_path / "ds"
    proc = _spawn([sys.executable, "-c", DATASET_KILL, str(out)])
    try:
        _wait_for(lambda: (out / "labels").is_dir() and any((out / "labels").glob("part-*.parquet")), proc,
                  "a finished chunk")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        _reap(proc)
    assert not (out / "card.json").exists(), "a killed generation must not look finished"
    with pytest.raises(FileNotFoundError, match="interrupted"):
        load_dataset(out)
    for png in _final_files(out / "images", "*.png"):  # every image under its final name is whole
        from PIL import Image

        with Image.open(png) as im:
            im.load()
    card = generate(out, sampler="naive_normal_1", n_faces=6, images_per_face=1, seed=3, chunk_size=2,
                    crop="center", progress=False)
    assert load_dataset(out) is not None and card is not None
    assert len(list((out / "images").glob("*.png"))) == 6
    assert not list(out.rglob("*.tmp")), "resume leaves no temporary files"


GMM_KILL = """
import sys, time
import numpy as np
import thesislib.samplers.gmm as g
import thesislib.samplers.selection as grid
real = grid._save_cell
def slow(*a, **k):
    real(*a, **k)
    time.sleep(1.0)
grid._save_cell = slow  # where fit_grid looks it up
X = np.random.default_rng(0).normal(size=(300, 3))
g.fit_grid(X, components=(1, 2, 3), covariance_types=("diag", "full"), seed=5, progress=False,
           cache_dir=sys.argv[1], n_jobs=1)
"""


def test_kill_during_gmm_fitting(tmp_path):
    from thesislib.samplers import fit_grid

    cache = tmp_path / "gmm"
    cache.mkdir()
    proc = _spawn([sys.executable, "-c", GMM_KILL, str(cache)])
    try:
        _wait_for(lambda: len(list(cache.glob("*.npz"))) >= 1, proc, "a cached GMM cell")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        _reap(proc)
    cached = list(cache.glob("*.npz"))
    assert 1 <= len(cached) < 6
    for f in cached:  # no half-written cell under its final name
        with np.load(f, allow_pickle=False) as z:
            assert "means_" in z.files
    X = np.random.default_rng(0).normal(size=(300, 3))
    kw = dict(components=(1, 2, 3), covariance_types=("diag", "full"), seed=5, progress=False, n_jobs=1)
    resumed = fit_grid(X, cache_dir=cache, **kw)
    assert resumed.table["cached"].sum() == len(cached)
    straight = fit_grid(X, **kw)
    cols = ["aic", "bic", "log_likelihood", "status"]
    assert resumed.table[cols].equals(straight.table[cols])


GAN_KILL = """
import sys, time
import numpy as np
import thesislib.samplers.gan.estimator as g
real = g.atomic_save
def slow(obj, path):
    real(obj, path)
    time.sleep(1.0)
g.atomic_save = slow  # the estimator's module-level name
rng = np.random.default_rng(0)
X, age, sex = rng.normal(size=(120, 4)), rng.uniform(18, 80, 120), rng.integers(0, 2, 120)
g.ConditionalGAN(variant="cvgan2", epochs=6, batch_size=40, hidden=(16, 16), progress=False, seed=0,
                 checkpoint_dir=sys.argv[1], checkpoint_every=1).fit(X, age, sex)
"""


def test_kill_during_gan_training(tmp_path):
    import torch

    from thesislib.samplers import ConditionalGAN, latest_checkpoint

    ck = tmp_path / "gan"
    proc = _spawn([sys.executable, "-c", GAN_KILL, str(ck)])
    try:
        _wait_for(lambda: latest_checkpoint(ck) is not None, proc, "a GAN checkpoint")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        _reap(proc)
    last = latest_checkpoint(ck)
    mid = ConditionalGAN.load(last)  # readable (weights_only) and whole
    assert 1 <= mid.epoch_ < 6
    rng = np.random.default_rng(0)
    X, age, sex = rng.normal(size=(120, 4)), rng.uniform(18, 80, 120), rng.integers(0, 2, 120)
    kw = dict(variant="cvgan2", epochs=6, batch_size=40, hidden=(16, 16), progress=False, seed=0)
    resumed = ConditionalGAN(**kw, checkpoint_dir=ck, resume=True).fit(X, age, sex)
    straight = ConditionalGAN(**kw).fit(X, age, sex)
    assert resumed.epoch_ == 6 and resumed.history_["epoch"] == list(range(1, 7))
    for a, b in zip(resumed.generator_.state_dict().values(), straight.generator_.state_dict().values()):
        assert torch.equal(a, b), "resumed GAN differs from an uninterrupted run"


BPRN_KILL = """
import sys, time
import numpy as np
import thesislib.bprn.estimator as b
real = b.atomic_torch_save
def slow(obj, path):
    real(obj, path)
    time.sleep(1.0)
b.atomic_torch_save = slow
rng = np.random.default_rng(0)
F, Y = rng.normal(size=(60, 8)).astype(np.float32), rng.normal(size=(60, 4))
b.BPRN(stem="dlib", n_params=4, hidden=(16,), epochs=6, batch_size=20, progress=False, seed=0,
       checkpoint_dir=sys.argv[1], checkpoint_every=1).fit(F, Y)
"""


def test_kill_during_bprn_training(tmp_path):
    bprn = pytest.importorskip("thesislib.bprn.estimator", reason="thesislib.bprn.estimator is not written yet")
    import torch

    ck = tmp_path / "bprn"
    proc = _spawn([sys.executable, "-c", BPRN_KILL, str(ck)])
    try:
        _wait_for(lambda: (ck / bprn.CHECKPOINT).exists(), proc, "a BPRN checkpoint")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        _reap(proc)
    state = torch.load(ck / bprn.CHECKPOINT, map_location="cpu", weights_only=True)
    assert 1 <= state["epoch"] < 6
    rng = np.random.default_rng(0)
    F, Y = rng.normal(size=(60, 8)).astype(np.float32), rng.normal(size=(60, 4))
    kw = dict(stem="dlib", n_params=4, hidden=(16,), epochs=6, batch_size=20, progress=False, seed=0)
    resumed = bprn.BPRN(**kw, checkpoint_dir=ck).fit(F, Y)
    straight = bprn.BPRN(**kw).fit(F, Y)
    assert list(resumed.history_["epoch"]) == list(straight.history_["epoch"])
    for a, b in zip(resumed.network_.state_dict().values(), straight.network_.state_dict().values()):
        assert torch.equal(a, b), "resumed BPRN differs from an uninterrupted run"
    assert not list(ck.glob("*.tmp"))


# ----------------------------------------------------------------------- the suite runner
ALL_PARAMS = ("profile: str = 'x'\nseed: int = 0\nout_dir: str = '.'\nmodel: dict = {}\n"
              "data: dict = {}\npopulation: dict = {}\n")


def _fake_suite(tmp_path, bodies: dict) -> tuple[Path, Path]:
    import nbformat

    from thesislib.suite.params import CHAPTERS, SECTIONS

    nbdir = tmp_path / "notebooks"
    nbdir.mkdir(exist_ok=True)
    for c in CHAPTERS:
        if c.number in bodies:
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            cell = nbformat.v4.new_code_cell(ALL_PARAMS + "".join(f"{k} = None\n" for k in SECTIONS[c.section].model_fields))
            cell.metadata["tags"] = ["parameters"]
            nb.cells = [cell, nbformat.v4.new_code_cell(bodies[c.number])]
            nbformat.write(nb, nbdir / f"{c.stem}.ipynb")
    return nbdir, ROOT / "params" / "smoke.yaml"


def _run_cmd(params, out, nbdir, only):
    return [sys.executable, "-m", "thesislib.suite.cli", "run", "--params", str(params), "--out", str(out),
            "--notebooks", str(nbdir), "--only", only, "--quiet"]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_kill_suite_mid_chapter_keeps_earlier_chapters(tmp_path, sig):
    nbdir, params = _fake_suite(tmp_path, {"01": "print('chapter one')",
                                           "02": "import time\nprint('working', flush=True)\ntime.sleep(120)"})
    out = tmp_path / "out"
    proc = _spawn(_run_cmd(params, out, nbdir, "01,02"))
    try:
        _wait_for(lambda: (out / ".02_samplers.partial.ipynb").exists(), proc, "chapter 02 to start", 180)
        time.sleep(2.0)  # inside the sleeping cell
        before = {p.name: p.read_bytes() for p in (out / "01_event_space.ipynb", out / "01_event_space.html")}
        proc.send_signal(sig)
        rc = proc.wait(60)
        text = proc.stdout.read()
    finally:
        _reap(proc)
    if sig == signal.SIGINT:
        assert rc == 130 and "interrupted; finished chapters are kept" in text, (rc, text[-2000:])
        assert not (out / ".02_samplers.partial.ipynb").exists(), "Ctrl-C must remove the partial notebook"
    else:
        assert rc == -signal.SIGKILL
    # nothing of chapter 02 under a final name; chapter 01 untouched and still listed as ok
    assert not (out / "02_samplers.ipynb").exists() and not (out / "02_samplers.html").exists()
    assert {n: (out / n).read_bytes() for n in before} == before
    state = json.loads((out / "suite.json").read_text())
    assert [(c["number"], c["status"]) for c in state["chapters"]] == [("01", "ok")]
    assert "01_event_space.html" in (out / "index.html").read_text()
    # a rerun of the killed chapter finishes it and leaves no partial file behind
    _fake_suite(tmp_path, {"02": "print('chapter two, quick this time')"})
    assert cli.main(["run", "--params", str(params), "--out", str(out), "--notebooks", str(nbdir),
                     "--only", "02", "--quiet"]) == 0
    assert (out / "02_samplers.html").exists() and not list(out.glob(".*partial*"))
    assert {n: (out / n).read_bytes() for n in before} == before
    state = json.loads((out / "suite.json").read_text())
    assert [(c["number"], c["status"]) for c in state["chapters"]] == [("01", "ok"), ("02", "ok")]


@pytest.mark.slow
def test_notebook_that_raises(tmp_path, capsys):
    nbdir, params = _fake_suite(tmp_path, {"01": "print('fine')",
                                           "02": "raise ValueError('the sampler exploded')",
                                           "05": "print('depends on 02')"})
    out = tmp_path / "out"
    code = cli.main(["run", "--params", str(params), "--out", str(out), "--notebooks", str(nbdir),
                     "--only", "01,02,05", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "02_samplers: failed (ValueError: the sampler exploded)" in printed
    assert "05_bprn: skipped (needs chapter 02, which did not succeed)" in printed
    index = (out / "index.html").read_text()
    assert "ValueError: the sampler exploded" in index and "failed" in index
    assert (out / "02_samplers.ipynb").exists(), "the failed notebook is kept with its traceback"
    assert (out / "01_event_space.html").exists()


# ======================================================================= untrusted files
def _unsafe_loads(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = ast.unparse(node.func)
        kw = {k.arg: k.value for k in node.keywords if k.arg}

        def true(key):
            return key in kw and isinstance(kw[key], ast.Constant) and kw[key].value is True

        if re.search(r"(^|\.)(pickle|cPickle|dill|cloudpickle|joblib)\.loads?$", name) or name.endswith("read_pickle"):
            found.append((node.lineno, f"{name}(...)"))
        elif name.endswith("torch.load") and not true("weights_only"):
            found.append((node.lineno, "torch.load without weights_only=True"))
        elif true("allow_pickle"):
            found.append((node.lineno, f"{name}(..., allow_pickle=True)"))
        elif name in ("np.load", "numpy.load") and "allow_pickle" in kw and not (
                isinstance(kw["allow_pickle"], ast.Constant) and kw["allow_pickle"].value is False):
            found.append((node.lineno, f"{name} with a non-constant allow_pickle"))
    return found


def test_no_pickle_on_user_files():
    """No unpickling anywhere in the package or the notebooks: a model, checkpoint or data file a
    user hands in could run code. torch files load with weights_only=True, numpy without pickle."""
    problems = []
    for path in sorted((ROOT / "thesislib").rglob("*.py")):
        for line, what in _unsafe_loads(ast.parse(path.read_text(), str(path))):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    import nbformat

    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            src = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(src)
            except SyntaxError:
                continue
            problems += [f"{nb_path.relative_to(ROOT)} cell {i}: {what}" for _, what in _unsafe_loads(tree)]
    assert not problems, "unsafe deserialisation:\n" + "\n".join(problems)


def test_unsafe_load_detector_catches_the_patterns():
    src = ("import pickle, torch, numpy as np\npickle.load(open(p, 'rb'))\ntorch.load(p)\n"
           "torch.load(p, weights_only=False)\nnp.load(p, allow_pickle=True)\n"
           "torch.load(p, map_location='cpu', weights_only=True)\nnp.load(p)\n")
    assert [line for line, _ in _unsafe_loads(ast.parse(src))] == [2, 3, 4, 5]
