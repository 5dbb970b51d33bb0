import nbformat

from thesislib.report import finish_progress_bars


def _cell(*outputs):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("work()", outputs=list(outputs))]
    return nb


def test_text_bars_on_stderr_become_plain_stdout_lines():
    """tqdm drawn as text (no widgets) writes its redraws to stderr; the report shows the final
    state of each bar as normal text, not in the red stderr box."""
    drawn = ("dataset:   0%|          | 0/8 [00:00<?, ?img/s]\rdataset:  50%|#####     | 4/8 [00:00<00:00, 9.1img/s]"
             "\rdataset: 100%|##########| 8/8 [00:01<00:00, 9.9img/s]\n"
             "epochs:  33%|###3      | 1/3 [00:00<00:00, 2.0it/s]\r                                 \r")
    nb = _cell(nbformat.v4.new_output("stream", name="stderr", text=drawn))
    assert finish_progress_bars(nb) == 1
    (out,) = nb.cells[0].outputs
    assert out.name == "stdout"
    assert out.text == "dataset: 100%|##########| 8/8 [00:01<00:00, 9.9img/s]\nepochs: stopped at 1/3\n"


def test_other_stderr_stays_stderr():
    warning = "UserWarning: something the reader should see\n"
    nb = _cell(nbformat.v4.new_output("stream", name="stderr", text=warning))
    assert finish_progress_bars(nb) == 0
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stderr", warning)]


def test_a_cells_stderr_is_read_whole():
    """The kernel sends stderr in chunks (a bar's redraws, its closing newline, a warning) between
    stdout chunks: the bars become one stdout output where stderr began, the warning stays stderr."""
    nb = _cell(nbformat.v4.new_output("stream", name="stderr", text="text bar:   0%|          | 0/6 [00:00<?, ?it/s]"),
               nbformat.v4.new_output("stream", name="stderr", text="\rtext bar: 100%|##########| 6/6 [00:00<00:00]"),
               nbformat.v4.new_output("stream", name="stdout", text="saved\n"),
               nbformat.v4.new_output("stream", name="stderr", text="\nUserWarning: look\n"))
    assert finish_progress_bars(nb) == 1
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [
        ("stdout", "text bar: 100%|##########| 6/6 [00:00<00:00]\n"), ("stderr", "UserWarning: look\n"),
        ("stdout", "saved\n")]
