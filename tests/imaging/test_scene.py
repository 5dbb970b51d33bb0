"""Tests of scenes, scene distributions and the background/illumination readers."""
import json
import warnings

import numpy as np
import pytest

from thesislib.imaging.scene import DEFAULT_SH, sh_energy, sh_from_irradiance, sh_shading, write_rps
from thesislib.imaging import (
    IMAGE_SIZE, Scene, SceneSampler, default_scene, load_backgrounds, load_illumination_prior,
    rotation_matrix)
from thesislib.imaging.backgrounds import procedural_background, random_crop


def test_default_scene_is_frontal_and_lit_from_front():
    s = default_scene()
    assert (s.yaw, s.pitch, s.roll) == (0.0, 0.0, 0.0)
    assert s.sh.shape == (9, 3) and s.sh.dtype == np.float32 and s.background is None
    shade = sh_shading(np.array([[0, 0, 1.0], [1.0, 0, 0], [0, -1.0, 0]]), s.sh)
    assert 0.9 < shade[0, 0] <= 1.0  # frontal: close to the albedo
    assert 0.4 < shade[2, 0] < shade[1, 0] < shade[0, 0]  # relief shows
    assert np.allclose(s.rotation, np.eye(3))


def test_scene_validation():
    with pytest.raises(ValueError):
        Scene(sh=np.zeros((3, 9)))
    with pytest.raises(ValueError):
        Scene(background=np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        Scene(distance=-1)
    labels = Scene(yaw=3).labels()
    assert labels["yaw"] == 3 and "sh8_b" in labels


def test_rotation_convention():
    nose = np.array([0, 0, 1.0])
    assert rotation_matrix(90, 0, 0) @ nose == pytest.approx([1, 0, 0], abs=1e-12)
    assert rotation_matrix(0, 90, 0) @ nose == pytest.approx([0, -1, 0], abs=1e-12)
    assert rotation_matrix(0, 0, 90) @ [1, 0, 0] == pytest.approx([0, 1, 0], abs=1e-12)
    r = rotation_matrix(13, -20, 7)
    assert np.allclose(r @ r.T, np.eye(3))


def test_sh_from_irradiance():
    sh = sh_from_irradiance([0.5, 0.6, 0.7], direction=(1, 0, 0), strength=0.2)
    shade = sh_shading(np.array([[1.0, 0, 0], [0, 0, 1.0]]), sh)
    assert shade[0] == pytest.approx([0.7, 0.8, 0.9], abs=1e-6)
    assert shade[1] == pytest.approx([0.5, 0.6, 0.7], abs=1e-6)


def test_sampler_pose_mixture():
    rng = np.random.default_rng(0)
    scenes = SceneSampler(background="grey").sample_many(3000, rng)
    yaw = np.array([s.yaw for s in scenes])
    pitch = np.array([s.pitch for s in scenes])
    assert np.all(np.abs(yaw) <= 90) and np.all(np.abs(pitch) <= 30)
    assert abs(np.mean(yaw == 0) - 0.2) < 0.03
    assert abs(np.mean(np.abs(yaw) < 6) - (0.4 + 0.6 * 6 / 90)) < 0.04
    assert abs(np.mean(np.abs(yaw) > 45) - 0.3) < 0.04
    narrow = SceneSampler(max_yaw=20, yaw_weights=(1, 0, 0), background="grey")
    yaw = np.array([s.yaw for s in narrow.sample_many(500, rng)])
    assert np.all(np.abs(yaw) <= 20) and yaw.std() > 8
    with pytest.raises(ValueError):
        SceneSampler(yaw_weights=(1, 0))


def test_sampler_is_seeded():
    a = SceneSampler().sample_many(5, np.random.default_rng(3))
    b = SceneSampler().sample_many(5, np.random.default_rng(3))
    for x, y in zip(a, b):
        assert x.yaw == y.yaw and np.array_equal(x.sh, y.sh)
        assert np.array_equal(x.background, y.background) and x.background_id == y.background_id
        assert x.background.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and x.background.dtype == np.uint8


def test_builtin_light_prior():
    rng = np.random.default_rng(1)
    shs = np.array([s.sh for s in SceneSampler(background="grey").sample_many(300, rng)])
    energies = np.array([sh_energy(s) for s in shs])
    assert np.allclose(energies, sh_energy(DEFAULT_SH), rtol=1e-4)
    assert np.allclose(shs.mean(0), DEFAULT_SH, atol=0.08)
    assert shs[:, 1:4].std(0).min() > 0.05  # directions vary
    # lights stay bright enough on a frontal surface
    front = np.array([sh_shading(np.array([[0, 0, 1.0]]), s)[0] for s in shs])
    assert np.mean(front > 0.5) > 0.95


def test_illumination_from_prior(tmp_path):
    rng = np.random.default_rng(2)
    prior = rng.normal(0, 0.3, (20, 9, 3)).astype(np.float32)
    prior[:, 0] += 1.5
    emp = SceneSampler(illumination="empirical", illumination_prior=prior, background="grey")
    for s in emp.sample_many(10, rng):
        assert any(np.array_equal(s.sh, p) for p in prior)
    gauss = SceneSampler(illumination="gaussian", illumination_prior=prior, colorless=True,
                         energy=6.33, background="grey")
    for s in gauss.sample_many(10, rng):
        assert sh_energy(s.sh) == pytest.approx(6.33, rel=1e-4)
        assert np.allclose(s.sh[:, 0], s.sh[:, 1]) and np.allclose(s.sh[:, 1], s.sh[:, 2])
    with pytest.raises(ValueError, match="load_illumination_prior"):
        SceneSampler(illumination="empirical")


def test_backgrounds(tmp_path):
    rng = np.random.default_rng(4)
    kinds = set()
    for kind in ("gradient", "blobs", "stripes"):
        img, k = procedural_background(rng, kind=kind)
        assert img.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and img.dtype == np.uint8
        assert img.std() > 1
        kinds.add(k)
    assert kinds == {"gradient", "blobs", "stripes"}
    photo = rng.integers(0, 256, (300, 500, 3), dtype=np.uint8)
    crop = random_crop(photo, rng)
    assert crop.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and crop.dtype == np.uint8
    s = SceneSampler(background="images", background_images=[photo]).sample(rng)
    assert s.background_id in ("image:0", "image:0:flip")
    assert s.background.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    with pytest.raises(ValueError, match="load_backgrounds"):
        SceneSampler(background="images")


def test_load_backgrounds(tmp_path):
    from PIL import Image
    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.full((30, 30), 90, np.uint8)).save(tmp_path / "b.jpg")  # greyscale
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match=r"skipped 1 .*broken\.jpg"):
        images = load_backgrounds(tmp_path)
    assert [im.shape for im in images] == [(40, 60, 3), (30, 30, 3)]
    assert all(im.dtype == np.uint8 for im in images)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(load_backgrounds(tmp_path, max_images=1)) == 1
    with pytest.raises(FileNotFoundError, match="put background"):
        load_backgrounds(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="put background"):
        load_backgrounds(tmp_path / "empty")


