"""A fresh clone holds everything `make run` / `make test` need, and the Makefile builds it all.

A full `make test` here would recurse into this test and reinstall gigabytes, so this test checks
cheaply: it clones the committed HEAD into a temp dir, asks make for its plan (`make -n`) from a
clean tree, and builds the package's metadata in a brand-new Python 3.11 venv
(`pip install --dry-run --no-deps -e .[dev]`), which fails if building the project needs
anything outside the clone and the package registry.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _sh(args, cwd, timeout=120, check=True):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, f"{' '.join(map(str, args))} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    return r


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git checkout")
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    dest = tmp_path_factory.mktemp("fresh") / "thesislib"
    _sh(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)], cwd=ROOT)
    return dest


def test_clone_has_what_the_commands_need(clone):
    for rel in ("Makefile", "pyproject.toml", "README.md", "environment.yml", ".ci/run",
                "params/default.yaml", "params/smoke.yaml", "params/thesis.yaml", "params/bfm2017.yaml",
                "thesislib/report/templates/offline/index.html.j2", "thesislib/report/templates/offline/conf.json",
                "notebooks/01_event_space.ipynb"):
        assert (clone / rel).is_file(), f"{rel} is not committed"
    assert (clone / ".ci/run").stat().st_mode & 0o111, ".ci/run is not executable"
    assert "make test" in (clone / ".ci/run").read_text()
    assert not (clone / ".venv").exists() and not any((clone / "outputs").glob("*/index.html"))


def test_make_plans_a_complete_setup_from_scratch(clone):
    plan = _sh(["make", "-n", "test"], cwd=clone).stdout
    steps = [line.strip() for line in plan.splitlines() if line.strip()]
    # venv from the system Python 3.11, torch pinned before the rest, the project with dev extras
    order = [next(i for i, s in enumerate(steps) if pat in s) for pat in
             ("-m venv .venv", "pip install --quiet torch==2.13.0", 'pip install --quiet -e ".[dev]"',
              "-m pytest tests")]
    assert order == sorted(order), plan
    assert "python3.11 -m venv .venv" in plan
    makefile = (clone / "Makefile").read_text()
    # the browser the tests drive comes from Debian, never from `playwright install`
    recipes = [line for line in makefile.splitlines() if line.startswith("\t")]
    assert any("apt-get install -y" in r and "chromium" in r for r in recipes)
    assert not any("playwright install" in r for r in recipes)
    test_rule = next(line for line in makefile.splitlines() if line.startswith("test:"))
    assert "$(CHROMIUM)" in test_rule and "$(STAMP)" in test_rule
    assert "rc -eq 5" in makefile, "pytest's 'no tests collected' (exit 5) must not fail make test"
    for target in ("run", "smoke", "lab", "bench"):
        assert ".venv/bin" in _sh(["make", "-n", target], cwd=clone).stdout, target
    # a second make does not redo the install once the stamp is newer than pyproject.toml
    (clone / ".venv").mkdir()
    (clone / ".venv" / ".installed").touch()
    again = _sh(["make", "-n", "test"], cwd=clone).stdout
    assert "pip install" not in again and "-m pytest tests" in again
    shutil.rmtree(clone / ".venv")


def test_dependencies_come_from_the_registry_only(clone):
    meta = tomllib.loads((clone / "pyproject.toml").read_text())
    deps = meta["project"]["dependencies"] + sum(meta["project"]["optional-dependencies"].values(), [])
    for d in deps:
        assert "@" not in d and "://" not in d and not d.startswith((".", "/")), f"{d}: not a registry requirement"
    assert "torch==2.13.0" in deps, "torch must stay pinned exactly (the CPU wheel on disk)"
    assert "playwright" in " ".join(meta["project"]["optional-dependencies"]["dev"])
    assert meta["project"]["requires-python"].startswith(">=3.11")


def test_package_builds_in_a_new_venv(clone, tmp_path):
    """The project builds from the clone alone (build backend from the registry, as in make)."""
    py = shutil.which("python3.11") or (sys.executable if sys.version_info[:2] == (3, 11) else None)
    if py is None:
        pytest.skip("no python3.11 on PATH")
    venv = tmp_path / "venv"
    _sh([py, "-m", "venv", str(venv)], cwd=tmp_path)
    r = _sh([str(venv / "bin" / "python"), "-m", "pip", "install", "--dry-run", "--no-deps",
             "--disable-pip-version-check", "-e", f"{clone}[dev]"], cwd=tmp_path, timeout=300)
    assert "Would install thesislib-" in r.stdout, r.stdout
