"""The ``thesislib`` command: --version, check, schema (``run`` is tested in test_runner)."""
import json
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

import thesislib
from thesislib.suite import cli, params_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "params" / "params.schema.json"
PROFILES = sorted((ROOT / "params").glob("*.yaml"))


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert capsys.readouterr().out.strip() == f"thesislib {thesislib.__version__}" == f"thesislib {project['version']}"


@pytest.mark.parametrize("form", [["--params"], []], ids=["option", "positional"])
def test_check_takes_the_params_file_like_run(form, capsys, tmp_path):
    smoke = str(ROOT / "params" / "smoke.yaml")
    assert cli.main(["check", *form, smoke]) == 0
    assert capsys.readouterr().out.strip() == f"{smoke}: ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: -1\n")
    assert cli.main(["check", *form, str(bad)]) == 2
    assert "seed" in capsys.readouterr().err


def test_check_wants_one_params_file(capsys):
    smoke, default = (str(ROOT / "params" / f"{n}.yaml") for n in ("smoke", "default"))
    for argv in (["check"], ["check", smoke, "--params", default]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 2
    assert "--params FILE" in capsys.readouterr().err
    assert cli.main(["check", smoke, "--params", smoke]) == 0  # the same file twice is no conflict


def test_schema_goes_to_stdout_or_a_file(capsys, tmp_path):
    assert cli.main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == params_schema()
    out = tmp_path / "sub" / "schema.json"
    assert cli.main(["schema", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == printed


def test_committed_schema_is_up_to_date():
    assert SCHEMA_FILE.exists(), "write it: thesislib schema --out params/params.schema.json"
    assert json.loads(SCHEMA_FILE.read_text()) == params_schema(), (
        "params/params.schema.json is out of date (a params model or the sampler registry changed): "
        "thesislib schema --out params/params.schema.json")


def test_schema_agrees_with_the_loader(tmp_path):
    """Every shipped params file passes the schema and names it in its editor modeline; what the
    loader rejects (a wrong type, an unknown key, an unknown sampler, a value out of range) the
    schema rejects too."""
    schema = params_schema()
    validator = jsonschema.Draft7Validator(schema)
    jsonschema.Draft7Validator.check_schema(schema)
    assert PROFILES
    for path in PROFILES:
        assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=params.schema.json"
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text()))), path.name
        # bfm2017.yaml names the user's own model file, absent here
        assert cli.main(["check", "--params", str(path)]) == (2 if path.stem == "bfm2017" else 0), path.name
    for raw in ({"seed": "zero"}, {"gmm": {"nope": 1}}, {"samplers": {"names": ["no_such_sampler"]}},
                {"population": {"n": 1}}, {"model": {"kind": "x"}}):
        assert list(validator.iter_errors(raw)), raw
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(raw))
        assert cli.main(["check", str(bad)]) == 2, raw


def test_python_dash_m_prints_the_version():
    import subprocess

    r = subprocess.run([sys.executable, "-m", "thesislib", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"thesislib {thesislib.__version__}", r.stderr
