"""The digraph chainrule's drawings return, and finding Graphviz's ``dot``.

A :class:`Digraph` is a :class:`graphviz.Digraph` whose notebook display and
``pipe()``/``render()`` first check that ``dot`` is installed, so that a notebook
without Graphviz shows the same install message as :func:`viz.render`, not
graphviz's bare ``ExecutableNotFound``.
"""

from __future__ import annotations

import shutil
from typing import Any

import graphviz

__all__ = ["INSTALL_HINT", "Digraph", "GraphvizNotFoundError", "find_dot"]

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH; chainrule needs it to render graphs "
    "(the `graphviz` Python package alone only writes DOT text). Install Graphviz:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  Fedora:         sudo dnf install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  Windows:        winget install graphviz  (then add its bin folder to PATH)\n"
    "Without Graphviz you can still print a graph as text: value.tree(), or write "
    "the DOT text with viz.render(root, 'graph.dot')."
)


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed (or not on PATH)."""


def find_dot() -> str:
    """The path of Graphviz's ``dot``; :class:`GraphvizNotFoundError` says how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    return path


class Digraph(graphviz.Digraph):
    """A :class:`graphviz.Digraph` that says how to install Graphviz when ``dot`` is missing."""

    def _repr_mimebundle_(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        find_dot()
        return super()._repr_mimebundle_(*args, **kwargs)

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        find_dot()
        return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        find_dot()
        return super().render(*args, **kwargs)
