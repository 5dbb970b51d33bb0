"""Tests of dataset generation (determinism, resume, parallel runs) and the IMDB-WIKI reader."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from thesislib.datasets import chunks as dataset_exec
from thesislib.datasets import generation as datasets
from thesislib.datasets.wiki import SKIP_REASONS
from thesislib.datasets.generation import ExpressionSettings
from thesislib.datasets import generate, load_dataset, load_wiki, dataset_gallery
from thesislib.samplers import make_sampler
from thesislib.facemodel import default_model

N_FACES, PER_FACE, SEED, CHUNK = 6, 2, 11, 4
BASE = dict(sampler="naive_normal_1", n_faces=N_FACES, images_per_face=PER_FACE, seed=SEED,
            chunk_size=CHUNK, crop="landmarks", progress=False)


def files(path) -> dict:
    """Relative path -> bytes of every file but the card (which holds times)."""
    path = Path(path)
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name != "card.json"}


def assert_same_dataset(a, b):
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    differing = [k for k in fa if fa[k] != fb[k]]
    assert not differing, f"files differ: {differing[:5]}"
    ca, cb = (json.loads((Path(p) / "card.json").read_text()) for p in (a, b))
    assert ca["settings"] == cb["settings"] and ca["counts"] == cb["counts"]


def no_leftovers(path):
    path = Path(path)
    assert not list(path.rglob("*.tmp"))
    assert not (path / "request.json").exists()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run, in this process."""
    out = tmp_path_factory.mktemp("reference")
    card = generate(out, **BASE)
    return out, card


