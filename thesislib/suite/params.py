"""Params files: schema, validation and the chapters they drive.

A params file is YAML with shared settings (``profile``, ``seed``, ``model``,
``data``, ``population``) and one section per notebook chapter. Everything is
validated before anything runs: an unknown key, a wrong type or an
out-of-range value raises :class:`ParamsError` naming the file, the key and
what is allowed.

Each chapter's notebook declares the same names in its cell tagged
``parameters``; :func:`notebook_parameters` flattens a validated file into the
values papermill injects, and :func:`check_notebook_values` re-validates them
inside the notebook, so a hand-made papermill call is checked too.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from .paths import path_problems
from .sections import (
    BprnSection, DataPaths, EventSpaceSection, GanSection, GmmSection, ModelSpec, PopulationSection, ReportSection,
    SamplersSection, ScaleSection, VarietySection, _Section)


class ParamsError(ValueError):
    """A params file (or notebook parameter) is invalid; the message says where and why."""


@dataclass(frozen=True)
class Chapter:
    number: str
    name: str
    section: str
    depends_on: tuple[str, ...] = ()
    #: run only when a params file's ``chapters`` (or ``--only``) names it
    opt_in: bool = False

    @property
    def stem(self) -> str:
        return f"{self.number}_{self.name}"


CHAPTERS = (
    Chapter("01", "event_space", "event_space"),
    Chapter("02", "samplers", "samplers"),
    Chapter("03", "gmm", "gmm"),
    Chapter("04", "gan", "gan"),
    Chapter("05", "bprn", "bprn", depends_on=("02",)),
    Chapter("06", "data_variety", "variety", depends_on=("02",)),
    Chapter("07", "scale", "scale", opt_in=True),
)
SHARED = ("profile", "seed", "model", "data", "population")


class SuiteParams(_Section):
    profile: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(0, ge=0, le=2**32 - 1)
    output_dir: Optional[str] = Field(None, description="default: outputs/<profile>")
    chapters: Optional[list[str]] = Field(None, description="chapters this file runs, e.g. ['07'] (default: 01-06; "
                                                             "07, the scale study, runs only when named)")
    model: ModelSpec = ModelSpec()
    data: DataPaths = DataPaths()
    population: PopulationSection = PopulationSection()
    event_space: EventSpaceSection = EventSpaceSection()
    samplers: SamplersSection = SamplersSection()
    gmm: GmmSection = GmmSection()
    gan: GanSection = GanSection()
    bprn: BprnSection = BprnSection()
    variety: VarietySection = VarietySection()
    scale: ScaleSection = ScaleSection()
    report: ReportSection = ReportSection()

    @field_validator("chapters")
    @classmethod
    def _known_chapters(cls, v):
        if v is None:
            return v
        v = [str(c).zfill(2) for c in v]
        unknown = sorted(set(v) - {c.number for c in CHAPTERS})
        if unknown or not v:
            raise ValueError(f"unknown chapters {unknown}; known: {[c.number for c in CHAPTERS]}")
        return v


SECTIONS = {name: f.annotation for name, f in SuiteParams.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}


SCHEMA_URL = "http://json-schema.org/draft-07/schema#"  # what yaml-language-server reads


def params_schema() -> dict:
    """The JSON Schema of a params file (for editors: completion, hover text, checks as you type).

    The same models validate a file when it is loaded; names of samplers are listed as enums.
    ``thesislib schema --out FILE`` writes it; ``params/params.schema.json`` is the committed copy.
    """
    schema = SuiteParams.model_json_schema()
    return {"$schema": SCHEMA_URL, "title": "thesislib params file",
            "description": "Settings of one run of the thesislib notebook suite (thesislib run --params FILE).",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def _describe(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    msg = err["msg"]
    if kind == "literal_error":
        msg = msg.replace("Input should be", "allowed:")
    return f"{loc}: {msg} (got {err.get('input')!r})"


def _allowed_keys(err: dict) -> str:
    """For an unknown key, the keys its section allows."""
    model = SuiteParams
    for part in err["loc"][:-1]:
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return ""
        model = field.annotation
    return f"; allowed keys: {', '.join(model.model_fields)}"


def parse_params(raw: dict, source: str = "<params>") -> SuiteParams:
    """Validate a params mapping; raise :class:`ParamsError` listing every problem."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of keys to values at the top level")
    try:
        return SuiteParams.model_validate(raw)
    except ValidationError as e:
        lines = [_describe(err) + (_allowed_keys(err) if err["type"] == "extra_forbidden" else "")
                 for err in e.errors()]
        raise ParamsError(f"{source}: invalid params:\n  " + "\n  ".join(lines)) from None


def load_params(path) -> SuiteParams:
    """Read and validate a params YAML file."""
    path = Path(path)
    if not path.exists():
        raise ParamsError(f"{path}: params file not found (see params/*.yaml for examples)")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    params = parse_params(raw, str(path))
    if params.model.kind == "bfm2017" and not params.model.path:
        raise ParamsError(f"{path}: model.path: required when model.kind is bfm2017 "
                          "(the .h5 file of the Basel Face Model 2017)")
    return check_paths(params, str(path))


def check_paths(params: SuiteParams, source: str = "<params>") -> SuiteParams:
    """Check every path of ``model`` and ``data`` (:func:`thesislib.suite.paths.path_problems`):
    it exists, is a file or a folder as its key needs, is readable, and the BFM file is HDF5.

    Relative paths are taken from the current folder and come back absolute, so the
    notebooks (which run in ``notebooks/``) open what was checked.

    Raises
    ------
    ParamsError
        One message naming each bad key, its path and the fix.
    """
    problems, model, data = path_problems(params)
    if problems:
        raise ParamsError(f"{source}: " + ("\n  ".join(problems) if len(problems) == 1
                                          else "bad paths:\n  " + "\n  ".join(problems)))
    return params.model_copy(update={"model": params.model.model_copy(update=model),
                                     "data": params.data.model_copy(update=data)})


def output_dir(params: SuiteParams, override=None) -> Path:
    return Path(override or params.output_dir or Path("outputs") / params.profile)


def notebook_parameters(params: SuiteParams, chapter: Chapter, out_dir) -> dict:
    """The papermill parameters of one chapter: shared settings plus its section's fields."""
    values = {"profile": params.profile, "seed": params.seed, "out_dir": str(Path(out_dir).resolve()),
              "model": params.model.model_dump(), "data": params.data.model_dump(),
              "population": params.population.model_dump()}
    values.update(getattr(params, chapter.section).model_dump())
    return values


def check_notebook_values(section: str, values: dict) -> tuple[SuiteParams, BaseModel]:
    """Validate the parameter values a notebook ended up with (inside the notebook).

    Parameters
    ----------
    section : the chapter's section name, e.g. ``"event_space"``
    values : the notebook's globals (only known names are read)

    Returns
    -------
    (the full validated params, the validated section)
    """
    fields = SECTIONS[section].model_fields
    raw = {k: values[k] for k in ("profile", "seed", "model", "data", "population") if k in values}
    raw[section] = {k: values[k] for k in fields if k in values}
    params = parse_params(raw, f"notebook parameters ({section})")
    return params, getattr(params, section)
