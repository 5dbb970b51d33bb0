"""dlib's view of many face images at once: 68 landmarks and 128-D descriptors, batched.

:func:`describe_many` runs dlib's HOG detector and 68-point shape predictor per image, then the
face-recognition network on a batch of aligned 150 px chips. The network runs in torch by
default (``backend="torch"``). dlib-bin 20 is built without BLAS: its CPU network takes about
85 ms per chip, batched or not; the same network in torch takes about 6-7 ms on one thread, with
descriptors equal to dlib's within 1e-6 (3e-7 measured, on descriptors of norm ~0.4;
tests/faces/test_descriptors.py compares). It runs on one torch thread unless told otherwise
(:func:`network_descriptors`): torch's default, a thread per core, cost 21-80 ms of CPU per chip
in a process beside others on a busy 2-core machine.

The weights are read from the ``.dat`` file that ``face-recognition-models`` ships
(:func:`read_weights`; dlib's binary serialisation: integers as a length byte -- bit 7 the
sign -- then little-endian bytes; strings as a length then characters; tensors as a version,
four dimensions, then little-endian float32). Layers are serialised from the input up, each
named by a version string: the 29 ``con_4`` (params: filters (out, in, h, w) then biases; then
filters, rows, columns, strides and paddings), the 29 ``affine_`` (gamma then beta: batch norm
folded at training's end) and the closing ``fc_2`` (a (256, 128) matrix, no bias). The
architecture is dlib's ``dnn_face_recognition_ex.cpp``: a 7x7/2 convolution, max pool 3/2, then
14 residual blocks (3 of 32 channels, 4 of 64, 3 of 128, 3 of 256, 1 of 256) of two 3x3
convolutions, the first block of each width after the first striding 2, its shortcut a 2x2/2
average pool; dlib adds tensors of unequal size by zero-padding both at the end (channels,
rows, columns); then the mean over positions and the fc layer. Input: RGB minus (122.782,
117.001, 104.298), over 256.
"""
from __future__ import annotations

import functools
import re

from dataclasses import dataclass

import numpy as np

from thesislib.common import run_tasks

from .recognition import CROP_SIZE, RECOGNITION_FILE, _predictor, _recognizer, _rect, as_image, detect, import_dlib, model_file

#: Residual blocks (0-based) whose first convolution strides 2 and whose shortcut pools.
_DOWN = (3, 7, 10, 13)
_NAME = re.compile(rb"\x01[\x04-\x20]((?:con_4|affine_|fc_2|input_rgb_image_sized))")


class _Reader:
    """dlib's serialisation, read forward from ``pos``."""

    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        n = head & 0x0F
        v = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -v if head & 0x80 else v

    def str(self) -> str:
        n = self.int()
        self.pos += n
        return self.data[self.pos - n:self.pos].decode()

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return float(mantissa) * 2.0 ** exponent

    def tensor(self) -> np.ndarray:
        self.int()  # version
        n = int(np.prod([self.int() for _ in range(4)]))
        out = np.frombuffer(self.data, "<f4", n, self.pos).astype(np.float32)
        self.pos += 4 * n
        return out


