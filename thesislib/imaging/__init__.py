"""From a mesh to a training image: scenes (pose, camera, spherical-harmonics light,
backgrounds), the rasterizer (:func:`render`), crops around the face and PNG encoding.
"""
from .backgrounds import IMAGE_SIZE, IMAGE_SUFFIXES, PACKAGE_BACKGROUNDS, load_backgrounds, package_backgrounds
from .coarse import coarse_model
from .crops import (
    LANDMARK_CROP_MARGIN, LANDMARK_CROP_SHIFT, SimpleCrop, center_crop, landmark_crop,
    landmark_crop_box)
from .crop_render import mesh_normals, render_crop
from .mesh_render import Workspace, render
from .png import PNG_FILTER, png_bytes
from .rasterizer import project
from .scene import (
    DEFAULT_DISTANCE, DEFAULT_FOCAL, DEFAULT_SH, SH_KERNEL, Scene, SceneSampler, default_scene,
    load_illumination_prior, rotation_matrix, sample_builtin_sh, sh_basis)

__all__ = [
    "DEFAULT_DISTANCE", "DEFAULT_FOCAL", "DEFAULT_SH", "IMAGE_SIZE", "IMAGE_SUFFIXES", "LANDMARK_CROP_MARGIN",
    "LANDMARK_CROP_SHIFT", "PACKAGE_BACKGROUNDS", "PNG_FILTER", "SH_KERNEL", "Scene", "SceneSampler", "SimpleCrop", "Workspace",
    "center_crop", "coarse_model", "default_scene", "landmark_crop", "landmark_crop_box", "load_backgrounds",
    "load_illumination_prior", "mesh_normals", "package_backgrounds", "png_bytes", "project", "render",
    "render_crop", "rotation_matrix",
    "sample_builtin_sh", "sh_basis",
]
