"""chainrule in a real Jupyter kernel (nbclient + ipykernel): what a notebook user sees."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat (dev extra)")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient (dev extra)")
pytest.importorskip("ipykernel", reason="notebook tests need ipykernel (dev extra)")

CELLS = [
    "import nn\nimport viz\nfrom autograd import Value",
    'viz.plot_history({"loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0]})',
    'x = Value(2.0, label="x"); w = Value(-3.0, label="w")\n'
    'y = (x * w).tanh(); y.label = "y"; y.backward()\ny.tree()',
    "next(y.backward_steps())",
    "viz.draw_dot(y)",
    "X, t = nn.datasets.make_moons(20, noise=0.1, seed=0)\n"
    "model = nn.MLP(2, [4, 1], seed=0)\n"
    'h = nn.fit(model, X, t, loss="hinge", epochs=2)',
    'import os\nos.environ["PATH"] = ""\nviz.draw_dot(y)',
]


@pytest.fixture(scope="module")
def outputs():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", allow_errors=True
    )
    client.execute()
    return [cell.outputs for cell in notebook.cells]


def _texts(cell_outputs, stream=None):
    parts = []
    for out in cell_outputs:
        if out.output_type == "stream" and stream in (None, out.name):
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data") and stream is None:
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "error" and stream is None:
            parts.append(f"{out.ename}: {out.evalue}")
    return "".join(parts)


def _bundles(cell_outputs):
    return [o.data for o in cell_outputs if o.output_type in ("execute_result", "display_data")]


def test_importing_prints_nothing(outputs):
    assert outputs[0] == [], _texts(outputs[0])


def test_plots_show_inline_without_magic(outputs):
    bundles = _bundles(outputs[1])
    assert bundles and "image/png" in bundles[0], _texts(outputs[1])
    import base64

    assert base64.b64decode(bundles[0]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_tree_shows_as_lines(outputs):
    (bundle,) = _bundles(outputs[2])
    text = bundle["text/plain"]
    assert text.splitlines()[0] == "y = tanh(v1)   data=-0.999988 grad=1"
    assert "\\n" not in text and text.count("\n") == 3


def test_a_step_shows_its_arithmetic(outputs):
    (bundle,) = _bundles(outputs[3])
    assert bundle["text/plain"].startswith("<BackwardStep 1/2\ny = tanh(v1):  dy/dv1 +=")


def test_a_graph_shows_as_svg(outputs):
    (bundle,) = _bundles(outputs[4])
    assert "<svg" in bundle["image/svg+xml"] and "data 2" in bundle["image/svg+xml"]


def test_training_shows_a_quiet_text_progress_bar(outputs):
    text = _texts(outputs[5])
    assert "IProgress" not in text and "Warning" not in text, text
    assert "100%" in _texts(outputs[5], stream="stderr")


def test_without_graphviz_the_notebook_says_how_to_install_it(outputs):
    text = _texts(outputs[6])
    assert "Graphviz's `dot` program was not found on PATH" in text, text
    assert "ExecutableNotFound" not in text
