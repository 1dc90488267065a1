"""The classic neural-network diagram of a model: neurons as circles, weights as edges.

``draw_network(model)`` draws what articles and TensorFlow Playground draw: one column
of circles per layer, left to right (the inputs ``x0 .. x{nin-1}``, each hidden layer,
the output layer), neuron 0 at the top of each column, and one edge per weight,
coloured by its sign and as wide as its magnitude. Each neuron shows its activation
and bias; with ``sample=`` also the value it computes for that sample and its gradient.

>>> import nn, viz
>>> model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)
>>> viz.draw_network(model, sample=[0.5, -1.0])        # a graphviz.Digraph
>>> viz.render(model, "network.png", view="network")    # the same picture, as a file
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import graphviz

from autograd import Value, enable_grad

from .digraph import Digraph
from .labels import escape, html_label, shorten, shorten_lines
from .style import FONT, ROLE_COLORS, format_number, gradient_color

__all__ = [
    "COLOR_BY",
    "COLUMN_INCHES",
    "DEFAULT_MAX_EDGES",
    "MAX_INCHES",
    "draw_network",
    "edge_width",
]

COLOR_BY = ("weight", "grad")
DEFAULT_MAX_EDGES = 200  # edges drawn per layer pair; the strongest are kept
MAX_INCHES = 20  # the drawing is scaled down to fit 20 x 20 in: 1920 px at Graphviz's 96 dpi
MIN_WIDTH, EXTRA_WIDTH = 0.5, 3.0  # pen width = 0.5 + 3 * |q| / max |q|
MIN_STRENGTH = 0.15  # the weakest edge is coloured as if |q| were 0.15 * max |q|
# A column whose circles would stack taller than this (inches) shows fewer lines in them
# (level 1: no activation and bias; level 2: names only); tooltips keep every number.
COLUMN_INCHES = 24
SMALL = 9  # point size of the small lines in a circle (activation, bias, grad)
NODESEP = 0.08  # inches between circles in a column
# inches between columns: a quarter of the tallest column, within 1.6 .. 5, so that the
# fans of edges between tall columns are not too steep to follow
MIN_RANKSEP, MAX_RANKSEP, RANKSEP_SHARE = 1.6, 5.0, 0.25
ZERO_COLOR = "#b0b0b0"  # a weight (or grad) of exactly 0 has no sign: grey
NAN_COLOR = "#808080"
HEADER_COLOR = "#444444"
SUPPORTED = "nn.MLP, nn.Sequential of nn.Layer (and nn.Dropout), nn.Layer or nn.Neuron"


@dataclass
class _Column:
    """One column of circles: the inputs, or one layer's neurons."""

    title: str
    subtitle: str
    ids: list[str]
    neurons: list[Any]  # the Neurons (empty for the input column)


@dataclass
class _Edge:
    tail: str
    head: str
    weight: Value
    name: str
    q: float  # what the edge shows: the weight's data, or its grad


def edge_width(q: float, scale: float) -> float:
    """The pen width of an edge showing ``q`` when the largest |q| is ``scale``:
    ``0.5 + 3 * |q| / scale`` points (0.5 for every edge when ``scale`` is 0)."""
    if math.isnan(q):
        return MIN_WIDTH
    if scale <= 0 or not math.isfinite(scale):
        return MIN_WIDTH + (EXTRA_WIDTH if math.isinf(q) else 0.0)
    return MIN_WIDTH + EXTRA_WIDTH * min(1.0, abs(q) / scale)


def _edge_color(q: float, scale: float) -> str:
    """The colour of an edge: the gradient scale of :mod:`viz.style` (blue < 0 < red),
    never lighter than at ``MIN_STRENGTH * scale``, so every edge stays visible."""
    if math.isnan(q):
        return NAN_COLOR
    if q == 0:
        return ZERO_COLOR
    if scale <= 0 or not math.isfinite(scale):
        return gradient_color(math.copysign(1.0, q), 1.0)
    return gradient_color(math.copysign(max(abs(q), MIN_STRENGTH * scale), q), scale)


