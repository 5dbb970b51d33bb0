"""What the judge tests share: the skip mark for the face-recognition tools and a small face model."""
import importlib.util

import pytest

needs_faces = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None or importlib.util.find_spec("face_recognition_models") is None
    or importlib.util.find_spec("mediapipe") is None, reason="needs dlib, face-recognition-models and MediaPipe")


@pytest.fixture(scope="module")
def small(face_model):
    """The default model with 10 shape and 10 colour components."""
    return face_model.truncated(10, 10, 0)
