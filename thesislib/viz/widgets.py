"""Live ipywidgets for JupyterLab: PCA sliders over a morphable model.

The widget updates the figure in place (no redraw of the whole output): the
3D mesh's coordinates or colours and the rendered image change when a slider
moves. In a static HTML export the widgets cannot run; each has a static twin
built with :func:`thesislib.viz.figures.slider_figure`.
"""
from __future__ import annotations

import time

import numpy as np

from thesislib.imaging import Workspace, render
from .figures import FACE_CAMERA, mesh_trace, image_uri, vertex_color_strings


class FaceView:
    """A face shown twice, updated in place: a rotatable 3D mesh and its render.

    Attributes
    ----------
    figure : plotly FigureWidget with one Mesh3d trace
    image : ipywidgets.HTML holding the rendered PNG
    """

    def __init__(self, mesh):
        import ipywidgets as w
        import plotly.graph_objects as go

        self._ws = Workspace()
        self.triangles, self.landmarks = mesh.triangles, mesh.landmarks
        self.figure = go.FigureWidget(mesh_trace(mesh))
        self.figure.update_layout(height=420, width=460, margin=dict(l=0, r=0, t=0, b=0),
                                  scene=dict(aspectmode="data", camera=FACE_CAMERA, xaxis_visible=False,
                                             yaxis_visible=False, zaxis_visible=False))
        self.image = w.HTML(self._img_tag(render(mesh, workspace=self._ws).image))

    @staticmethod
    def _img_tag(image) -> str:
        return f'<img src="{image_uri(image)}" width="300" height="300"/>'

    def show(self, vertices, colors, parts=("shape", "color")) -> None:
        """Push the changed parts to the 3D figure and re-render the image."""
        from thesislib.facemodel import Mesh

        with self.figure.batch_update():
            if "shape" in parts:
                v = np.asarray(vertices, np.float32)
                trace = self.figure.data[0]
                trace.x, trace.y, trace.z = v[:, 0], v[:, 1], v[:, 2]
        if "color" in parts:  # restyle skips per-colour validation: ~2x faster than the setter
            self.figure.plotly_restyle({"vertexcolor": [vertex_color_strings(colors)]}, trace_indexes=[0])
        mesh = Mesh(vertices, colors, self.triangles, self.landmarks)
        self.image.value = self._img_tag(render(mesh, workspace=self._ws).image)


class FaceExplorer:
    """Slide one PCA component of one part and watch the face change.

    Parameters
    ----------
    model : MorphableModel
    max_components : how many leading components the component slider offers
    value_range : slider range in standard deviations (symmetric)

    Attributes
    ----------
    coefficients : dict part -> (K,) float array currently shown
    last_update_seconds : wall time of the latest update (model instance, render, figure)
    """

    def __init__(self, model, max_components: int = 10, value_range: float = 3.0):
        import ipywidgets as w

        self.model = model
        self.coefficients = {p: np.zeros(getattr(model, p).n_components) for p in ("shape", "color", "expression")}
        parts = [p for p in ("shape", "color", "expression") if getattr(model, p).n_components]
        self.part = w.Dropdown(options=parts, value="shape", description="part")
        self.component = w.IntSlider(0, 0, max_components - 1, description="component")
        self.value = w.FloatSlider(0.0, min=-value_range, max=value_range, step=0.1, description="σ")
        self.reset = w.Button(description="reset")
        self.face = FaceView(model.instance())
        self.figure, self.image = self.face.figure, self.face.image
        self.status = w.Label("")
        self.part.observe(self._on_select, names="value")
        self.component.observe(self._on_select, names="value")
        self.value.observe(self._on_value, names="value")
        self.reset.on_click(self._on_reset)
        self.last_update_seconds = float("nan")
        self._vertices = self._colors = None
        self.view = w.VBox([w.HBox([self.part, self.component, self.value, self.reset]),
                            w.HBox([self.figure, self.image]), self.status])

    def _on_select(self, _change=None):
        # show the stored value of the newly selected component without triggering an update
        self.value.unobserve(self._on_value, names="value")
        self.value.value = float(self.coefficients[self.part.value][self.component.value])
        self.value.observe(self._on_value, names="value")

    def _on_value(self, change):
        self.set(self.part.value, self.component.value, change["new"])

    def _on_reset(self, _button=None):
        self.reset_coefficients()

    def reset_coefficients(self) -> float:
        """All coefficients back to 0 (the mean face), as the reset button does; returns seconds."""
        for c in self.coefficients.values():
            c[:] = 0
        self._on_select()
        return self.update(parts=("shape", "color"))

    def set(self, part: str, component: int, value: float) -> float:
        """Set one coefficient and update the view; returns the update time in seconds."""
        self.coefficients[part][component] = value
        return self.update(parts=("color",) if part == "color" else ("shape",))

    def update(self, parts=("shape", "color")) -> float:
        """Recompute the changed parts, push them to the 3D figure, re-render; returns seconds."""
        start = time.perf_counter()
        c = self.coefficients
        if "shape" in parts or self._vertices is None:
            self._vertices = self.model.vertices(c["shape"], c["expression"] if c["expression"].size else None)
        if "color" in parts or self._colors is None:
            self._colors = self.model.colors(c["color"])
        self.face.show(self._vertices, self._colors, parts)
        self.last_update_seconds = time.perf_counter() - start
        self.status.value = f"update: {1000 * self.last_update_seconds:.0f} ms"
        return self.last_update_seconds

    def _ipython_display_(self):
        from IPython.display import display

        display(self.view)


