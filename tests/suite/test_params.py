from pathlib import Path

import pytest

from thesislib.suite.params import CHAPTERS, ParamsError, load_params, notebook_parameters
from thesislib.suite import check_notebook_values

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["default", "smoke", "thesis"])
def test_shipped_params_files_are_valid(name):
    p = load_params(ROOT / "params" / f"{name}.yaml")
    assert p.profile == name


def test_bfm2017_params_are_a_template(monkeypatch):
    """params/bfm2017.yaml is valid in form but names a BFM file the user has to download:
    loading it says so (key, path, fix) instead of failing later inside a kernel."""
    import yaml

    from thesislib.suite.params import parse_params

    path = ROOT / "params" / "bfm2017.yaml"
    if (ROOT / "data" / "model2017-1_face12_nomouth.h5").exists():
        pytest.skip("the BFM file the template names is here: the template loads")
    assert parse_params(yaml.safe_load(path.read_text())).profile == "bfm2017"
    monkeypatch.chdir(ROOT)
    with pytest.raises(ParamsError, match=r"model\.path: data/model2017-1_face12_nomouth\.h5 .*does not exist; "
                                          r"set model\.path to the Basel Face Model 2017 \.h5"):
        load_params(path)


def _write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("text,expected", [
    ("profile: x\nsamplers: {n_sample: 10}\n", "samplers.n_sample: unknown key; allowed keys: names, n_samples"),
    ("colour: 3\n", "colour: unknown key"),
    ("gmm: {components: five}\n", "gmm.components"),
    ("gan: {epochs: -3}\n", "gan.epochs: Input should be greater than or equal to 1"),
    ("model: {kind: flame}\n", "model.kind: allowed: 'default' or 'bfm2017'"),
    ("samplers: {names: [naive_normal_7]}\n", "unknown sampler 'naive_normal_7'"),
    ("population: {holdout: 1.5}\n", "population.holdout"),
    ("model: {kind: bfm2017}\n", "model.path: required when model.kind is bfm2017"),
    ("- a\n- b\n", "expected a mapping"),
    ("a: [1, 2\n", "not valid YAML"),
])
def test_bad_params_name_file_key_and_allowed(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "none.yaml")


def test_notebook_parameters_roundtrip(tmp_path):
    p = load_params(ROOT / "params" / "smoke.yaml")
    chapter = CHAPTERS[0]
    values = notebook_parameters(p, chapter, tmp_path)
    assert values["n_random"] == 300 and values["model"]["n_shape"] == 20
    run, section = check_notebook_values(chapter.section, values)
    assert section.n_random == 300 and run.model.n_shape == 20
    values["n_random"] = -1
    with pytest.raises(ParamsError, match="event_space.n_random"):
        check_notebook_values(chapter.section, values)
