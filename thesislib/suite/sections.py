"""The sections of a params file: one pydantic model per shared setting and per chapter.

:mod:`thesislib.suite.params` puts them together into :class:`~thesislib.suite.params.SuiteParams`
and validates files; each field's description is what editors show (``params/params.schema.json``).
"""
from __future__ import annotations

from typing import Annotated, Literal, Optional, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from thesislib.samplers import SAMPLERS


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Section):
    kind: Literal["default", "bfm2017"] = "default"
    path: Optional[str] = Field(None, description="BFM 2017 .h5 file (kind: bfm2017)")
    n_shape: int = Field(50, ge=1, le=199)
    n_color: int = Field(50, ge=1, le=199)
    n_expression: int = Field(0, ge=0, le=100)


class DataPaths(_Section):
    backgrounds: Optional[str] = Field(None, description="folder of background images (e.g. Places205)")
    illumination: Optional[str] = Field(None, description="folder of Basel illumination prior .rps files")
    wiki: Optional[str] = Field(None, description="IMDB-WIKI wiki.mat")
    wiki_images: Optional[str] = Field(None, description="folder the wiki.mat paths are relative to")
    stem_weights: Optional[str] = Field(None, description="torchvision wide_resnet50_2 state_dict")
    fitted_set: Optional[str] = Field(None, description="parquet of fitted parameters (+ age, sex)")
    photos: Optional[str] = Field(None, description="folder of your own face photos to reconstruct (chapter 05)")


class EventSpaceSection(_Section):
    n_random: int = Field(2000, ge=10, le=1_000_000)
    slider_components: int = Field(8, ge=1, le=50)
    slider_steps: int = Field(7, ge=3, le=41)
    slider_range: float = Field(3.0, gt=0, le=10)


_GENERATIVE = ("gmm", "copula", "cvgan1", "cvgan2")


def _check_sampler(name: str) -> str:
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(sorted(SAMPLERS))}")
    return name


def _check_random_sampler(name: str) -> str:
    if _check_sampler(name) in _GENERATIVE:
        raise ValueError(f"{name!r} is a generative model that its own chapter fits; list only random samplers here")
    return name


SamplerName = Annotated[str, AfterValidator(_check_sampler),
                        WithJsonSchema({"type": "string", "enum": sorted(SAMPLERS)})]
"""A name of :data:`thesislib.samplers.registry.SAMPLERS`."""
RandomSamplerName = Annotated[str, AfterValidator(_check_random_sampler),
                              WithJsonSchema({"type": "string", "enum": sorted(set(SAMPLERS) - set(_GENERATIVE))})]
"""A sampler name that is not one of the generative models (GMM, copula, GANs)."""
TestSetName = Literal["held-out", "shifted", "new backgrounds"]
"""One of chapter 05's synthetic test sets (:func:`thesislib.studies.study_test_sets`)."""
TestSetNames = Annotated[list[TestSetName], Field(
    min_length=1, description="synthetic test sets, each reported on its own: held-out faces of the reference "
                              "population, a shifted population no sampler saw, held-out faces in front of photos "
                              "no training scene uses")]
"""The test sets a chapter reports on (chapters 05 and 07), all three by default."""


class EstimateSection(_Section):
    """How the run's fitted set is estimated from images (:mod:`thesislib.studies.fitted`)."""
    samplers: list[SamplerName] = Field(default_factory=lambda: ["naive_normal_1"], min_length=1,
                                        description="naive samplers whose BPRNs predict the fit split's renders; "
                                                    "several: per image the prediction the face-recognition "
                                                    "judge prefers (the thesis' ensemble)")
    faces: int = Field(1000, ge=2, le=10_000_000, description="faces of each sampler's training dataset")
    images_per_face: int = Field(2, ge=1, le=100)
    stem: Literal["facemesh", "dlib", "wide_resnet50_2"] = "facemesh"
    epochs: int = Field(60, ge=1, le=1_000_000)
    early_stopping: Optional[int] = Field(15, ge=1, le=1_000_000)
    max_yaw: float = Field(30.0, ge=0, le=90, description="yaw range of the training datasets' scenes")
    workers: int = Field(2, ge=1, le=1024)
    scheduler: Optional[str] = None

    @field_validator("samplers")
    @classmethod
    def _naive(cls, v):
        from thesislib.samplers import samplers_needing_fit

        fitted = sorted(set(v) & set(samplers_needing_fit()))
        if fitted:
            raise ValueError(f"{fitted} learn from a fitted set and cannot make one; use naive samplers")
        return v


class PopulationSection(_Section):
    n: int = Field(2000, ge=50, le=1_000_000, description="faces of the fit split whose renders give the fitted set")
    holdout: float = Field(0.25, gt=0, lt=1, description="fraction of the fitted set chapters 03/04 hold out")
    estimate: EstimateSection = EstimateSection()


