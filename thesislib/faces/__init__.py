"""What runs on face images, synthetic or real: dlib's detector, 224 px face crops and
128-D recognition embeddings (:func:`detect`, :func:`crop`, :func:`embed`,
:func:`similarity`; batched with landmarks, the network in torch: :func:`describe_many`), MediaPipe's
face mesh, and folders of photos with a detector fallback.
"""
from .descriptors import BACKENDS, Descriptions, describe_many
from .facemesh import N_FEATURES, VERSION as FEATURES_VERSION, check, features
from .facemesh import landmarks as facemesh_landmarks
from .photos import METHODS, from_images, load_photos, read_photo
from .recognition import (
    RECOGNITION_FILE, crop, detect, detector_crop, embed, embed_many, face_box, model_file,
    similarity)

__all__ = [
    "FEATURES_VERSION", "N_FEATURES",
    "BACKENDS", "METHODS", "RECOGNITION_FILE", "Descriptions", "check", "crop", "describe_many", "detect", "detector_crop", "embed",
    "embed_many", "face_box", "facemesh_landmarks", "features", "from_images", "load_photos", "model_file", "read_photo",
    "similarity",
]
