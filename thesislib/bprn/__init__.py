"""The Basel Face Model Parameter Regression Network: a frozen stem turns a face crop into
features (cached per dataset), a head regresses the parameters (:class:`BPRN`).
"""
from .estimator import BPRN, BPRNSettings
from .heads import RidgeHead, feature_stats
from .stems import check_stem, dataset_features, frozen_features

__all__ = ["feature_stats", 
    "BPRN", "BPRNSettings", "RidgeHead", "check_stem", "dataset_features", "frozen_features",
]
