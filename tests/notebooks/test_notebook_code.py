"""Notebooks hold calls, plots and prose: the loops, selections and tables live in thesislib.studies."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_CODE_LINES = 120


def code_lines(path: Path) -> int:
    """Non-empty, non-comment lines of a notebook's code cells."""
    cells = json.loads(path.read_text())["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()
               if line.strip() and not line.strip().startswith("#"))


def test_there_are_seven_chapters():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_at_most_120_code_lines(path):
    assert code_lines(path) <= MAX_CODE_LINES, f"{path.name}: move loops and tables into thesislib.studies"


def test_counter_counts_code_not_prose_or_comments(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": ["x = 1\n"]},
                    {"cell_type": "code", "source": ["# a comment\n", "\n", "x = 1\n", "f(x)"]}]}
    (tmp_path / "n.ipynb").write_text(json.dumps(nb))
    assert code_lines(tmp_path / "n.ipynb") == 2