class SamplersSection(_Section):
    names: list[SamplerName] = Field(default_factory=lambda: ["naive_normal_1", "naive_uniform_4"])
    n_samples: int = Field(2000, ge=10, le=10_000_000)
    gallery: int = Field(6, ge=1, le=64)
    dataset_sampler: SamplerName = "naive_normal_1"
    dataset_faces: int = Field(20, ge=1, le=10_000_000)
    images_per_face: int = Field(2, ge=1, le=100)
    max_yaw: float = Field(30.0, ge=0, le=90)
    workers: int = Field(2, ge=1, le=1024)
    scheduler: Optional[str] = Field(None, description="Dask scheduler address, e.g. tcp://host:8786")


class GmmSection(_Section):
    components: list[int] = Field(default_factory=lambda: [1, 5, 25])
    covariance_types: list[Literal["spherical", "diag", "tied", "full"]] = Field(
        default_factory=lambda: ["spherical", "diag", "tied", "full"])
    criterion: Literal["bic", "aic"] = "bic"
    max_params_ratio: Optional[float] = Field(1.0, gt=0)
    max_iter: int = Field(100, ge=1, le=100_000)
    n_jobs: int = Field(2, ge=1, le=1024)
    n_samples: int = Field(2000, ge=10, le=10_000_000)
    gallery: int = Field(6, ge=1, le=64)
    baselines: list[RandomSamplerName] = Field(
        default_factory=lambda: ["naive_normal_1", "naive_normal_2", "naive_uniform_4", "fitted_normal", "fitted_data"],
        description="samplers compared with the GMMs and the copula by KS (no GANs; fitted ones are fitted here)")

    @field_validator("components")
    @classmethod
    def _positive(cls, v):
        if not v or min(v) < 1:
            raise ValueError("components must be a non-empty list of integers >= 1")
        return v


class GanSection(_Section):
    variants: list[Literal["cvgan1", "cvgan2"]] = Field(default_factory=lambda: ["cvgan1", "cvgan2"])
    epochs: int = Field(200, ge=1, le=1_000_000)
    batch_size: int = Field(200, ge=2, le=100_000)
    lr: float = Field(2e-4, gt=0, le=1)
    n_samples: int = Field(2000, ge=10, le=10_000_000)
    device: str = "auto"
    epochs_cvgan1: Optional[int] = Field(None, ge=1, le=1_000_000, description="CVGAN1 epochs (default: epochs)")
    epochs_cvgan2: Optional[int] = Field(None, ge=1, le=1_000_000, description="CVGAN2 epochs (default: epochs)")
    grid_ages: int = Field(7, ge=2, le=63, description="ages 18..80 in the age x sex grid and the static slider")
    grid_sexes: int = Field(5, ge=2, le=11, description="sex values 0..1 (female..male) in the grid")
    torch_threads: int = Field(1, ge=0, le=1024, description="torch CPU threads (0: torch's default); for these "
                               "small MLPs 2 OpenMP threads on 2 shared cores ran 7x slower than 1")
    # training tricks (thesislib.samplers.gan.training); each default is the thesis' plain training
    lr_d: Optional[float] = Field(None, gt=0, le=1, description="discriminator learning rate (null: lr)")
    lr_schedule: Literal["constant", "linear", "cosine"] = Field("constant", description="factor on both rates per epoch")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="one-sided: D's target for real faces is 1 - this")
    instance_noise: float = Field(0.0, ge=0, le=10, description="std of noise on D's inputs, annealed to 0")
    ema: Optional[float] = Field(None, gt=0, lt=1, description="decay of G's weight average that samples (null: none)")
    sample_dropout: bool = Field(False, description="sample with G's dropout on, as trained (CVGAN1)")


class BprnSection(_Section):
    samplers: list[SamplerName] = Field(default_factory=lambda: ["naive_normal_1", "naive_uniform_4"])
    max_yaw: float = Field(30.0, ge=0, le=90, description="yaw range of the training datasets' scenes")
    gmm_criterion: Literal["bic", "aic"] = Field("bic", description="which of chapter 03's models the gmm sampler uses")
    faces: int = Field(100, ge=2, le=10_000_000)
    images_per_face: int = Field(2, ge=1, le=100)
    draws: int = Field(3, ge=1, le=100, description="independent replications per sampler: a new training dataset "
                                                    "and, for samplers that learn, a new fit (seeds the BPRN too)")
    test_sets: TestSetNames = Field(default_factory=lambda: list(get_args(TestSetName)))
    stem: Literal["facemesh", "dlib", "cnn", "wide_resnet50_2"] = Field(
        "facemesh", description="facemesh: MediaPipe's 478 3D landmarks + colours (frozen, the default)")
    epochs: int = Field(60, ge=1, le=1_000_000)
    early_stopping: Optional[int] = Field(15, ge=1, le=1_000_000,
                                          description="patience in epochs; the best validation epoch is kept")
    linear_skip: bool = Field(True, description="frozen ridge path beside the 3x200 head (false: the thesis head)")
    batch_size: int = Field(64, ge=1, le=100_000)
    lr: float = Field(1e-3, gt=0, le=1)
    test_faces: int = Field(40, ge=2, le=1_000_000, description="faces per synthetic test set")
    judge_faces: int = Field(40, ge=2, le=1_000_000,
                             description="faces of each test set the face-recognition judge scores (dlib costs "
                                         "~20-35 ms per render: 40 faces keep a sampler's calibrated interval ~+-0.14)")
    learning_curve: list[int] = Field(default_factory=lambda: [250, 500, 1000, 2000],
                                      description="training-set sizes (images) of the learning curves")
    stem_images: int = Field(400, ge=4, le=1_000_000, description="images of the stem experiment's dataset")
    stem_epochs: int = Field(20, ge=1, le=1_000_000, description="epochs per stem in the stem experiment")

    @field_validator("learning_curve")
    @classmethod
    def _sizes(cls, v):
        if not v or min(v) < 2:
            raise ValueError("learning_curve must be a non-empty list of training-set sizes >= 2 images")
        return sorted(set(v))
    workers: int = Field(2, ge=1, le=1024)
    scheduler: Optional[str] = None
    device: str = "auto"