def draw_network(
    model: Any,
    *,
    sample: Iterable[float] | None = None,
    color_by: str = "weight",
    max_edges: int | None = DEFAULT_MAX_EDGES,
    precision: int = 3,
    title: str | None = None,
    format: str = "svg",  # noqa: A002 - as draw_graph and graphviz
) -> graphviz.Digraph:
    """The neural-network diagram of ``model`` as a :class:`graphviz.Digraph`.

    ``model`` is an ``nn.MLP``, an ``nn.Sequential`` of ``nn.Layer`` (``nn.Dropout``
    between them is skipped: it has no weights), one ``nn.Layer`` or one ``nn.Neuron``.

    * Columns, left to right: the inputs ``x0 .. x{nin-1}``, then each layer; each
      column is headed by the layer's name, size and activation, and lists its
      neurons in index order, 0 at the top. A neuron shows its activation and bias
      (``tanh`` / ``b=0.12``); its SVG tooltip has its name (``layers.0.neurons.3``)
      and all its numbers.
    * Edges: one per weight, from input ``i`` to the neuron whose ``w[i]`` it is.
      ``color_by='weight'`` shows each weight's data, ``'grad'`` its current
      ``.grad`` (what the last ``backward()`` left, e.g. of a loss; ``sample=`` does not
      change it). The colour is the sign, on the diverging scale of the graph pictures
      (blue < 0 < red, strength sqrt(|q| / max|q|), never lighter than at 0.15 max|q|;
      grey for exactly 0); the pen width is ``0.5 + 3 * |q| / max|q|`` points, max|q|
      taken over every weight of the model. Stronger edges are drawn on top.
    * ``sample``: one input (a list of ``nin`` finite numbers). The model is run on it
      in eval mode (no dropout) and ``backward()`` is called on its output (the sum of
      the outputs if there are several); each circle then also shows ``a=`` the value
      it computes and ``g=`` the gradient d(sum of outputs)/d(that value). Every
      parameter's grad is saved before and restored after, so drawing never changes
      the model. Without ``sample`` no data or grad is shown.
    * ``max_edges`` (thinning): when a layer pair (one layer and the column before it)
      has more than ``max_edges`` weights, only the ``max_edges`` largest |q| are drawn
      (ties: lower neuron, then lower input index first), and the legend says so:
      "edges into layers.0 (hidden): showing 200 strongest of 2048 edges". ``None``
      draws every edge. ``DEFAULT_MAX_EDGES`` is 200: ``nn.MLP(64, [32, 10])`` shows
      200 of its 2048 first-layer weights and 200 of its 320 second-layer ones.
    * ``precision``: significant digits of the numbers; ``title``: a caption on top;
      ``format``: the format the digraph renders itself in (Jupyter shows SVG).

    Readability: the drawing is scaled down to fit ``MAX_INCHES`` (20 in, so at most
    1920 px in a PNG at Graphviz's 96 dpi). A column whose circles would stack taller
    than ``COLUMN_INCHES`` (24 in; or than the tallest column of names only) shows less
    in its circles: first without activation and bias (the header names the
    activation), then only names (``x12``, or the neuron's index); each circle's SVG
    tooltip always holds all its numbers, and the legend names the columns shortened.
    The title and a legend above the network explain colour, width, the numbers in
    the circles, the shortening and the thinning.
    """
    if color_by not in COLOR_BY:
        raise ValueError(
            f"color_by must be one of {', '.join(map(repr, COLOR_BY))}; got {color_by!r}"
        )
    if max_edges is not None and (
        isinstance(max_edges, bool) or not isinstance(max_edges, numbers.Integral)
    ):
        raise TypeError(f"max_edges must be a positive whole number or None, got {max_edges!r}")
    if max_edges is not None and max_edges < 1:
        raise ValueError(f"max_edges must be a positive whole number or None, got {max_edges!r}")
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(f"precision must be a whole number from 1 to 17, got {precision!r}")
    layers = _layers(model)
    columns = _columns(layers, single=_is_neuron(model))
    values = None
    if sample is not None:
        values = _sample(model, layers, columns, _check_sample(sample, len(columns[0].ids)))
    names = {id(p): name for name, p in model.named_parameters()}
    drawing = _Drawing(columns, names, values, color_by, max_edges, precision, title, format)
    return drawing.build()