def test_load_illumination_prior_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    lights = rng.normal(0, 1, (3, 9, 3)).astype(np.float32)
    folder = tmp_path / "parameters"
    folder.mkdir()
    for i, sh in enumerate(lights):
        write_rps(folder / f"face_{i}.rps", sh)
    assert np.allclose(load_illumination_prior(tmp_path), lights)  # finds parameters/
    assert np.allclose(load_illumination_prior(folder), lights)
    (folder / "face_9.rps").write_text(json.dumps({"environmentMap": {"coeffs": []}}))
    with pytest.raises(ValueError, match=r"face_9\.rps.*environmentMap\.coefficients"):
        load_illumination_prior(folder)
    (folder / "face_9.rps").write_text(json.dumps({"environmentMap": {"coefficients": [[1, 2]]}}))
    with pytest.raises(ValueError, match=r"face_9\.rps"):
        load_illumination_prior(folder)
    (folder / "face_9.rps").write_text("{broken")
    with pytest.raises(ValueError, match=r"face_9\.rps"):
        load_illumination_prior(folder)
    with pytest.raises(FileNotFoundError):
        load_illumination_prior(tmp_path / "nope")
    (tmp_path / "none").mkdir()
    with pytest.raises(ValueError, match=r"\.rps"):
        load_illumination_prior(tmp_path / "none")