def read_weights(path) -> dict:
    """The network's weights from dlib's ``.dat`` file: ``convs`` list of (weight (o, i, h, w),
    bias (o,), stride, padding), ``affines`` list of (gamma, beta), ``fc`` (256, 128), ``mean`` (3,)."""
    data = open(path, "rb").read()
    convs, affines, fc, mean = [], [], None, None
    for m in _NAME.finditer(data):
        if data[m.start() + 1] != len(m.group(1)):
            continue
        r = _Reader(data, m.start())
        name = r.str()
        if name == "con_4":
            a = r.tensor()
            n_out, rows, cols, stride, _, pad, _ = (r.int() for _ in range(7))
            size = len(a) - n_out
            convs.append((a[:size].reshape(n_out, size // (n_out * rows * cols), rows, cols), a[size:], stride, pad))
        elif name == "affine_":
            a = r.tensor()
            affines.append((a[:len(a) // 2], a[len(a) // 2:]))
        elif name == "fc_2":
            n_out, n_in = r.int(), r.int()
            fc = r.tensor().reshape(n_in, n_out)
        else:
            mean = np.array([r.float() for _ in range(3)], np.float32)
    if len(convs) != 29 or len(affines) != 29 or fc is None or mean is None:
        raise ValueError(f"{path}: not dlib's face-recognition ResNet ({len(convs)} convolutions, "
                         f"{len(affines)} affine layers)")
    return {"convs": convs, "affines": affines, "fc": fc, "mean": mean}


@functools.lru_cache(maxsize=1)
def _network(path: str):
    """The network's tensors, read once per process: convolutions with their affine layer folded
    in (``w * gamma``, ``b * gamma + beta``: one pass over each activation fewer; descriptors move
    by < 5e-7), the fc matrix and the input mean."""
    import torch

    w = read_weights(path)
    convs = [(torch.from_numpy(np.ascontiguousarray(k * g[:, None, None, None])),
              torch.from_numpy(np.ascontiguousarray(b * g + beta)), stride, pad)
             for (k, b, stride, pad), (g, beta) in zip(w["convs"], w["affines"])]
    return convs, torch.from_numpy(w["fc"]), torch.from_numpy(w["mean"]).view(1, 3, 1, 1)


def _add(a, b):
    """dlib's add_prev: tensors of unequal size zero-padded at the end, then summed."""
    import torch.nn.functional as F

    if a.shape == b.shape:
        return a + b
    k, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))
    pad = (lambda x: F.pad(x, (0, w - x.shape[3], 0, h - x.shape[2], 0, k - x.shape[1])))
    return pad(a) + pad(b)


class _torch_threads:
    """Context manager: torch's intra-op threads set to ``n`` (restored after)."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        import torch

        self.saved = torch.get_num_threads()
        if self.n != self.saved:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        import torch

        if torch.get_num_threads() != self.saved:
            torch.set_num_threads(self.saved)


def network_descriptors(chips, path, batch: int = 64, threads: int | None = 1) -> np.ndarray:
    """128-D descriptors of aligned 150 px chips (n, 150, 150, 3) uint8 RGB, (n, 128) float32.

    ``threads``: torch's intra-op threads for the call (None: as torch is set). One by default:
    on batches of 150 px chips more threads gain little, and on a machine whose cores are busy
    they cost several times over (2 threads on a loaded 2-core machine: 21-80 ms of CPU per chip
    against 7 ms on one); :func:`describe_many` parallelises over processes instead.
    """
    import torch
    import torch.nn.functional as F

    convs, fc, mean = _network(str(path))

    def layer(x, i):
        w, b, stride, pad = convs[i]
        return F.conv2d(x, w, b, stride, pad)

    chips = np.asarray(chips, np.uint8)
    out = np.empty((len(chips), 128), np.float32)
    with torch.no_grad(), _torch_threads(torch.get_num_threads() if threads is None else int(threads)):
        for a in range(0, len(chips), batch):
            x = (torch.from_numpy(chips[a:a + batch]).permute(0, 3, 1, 2).float() - mean) / 256.0
            x = F.max_pool2d(F.relu(layer(x, 0)), 3, 2)
            for j in range(14):
                y = layer(F.relu_(layer(x, 1 + 2 * j)), 2 + 2 * j)
                x = F.relu_(_add(y, F.avg_pool2d(x, 2, 2) if j in _DOWN else x))
            out[a:a + batch] = (x.mean((2, 3)) @ fc).numpy()
    return out


# ----------------------------------------------------------------- many images
@dataclass(frozen=True, eq=False)
class Descriptions:
    """dlib's view of many face images (:func:`describe_many`).

    Attributes
    ----------
    descriptors : (n, 128) float32, the face-recognition descriptors (NaN rows where no box)
    landmarks : (n, 68, 2) float32, the 68 iBUG points of dlib's shape predictor, px (x, y)
        in each image (NaN where no box)
    boxes : (n, 4) int, the boxes the predictor ran on (-1 where none)
    methods : (n,) str, "detector", "fallback" (``fallback_box``) or "none"
    """

    descriptors: np.ndarray
    landmarks: np.ndarray
    boxes: np.ndarray
    methods: np.ndarray


#: dlib's chip for the recognition network: 150 px, 25 % padding (its compute_face_descriptor defaults)
CHIP_SIZE, CHIP_PADDING = 150, 0.25


#: How :func:`describe_many` runs the recognition network: "torch" (the same network and
#: weights in torch, :func:`network_descriptors`: ~6-7 ms instead of ~85 ms per chip) or "dlib".
BACKENDS = ("torch", "dlib")


def _chip_descriptors(chips, backend: str) -> np.ndarray:
    """(n, 128) float32 descriptors of 150 px aligned chips."""
    if backend == "torch":
        return network_descriptors(chips, model_file(RECOGNITION_FILE))
    return np.asarray(_recognizer().compute_face_descriptor(list(chips)), np.float32).reshape(len(chips), 128)


def _describe_chunk(images, context):
    """Boxes, landmarks and descriptors of a list of images; the descriptors of the chunk's
    150 px chips go through the network in one batched call."""
    upsample, fallback, backend = context
    dlib = import_dlib()
    n = len(images)
    desc = np.full((n, 128), np.nan, np.float32)
    marks = np.full((n, 68, 2), np.nan, np.float32)
    boxes, methods, chips, rows = np.full((n, 4), -1, np.int64), [], [], []
    for i, image in enumerate(images):
        img = as_image(image)
        found = detect(img, upsample)
        if found:
            box, method = found[0], "detector"
        elif fallback is not None:
            s = img.shape[0] / CROP_SIZE  # the fallback box is given for a 224 px crop
            box, method = tuple(int(round(v * s)) for v in fallback), "fallback"
        else:
            methods.append("none")
            continue
        shape = _predictor()(img, _rect(box))
        marks[i] = [(p.x, p.y) for p in shape.parts()]
        boxes[i], rows = box, rows + [i]
        methods.append(method)
        chips.append(dlib.get_face_chip(img, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
    if chips:
        desc[rows] = _chip_descriptors(np.stack(chips), backend)
    return desc, marks, boxes, np.asarray(methods, dtype=object)


def describe_many(images, fallback_box=None, upsample: int = 0, n_jobs: int = 1, chunk: int = 16,
                  progress: bool = False, backend: str = "torch") -> Descriptions:
    """Landmarks and descriptors of many face images, batched.

    Each image: dlib's HOG detector (best face), else ``fallback_box``; then the 68-point shape
    predictor on that box and the 150 px aligned chip (dlib's ``get_face_chip``, 25 % padding);
    the chips of ``chunk`` images go through the recognition network in one call. With the
    same box, the numbers are :func:`embed`'s (backend "dlib") or equal to them within 1e-6
    (backend "torch"). dlib-bin 20 has no BLAS: its network costs ~85 ms of CPU per chip, and a
    batch saves only ~5 % of it; torch runs the same network in ~6-7 ms (one thread). Detector
    and shape predictor add ~7 ms per image.

    Parameters
    ----------
    images : (n, H, W, 3) uint8 array or sequence of (H, W, 3) uint8 RGB images
    fallback_box : (x0, y0, x1, y1) of the face in a 224 px crop (scaled to each image's
        height), used where the detector finds nothing; None: such images get NaN rows
    upsample : detector upsampling
    n_jobs : worker processes (:func:`thesislib.common.run_tasks`; -1: all cores)
    chunk : images per batched network call (and per task)
    progress : show a tqdm bar
    backend : "torch" or "dlib" (:data:`BACKENDS`)

    Returns
    -------
    :class:`Descriptions`
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    items = list(images)
    if not items:
        return Descriptions(np.zeros((0, 128), np.float32), np.zeros((0, 68, 2), np.float32),
                            np.zeros((0, 4), np.int64), np.zeros(0, dtype=object))
    parts = [items[i:i + chunk] for i in range(0, len(items), max(1, int(chunk)))]
    fb = None if fallback_box is None else tuple(float(v) for v in fallback_box)
    out = run_tasks(_describe_chunk, parts, context=(int(upsample), fb, backend), workers=n_jobs, progress=progress,
                    desc="dlib descriptors", unit="img", sizes=[len(p) for p in parts])
    return Descriptions(*(np.concatenate([o[k] for o in out]) for k in range(4)))