# ----- the model's structure ------------------------------------------------------------
def _layers(model: Any) -> list[tuple[str, list[Any]]]:
    """``(name, neurons)`` of every layer, in order, checked to fit together."""
    from nn.module import MLP, Dropout, Layer, Neuron, Sequential

    if isinstance(model, MLP | Sequential):
        layers = list(getattr(model, "layers", None) or [])
        found = []
        for i, layer in enumerate(layers):
            if isinstance(layer, Layer):
                found.append((f"layers.{i}", list(layer.neurons)))
            elif not isinstance(layer, Dropout):
                raise TypeError(
                    f"draw_network draws {SUPPORTED}; item {i} of this "
                    f"{type(model).__name__} is a {type(layer).__name__}"
                )
    elif isinstance(model, Layer):
        found = [("", list(model.neurons))]
    elif isinstance(model, Neuron):
        found = [("", [model])]
    else:
        raise TypeError(f"draw_network draws {SUPPORTED}, not {type(model).__name__}")
    found = [(name, neurons) for name, neurons in found if neurons]
    if not found:
        raise ValueError(f"this {type(model).__name__} has no layers (no neurons) to draw")
    size = found[0][1][0].nin
    for name, neurons in found:
        for j, neuron in enumerate(neurons):
            if neuron.nin != size:
                where = f"{name}.neurons.{j}" if name else f"neuron {j}"
                raise ValueError(
                    f"the layers do not fit together: {where} takes {neuron.nin} inputs, "
                    f"the column before it has {size}"
                )
        size = len(neurons)
    return found


def _check_sample(sample: Any, nin: int) -> list[float]:
    if isinstance(sample, str | bytes) or not isinstance(sample, Iterable):
        raise TypeError(
            f"sample must be a list of {nin} numbers (one input), not {type(sample).__name__}"
        )
    numbers_ = list(sample)
    if len(numbers_) != nin:
        raise ValueError(
            f"sample must have one number per input: the model takes {nin}, got {len(numbers_)}"
        )
    out = []
    for i, x in enumerate(numbers_):
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"sample[{i}] must be a number, not {type(x).__name__}: {x!r:.40}")
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"sample[{i}] is {x}: the sample's numbers must be finite")
        out.append(x)
    return out


@dataclass
class _Values:
    """What one sample does: each node's data and grad, by node id."""

    data: dict[str, float]
    grad: dict[str, float]
    sample: list[float]


def _is_neuron(model: Any) -> bool:
    from nn.module import Neuron

    return isinstance(model, Neuron)


def _sample(
    model: Any, layers: list[tuple[str, list[Any]]], columns: list[_Column], sample: list[float]
) -> _Values:
    """Run ``sample`` through the layers (eval mode: dropout is skipped), backward from the
    sum of the outputs, read every neuron's data and grad, and give every parameter its
    grad back."""
    params = model.parameters()
    saved = [p.grad for p in params]
    try:
        with enable_grad():
            inputs = [Value(x) for x in sample]
            outputs = [inputs]
            x = inputs
            for _, neurons in layers:
                x = [neuron(x) for neuron in neurons]
                outputs.append(x)
            root = x[0] if len(x) == 1 else Value.sum(x)
            root.backward()
        data, grad = {}, {}
        for column, computed in zip(columns, outputs):
            for node_id, v in zip(column.ids, computed):
                data[node_id] = float(v.data)
                grad[node_id] = float(getattr(v.grad, "data", v.grad))
    finally:
        for p, g in zip(params, saved):
            p.grad = g
    return _Values(data, grad, sample)


def _columns(layers: list[tuple[str, list[Any]]], single: bool) -> list[_Column]:
    """The columns: the inputs, then each layer. Node ids are the neurons' names in the
    model (``layers.0.neurons.3``; ``neurons.3`` for a Layer, ``neuron`` for a Neuron)."""
    nin = layers[0][1][0].nin
    columns = [_Column("input", f"{nin} numbers", [f"x{i}" for i in range(nin)], [])]
    last = len(layers) - 1
    for k, (name, neurons) in enumerate(layers):
        if single:
            ids, label = ["neuron"], "neuron"
        else:
            prefix = f"{name}.neurons" if name else "neurons"
            ids, label = [f"{prefix}.{j}" for j in range(len(neurons))], name or "layer"
        acts = {n.activation for n in neurons}
        act = acts.pop() if len(acts) == 1 else "mixed"
        role = "output" if k == last else "hidden"
        columns.append(_Column(f"{label} ({role})", f"{len(neurons)} × {act}", ids, neurons))
    return columns


