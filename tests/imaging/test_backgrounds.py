"""Tests of the background bank, random crops and flips."""
import numpy as np
import pytest
from PIL import Image

from thesislib.imaging import backgrounds
from thesislib.imaging import IMAGE_SIZE
from thesislib.imaging.backgrounds import (
    BackgroundBank, background_bank, procedural_background, random_crop, random_crop_flip)
from thesislib.imaging import SceneSampler


def fresh_bank(*args):
    """A bank built now, not the process cache."""
    return background_bank.__wrapped__(*args)


def test_bank_is_deterministic_read_only_and_prefix_stable():
    a, b = fresh_bank(6, 64, 3), fresh_bank(6, 64, 3)
    assert isinstance(a, BackgroundBank) and len(a) == 6
    assert a.images.shape == (6, 64, 64, 3) and a.images.dtype == np.uint8
    assert not a.images.flags.writeable
    np.testing.assert_array_equal(a.images, b.images)
    assert a.kinds == b.kinds and set(a.kinds) <= {"gradient", "blobs", "stripes"}
    # image i comes from default_rng([seed, i]): a smaller bank is a prefix, another seed differs
    np.testing.assert_array_equal(fresh_bank(2, 64, 3).images, a.images[:2])
    img, kind = procedural_background(np.random.default_rng([3, 4]), 64)
    np.testing.assert_array_equal(a.images[4], img)
    assert kind == a.kinds[4]
    assert not np.array_equal(fresh_bank(6, 64, 4).images, a.images)
    # the cached bank is built once per process
    assert background_bank(6, 64, 3) is background_bank(6, 64, 3)
    with pytest.raises(ValueError, match="n >= 1"):
        fresh_bank(0, 64, 3)


def test_bank_draws_are_deterministic_varied_and_flipped():
    bank = fresh_bank(8, 96, 1)
    draws = [bank.sample(np.random.default_rng([5, i])) for i in range(200)]
    again = [bank.sample(np.random.default_rng([5, i])) for i in range(200)]
    for (x, xid), (y, yid) in zip(draws, again):
        assert xid == yid and np.array_equal(x, y)
        assert x.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and x.dtype == np.uint8
    ids = [i for _, i in draws]
    assert all(i.startswith("bank:") for i in ids)
    flipped = sum(i.endswith(":flip") for i in ids)
    assert 60 < flipped < 140  # about half
    assert len({i.split(":")[1] for i in ids}) == 8  # every bank image used
    # crops of the same bank image differ in position/scale
    same = [x for x, i in draws if i.split(":")[1] == "0"]
    assert len(same) >= 5 and len({x.tobytes() for x in same}) == len(same)
    # background ids and images stay apart between draws of one rng
    rng = np.random.default_rng(9)
    assert not np.array_equal(bank.sample(rng)[0], bank.sample(rng)[0])


def test_random_crop_flip_is_a_mirrored_random_crop():
    photo = np.random.default_rng(2).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    for seed in range(20):
        img, flipped = random_crop_flip(photo, np.random.default_rng(seed))
        plain = random_crop(photo, np.random.default_rng(seed))  # same box draws, no flip draw
        np.testing.assert_array_equal(img, plain[:, ::-1] if flipped else plain)


def test_random_crop_keeps_pil_bytes():
    """random_crop resamples in numba now; the bytes are PIL's crop + bilinear resize, as before."""
    photo = np.random.default_rng(3).integers(0, 256, (300, 500, 3), dtype=np.uint8)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        side = max(1, int(round(300 * rng.uniform(0.5, 1.0))))
        y0, x0 = int(rng.integers(0, 300 - side + 1)), int(rng.integers(0, 500 - side + 1))
        old = np.asarray(Image.fromarray(np.ascontiguousarray(photo[y0:y0 + side, x0:x0 + side]))
                         .resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
        np.testing.assert_array_equal(random_crop(photo, np.random.default_rng(seed)), old)


def test_scene_sampler_background_kinds():
    assert SceneSampler().background == "bank"
    s = SceneSampler(bank_images=4, bank_side=64, bank_seed=2).sample(np.random.default_rng(0))
    assert s.background_id.startswith("bank:") and s.background.shape == (IMAGE_SIZE, IMAGE_SIZE, 3)
    p = SceneSampler(background="procedural").sample(np.random.default_rng(0))
    assert p.background_id.startswith("procedural:")
    photo = np.random.default_rng(1).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    sampler = SceneSampler(background="images", background_images=[photo, photo[:, ::-1].copy()])
    ids = [sampler.sample(np.random.default_rng(i)).background_id for i in range(60)]
    assert {i.split(":")[0] for i in ids} == {"image"} and any(i.endswith(":flip") for i in ids)
    assert any(not i.endswith(":flip") for i in ids)
    with pytest.raises(ValueError, match="bank_images"):
        SceneSampler(bank_images=0)
    with pytest.raises(ValueError, match="unknown background"):
        SceneSampler(background="bank-of-england")


def test_package_backgrounds_are_installed_rgb_photos():
    from thesislib.imaging import PACKAGE_BACKGROUNDS, package_backgrounds

    images = package_backgrounds()
    assert 1 <= len(images) <= len(PACKAGE_BACKGROUNDS)
    assert all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for im in images)
