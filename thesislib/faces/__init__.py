"""What runs on face images, synthetic or real: dlib's detector, 224 px face crops and
128-D recognition embeddings (:func:`detect`, :func:`crop`, :func:`embed`,
:func:`similarity`), MediaPipe's face mesh, and folders of photos with a detector fallback.
"""
from .facemesh import N_FEATURES, VERSION as FEATURES_VERSION, check, features
from .photos import METHODS, from_images, load_photos, read_photo
from .recognition import (
    RECOGNITION_FILE, crop, detect, detector_crop, embed, embed_many, face_box, model_file,
    similarity)

__all__ = [
    "FEATURES_VERSION", "N_FEATURES",
    "METHODS", "RECOGNITION_FILE", "check", "crop", "detect", "detector_crop", "embed",
    "embed_many", "face_box", "features", "from_images", "load_photos", "model_file", "read_photo",
    "similarity",
]
