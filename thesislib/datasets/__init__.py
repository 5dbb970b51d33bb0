"""Training and test data on disk: :func:`generate` turns a sampler into a resumable dataset
folder (labels, card, images; local processes or Dask, the same bytes for any worker
count), :func:`load_dataset` reads one, and the test sets (real-like renders with known
truth, IMDB-WIKI, photo folders) that BPRNs are scored on; :func:`remove_dataset` deletes one
that has served its purpose.
"""
from .generation import generate
from .store import Dataset, dataset_gallery, load_dataset, remove_dataset
from .testsets import (
    TestSet, package_photos, photo_test_set, population_test_set, realistic_scenes, realistic_test_set,
    wiki_test_set)
from .wiki import load_wiki

__all__ = [
    "Dataset", "TestSet", "dataset_gallery", "generate", "load_dataset", "load_wiki",
    "package_photos", "photo_test_set", "population_test_set", "realistic_scenes", "realistic_test_set", "remove_dataset",
    "wiki_test_set",
]
