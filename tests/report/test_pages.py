"""Tests of thesislib.report.pages: what a static page shows in place of a notebook's outputs."""
import nbformat
import plotly.graph_objects as go
import plotly.io as pio

from thesislib.report import pages as P

_PLOTLY = "application/vnd.plotly.v1+json"


def _figure_output(fig):
    return nbformat.v4.new_output("display_data", data={_PLOTLY: fig.to_plotly_json(), "text/plain": "Figure"})


def test_plotly_json_becomes_html_with_plotlyjs_once():
    """A notebook keeps a figure as JSON only; its page draws each one, with plotly.js inline once."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig.show()")
    cell.outputs = [_figure_output(go.Figure(go.Scatter(y=[1, 3, 2]))),
                    _figure_output(go.Figure(go.Bar(y=[4, 5]), layout=dict(height=300)))]
    nb.cells = [cell]
    assert P.static_outputs(nb) == 2
    first, second = (o.data["text/html"] for o in nb.cells[0].outputs)
    assert all(_PLOTLY not in o.data for o in nb.cells[0].outputs)
    marker = "plotly.js v"  # the library's banner: inlined in the first figure only
    assert marker in first and marker not in second
    assert "Plotly.newPlot" in first and "Plotly.newPlot" in second
    assert "src=\"http" not in first + second and "tex-svg" not in first + second  # no MathJax from a CDN
    assert "height:525px" in first and "height:300px" in second  # plotly's notebook default / the layout's


def test_notebook_renderer_keeps_a_figure_once():
    from thesislib import viz

    before = pio.renderers.default
    try:
        viz.setup_notebook()
        bundle = pio.renderers._build_mime_bundle(go.Figure(go.Scatter(y=[1, 2])).to_dict())
        assert set(bundle) == {_PLOTLY}
    finally:
        pio.renderers.default = before
