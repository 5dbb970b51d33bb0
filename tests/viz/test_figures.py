"""Tests of thesislib.viz.figures: image grids and the images inside figures."""
import base64
import io

import numpy as np
from PIL import Image

from thesislib import viz
from thesislib.viz.figures import image_uri


def test_image_uri_is_a_jpeg_close_to_the_image():
    y, x = np.mgrid[0:64, 0:48]
    img = np.stack([x * 5, y * 4, (x + y) * 2], axis=-1).astype(np.uint8)  # smooth, as a face render
    uri = image_uri(img)
    assert uri.startswith("data:image/jpeg;base64,")
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert back.shape == img.shape and np.abs(back.astype(int) - img).mean() < 2


def test_image_grid_rows_follow_the_images_shape():
    mosaic = np.zeros((100, 400, 3), np.uint8)  # one row of four faces
    wide = viz.image_grid([mosaic], cols=1, size=420)
    square = viz.image_grid([np.zeros((50, 50, 3), np.uint8)] * 3, cols=3, size=100, title="t")
    assert wide.layout.height == 105 + 20 and wide.layout.width == 460
    assert square.layout.height == 100 + 60 and len(square.data) == 3
