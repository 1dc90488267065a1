"""The backprop explorer: one self-contained HTML page to step through the chain rule.

``viz.explore(output)`` returns an :class:`Explorer`. In Jupyter, VS Code or Colab it
shows inline (an ``<iframe>``: no server, no widget extension); ``.save("graph.html")``
writes one file that works from ``file://`` and loads nothing from the network.

The page shows the drawing of :func:`viz.draw_graph` (Graphviz lays it out; node ids
``n<i>``, ``n<i>op`` and ``g<k>`` are the contract between the two). The arrow keys
step the forward pass, then the backward pass, one node at a time. Every number and
every line of text the page shows comes from here: the forward steps of
:func:`autograd.explain.forward_steps`, the backward steps of ``backward_steps()``
(the same text as ``print(step)``), data, grads, formulas and local derivatives from
the op table. The page's script only shows them; it never computes a derivative.

With ``model=`` the page also has one drawing per level of modules (each layer as a
box, each neuron as a box, everything): clicking a box opens the next level, a button
goes back. With a :class:`nn.Recorder` from ``nn.fit(..., explore=recorder)`` a slider
scrubs through the training snapshots, with the loss curve beside it.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from autograd import Value
from autograd.explain import forward_steps, node_formula, node_names
from autograd.graph import has_table_op, topological_order

from . import large
from .draw import Frame, _Drawing, frame_options, op_text
from .render import DOT_TIMEOUT, _write_atomically, render_bytes
from .style import EDGE_HIGHLIGHT, HIGHLIGHT, format_number, gradient_color, text_color

__all__ = ["Explorer", "explore"]

MAX_VALUES = 2000  # values in the expanded drawing; above it only collapsed levels are drawn
START_EXPANDED = 150  # with a model, a graph of more values starts collapsed
PALETTE_STEPS = 200  # gradient colours for grad / scale in [-1, 1], both ends included
FORMAT_VERSION = 1


@dataclass
class _View:
    label: str
    collapse: list[str] | None
    svg: str
    groups: dict[str, dict[str, Any]]


class Explorer:
    """An interactive page for one graph: ``_repr_html_`` for notebooks, ``save`` for files."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def __repr__(self) -> str:
        d = self.data
        snapshots = len(d["training"]["snapshots"]) if d["training"] else 0
        return (
            f"Explorer({len(d['nodes'])} values, {len(d['forward'])} forward and "
            f"{len(d['backward'])} backward steps, {len(d['views'])} view(s), "
            f"{snapshots} training snapshot(s))"
        )

    def page(self) -> str:
        """The whole page: HTML with its style, script, drawings and data inline."""
        folder = resources.files("viz") / "explorer"
        template = (folder / "page.html").read_text(encoding="utf-8")
        style = (folder / "page.css").read_text(encoding="utf-8")
        script = (folder / "page.js").read_text(encoding="utf-8")
        data = json.dumps(self.data, separators=(",", ":"), allow_nan=False)
        data = data.replace("</", "<\\/")  # a label cannot end the <script> element
        title = html.escape(self.data["title"] or "chainrule explorer")
        parts = {"TITLE": title, "STYLE": style, "SCRIPT": script, "DATA": data}
        return re.sub(r"/\*@(TITLE|STYLE|SCRIPT|DATA)@\*/", lambda m: parts[m[1]], template)

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one self-contained file); returns the path."""
        target = Path(path)
        _write_atomically(target, self.page().encode("utf-8"))
        return target

    def _repr_html_(self) -> str:
        height = 640 if self.data["training"] else 560
        return (
            f'<iframe srcdoc="{html.escape(self.page(), quote=True)}" '
            f'style="width: 100%; height: {height}px; border: 1px solid #ddd" '
            f'sandbox="allow-scripts"></iframe>'
        )


def explore(
    output: Value | Any,
    *,
    inputs: Iterable[Value] = (),
    params: Iterable[Value] = (),
    model: Any = None,
    training: Any = None,
    collapse: str | Sequence[str] | None = None,
    title: str | None = None,
    precision: int = 4,
    timeout: float | None = DOT_TIMEOUT,
) -> Explorer:
    """An :class:`Explorer` for the graph of ``output``.

    * ``inputs``, ``params``, ``model``: roles and names as in :func:`viz.draw_graph`;
      ``model=`` also gives the page one drawing per level of modules.
    * ``training``: an ``nn.Recorder`` filled by ``nn.fit(..., explore=recorder)``; the
      page gets a slider over its snapshots. ``explore(recorder)`` is the same as
      ``explore(recorder.output, model=recorder.model, training=recorder)``.
    * ``collapse``: the module patterns of the first drawing shown (default: the
      graph drawn whole up to 150 values, else the finest level of boxes).

    Gradients shown are d output / d node, from a backward pass the explorer runs
    itself: the graph's own ``grad`` fields are left as they were.
    """
    if _is_recorder(output):
        training = output if training is None else training
        model = output.model if model is None else model
        output = output.output
    if not isinstance(output, Value):
        raise TypeError(f"explore a Value (or an nn.Recorder), not {type(output).__name__}")
    if training is not None and not _is_recorder(training):
        raise TypeError(f"training= takes an nn.Recorder, not {type(training).__name__}")
    options = {"inputs": inputs, "params": params, "model": model, "precision": precision}
    frame_options(options)  # checks them once, with draw_graph's messages
    topo = topological_order(output)
    steps = _walk(output, topo, model, precision)
    snapshots = _snapshots(training, topo, precision) if training is not None else None
    widths = _widths(topo, steps, snapshots, precision)
    views = _views(output, topo, model, collapse, options, widths, steps, timeout)
    return Explorer(
        {
            "version": FORMAT_VERSION,
            "title": title,
            "highlight": HIGHLIGHT,
            "edge_highlight": EDGE_HIGHLIGHT,
            "palette": _palette(),
            "nodes": steps["nodes"],
            "root": len(topo) - 1,
            "scale": steps["scale"],
            "forward": steps["forward"],
            "seed": steps["seed"],
            "backward": steps["backward"],
            "widths": widths,
            "views": [
                {"label": v.label, "collapse": v.collapse, "svg": v.svg, "groups": v.groups}
                for v in views
            ],
            "start_view": _start_view(views, collapse, len(topo), model),
            "training": snapshots,
        }
    )


# ----- the two passes, told once ---------------------------------------------------------
def _walk(output: Value, topo: list[Value], model: Any, precision: int) -> dict[str, Any]:
    """Nodes, forward steps and backward steps: a backward pass of our own, grads restored."""
    index = {id(node): i for i, node in enumerate(topo)}
    names = node_names(output, topo, model=model)
    model_names = large.parameter_names(model) if model is not None else {}
    saved = [node.grad for node in topo]
    for node in topo:
        node.grad = 0.0
    try:
        backward = []
        for step in output.backward_steps(model=model):
            updates = [
                [index[id(c.parent)], float(c.grad_after), format_number(c.grad_after, precision)]
                for c in step.contributions
            ]
            backward.append({"node": index[id(step.node)], "text": str(step), "updates": updates})
        grads = [float(node.grad) for node in topo]
    finally:
        for node, grad in zip(topo, saved):
            node.grad = grad
    nodes = []
    for node, grad in zip(topo, grads):
        entry: dict[str, Any] = {
            "name": names[id(node)],
            "param": model_names.get(id(node)),
            "op": op_text(node) if node._prev else None,
            "formula": f"{names[id(node)]} = {node_formula(node, names)}"
            if has_table_op(node)
            else None,
            "parents": [index[id(p)] for p in node._prev],
            "data": format_number(node.data, precision),
            "grad": format_number(grad, precision),
            "g": grad,
            "local": _local_derivatives(node, names, precision),
        }
        nodes.append(entry)
    forward = [
        {"node": index[id(s.node)], "text": str(s)} for s in forward_steps(output, model=model)
    ]
    root_grad = grads[-1]
    return {
        "nodes": nodes,
        "forward": forward,
        "seed": [len(topo) - 1, root_grad, format_number(root_grad, precision)],
        "backward": backward,
        "scale": max((abs(g) for g in grads if math.isfinite(g)), default=0.0),
        "grads": grads,
    }


def _local_derivatives(node: Value, names: dict[int, str], precision: int) -> list[str]:
    if not node._prev or not has_table_op(node):
        return []
    try:
        values = node.op.local_grads([p.data for p in node._prev], node.data)
    except (ArithmeticError, ValueError):
        values = [math.nan] * len(node._prev)
    out, texts = names[id(node)], []
    for parent, value in zip(node._prev, values):
        shown = format_number(value, precision) if math.isfinite(value) else "undefined"
        texts.append(f"∂{out}/∂{names[id(parent)]} = {shown}")
    return texts


# ----- training snapshots ----------------------------------------------------------------
def _is_recorder(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("snapshots", "output", "model"))


def _snapshots(recorder: Any, topo: list[Value], precision: int) -> dict[str, Any]:
    snapshots = list(recorder.snapshots)
    if not snapshots:
        raise ValueError("the recorder has no snapshots: pass it to nn.fit(..., explore=...)")
    rows = []
    for snap in snapshots:
        if len(snap.data) != len(topo) or len(snap.grad) != len(topo):
            raise ValueError(
                f"snapshot at step {snap.step} has {len(snap.data)} nodes but the graph "
                f"explored has {len(topo)}: explore the recorder's own output"
            )
        finite = [abs(g) for g in snap.grad if math.isfinite(g)]
        rows.append(
            {
                "step": snap.step,
                "epoch": snap.epoch,
                "loss": snap.loss,
                "data": [format_number(v, precision) for v in snap.data],
                "grad": [format_number(g, precision) for g in snap.grad],
                "g": [g if math.isfinite(g) else 0.0 for g in snap.grad],
                "scale": max(finite, default=0.0),
            }
        )
    return {"snapshots": rows}


def _widths(
    topo: list[Value],
    steps: dict[str, Any],
    snapshots: dict[str, Any] | None,
    precision: int,
) -> dict[str, list[int]]:
    """Characters each node's data and grad may need, so the layout never changes."""
    data = [len(n["data"]) for n in steps["nodes"]]
    grad = [max(1, len(n["grad"])) for n in steps["nodes"]]
    for step in steps["backward"]:
        for i, _, text in step["updates"]:
            grad[i] = max(grad[i], len(text))
    if snapshots is not None:
        for snap in snapshots["snapshots"]:
            data = [max(w, len(t)) for w, t in zip(data, snap["data"])]
            grad = [max(w, len(t)) for w, t in zip(grad, snap["grad"])]
    return {"data": data, "grad": grad}


