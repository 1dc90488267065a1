"""Writing pictures: ``render(root_or_digraph, "graph.png")`` runs Graphviz's ``dot``.

The format comes from the file suffix. Several files (``["g.png", "g.svg"]``)
come from one ``dot`` run, so they share one layout. Files are written to a
temporary name and moved into place, so a failed render leaves an existing
picture whole. When ``dot`` is missing the error says how to install it.

``dot`` always runs under a time limit (``DOT_TIMEOUT``, 30 s, unless ``timeout=``
says otherwise). Its slow case is a value used by many later steps (``x*x*...*x``):
every edge that spans several ranks becomes a chain of dummy nodes, so such a graph
has quadratically many, and placing them takes minutes. When the DOT text has more
than ``LONG_EDGE_BUDGET`` of them, ``dot`` gets a cheaper layout (a bounded network
simplex and straight edges) that draws in a second or two.
"""

from __future__ import annotations

import errno
import math
import os
import re
import subprocess
import tempfile
import warnings
from collections import defaultdict, deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import graphviz

from autograd import Value

from .digraph import INSTALL_HINT, GraphvizNotFoundError, find_dot

__all__ = [
    "DOT_TIMEOUT",
    "FORMATS",
    "GraphvizNotFoundError",
    "PictureFormatError",
    "RenderError",
    "RenderTimeoutError",
    "RenderWarning",
    "dot_source",
    "find_dot",
    "render",
    "render_bytes",
]

FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "gif", "dot", "gv")
_TEXT_FORMATS = ("dot", "gv")  # the DOT source itself, no Graphviz needed


class RenderWarning(UserWarning):
    """``dot`` succeeded but printed a warning (such as scaling down a huge bitmap)."""


class RenderError(RuntimeError):
    """``dot`` ran but failed (or ran out of time); the message holds what it printed."""


class RenderTimeoutError(RenderError):
    """``dot`` ran longer than the time limit and was stopped; ``timeout`` is the limit."""

    def __init__(self, message: str, timeout: float):
        super().__init__(message)
        self.timeout = timeout


class PictureFormatError(ValueError):
    """The picture's file name has no suffix, or one that names no known format."""


VIEWS = ("graph", "network")