class SamplerComparison:
    """Two samplers side by side: pick each from a menu, draw new faces with a button.

    Parameters
    ----------
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout
    draws : dict sampler name -> (n, n_shape + n_color) parameter vectors already drawn
    labels : optional dict name -> display label
    """

    def __init__(self, model, draws: dict, labels: dict | None = None):
        import ipywidgets as w

        self.model, self.draws, self.n_shape, self.n_color = model, draws, model.n_shape, model.n_color
        labels = labels or {}
        options = [(labels.get(n, n), n) for n in draws]
        names = list(draws)
        self.left = w.Dropdown(options=options, value=names[0], description="left")
        self.right = w.Dropdown(options=options, value=names[-1], description="right")
        self.button = w.Button(description="new faces")
        self.images = [w.HTML(), w.HTML()]
        self.index = 0
        self._ws = Workspace()
        for dd in (self.left, self.right):
            dd.observe(lambda _c: self.update(), names="value")
        self.button.on_click(lambda _b: self.next())
        self.view = w.VBox([w.HBox([self.left, self.right, self.button]), w.HBox(self.images)])
        self.update()

    def face(self, name: str):
        X = self.draws[name]
        x = X[self.index % len(X)]
        return render(self.model.instance(shape=x[: self.n_shape], color=x[self.n_shape: self.n_shape + self.n_color]),
                      workspace=self._ws).image

    def next(self):
        self.index += 1
        self.update()

    def update(self):
        for box, name in zip(self.images, (self.left.value, self.right.value)):
            box.value = f'<img src="{image_uri(self.face(name))}" width="260" height="260"/>'

    def _ipython_display_(self):
        from IPython.display import display

        display(self.view)


def pca_slider_frames(model, part: str, components, values) -> dict:
    """Renders for the static twin: {f"PC {k}": {f"{v:+.1f}σ": image}}."""
    ws = Workspace()
    groups = {}
    for k in components:
        frames = {}
        for v in values:
            c = np.zeros(k + 1)
            c[k] = v
            mesh = model.instance(**{part: c})
            frames[f"{v:+.1f}σ"] = render(mesh, workspace=ws).image
        groups[f"{part} PC {k}"] = frames
    return groups