# ----- drawings: one per level of modules ------------------------------------------------
def _levels(topo: list[Value], model: Any) -> list[list[str]]:
    """Collapse patterns from coarse to fine: ``layers.*``, then ``layers.*.neurons.*``."""
    if model is None:
        return []
    index = {id(node) for node in topo}
    param_modules = {
        key: large.module_of(name)
        for key, name in large.parameter_names(model).items()
        if key in index
    }
    patterns: dict[int, dict[str, None]] = {}
    for module in large.known_modules(large.assign_modules(topo, param_modules)):
        pattern = ".".join("*" if part.isdigit() else part for part in module.split("."))
        patterns.setdefault(pattern.count(".") + 1, {}).setdefault(pattern)
    return [list(patterns[depth]) for depth in sorted(patterns)]


def _views(
    output: Value,
    topo: list[Value],
    model: Any,
    collapse: str | Sequence[str] | None,
    options: dict[str, Any],
    widths: dict[str, list[int]],
    steps: dict[str, Any],
    timeout: float | None,
) -> list[_View]:
    levels = _levels(topo, model)
    if collapse is not None:
        wanted = [collapse] if isinstance(collapse, str) else list(collapse)
        if wanted not in levels:
            levels = sorted([*levels, wanted], key=lambda p: max(x.count(".") for x in p))
    plans: list[tuple[str, list[str] | None]] = [(", ".join(p), p) for p in levels]
    if len(topo) <= MAX_VALUES:
        plans.append(("every value", None))
    if not plans:
        raise large.GraphTooLargeError(
            f"the graph has {len(topo)} values, more than the explorer draws whole "
            f"({MAX_VALUES}); pass model= so that it can draw modules as boxes"
        )
    frame = Frame(
        grads={id(n): g for n, g in zip(topo, steps["grads"])},
        current=set(), updated=set(), caption="", scale=steps["scale"],
        grad_width={id(n): w for n, w in zip(topo, widths["grad"])},
        data_width={id(n): w for n, w in zip(topo, widths["data"])},
    )  # fmt: skip
    index = {id(node): i for i, node in enumerate(topo)}
    views = []
    for label, patterns in plans:
        drawing = _Drawing(
            [output], frame_options({**options, "collapse": patterns, "max_nodes": None}), frame
        )
        source = drawing.build().source
        svg = render_bytes(source, ["svg"], timeout=timeout)["svg"].decode("utf-8")
        groups = {}
        for group, gid in drawing.group_ids.items():
            members = [n for n in drawing.visible if drawing.groups.get(id(n)) == group]
            exits = [n for n in members if drawing._leaves_group(n, group)]
            groups[gid] = {
                "name": group,
                "members": [index[id(n)] for n in members],
                "exit": index[id(exits[0])] if len(exits) == 1 else None,
            }
        views.append(_View(label, patterns, _inline_svg(svg), groups))
    return views


def _inline_svg(svg: str) -> str:
    """The ``<svg>`` element alone (no XML prolog, doctype or comments), to sit in the page."""
    return re.sub(r"<!--.*?-->\n?", "", svg[svg.index("<svg") :], flags=re.S)


def _start_view(views: list[_View], collapse: Any, values: int, model: Any) -> int:
    if collapse is not None:
        wanted = [collapse] if isinstance(collapse, str) else list(collapse)
        return next(i for i, v in enumerate(views) if v.collapse == wanted)
    if model is None or values <= START_EXPANDED or len(views) == 1:
        return len(views) - 1  # everything
    return len(views) - 2 if views[-1].collapse is None else len(views) - 1  # finest boxes


def _palette() -> dict[str, list[str]]:
    """Fill and ink for grad / scale from -1 to 1 (the scale of viz.style, sampled)."""
    ratios = [-1 + 2 * k / PALETTE_STEPS for k in range(PALETTE_STEPS + 1)]
    return {
        "fill": [gradient_color(r, 1.0) for r in ratios],
        "ink": [text_color(r, 1.0) for r in ratios],
    }