def dot_source(graph: Any, *, view: str = "graph", **draw_options: Any) -> str:
    """The DOT text of a digraph, or of a drawing: of a Value's computation graph
    (``view="graph"``, see :func:`viz.draw_graph`) or of a model as a neural-network
    diagram (``view="network"``, see :func:`viz.draw_network`)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {', '.join(map(repr, VIEWS))}; got {view!r}")
    if isinstance(graph, (graphviz.Digraph, graphviz.Graph)):
        if draw_options:
            raise TypeError(
                f"drawing options ({', '.join(draw_options)}) apply to a Value, not to a "
                "digraph that is already drawn"
            )
        return graph.source
    if view == "network":
        from .network import draw_network

        return draw_network(graph, **draw_options).source
    from .draw import draw_graph

    return draw_graph(graph, **draw_options).source


LARGE_GRAPH = 400  # nodes; above this a bitmap is an overview, drawn at 72 dpi
DOT_TIMEOUT = 30.0  # seconds; the default time limit of every dot run
LONG_EDGE_BUDGET = 2_000  # dummy nodes of long edges; above this dot gets a cheaper layout
CHEAP_LAYOUT = ("-Gnslimit=1", "-Gsplines=line")

_ID = r'("(?:[^"\\]|\\.)*"|[^\s"\[\]{};:,=]+)(?::\S+)?'
_EDGE = re.compile(rf"^\s*{_ID} -> {_ID}(.*)$")


def _count_nodes(source: str) -> int:
    return sum(1 for line in source.splitlines() if "[label=" in line and "->" not in line)


def long_edge_cost(source: str) -> int:
    """About how many dummy nodes ``dot`` adds for edges that span several ranks.

    Ranks are estimated twice, as early and as late as the edges allow (leaves next
    to their first use); the smaller total counts. Edge labels double every span, as
    in ``dot``. The time ``dot`` takes grows faster than this number.
    """
    edges: list[tuple[str, str]] = []
    labelled = False
    for line in source.splitlines():
        match = _EDGE.match(line)
        if match:
            edges.append((match[1], match[2]))
            labelled = labelled or "label=" in match[3]
    heads, tails = defaultdict(list), defaultdict(list)
    for tail, head in edges:
        heads[tail].append(head)
        tails[head].append(tail)
    early = _longest_paths(heads, tails)  # ranks as early as the edges allow
    for node in early:  # but a leaf waits until it is needed
        if not tails[node]:
            early[node] = min((early[h] - 1 for h in heads[node] if h in early), default=0)
    late = {node: -length for node, length in _longest_paths(tails, heads).items()}
    costs = [
        sum(rank[h] - rank[t] - 1 for t, h in edges if t in rank and h in rank)
        for rank in (early, late)
    ]
    return min(costs) * (2 if labelled else 1)


def _longest_paths(heads: dict[str, list[str]], tails: dict[str, list[str]]) -> dict[str, int]:
    """The longest path from a node without tails to each node (nodes on a cycle left out)."""
    waiting = {node: len(tails[node]) for node in [*heads, *tails]}
    ready = deque(node for node, count in waiting.items() if count == 0)
    length = dict.fromkeys(ready, 0)
    while ready:
        node = ready.popleft()
        for head in heads[node]:
            length[head] = max(length.get(head, 0), length[node] + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    return {node: n for node, n in length.items() if waiting[node] == 0}


def render(
    graph: Value | Sequence[Value] | graphviz.Digraph,
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    dpi: float | None = None,
    timeout: float | None = DOT_TIMEOUT,
    view: str = "graph",
    **draw_options: Any,
) -> Path | list[Path]:
    """Draw ``graph`` (a Value or a digraph) and write it to ``path``.

    The format comes from the suffix: ``.png``, ``.svg``, ``.pdf`` (also ``.jpg``,
    ``.gif``, and ``.dot``/``.gv`` for the DOT text). A list of paths gives one
    file per path from a single layout, and returns a list. ``dpi`` sets the
    resolution of bitmaps: by default Graphviz's 96, or 72 for a graph of more than
    ``LARGE_GRAPH`` nodes, whose PNG is an overview (and draws in half the time);
    ``timeout`` (seconds, default ``DOT_TIMEOUT``; None: no limit) stops a ``dot``
    that runs too long with a :class:`RenderError`. Keywords such as
    ``local_grads=True`` or ``model=...`` are drawing options (see
    :func:`viz.draw_graph`). ``view="network"`` draws a model (the first argument)
    as a neural-network diagram instead, with :func:`viz.draw_network`'s options.
    """
    single = isinstance(path, (str, os.PathLike))
    paths = [Path(path)] if single else [Path(p) for p in path]  # type: ignore[union-attr]
    if not paths:
        raise ValueError("render needs at least one output path")
    formats = [picture_format(p) for p in paths]
    source = dot_source(graph, view=view, **draw_options)
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
    timeout: float | None = DOT_TIMEOUT,
) -> dict[str, bytes]:
    """Run ``dot`` once on DOT text and return the bytes of each requested format.

    ``timeout``: seconds before ``dot`` is stopped (None: no limit).
    """
    if isinstance(source, (graphviz.Digraph, graphviz.Graph)):
        source = source.source
    wanted = list(dict.fromkeys(formats))
    for fmt in wanted:
        if fmt not in FORMATS:
            raise PictureFormatError(
                f"unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}"
            )
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    outputs = {fmt: source.encode("utf-8") for fmt in wanted if fmt in _TEXT_FORMATS}
    drawn = [fmt for fmt in wanted if fmt not in _TEXT_FORMATS]
    if not drawn:
        return outputs
    dot = find_dot()
    with tempfile.TemporaryDirectory(prefix="chainrule-") as tmp:
        command = [dot]
        if long_edge_cost(source) > LONG_EDGE_BUDGET:
            command += CHEAP_LAYOUT
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
            raise RenderTimeoutError(
                f"dot did not finish within {timeout:g} s and was stopped; draw less of the "
                "graph (focus=..., collapse=...) or allow more time (timeout=...)",
                timeout,
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


def picture_format(path: str | os.PathLike[str]) -> str:
    """The format of a picture file from its suffix; checked before anything is drawn.

    A folder, or a path inside something that is not a folder, is refused with an
    :class:`OSError` naming it; a missing or unknown suffix with :class:`PictureFormatError`.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            errno.EISDIR, "is a folder; name a picture file in it, e.g. graph.png", str(path)
        )
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(folder))
            break
    fmt = path.suffix.lower().lstrip(".")
    if not fmt:
        raise PictureFormatError(
            f"{path}: no suffix, so no format; use e.g. graph.png or graph.svg"
        )
    if fmt not in FORMATS:
        raise PictureFormatError(
            f"{path}: unknown picture format {fmt!r}; use one of {', '.join(FORMATS)}"
        )
    return fmt


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file next to ``path``, then move it into place.

    An :class:`OSError` names ``path`` (or its folder), not the temporary file.
    """
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except FileExistsError:  # mkdir: a file has the folder's name
        raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(directory)) from None
    except OSError as exc:
        raise _naming(exc, directory) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from exc
        raise


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (same errno, so the same subclass) with ``path`` as its file name."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))