class AgeSexExplorer:
    """Browse a conditional GAN by age and sex: the latent z stays fixed while labels move.

    Parameters
    ----------
    gan : fitted :class:`thesislib.samplers.gan.estimator.ConditionalGAN` (``generate(z, age, sex)``)
    model : truncated MorphableModel; its n_shape/n_color decide the parameter layout (the GAN's
        parameter vectors belong to it)
    rng : numpy.random.Generator for the "new z" button (default: seed 0)
    age, sex : initial labels (years 18..80; 0 female .. 1 male)

    Attributes
    ----------
    z : (latent_dim,) current latent vector
    params : (n_shape + n_color,) parameters currently shown
    last_update_seconds : wall time of the latest update (generator, instance, render, figure)
    """

    def __init__(self, gan, model, rng=None, age: float = 35.0, sex: float = 0.0):
        import ipywidgets as w

        self.gan, self.model, self.n_shape, self.n_color = gan, model, int(model.n_shape), int(model.n_color)
        self.rng = np.random.default_rng(0) if rng is None else rng
        self.z = self.rng.standard_normal(gan.latent_dim)
        self.age = w.FloatSlider(float(age), min=18.0, max=80.0, step=1.0, description="age")
        self.sex = w.FloatSlider(float(sex), min=0.0, max=1.0, step=0.05, description="sex (0 f, 1 m)")
        self.new_z = w.Button(description="new z")
        self.face = FaceView(self._mesh())
        self.figure, self.image = self.face.figure, self.face.image
        self.status = w.Label("")
        self.age.observe(self._on_change, names="value")
        self.sex.observe(self._on_change, names="value")
        self.new_z.on_click(self._on_new_z)
        self.last_update_seconds = float("nan")
        self.view = w.VBox([w.HBox([self.age, self.sex, self.new_z]), w.HBox([self.figure, self.image]),
                            self.status])

    def _mesh(self):
        from thesislib.facemodel import Mesh

        self.params = self.gan.generate(self.z, self.age.value, self.sex.value)
        shape, color = self.params[: self.n_shape], self.params[self.n_shape: self.n_shape + self.n_color]
        return Mesh(self.model.vertices(shape).astype(np.float32), self.model.colors(color).astype(np.float32),
                    self.model.triangles, self.model.landmark_ids)

    def _on_change(self, _change=None):
        self.update()

    def _on_new_z(self, _button=None):
        self.new_face()

    def new_face(self) -> float:
        """Draw a new latent vector ``z`` (a new identity at the same age and sex), as the
        "new face" button does, and update; returns the update time in seconds."""
        self.z = self.rng.standard_normal(self.gan.latent_dim)
        return self.update()

    def set(self, age: float | None = None, sex: float | None = None) -> float:
        """Move the sliders without triggering their callbacks, then update once; returns seconds."""
        for slider, value in ((self.age, age), (self.sex, sex)):
            if value is not None:
                slider.unobserve(self._on_change, names="value")
                slider.value = float(value)
                slider.observe(self._on_change, names="value")
        return self.update()

    def update(self) -> float:
        """Generate the face for (z, age, sex), push it to the 3D figure and re-render; returns seconds."""
        start = time.perf_counter()
        mesh = self._mesh()
        self.face.show(mesh.vertices, mesh.colors)
        self.last_update_seconds = time.perf_counter() - start
        self.status.value = (f"age {self.age.value:.0f}, sex {self.sex.value:.2f}; "
                             f"update: {1000 * self.last_update_seconds:.0f} ms")
        return self.last_update_seconds

    def _ipython_display_(self):
        from IPython.display import display

        display(self.view)


def age_sex_frames(gan, model, z, ages, sexes) -> dict:
    """Renders for the static twin of :class:`AgeSexExplorer`, one group per sex value.

    Returns ``{f"sex {s:.2f}": {f"{age:.0f} y": image}}`` for a fixed latent ``z``.
    """
    ws = Workspace()
    groups = {}
    for s in sexes:
        frames = {}
        X = gan.generate(np.tile(np.asarray(z, dtype=np.float64), (len(ages), 1)), np.asarray(ages, float),
                         np.full(len(ages), float(s)))
        for a, x in zip(ages, X):
            mesh = model.instance(shape=x[:model.n_shape], color=x[model.n_shape:model.n_params])
            frames[f"{a:.0f} y"] = render(mesh, workspace=ws).image
        groups[f"sex {s:.2f}"] = frames
    return groups
