"""Writing pictures: ``render(root_or_digraph, "graph.png")`` runs Graphviz's ``dot``.

The format comes from the file suffix. Several files (``["g.png", "g.svg"]``)
come from one ``dot`` run, so they share one layout. Files are written to a
temporary name and moved into place, so a failed render leaves an existing
picture whole. When ``dot`` is missing the error says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import graphviz

from autograd import Value

__all__ = [
    "FORMATS",
    "GraphvizNotFoundError",
    "RenderError",
    "RenderWarning",
    "dot_source",
    "find_dot",
    "render",
    "render_bytes",
]

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "gif", "dot", "gv")
_TEXT_FORMATS = ("dot", "gv")  # the DOT source itself, no Graphviz needed

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


class RenderWarning(UserWarning):
    """``dot`` succeeded but printed a warning (such as scaling down a huge bitmap)."""


class RenderError(RuntimeError):
    """``dot`` ran but failed; the message holds what it printed."""


def find_dot() -> str:
    """The path of Graphviz's ``dot``; :class:`GraphvizNotFoundError` says how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizNotFoundError(INSTALL_HINT)
    return path


def dot_source(graph: Value | Sequence[Value] | graphviz.Digraph, **draw_options: Any) -> str:
    """The DOT text of a digraph, or of the drawing of a Value (see :func:`viz.draw_graph`)."""
    if isinstance(graph, (graphviz.Digraph, graphviz.Graph)):
        if draw_options:
            raise TypeError(
                f"drawing options ({', '.join(draw_options)}) apply to a Value, not to a "
                "digraph that is already drawn"
            )
        return graph.source
    from .draw import draw_graph

    return draw_graph(graph, **draw_options).source


LARGE_GRAPH = 400  # nodes; above this a bitmap is an overview, drawn at 72 dpi


def _count_nodes(source: str) -> int:
    return sum(1 for line in source.splitlines() if "[label=" in line and "->" not in line)


def render(
    graph: Value | Sequence[Value] | graphviz.Digraph,
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    dpi: float | None = None,
    timeout: float | None = None,
    **draw_options: Any,
) -> Path | list[Path]:
    """Draw ``graph`` (a Value or a digraph) and write it to ``path``.

    The format comes from the suffix: ``.png``, ``.svg``, ``.pdf`` (also ``.jpg``,
    ``.gif``, and ``.dot``/``.gv`` for the DOT text). A list of paths gives one
    file per path from a single layout, and returns a list. ``dpi`` sets the
    resolution of bitmaps: by default Graphviz's 96, or 72 for a graph of more than
    ``LARGE_GRAPH`` nodes, whose PNG is an overview (and draws in half the time);
    ``timeout`` (seconds) stops a ``dot`` that runs too long. Keywords such as
    ``local_grads=True`` or ``model=...`` are drawing options (see
    :func:`viz.draw_graph`).
    """
    single = isinstance(path, (str, os.PathLike))
    paths = [Path(path)] if single else [Path(p) for p in path]  # type: ignore[union-attr]
    if not paths:
        raise ValueError("render needs at least one output path")
    formats = [_format_of(p) for p in paths]
    source = dot_source(graph, **draw_options)
    if dpi is None and _count_nodes(source) > LARGE_GRAPH:
        dpi = 72
    outputs = render_bytes(source, formats, dpi=dpi, timeout=timeout)
    for p, fmt in zip(paths, formats):
        _write_atomically(p, outputs[fmt])
    return paths[0] if single else paths


def render_bytes(
    source: str | graphviz.Digraph,
    formats: Sequence[str],
    *,
    dpi: float | None = None,
    timeout: float | None = None,
) -> dict[str, bytes]:
    """Run ``dot`` once on DOT text and return the bytes of each requested format."""
    if isinstance(source, (graphviz.Digraph, graphviz.Graph)):
        source = source.source
    wanted = list(dict.fromkeys(formats))
    for fmt in wanted:
        if fmt not in FORMATS:
            raise ValueError(f"unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}")
    outputs = {fmt: source.encode("utf-8") for fmt in wanted if fmt in _TEXT_FORMATS}
    drawn = [fmt for fmt in wanted if fmt not in _TEXT_FORMATS]
    if not drawn:
        return outputs
    dot = find_dot()
    with tempfile.TemporaryDirectory(prefix="chainrule-") as tmp:
        command = [dot]
        if dpi is not None:
            command.append(f"-Gdpi={float(dpi):g}")
        files = {}
        for fmt in drawn:
            files[fmt] = Path(tmp, f"graph.{fmt}")
            command += [f"-T{fmt}", f"-o{files[fmt]}"]
        try:
            result = subprocess.run(
                command, input=source.encode("utf-8"), capture_output=True, timeout=timeout
            )
        except FileNotFoundError:  # removed between the lookup and the run
            raise GraphvizNotFoundError(INSTALL_HINT) from None
        except PermissionError as exc:
            raise GraphvizNotFoundError(f"{dot} cannot be run ({exc}).\n{INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise RenderError(
                f"dot did not finish within {timeout:g} s; draw less of the graph "
                "(focus=..., collapse=...) or raise the timeout"
            ) from None
        message = result.stderr.decode("utf-8", "replace").strip()
        if result.returncode != 0:
            raise RenderError(f"dot failed (exit code {result.returncode}): {message}")
        if message:  # e.g. "graph is too large for cairo-renderer bitmaps. Scaling by 0.5"
            shown = message if message.startswith("dot") else f"dot: {message}"
            warnings.warn(shown, RenderWarning, stacklevel=3)
        for fmt, file in files.items():
            if not file.exists() or file.stat().st_size == 0:
                raise RenderError(f"dot wrote no {fmt} output: {message or 'no message'}")
            outputs[fmt] = file.read_bytes()
    return outputs


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if not fmt:
        raise ValueError(f"{path}: no suffix, so no format; use e.g. graph.png or graph.svg")
    if fmt not in FORMATS:
        raise ValueError(f"{path}: unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to ``path``, then move it into place."""
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