TABLE_5_1 = ("naive_uniform_3.5", "naive_uniform_4", "naive_uniform_5", "naive_normal_1", "naive_normal_1.5",
             "naive_normal_1.8", "naive_normal_2", "composite_normal_1_uniform_6",
             "composite_normal_2_uniform_6", "normal_07_beta_3_15_uniform_6", "meta_normal",
             "meta_normal_07_0_25_uniform_6", "meta_uniform_std", "fitted_uniform", "fitted_uniform_x2",
             "fitted_normal")
"""The random samplers of thesis Table 5.1 (registry names), in the thesis' order."""
class VarietySection(_Section):
    clusters: list[int] = Field(default_factory=lambda: [2, 10, 25, 100, 200])
    n_samples: int = Field(2000, ge=10, le=10_000_000)
    n_pairs: int = Field(20000, ge=10, le=10_000_000)
    samplers: list[RandomSamplerName] = Field(default_factory=lambda: list(TABLE_5_1),
                                description="random samplers compared; GMM, copula, GANs are added")
    gmm_components: int = Field(5, ge=1, le=10_000)
    kmeans_n_init: int = Field(1, ge=1, le=100)
    scatter_points: int = Field(1000, ge=10, le=100_000)

    @field_validator("clusters")
    @classmethod
    def _cluster_counts(cls, v):
        if not v or min(v) < 1:
            raise ValueError("clusters must be a non-empty list of integers >= 1")
        return v


class ReportSection(_Section):
    code: Literal["shown", "folded", "hidden"] = Field(
        "folded", description="code cells in the HTML reports: shown, folded behind a 'show code' toggle, or hidden "
                              "(the .ipynb keeps them); `thesislib run --report-code` overrides it")


class ScaleSection(_Section):
    """Chapter 07: learning curves to the thesis' 100k images (:mod:`thesislib.studies.scale`)."""
    samplers: list[SamplerName] = Field(
        default_factory=lambda: ["naive_normal_1", "naive_uniform_4", "gmm", "fitted_gaussian"], min_length=1,
        description="samplers of the learning curves (no GANs: their fits belong to chapter 04)")
    sizes: list[int] = Field(default_factory=lambda: [1000, 3000, 10000],
                             description="training-set sizes (images); each sampler's dataset has the largest")
    images_per_face: int = Field(2, ge=1, le=100)
    max_yaw: float = Field(30.0, ge=0, le=90, description="yaw range of the training datasets' scenes")
    mesh: Literal["full", "coarse"] = Field("coarse", description="render mesh of the training images "
                                            "(coarse: about half the cost; BPRN within 0.01 mm of full)")
    test_sets: TestSetNames = Field(default_factory=lambda: list(get_args(TestSetName)))
    test_faces: int = Field(200, ge=2, le=1_000_000, description="faces per test set (as chapter 05)")
    epochs: int = Field(60, ge=1, le=1_000_000)
    early_stopping: Optional[int] = Field(10, ge=1, le=1_000_000, description="patience in epochs")
    epoch_images: Optional[int] = Field(600_000, ge=1, description="cap on the images a network sees in training "
                                        "(epochs at n images: min(epochs, epoch_images / n)); null: no cap")
    batch_size: int = Field(64, ge=1, le=100_000)
    lr: float = Field(1e-3, gt=0, le=1)
    gmm_criterion: Literal["bic", "aic"] = "bic"
    gmm_components: list[int] = Field(default_factory=lambda: [1, 5, 25, 100],
                                      description="chapter 03's grid (its cell cache is reused when present)")
    gmm_covariance_types: list[Literal["spherical", "diag", "tied", "full"]] = Field(
        default_factory=lambda: ["spherical", "diag", "tied", "full"])
    workers: int = Field(2, ge=1, le=1024)
    scheduler: Optional[str] = Field(None, description="Dask scheduler address for the datasets and the trainings")

    @field_validator("sizes", "gmm_components")
    @classmethod
    def _sizes(cls, v):
        if not v or min(v) < 1:
            raise ValueError("must be a non-empty list of positive integers")
        return sorted(set(v))

    @field_validator("samplers")
    @classmethod
    def _no_gans(cls, v):
        gans = sorted(set(v) & {"cvgan1", "cvgan2"})
        if gans:
            raise ValueError(f"{gans}: the scale study does not train GANs; use chapter 05")
        return v