def test_files_labels_and_card_are_complete_and_consistent(reference):
    out, card = reference
    n = N_FACES * PER_FACE
    pngs = sorted((out / "images").glob("*.png"))
    assert [p.stem for p in pngs] == [f"{i:07d}" for i in range(n)]
    ds = load_dataset(out)
    assert len(ds) == n and ds.card["counts"]["n_images"] == n == card.n_images
    imgs = ds.images()
    assert imgs.shape == (n, 224, 224, 3) and imgs.dtype == np.uint8
    assert imgs.std() > 10  # not blank
    lab = ds.labels
    assert lab["id"].tolist() == [p.stem for p in pngs]
    assert lab["index"].tolist() == list(range(n))
    assert lab["instance_id"].tolist() == [i // PER_FACE for i in range(n)]
    for col in ["yaw", "pitch", "roll", "background_id", "crop_method", "crop_x0", "crop_y1"]:
        assert col in lab
    assert len([c for c in lab if c.startswith("sh") and c[2].isdigit()]) == 27
    params = ds.parameters()
    assert params.shape == (n, 100)
    expected = make_sampler("naive_normal_1").sample(N_FACES, np.random.default_rng([SEED, 0]))
    np.testing.assert_array_equal(params, np.repeat(expected, PER_FACE, axis=0))
    # the two images of a face differ in scene, not in parameters
    assert lab["yaw"].nunique() > 1 or lab["sh0_r"].nunique() > 1
    assert card.counts["crop_methods"] == {"landmarks": n}
    assert sum(card.counts["backgrounds"].values()) == n
    assert card.settings["model"]["fingerprint"] and card.settings["sampler"]["name"] == "naive_normal_1"
    assert card.settings["seed"] == SEED and card.versions["numpy"]
    assert len(list((out / "labels").glob("part-*.parquet"))) == -(-n // CHUNK)
    no_leftovers(out)
    grid = dataset_gallery(ds, k=5, cols=3, pad=2)
    assert grid.shape == (2 * 224 + 3 * 2, 3 * 224 + 4 * 2, 3)
    np.testing.assert_array_equal(grid[2:226, 2:226], imgs[0])


def test_same_seed_same_bytes_other_seed_differs(reference, tmp_path):
    out, _ = reference
    generate(tmp_path / "again", **BASE)
    assert_same_dataset(out, tmp_path / "again")
    generate(tmp_path / "other", **{**BASE, "seed": SEED + 1})
    a, b = files(out), files(tmp_path / "other")
    assert a["images/0000000.png"] != b["images/0000000.png"]


def test_rerun_of_finished_dataset_returns_card_and_mismatch_raises(reference, tmp_path):
    out, card = reference
    before = files(out)
    again = generate(out, **BASE)
    assert again.created == card.created and files(out) == before
    with pytest.raises(ValueError, match="seed"):
        generate(out, **{**BASE, "seed": 99})
    with pytest.raises(ValueError, match="sampler"):
        generate(out, **{**BASE, "sampler": "naive_uniform_4"})
    copy = tmp_path / "copy"
    generate(copy, **BASE)
    card2 = generate(copy, **{**BASE, "seed": 99, "n_faces": 2}, overwrite=True)
    assert card2.seed == 99 and len(list((copy / "images").glob("*.png"))) == 2 * PER_FACE
    assert len(load_dataset(copy)) == 2 * PER_FACE


def test_workers_2_same_bytes(reference, tmp_path):
    generate(tmp_path / "w2", **BASE, workers=2)
    assert_same_dataset(reference[0], tmp_path / "w2")


def test_injected_failure_then_resume_same_bytes(reference, tmp_path, monkeypatch):
    real = dataset_exec._run_chunk  # run_chunks looks the chunk function up there
    calls = []

    def failing(chunk, ctx):
        if len(calls) == 1:
            raise RuntimeError("injected")
        calls.append(chunk.number)
        return real(chunk, ctx)

    monkeypatch.setattr(dataset_exec, "_run_chunk", failing)
    out = tmp_path / "partial"
    with pytest.raises(RuntimeError, match="injected"):
        generate(out, **BASE)
    assert not (out / "card.json").exists() and (out / "request.json").exists()
    with pytest.raises(FileNotFoundError, match="interrupted"):
        load_dataset(out)
    # a partial dataset also refuses other settings
    with pytest.raises(ValueError, match="partial"):
        generate(out, **{**BASE, "seed": 5})
    monkeypatch.setattr(dataset_exec, "_run_chunk", real)
    done = []
    monkeypatch.setattr(dataset_exec, "_run_chunk", lambda c, ctx: (done.append(c.number), real(c, ctx))[1])
    card = generate(out, **BASE)
    assert 0 not in done and len(done) == -(-N_FACES * PER_FACE // CHUNK) - 1
    assert card.run["images_rendered"] == N_FACES * PER_FACE - CHUNK and card.run["render_cpu_s"] > 0
    assert_same_dataset(reference[0], out)
    no_leftovers(out)


KILL_SCRIPT = """
import sys, time
from pathlib import Path
import thesislib.datasets.chunks as e
import thesislib.datasets.generation as d
real = e.save_png  # the worker writes images through dataset_exec's name
def slow(path, image):
    time.sleep(0.15)
    real(path, image)
e.save_png = slow
# a stale temporary file, as a kill during a write leaves one
Path(sys.argv[1], "images").mkdir(parents=True, exist_ok=True)
Path(sys.argv[1], "images", "0000005.png.123.tmp").write_bytes(b"half")
d.generate(sys.argv[1], **{kw})
"""


def kill_after_first_chunk(script: str, out) -> int:
    """Run ``script`` (a python -c program that generates into ``out``) and SIGKILL it as soon as
    its first labels part exists; returns the process's return code."""
    proc = subprocess.Popen([sys.executable, "-c", script, str(out)])
    part = out / "labels" / "part-00000.parquet"
    deadline = time.time() + 120
    try:
        while not part.exists():
            assert proc.poll() is None, "generation ended before the first chunk part appeared"
            assert time.time() < deadline, "no chunk part within 120 s"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    return proc.returncode


def test_sigkill_midway_then_resume_same_bytes(reference, tmp_path):
    out = tmp_path / "killed"
    assert kill_after_first_chunk(KILL_SCRIPT.replace("{kw}", repr(BASE)), out) == -signal.SIGKILL
    assert not (out / "card.json").exists() and not (out / "labels.parquet").exists()
    assert len(list((out / "images").glob("*.png"))) < N_FACES * PER_FACE
    generate(out, **BASE)
    assert_same_dataset(reference[0], out)
    no_leftovers(out)


def test_deleted_or_truncated_image_is_repaired_on_rerun(reference, tmp_path):
    out = tmp_path / "damaged"
    generate(out, **BASE)
    (out / "images" / "0000005.png").unlink()
    card = generate(out, **BASE)
    assert card.run["images_rendered"] == CHUNK
    assert_same_dataset(reference[0], out)
    png = out / "images" / "0000009.png"
    png.write_bytes(png.read_bytes()[:-20])
    card = generate(out, **BASE)
    assert card.run["images_rendered"] == CHUNK
    assert_same_dataset(reference[0], out)


def test_dask_local_cluster_same_bytes(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        generate(tmp_path / "dask", **BASE, scheduler=cluster.scheduler_address)
    assert_same_dataset(reference[0], tmp_path / "dask")


class LabelledSampler:
    """A sampler that reports age and sex like the conditional GAN does."""

    def get_params(self):
        return {"kind": "stub"}

    def sample_with_labels(self, n, rng):
        return rng.normal(size=(n, 20)), np.linspace(20, 70, n), (np.arange(n) % 2).astype(float)


class GMMLikeSampler:
    """A sampler that reports labels like a GMMSampler fitted with age and sex."""

    labels_ = ("age", "sex")

    def sample_labels(self, n, rng):
        return rng.normal(size=(n, 20)), {"age": np.full(n, 33.0), "sex": np.ones(n)}


def test_labels_from_gmm_like_sampler(tmp_path):
    generate(tmp_path / "g", GMMLikeSampler(), n_faces=2, images_per_face=1, seed=1,
             model=default_model().truncated(10, 10), crop="landmarks", progress=True)
    lab = load_dataset(tmp_path / "g").labels
    assert lab["age"].tolist() == [33.0, 33.0] and lab["sex"].tolist() == [1.0, 1.0]


def test_labels_from_sampler_expression_and_center_crop(tmp_path):
    card = generate(tmp_path / "x", LabelledSampler(), n_faces=3, images_per_face=1, seed=1,
                    model=default_model().truncated(10, 10), expression=ExpressionSettings(n_expression=5), crop=False, progress=False)
    lab = load_dataset(tmp_path / "x").labels
    np.testing.assert_allclose(lab["age"], [20, 45, 70])
    assert lab["sex"].tolist() == [0, 1, 0]
    assert [c for c in lab if c.startswith("expression_")] == [f"expression_{i:03d}" for i in range(5)]
    assert len([c for c in lab if c.startswith(("shape_", "color_"))]) == 20
    assert card.counts["crop_methods"] == {"center": 3}
    assert card.settings["sampler"]["name"] == "LabelledSampler"
    assert card.settings["expression"]["n_expression"] == 5


def test_bad_sampler_dimension_and_unfitted_sampler(tmp_path):
    with pytest.raises(ValueError, match="n_shape \\+ n_color"):
        generate(tmp_path / "a", make_sampler("naive_normal_1", n_params=7), n_faces=2, images_per_face=1,
                 seed=0, progress=False, crop=False)
    with pytest.raises(ValueError, match="fit"):
        generate(tmp_path / "b", "fitted_normal", n_faces=2, images_per_face=1, seed=0, progress=False)


def test_defaults_landmark_crop_and_background_bank_recorded_in_card(tmp_path):
    card = generate(tmp_path / "defaults", "naive_normal_1", n_faces=3, images_per_face=1, seed=4,
                    progress=False)
    assert card.settings["crop"] == "landmarks" and card.counts["crop_methods"] == {"landmarks": 3}
    scene = card.settings["scene"]
    assert scene["background"] == "bank" and {"bank_images", "bank_side", "bank_seed"} <= set(scene)
    assert card.counts["backgrounds"] == {"bank": 3}
    assert card.settings["png_filter"] == datasets.PNG_FILTER and "png_level" not in card.settings
    assert "dlib-bin" not in card.versions
    lab = load_dataset(tmp_path / "defaults").labels
    assert lab["background_id"].str.match(r"^bank:\d+(:flip)?$").all()


def test_detector_crop_records_method(tmp_path):
    pytest.importorskip("dlib")
    card = generate(tmp_path / "d", "naive_normal_1", n_faces=2, images_per_face=1, seed=2,
                    crop=True, progress=False)
    methods = card.counts["crop_methods"]
    assert sum(methods.values()) == 2 and set(methods) <= {"detector", "landmarks", "center"}
    assert "dlib-bin" in card.versions


# ----------------------------------------------------------------- IMDB-WIKI
def _serial(y, m, d):
    """Matlab serial day number of a date (inverse of date.fromordinal(n - 366))."""
    import datetime

    return float(datetime.date(y, m, d).toordinal() + 366)


def write_wiki(path, rows, drop=None):
    """Write a wiki.mat with IMDB-WIKI's struct layout; rows are dicts of one entry each."""
    from scipy.io import savemat

    def cell(values):
        out = np.empty((1, len(values)), dtype=object)
        for i, v in enumerate(values):
            out[0, i] = v
        return out

    struct = {
        "dob": np.array([[r["dob"] for r in rows]], float),
        "photo_taken": np.array([[r["taken"] for r in rows]], float),
        "full_path": cell([r["path"] for r in rows]),
        "gender": np.array([[r["gender"] for r in rows]], float),
        "name": cell([r.get("name", "A Person") for r in rows]),
        "face_location": cell([np.array([r.get("box", [10.0, 20.0, 110.0, 120.0])]) for r in rows]),
        "face_score": np.array([[r["score"] for r in rows]], float),
        "second_face_score": np.array([[r.get("second", np.nan) for r in rows]], float),
    }
    if drop:
        struct.pop(drop)
    savemat(str(path), {"wiki": struct})


GOOD = dict(dob=_serial(1981, 5, 5), taken=2009, path="17/1_1981-05-05_2009.jpg", gender=1, score=3.2)
WIKI_ROWS = [
    GOOD,
    dict(GOOD, path="02/2_1950-12-24_2000.jpg", dob=_serial(1950, 12, 24), taken=2000, gender=0,
         name="B", box=[1.5, 2.5, 50.0, 60.0]),
    dict(GOOD, path="03/no_face.jpg", score=-np.inf),
    dict(GOOD, path="04/low.jpg", score=0.5),
    dict(GOOD, path="05/second.jpg", second=1.7),
    dict(GOOD, path="06/unknown.jpg", gender=np.nan),
    dict(GOOD, path="07/baddob.jpg", dob=np.nan),
    dict(GOOD, path="08/child.jpg", dob=_serial(2000, 1, 1), taken=2010),
    dict(GOOD, path="09/old.jpg", dob=_serial(1900, 1, 1), taken=2010),
]


def test_load_wiki_filters_and_counts(tmp_path):
    mat = tmp_path / "wiki.mat"
    write_wiki(mat, WIKI_ROWS)
    df = load_wiki(mat, check_files=False)  # labels only: no images here
    assert df["path"].tolist() == ["17/1_1981-05-05_2009.jpg", "02/2_1950-12-24_2000.jpg"]
    # born 1981-05-05, photo 2009 -> 28 on 1 July 2009; born 1950-12-24 -> 49 on 1 July 2000
    assert df["age"].tolist() == [28, 49]
    assert df["sex"].tolist() == [1, 0]
    np.testing.assert_allclose(df.loc[1, ["face_x0", "face_y0", "face_x1", "face_y1"]].to_numpy(float),
                               [1.5, 2.5, 50.0, 60.0])
    assert df["face_score"].tolist() == [3.2, 3.2] and df["second_face_score"].isna().all()
    assert df.loc[1, "name"] == "B"
    assert df.attrs["skipped"] == {"no_face": 1, "low_face_score": 1, "second_face": 1, "unknown_gender": 1,
                                   "invalid_dob": 1, "implausible_age": 2, "missing_file": 0}
    assert df.attrs["n_total"] == len(WIKI_ROWS)
    assert set(df.attrs["skipped"]) == set(SKIP_REASONS)
    # a lower threshold keeps the low-score face
    assert len(load_wiki(mat, min_face_score=0.0, check_files=False)) == 3


def test_load_wiki_missing_files_with_root(tmp_path):
    mat = tmp_path / "wiki.mat"
    write_wiki(mat, WIKI_ROWS[:2])
    (tmp_path / "17").mkdir()
    (tmp_path / "17" / "1_1981-05-05_2009.jpg").write_bytes(b"jpg")
    df = load_wiki(mat, root=tmp_path)
    assert df["path"].tolist() == [str(tmp_path / "17" / "1_1981-05-05_2009.jpg")]
    assert df.attrs["skipped"]["missing_file"] == 1


@pytest.mark.parametrize("missing", ["dob", "photo_taken", "full_path", "gender", "face_location",
                                     "face_score", "second_face_score"])
def test_load_wiki_missing_field_names_field_and_file(tmp_path, missing):
    mat = tmp_path / "wiki.mat"
    write_wiki(mat, WIKI_ROWS[:2], drop=missing)
    with pytest.raises(ValueError, match=f"'{missing}'") as e:
        load_wiki(mat)
    assert str(mat) in str(e.value)


def test_load_wiki_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_wiki(tmp_path / "nope.mat")
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="bad.mat"):
        load_wiki(bad)
    from scipy.io import savemat

    other = tmp_path / "other.mat"
    savemat(str(other), {"x": np.ones(3)})
    with pytest.raises(ValueError, match="struct"):
        load_wiki(other)


def test_coarse_mesh_is_a_dataset_setting(tmp_path, face_model):
    from dataclasses import replace

    card = generate(tmp_path / "coarse", **BASE, mesh="coarse")
    full = generate(tmp_path / "full", **BASE)
    assert card.settings["mesh"] == "coarse" and "mesh" not in full.settings  # older cards stay equal
    a, b = load_dataset(card.path), load_dataset(full.path)
    same = [c for c in a.labels.columns if not c.startswith("crop_")]  # faces and scenes; crop boxes may move
    assert a.labels[same].equals(b.labels[same])
    ia, ib = a.images(), b.images()
    assert ia.shape == ib.shape and not np.array_equal(ia, ib)
    assert np.abs(ia.astype(int) - ib.astype(int)).mean() < 3.0  # the same faces, a little coarser
    assert generate(tmp_path / "coarse", **BASE, mesh="coarse").run == card.run  # finished: not rendered again
    generate(tmp_path / "coarse2", **BASE, mesh="coarse", workers=2)  # each worker makes its coarse model
    assert_same_dataset(card.path, tmp_path / "coarse2")
    with pytest.raises(ValueError, match="differ in: mesh"):
        generate(tmp_path / "coarse", **BASE)
    with pytest.raises(ValueError, match="mesh must be one of"):
        generate(tmp_path / "x", **BASE, mesh="fine")
    model = face_model.truncated(50, 50, 0)
    off_grid = replace(model, shape=replace(model.shape, mean=model.shape.mean + np.float32(0.01) * np.arange(
        model.shape.mean.size, dtype=np.float32) % np.float32(0.3)))
    with pytest.raises(ValueError, match="regular grid"):
        generate(tmp_path / "y", **BASE, model=off_grid, mesh="coarse")