# ----- drawing ----------------------------------------------------------------------------
def _header(c: int) -> str:
    return f"column{c}"


def _html(lines: list[tuple[str, int, bool]]) -> str:
    parts = []
    for text, size, bold in lines:
        text = escape(text)
        parts.append(f"<B>{text}</B>" if bold else f'<FONT POINT-SIZE="{size}">{text}</FONT>')
    return "<BR/>".join(parts)


def _diameter(lines: list[tuple[str, int, bool]]) -> float:
    """The circle (inches) around these lines of text: the diagonal of their box, from
    an average character width, plus a margin. Every circle of a column gets the size of
    its largest (``fixedsize``: Graphviz's own circles would be a third larger)."""
    width = max(len(text) * size * (0.6 if bold else 0.56) for text, size, bold in lines) / 72
    height = sum(size * 1.15 for _, size, _ in lines) / 72
    return math.hypot(width, height) + 0.08


def _number(x: Any) -> float:
    """A weight's data or grad as a float (a grad recorded with create_graph is a Value)."""
    return float(getattr(x, "data", x))


class _Drawing:
    def __init__(
        self,
        columns: list[_Column],
        names: dict[int, str],
        values: _Values | None,
        color_by: str,
        max_edges: int | None,
        precision: int,
        title: str | None,
        format: str,  # noqa: A002
    ) -> None:
        self.columns = columns
        self.names = names
        self.values = values
        self.color_by = color_by
        self.max_edges = max_edges
        self.precision = precision
        self.title = title
        self.format = format
        self.pairs = self._pairs()
        shown = [abs(e.q) for pair in self.pairs for e in pair if math.isfinite(e.q)]
        self.scale = max(shown, default=0.0)
        self.thinned: list[tuple[str, int, int]] = []  # (column title, shown, all)

    def num(self, x: float) -> str:
        return format_number(x, self.precision)

    def _pairs(self) -> list[list[_Edge]]:
        pairs = []
        for prev, col in zip(self.columns, self.columns[1:]):
            edges = []
            for head, neuron in zip(col.ids, col.neurons):
                for tail, w in zip(prev.ids, neuron.w):
                    q = _number(w.data if self.color_by == "weight" else w.grad)
                    edges.append(_Edge(tail, head, w, self.names.get(id(w), ""), q))
            pairs.append(edges)
        return pairs

    def build(self) -> graphviz.Digraph:
        self.labels, self.diameters, self.reduced = [], [], []
        # no column need be shorter than the tallest column of names only
        limit = max(COLUMN_INCHES, *(self._height(col, 2)[2] for col in self.columns))
        for col in self.columns:
            for level in range(3):
                labels, diameter, height = self._height(col, level)
                if height <= limit:
                    break
            self.labels.append(labels)
            self.diameters.append(diameter)
            if level:
                self.reduced.append((col.title, level))
        tallest = max(len(col.ids) * (d + NODESEP) for col, d in zip(self.columns, self.diameters))
        graph = Digraph(
            name="network",
            format=self.format,
            graph_attr={
                "rankdir": "LR",
                "fontname": FONT,
                "nodesep": f"{NODESEP:g}",
                "ranksep": f"{min(MAX_RANKSEP, max(MIN_RANKSEP, RANKSEP_SHARE * tallest)):.2f}",
                "splines": "line",
                "size": f"{MAX_INCHES},{MAX_INCHES}",
                "outputorder": "edgesfirst",
            },
            node_attr={"fontname": FONT, "fontsize": "10"},
            edge_attr={"arrowhead": "none"},
        )
        # no cluster around the network: dot ignores ``ordering`` inside clusters
        for c, column in enumerate(self.columns):
            self._column(graph, c, column)
        for c, column in enumerate(self.columns):
            self._order(graph, c, column)
        for k, edges in enumerate(self.pairs):
            self._edges(graph, k, edges)
        graph.attr(label=html_label(self._caption()), labelloc="t", labeljust="l", fontsize="11")
        return graph

    def _column(self, graph: graphviz.Digraph, c: int, column: _Column) -> None:
        last = len(self.columns) - 1
        fill = ROLE_COLORS["input" if c == 0 else "output" if c == last else "intermediate"]
        diameter = f"{self.diameters[c]:.2f}"  # one size for the whole column
        with graph.subgraph(name=f"rank{c}") as rank:
            rank.attr(rank="same")
            rank.node(
                _header(c),
                label=html_label(
                    f"<B>{escape(shorten(column.title))}</B><BR/>"
                    f'<FONT POINT-SIZE="9">{escape(shorten(column.subtitle))}</FONT>'
                ),
                shape="plaintext",
                fontcolor=HEADER_COLOR,
            )
            for j, (node_id, lines) in enumerate(zip(column.ids, self.labels[c])):
                rank.node(
                    node_id,
                    label=html_label(_html(lines)),
                    shape="circle",
                    width=diameter,
                    fixedsize="true",
                    style="filled",
                    fillcolor=fill,
                    color="#555555",
                    margin="0.02",
                    tooltip=self._tooltip(node_id, column.neurons[j] if column.neurons else None),
                )

    def _order(self, graph: graphviz.Digraph, c: int, column: _Column) -> None:
        """Keep the column in index order, 0 at the top, under its header.

        Invisible flat edges inside a rank do not hold a long column in place, but
        ``ordering`` does: an invisible helper node in the next column (``ordering=in``,
        for the inputs) or in the previous one (``ordering=out``) is joined to the
        header and to every circle of the column, in order, and ``dot`` keeps that
        order top to bottom.
        """
        helper = f"order{c}"
        graph.node(helper, label="", shape="point", width="0", height="0", style="invis",
                   ordering="in" if c == 0 else "out")  # fmt: skip
        for node_id in [_header(c), *column.ids]:
            if c == 0:
                graph.edge(node_id, helper, style="invis")
            else:
                graph.edge(helper, node_id, style="invis")

    def _height(self, col: _Column, level: int) -> tuple[list[Any], float, float]:
        """The labels of a column's circles at ``level``, their diameter and the height of
        the column (inches)."""
        labels = [
            self._lines(node_id, col.neurons[j] if col.neurons else None, level)
            for j, node_id in enumerate(col.ids)
        ]
        diameter = max(map(_diameter, labels))
        return labels, diameter, len(col.ids) * (diameter + NODESEP)

    def _lines(self, node_id: str, neuron: Any, level: int) -> list[tuple[str, int, bool]]:
        """The text of a circle: (line, point size, bold) for each line.

        ``level`` 0 shows everything; 1 leaves out a neuron's activation and bias (and an
        input's grad); 2 shows only the input's name or the neuron's index.
        """
        index = node_id.rpartition(".")[2]
        if level == 2:
            return [(node_id if neuron is None else index, 10, True)]
        lines = []
        if neuron is None:
            lines.append((node_id, 10, True))
        elif level == 0:
            lines.append((neuron.activation, SMALL, False))
            if neuron.b is not None:
                lines.append((f"b={self.num(_number(neuron.b.data))}", SMALL, False))
        elif self.values is None:  # level 1 without a sample would leave nothing
            lines.append((index, 10, True))
        if self.values is not None:
            lines.append((f"a={self.num(self.values.data[node_id])}", 10, True))
            if level == 0 or neuron is not None:
                lines.append((f"g={self.num(self.values.grad[node_id])}", SMALL, False))
        return lines

    def _tooltip(self, node_id: str, neuron: Any) -> str:
        """Everything about one circle, for the SVG tooltip."""
        parts = []
        if neuron is not None:
            parts.append(neuron.activation)
            if neuron.b is not None:
                parts.append(f"b={self.num(_number(neuron.b.data))}")
        if self.values is not None:
            parts.append(f"a={self.num(self.values.data[node_id])}")
            parts.append(f"g={self.num(self.values.grad[node_id])}")
        name = node_id if neuron is not None else f"input {node_id}"
        return f"{name}: {', '.join(parts)}" if parts else name

    def _edges(self, graph: graphviz.Digraph, k: int, edges: list[_Edge]) -> None:
        def strength(e: _Edge) -> float:
            return math.inf if math.isnan(e.q) else abs(e.q)

        total = len(edges)
        if self.max_edges is not None and total > self.max_edges:
            ranked = sorted(range(total), key=lambda i: (-strength(edges[i]), i))
            keep = set(ranked[: self.max_edges])
            edges = [e for i, e in enumerate(edges) if i in keep]
            self.thinned.append((self.columns[k + 1].title, len(edges), total))
        for e in sorted(edges, key=strength):  # the strongest drawn last, on top
            graph.edge(
                e.tail,
                e.head,
                color=_edge_color(e.q, self.scale),
                penwidth=f"{edge_width(e.q, self.scale):.3g}",
                tooltip=f"{e.name or 'w'} = {format_number(e.weight.data, self.precision)}"
                f", grad {format_number(_number(e.weight.grad), self.precision)}",
            )

    def _caption(self) -> str:
        """The title (if any) and the legend, above the network."""
        legend = self._legend()
        if not self.title:
            return legend
        title = escape(shorten_lines(str(self.title)))
        return (
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2">'
            f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="16"><B>{title}</B></FONT></TD></TR>'
            f'<TR><TD ALIGN="LEFT">{legend}</TD></TR></TABLE>'
        )

    def _legend(self) -> str:
        q = "w" if self.color_by == "weight" else "w.grad"
        s = self.scale
        rows = []
        if s > 0:
            cells = "".join(
                f'<TD BGCOLOR="{_edge_color(t * s, s)}" WIDTH="28">'
                f'<FONT COLOR="{"#ffffff" if abs(t) > 0.5 else "#000000"}">'
                f"{escape(self.num(t * s) if abs(t) == 1 else ' ')}</FONT></TD>"
                for t in (-1.0, -0.25, 0.25, 1.0)
            )
            rows.append(
                f'<TR><TD ALIGN="LEFT">edge colour: sign of {q}, blue &lt; 0 &lt; red; '
                f"strength √(|{q}| / max|{q}|)</TD>"
                f'<TD><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2">'
                f"<TR>{cells}</TR></TABLE></TD></TR>"
            )
            rows.append(
                f'<TR><TD ALIGN="LEFT" COLSPAN="2">edge width: {MIN_WIDTH:g} + '
                f"{EXTRA_WIDTH:g}·|{q}| / max|{q}| pt, max|{q}| = {self.num(s)}</TD></TR>"
            )
        else:
            rows.append(
                f'<TR><TD ALIGN="LEFT" COLSPAN="2">edges: every {q} is 0 '
                f"(grey, width {MIN_WIDTH:g})</TD></TR>"
            )
        lines = ["circle: activation, b = bias"]
        if self.values is not None:
            shown = ", ".join(self.num(x) for x in self.values.sample[:8])
            more = ", …" if len(self.values.sample) > 8 else ""
            lines[0] += f"; for the sample [{shown}{more}]:"
            lines.append("a = the value (input or neuron output), g = ∂(sum of outputs)/∂a")
        for title, level in self.reduced:
            left_out = "activation and bias" if level == 1 else "numbers"
            lines.append(f"{title}: {left_out} left out of the circles (see the SVG tooltips)")
        rows.extend(f'<TR><TD ALIGN="LEFT" COLSPAN="2">{escape(t)}</TD></TR>' for t in lines)
        for name, shown_count, total in self.thinned:
            rows.append(
                f'<TR><TD ALIGN="LEFT" COLSPAN="2">edges into {escape(name)}: '
                f"showing {shown_count} strongest of {total} edges "
                f"(max_edges={self.max_edges} per layer pair, by |{q}|)</TD></TR>"
            )
        return (
            '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="1">'
            + "".join(rows)
            + "</TABLE>"
        )
