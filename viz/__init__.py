"""chainrule's visualizer: computation graphs as pictures, backprop as frames, training plots.

>>> from autograd import Value
>>> import viz
>>> x = Value(2.0, label="x"); w = Value(-3.0, label="w")
>>> y = (x * w).tanh(); y.backward()
>>> viz.draw_graph(y)                     # a graphviz.Digraph (shows inline in Jupyter)
>>> viz.render(y, "graph.png")            # format from the suffix: .png .svg .pdf
>>> viz.animate_backward(y, "backprop.gif")
>>> viz.explore(y).save("graph.html")     # an interactive page (inline in notebooks too)

Plots (``plot_history``, ``plot_decision_boundary``, ``plot_search``) need matplotlib,
the optional extra ``chainrule[plot]``, imported on first use; GIFs need Pillow
(``chainrule[gif]``).
"""

# ruff: noqa: E402  (the package check below runs before any other import)
import runpy as _runpy
from pathlib import Path as _Path

# First of all: stop with a clear error when another package named autograd, nn or viz
# is imported instead of chainrule's (autograd/packages.py, run by its path).
_runpy.run_path(
    str(_Path(__file__).resolve().parents[1] / "autograd" / "packages.py"), run_name="check"
)

from .animate import animate_backward, backward_frames
from .draw import draw_dot, draw_graph
from .explore import Explorer, explore
from .large import GraphTooLargeError
from .network import draw_network
from .plots import plot_decision_boundary, plot_history, plot_search
from .render import (
    GraphvizNotFoundError,
    PictureFormatError,
    RenderError,
    RenderTimeoutError,
    render,
)
from .style import format_number

__all__ = [
    "Explorer",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "PictureFormatError",
    "RenderError",
    "RenderTimeoutError",
    "animate_backward",
    "backward_frames",
    "draw_dot",
    "draw_graph",
    "draw_network",
    "explore",
    "format_number",
    "plot_decision_boundary",
    "plot_history",
    "plot_search",
    "render",
]
