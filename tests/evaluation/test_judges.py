"""Unit tests of the calibrated face-recognition judge (thesislib.evaluation.judges, judging, judge_tables)."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from thesislib import evaluation
from thesislib.evaluation import judge_tables, judges, judging

from tests.evaluation.conftest import needs_faces


@pytest.fixture(scope="module")
def test_set(small):
    from thesislib.datasets import realistic_test_set

    return realistic_test_set(8, 11, model=small)


@pytest.fixture(scope="module")
def predictions(test_set):
    rng = np.random.default_rng(0)
    T = test_set.params
    return {"near": T[None] + rng.normal(0, 0.3, (2,) + T.shape), "far": rng.normal(0, 1, (1,) + T.shape),
            "truth": T.copy(), "mean face": np.zeros_like(T)}


@pytest.fixture(scope="module")
def scored(test_set, predictions, small, tmp_path_factory):
    path = tmp_path_factory.mktemp("judge") / "inputs.npz"
    cache = judges.judge_inputs(test_set, small, faces=4, path=path)
    return judges.judge_scores(predictions, test_set, small, rendering=judging.RENDERINGS, cache=cache), cache, path


# ----------------------------------------------------------------- calibrated scores
@needs_faces
def test_scores_table_shape_and_columns(scored, test_set):
    df, cache, _ = scored
    assert list(df.columns) == judges.SCORE_COLUMNS
    assert len(df) == 2 * (2 + 1 + 1 + 1) * 4  # renderings x draws x faces
    assert set(df["face"]) == set(range(4)) and set(df["id"]) == set(test_set.ids[:4])
    assert df.loc[df["sampler"] == "truth", "fixed"].all() and not df.loc[df["sampler"] == "near", "fixed"].any()
    assert df["vertex_mm"].notna().all() and np.isfinite(df["score"]).all()


@needs_faces
def test_oracle_beats_mean_face_on_average(scored):
    df, _, _ = scored
    ref = df.drop_duplicates(["rendering", "face"])
    for _, r in ref.groupby("rendering"):
        assert (r["oracle"] - r["mean_face"]).mean() > 0


@needs_faces
def test_calibrated_is_one_for_the_truth_and_zero_for_the_mean_face(scored):
    df, _, _ = scored
    np.testing.assert_allclose(df.loc[df["sampler"] == "truth", "calibrated"], 1.0, atol=1e-4)
    np.testing.assert_allclose(df.loc[df["sampler"] == "mean face", "calibrated"], 0.0, atol=1e-4)
    g = df.groupby(["rendering", "sampler"])["vertex_mm"].mean()
    assert (g.xs("near", level=1) < g.xs("far", level=1)).all()


@needs_faces
def test_inputs_file_is_reused_and_checked(scored, test_set, small):
    _, cache, path = scored
    back = judging.JudgeInputs.load(path)
    assert back.key == cache.key and back.renderings == cache.renderings
    np.testing.assert_array_equal(back.oracle["posed"], cache.oracle["posed"])
    again = judges.judge_inputs(test_set, small, faces=4, path=path)  # read, not recomputed
    np.testing.assert_array_equal(again.descriptors, cache.descriptors)
    other = judging._key(test_set, small, np.arange(5))
    assert other != cache.key


@needs_faces
def test_inputs_print_nothing_and_keep_thread_settings(test_set, small, capfd):
    import torch
    from threadpoolctl import threadpool_info

    threads = torch.get_num_threads(), [i["num_threads"] for i in threadpool_info()]
    capfd.readouterr()
    got = judges.judge_inputs(test_set, small, renderings=("frontal",), faces=[5, 6])
    err = capfd.readouterr().err
    assert err == "", err  # no MediaPipe graph (absl, inference_feedback_manager), no LiteRT lines
    assert np.isfinite(got.landmarks).all() and got.landmarks.shape == (2, 478, 3)
    assert (torch.get_num_threads(), [i["num_threads"] for i in threadpool_info()]) == threads


def test_predictions_of_the_wrong_shape_are_refused(test_set, small):
    with pytest.raises(ValueError, match="need"):
        judges._as_draws(np.zeros((2, 3, 20)), len(test_set), 20, "x")
    with pytest.raises(ValueError, match="rendering"):
        judges.judge_scores({}, test_set, small, rendering="sideways")


# ----------------------------------------------------------------- tables on made-up scores
def _fake_scores(rng, n_faces=30, samplers=("a", "b", "c", "d"), quality=(0.8, 0.5, 0.3, 0.0), renderings=("frontal",)):
    rows = []
    for r in renderings:
        mean_face = rng.normal(0.93, 0.01, n_faces)
        oracle = mean_face + rng.uniform(0.02, 0.06, n_faces)
        for s, q in zip(samplers, quality):
            for d in range(3):
                vert = 5.0 - 3.0 * q + rng.normal(0, 0.4, n_faces) + rng.normal(0, 0.1)
                score = mean_face + q * (oracle - mean_face) + rng.normal(0, 0.01, n_faces)
                rows.append(pd.DataFrame({"test_set": "t", "judge": "dlib", "rendering": r, "sampler": s, "draw": d,
                                          "fixed": False, "face": np.arange(n_faces), "id": "x", "score": score,
                                          "oracle": oracle, "mean_face": mean_face, "gain": score - mean_face,
                                          "calibrated": (score - mean_face) / (oracle - mean_face), "vertex_mm": vert}))
    return pd.concat(rows, ignore_index=True)


def test_summary_intervals_count_draws_and_faces(rng):
    df = _fake_scores(rng)
    s = evaluation.judge_summary(df)
    assert list(s["sampler"]) == ["a", "b", "c", "d"]
    a = s.iloc[0]
    gain = df[df["sampler"] == "a"].pivot(index="draw", columns="face", values="gain").to_numpy()
    iv = evaluation.draw_interval(gain)
    assert a["gain_low"] == pytest.approx(iv.low) and a["gain_high"] == pytest.approx(iv.high)
    ref = df.drop_duplicates("face")
    gap = (ref["oracle"] - ref["mean_face"]).mean()
    assert a["calibrated"] == pytest.approx(gain.mean() / gap)
    assert a["calibrated_low"] < a["calibrated"] < a["calibrated_high"]
    assert 0.6 < a["calibrated"] < 1.0 and abs(s.iloc[3]["calibrated"]) < 0.15
    one = df[(df["sampler"] == "a") & (df["draw"] == 0)]
    assert np.isnan(evaluation.judge_summary(one)["gain_low"].iloc[0])  # one draw: no interval


def test_validation_statistics_agree_with_scipy(rng):
    df = _fake_scores(rng, renderings=("frontal", "posed"))
    v = evaluation.judge_validation(df, n_boot=200, rng=np.random.default_rng(1))
    assert list(v.columns) == evaluation.VALIDATION_COLUMNS and len(v) == 2
    f = df[df["rendering"] == "frontal"]
    rho = [stats.spearmanr(g["score"], -g["vertex_mm"]).statistic for _, g in f.groupby("face")]
    row = v[v["rendering"] == "frontal"].iloc[0]
    assert row["spearman_per_image"] == pytest.approx(np.mean(rho))
    m = f.groupby("sampler")[["score", "vertex_mm"]].mean()
    assert row["kendall_tau"] == pytest.approx(stats.kendalltau(m["score"], -m["vertex_mm"]).statistic)
    assert row["tau_low"] <= row["kendall_tau"] <= row["tau_high"] and row["kendall_tau"] == pytest.approx(1.0)
    ref = f.drop_duplicates("face")
    assert row["oracle"] == pytest.approx(ref["oracle"].mean()) and row["mean_face"] == pytest.approx(ref["mean_face"].mean())
    # ties get average ranks, as in scipy
    t = f.copy()
    t["score"] = t["score"].round(2)
    rho_t = [stats.spearmanr(g["score"], -g["vertex_mm"]).statistic for _, g in t.groupby("face")]
    assert judge_tables._spearman_per_image(t) == pytest.approx(np.nanmean(rho_t))
    assert evaluation.judge_validation(df.assign(vertex_mm=np.nan)).empty  # photos: nothing to validate
    # a fixed baseline (the mean face, last by both) counts only when asked
    base = f[(f["sampler"] == "a") & (f["draw"] == 0)].assign(sampler="mean face", fixed=True,
                                                               score=f["mean_face"].iloc[:30].to_numpy(), vertex_mm=9.0)
    both = pd.concat([f, base])
    assert evaluation.judge_validation(both, n_boot=10)["kendall_tau"].iloc[0] == pytest.approx(row["kendall_tau"])
    m5 = both.groupby("sampler")[["score", "vertex_mm"]].mean()
    assert evaluation.judge_validation(both, n_boot=10, baselines=True)["kendall_tau"].iloc[0] == pytest.approx(
        stats.kendalltau(m5["score"], -m5["vertex_mm"]).statistic)


def test_photo_summary_and_verdict(rng):
    synth = _fake_scores(rng)
    photos = _fake_scores(rng, n_faces=8, quality=(0.3, 0.1, -0.2, -0.5)).assign(oracle=np.nan, calibrated=np.nan,
                                                                                  vertex_mm=np.nan)
    s = evaluation.photo_summary(photos, synthetic=synth)
    assert list(s["sampler"]) == ["a", "b", "c", "d"]  # by gain
    ref = synth.drop_duplicates("face")
    assert s.iloc[0]["scaled"] == pytest.approx(s.iloc[0]["gain"] / (ref["oracle"] - ref["mean_face"]).mean())
    assert s.iloc[0]["beats_mean_face"] == "yes" and s.iloc[-1]["beats_mean_face"] == "no"
    assert evaluation.photo_verdict(s).startswith("t: 1 model beats the mean face on 8 photos")
    few = evaluation.photo_summary(photos[photos["face"] < 2])
    assert few["gain_low"].isna().all() and (few["beats_mean_face"] != "yes").all()
    assert evaluation.photo_verdict(few).startswith("t: no model is shown to beat the mean face on 2 photos")
    worse = evaluation.photo_summary(photos[photos["sampler"].isin(["c", "d"])])
    assert evaluation.photo_verdict(worse).startswith("t: no model beats the mean face on 8 photos")
    assert evaluation.photo_verdict(s.iloc[:0]) == "No photos were scored."


@needs_faces
def test_gallery_shows_the_best_models_renders(scored, test_set, predictions, small):
    df, cache, path = scored
    g = evaluation.judge_gallery(df, predictions, test_set, small, cache=path, rendering="posed", n=3)
    assert g.model in ("truth", "near") and g.inputs.shape == g.best.shape == g.mean_face.shape == (3, 224, 224, 3)
    pick = df[(df["rendering"] == "posed") & (df["sampler"] == g.model)]
    assert set(g.best_scores) <= set(pick["score"]) and g.ids == list(test_set.ids[:3])
    np.testing.assert_array_equal(g.inputs, test_set.images[:3])
    assert not np.array_equal(g.best, g.mean_face)
    folder = path.parent / "judge_inputs_real-like.npz"
    folder.write_bytes(path.read_bytes())  # judge_test_sets' file name in its cache_dir
    g2 = evaluation.judge_gallery(df, predictions, test_set, small, cache=path.parent, n=1)
    np.testing.assert_array_equal(g2.best, g.best[:1])


def test_flat_predictions_of_a_study_are_nested_by_test_set_and_head():
    P = np.zeros((2, 4, 3))
    flat = {("held-out", "gmm", "bprn"): P, ("held-out", "gmm", "ridge"): P,
            ("held-out", "model mean face", "baseline"): P[:1], ("shifted", "gmm", "bprn"): P}
    nested, fixed = judges._nested(flat, ("bprn", "baseline"))
    assert set(nested) == {"held-out", "shifted"} and set(nested["held-out"]) == {"gmm", "model mean face"}
    assert fixed == {"model mean face"}
    nested, _ = judges._nested(flat, ("bprn", "ridge"))
    assert set(nested["held-out"]) == {"gmm", "gmm (ridge)"}
    plain = {"held-out": {"gmm": P}}
    assert judges._nested(plain, ("bprn",)) == (plain, set())
    a, is_fixed = judges._as_draws(P[:1], 4, 3, "model mean face", fixed)
    assert is_fixed and a.shape == (1, 4, 3)
    assert not judges._as_draws(P[:1], 4, 3, "gmm", fixed)[1]


def test_the_mean_face_itself_is_a_reference_not_a_model(rng):
    photos = _fake_scores(rng, n_faces=8, samplers=("a", "model mean face"), quality=(-0.2, 0.0))
    photos.loc[photos["sampler"] == "model mean face", ["gain", "fixed", "draw"]] = (0.0, True, 0)
    photos = photos.drop_duplicates(["sampler", "draw", "face"])
    s = evaluation.photo_summary(photos)
    assert s.set_index("sampler").loc["model mean face", "beats_mean_face"] == "reference"
    assert "the best, a," in evaluation.photo_verdict(s)
