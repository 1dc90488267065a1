"""Computation graphs as Graphviz digraphs: data and gradient on every node.

``draw_graph(root)`` returns a :class:`graphviz.Digraph`; in Jupyter it displays
inline, and :func:`viz.render` writes it to PNG, SVG or PDF. Each value is a box
``name | data | grad`` and each op a small ellipse between its inputs and its
result, as in micrograd's notebook. The same graph always gives the same DOT
text.

Node ids (a contract: viz's interactive page finds the nodes of an SVG by their
``<title>``, which is the node id; keep these stable):

* ``n<i>``: the value at position ``i`` of the engine's topological order of the
  roots (:func:`autograd.graph.topological_order`, leaves included), whether or
  not it is visible (a focused drawing keeps the numbers of the whole graph);
* ``n<i>op``: the op node that computed ``n<i>`` (a leaf has none);
* ``g<i>``: the ``i``-th collapsed module, modules sorted by name in natural order
  (``layers.2`` before ``layers.10``);
* ``legend``, and ``n<i>in``/``n<i>out`` for the "N more" stubs of a focused drawing.

An edge's ``<title>`` is ``tail->head`` with these ids. An edge between collapsed
modules stands for every edge between their values, once per pair; a *bundle* (see
below) is one edge with the SVG id ``bundle<k>`` between two members of the two
clusters it joins, labelled "N edges"; the other edges it stands for are not drawn.

Roles (the colour of the name cell):

* **output**: the root (or roots) being drawn;
* **input**: the leaves passed as ``inputs=``;
* **parameter**: the leaves passed as ``params=`` or belonging to ``model=``
  (a model's parameters are named by ``named_parameters()``, shortened to the
  part after the module when the module's cluster shows the rest: ``w.1``);
* **constant**: a number an op turned into a Value (the ``2`` of ``2 * x``, the
  ``1.0`` of ``out - 1.0``): the engine makes those :class:`autograd.engine.Constant`;
* every other leaf is a Value your code made (``x = Value(1.0)``, labelled or not):
  it gets a gradient, so it is drawn as a leaf, not as a constant. Which kind: with
  ``params=``/``model=`` given, the leaves that are not parameters are inputs; with
  only ``inputs=`` given, the other leaves are parameters; with none of them, the
  names decide: a label that reads as a weight or bias (``w1``, ``w_0``, ``b``,
  ``bias``: see :func:`looks_like_parameter`) is a parameter, every other leaf an
  input (``x1``, an unlabelled ``Value(1.0)``). The legend says which rule it used;
* everything else is an intermediate result (white).

Layout:

* operands are drawn in order, the first above the second (``rankdir="LR"``): nodes
  are written in operand order and, outside clusters, op nodes have
  ``ordering="in"`` (``dot`` ignores it inside clusters, where the order of the
  text holds);
* with ``model=``, one dashed cluster per module (a layer, a neuron in it), layers
  left to right. Weights that meet a value from outside their module (the ``w`` of
  ``w*x``) are drawn just before the module's cluster, not in it: a cluster that
  started with its weights would share a rank with the previous layer's outputs,
  and ``dot`` would then stack the layers as a diagonal staircase;
* collapsed modules appear in index order (``neurons.0`` above ``neurons.1``);
  between two clusters of collapsed modules at most ``BUNDLE_EDGES`` edges are
  drawn one per pair of modules; more (16 neurons feeding 16 neurons: 256 edges)
  are drawn as one thick edge between the clusters, labelled with their count;
* size: the drawing is scaled down to fit ``max_size`` inches, (16, 9) by default:
  at Graphviz's 96 dpi at most 1536 x 864 pixels, a 16:9 slide. Smaller drawings
  keep their natural size: micrograd's neuron is 1476 x 317 pixels, 1767 x 317 with
  ``local_grads=True`` (so drawn at 1536 x 276, 87%); an ``MLP(2, [4, 4, 1])`` with
  ``model=`` is 4636 x 1210 and becomes a 1536 x 401 overview: collapse its
  neurons for a readable slide. ``max_size=None`` draws at natural size, however
  large (and ``viz.render(..., dpi=...)`` scales the pixels of either).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz

from autograd import Value
from autograd.engine import Constant
from autograd.explain import node_formula, node_names
from autograd.graph import consumers, has_table_op, topological_order

from . import large
from .digraph import Digraph
from .labels import check_label, escape, html_label, shorten, shorten_lines
from .style import (
    BUNDLE_COLOR,
    EDGE_HIGHLIGHT,
    FONT,
    HIGHLIGHT,
    JUST_UPDATED,
    MAX_SIZE,
    MONO,
    OP_FILL,
    ROLE_COLORS,
    ROLE_NAMES,
    format_number,
    gradient_color,
    text_color,
)

__all__ = [
    "BUNDLE_EDGES",
    "draw_dot",
    "draw_graph",
    "implicit_constants",
    "looks_like_parameter",
    "op_text",
]

RANKDIRS = ("LR", "TB", "RL", "BT")
NBSP = "\u00a0"
COLLAPSED_FILL = "#e4d7f5"
BUNDLE_EDGES = 24  # more edges than this between two clusters are drawn as one bundle
_CLUSTER_STYLE = {
    "style": "rounded,dashed",
    "color": "#888888",
    "margin": "4",
    "fontcolor": "#555555",
    "fontsize": "10",
    "labeljust": "l",
}
_TABLE = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'


@dataclass
class Frame:
    """What one backprop frame shows instead of the nodes' current grads (see viz.animate).

    ``grads`` maps ``id(node)`` to the gradient shown (None: not reached yet);
    ``current`` holds the nodes being processed (one step, or the steps of one
    collapsed module); ``updated`` the nodes that just received a contribution.
    ``grad_width`` pads each grad to a fixed number of characters (in a monospace
    font) so that every frame has the same layout; ``data_width`` does the same for
    data (a page that shows other numbers in the same drawing, see viz.explore).
    """

    grads: dict[int, float | None]
    current: set[int]
    updated: set[int]
    caption: str
    scale: float
    grad_width: dict[int, int] = field(default_factory=dict)
    data_width: dict[int, int] = field(default_factory=dict)


@dataclass
class _Options:
    format: str
    rankdir: str
    local_grads: bool
    roles: bool
    grad_colors: bool
    legend: bool
    inputs: set[int]
    params: set[int]
    model: Any
    clusters: bool
    collapse: list[str] | None
    focus: Value | str | None
    depth: int
    max_nodes: int | None
    max_size: tuple[float, float] | None
    precision: int
    title: str | None


def draw_graph(
    root: Value | Sequence[Value],
    *,
    format: str = "svg",  # noqa: A002 - micrograd's name
    rankdir: str = "LR",
    local_grads: bool = False,
    roles: bool = True,
    grad_colors: bool = True,
    legend: bool | None = None,
    inputs: Iterable[Value] = (),
    params: Iterable[Value] = (),
    model: Any = None,
    clusters: bool | None = None,
    collapse: str | Iterable[str] | None = None,
    focus: Value | str | None = None,
    depth: int = 2,
    max_nodes: int | None = large.DEFAULT_MAX_NODES,
    max_size: tuple[float, float] | None = MAX_SIZE,
    precision: int = 4,
    title: str | None = None,
) -> graphviz.Digraph:
    """The computation graph of ``root`` as a :class:`graphviz.Digraph`.

    * ``format``/``rankdir``: output format when the digraph renders itself, and
      the direction of the layout (``"LR"`` left to right, ``"TB"`` top to bottom).
    * ``local_grads``: label each input edge with the op's local derivative
      d out / d in (read from the op table).
    * ``roles``, ``grad_colors``, ``legend``: colour names by role (input,
      parameter, constant, output), gradients on a diverging scale (blue < 0 <
      red, strength ~ sqrt(|grad| / max |grad|)), and draw a legend, which also
      says how the roles were decided.
    * ``inputs``, ``params``, ``model``: which leaves are inputs and parameters
      (without them the names guess: ``w…``/``b…`` parameters, other leaves inputs).
      ``model`` (anything with ``named_parameters()``, such as ``nn.MLP``) also
      names its parameters and groups nodes into one cluster per module, layers
      left to right (``clusters=False`` turns that off).
    * ``collapse``: module-name patterns (``"layers.*"``, ``"layers.*.neurons.*"``)
      whose modules are drawn as one summary node each (needs ``model``), in index
      order; more than ``BUNDLE_EDGES`` (24) edges between two clusters of them are
      drawn as one edge labelled with the count.
    * ``focus``, ``depth``: draw only the nodes within ``depth`` steps of one
      node (a Value or its name); cut edges end in "more" stubs.
    * ``max_nodes``: refuse to draw more nodes than this (None: no limit), with
      a message suggesting ``collapse`` or ``focus``.
    * ``max_size``: (width, height) in inches the picture is scaled down to fit,
      (16, 9) by default: at most 1536 x 864 pixels at Graphviz's 96 dpi (a slide);
      None draws at natural size.
    * ``precision``: significant digits of data and grad; ``title``: a caption.
    """
    options = _options(
        format=format, rankdir=rankdir, local_grads=local_grads, roles=roles,
        grad_colors=grad_colors, legend=legend, inputs=inputs, params=params, model=model,
        clusters=clusters, collapse=collapse, focus=focus, depth=depth, max_nodes=max_nodes,
        max_size=max_size, precision=precision, title=title,
    )  # fmt: skip
    return _Drawing(_roots(root), options).build()


def draw_frame(root: Value, frame: Frame, **options: Any) -> graphviz.Digraph:
    """One backprop frame: the drawing of ``root`` with ``frame``'s grads and highlights."""
    return _Drawing(_roots(root), frame_options(options), frame).build()


def frame_options(options: dict[str, Any]) -> _Options:
    """Drawing options checked as :func:`draw_graph` checks them (unknown names refused)."""
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown drawing option(s): {', '.join(sorted(unknown))}")
    return _options(**{**_DEFAULTS, **options})


def draw_dot(
    root: Value,
    format: str = "svg",  # noqa: A002 - micrograd's name
    rankdir: str = "LR",
    **options: Any,
) -> graphviz.Digraph:
    """micrograd's notebook helper: ``draw_dot(root, format='svg', rankdir='LR')``.

    The same picture as :func:`draw_graph`; extra keywords are passed on to it.
    """
    return draw_graph(root, format=format, rankdir=rankdir, **options)


_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(draw_graph).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
}


# ----- checking the arguments -----------------------------------------------------------
def _roots(root: Value | Sequence[Value]) -> list[Value]:
    if isinstance(root, Value):
        return [root]
    if isinstance(root, (str, bytes)) or not isinstance(root, Iterable):
        raise TypeError(f"draw a Value (or a list of Values), not {type(root).__name__}")
    roots = list(root)
    if not roots:
        raise ValueError("nothing to draw: the list of roots is empty")
    for r in roots:
        if not isinstance(r, Value):
            raise TypeError(f"draw Values; the list holds a {type(r).__name__}")
    return roots


def _value_ids(values: Iterable[Value], what: str) -> set[int]:
    if isinstance(values, Value):
        values = [values]
    ids = set()
    for v in values:
        if not isinstance(v, Value):
            raise TypeError(f"{what}= takes Values, got a {type(v).__name__}")
        ids.add(id(v))
    return ids


def _max_size(size: Any) -> tuple[float, float] | None:
    if size is None:
        return None
    try:
        width, height = (float(x) for x in size)
    except (TypeError, ValueError):
        raise ValueError(
            f"max_size must be (width, height) in inches, or None, got {size!r}"
        ) from None
    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        raise ValueError(f"max_size must be two positive numbers of inches, got {size!r}")
    return width, height


def _options(**kw: Any) -> _Options:
    if kw["rankdir"] not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {kw['rankdir']!r}")
    precision = kw["precision"]
    if isinstance(precision, bool) or not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(f"precision must be a whole number from 1 to 17, got {precision!r}")
    max_nodes = kw["max_nodes"]
    if max_nodes is not None and (isinstance(max_nodes, bool) or not isinstance(max_nodes, int)):
        raise TypeError(f"max_nodes must be a whole number or None, got {max_nodes!r}")
    collapse = _patterns(kw["collapse"], kw["model"])
    legend = kw["legend"]
    return _Options(
        format=kw["format"],
        rankdir=kw["rankdir"],
        local_grads=bool(kw["local_grads"]),
        roles=bool(kw["roles"]),
        grad_colors=bool(kw["grad_colors"]),
        legend=(kw["roles"] or kw["grad_colors"]) if legend is None else bool(legend),
        inputs=_value_ids(kw["inputs"], "inputs"),
        params=_value_ids(kw["params"], "params"),
        model=kw["model"],
        clusters=(kw["model"] is not None) if kw["clusters"] is None else bool(kw["clusters"]),
        collapse=collapse,
        focus=kw["focus"],
        depth=kw["depth"],
        max_nodes=max_nodes,
        max_size=_max_size(kw["max_size"]),
        precision=precision,
        title=kw["title"],
    )


def _patterns(collapse: str | Iterable[str] | None, model: Any) -> list[str] | None:
    if collapse is None:
        return None
    if model is None:
        raise ValueError(
            "collapse= needs model=...: module names come from model.named_parameters()"
        )
    return [collapse] if isinstance(collapse, str) else [str(p) for p in collapse]


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ``layers.2`` before ``layers.10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in name.split("."))


def collapsed_groups(
    topo: Sequence[Value], model: Any, collapse: str | Iterable[str] | None
) -> dict[int, str]:
    """``id(node) -> collapsed module`` for the nodes ``collapse=`` draws as one box each
    (empty without ``collapse``); the same grouping :func:`draw_graph` draws."""
    patterns = _patterns(collapse, model)
    if not patterns:
        return {}
    index = {id(node) for node in topo}
    param_modules = {
        key: large.module_of(name)
        for key, name in large.parameter_names(model).items()
        if key in index
    }
    return large.collapse_groups(large.assign_modules(topo, param_modules), patterns)


# ----- what the pictures say about nodes ------------------------------------------------
def implicit_constants(topo: Sequence[Value]) -> set[int]:
    """The ids of the leaves of ``topo`` that are constants: numbers an op made into Values.

    The engine makes the ``2`` of ``2 * x`` an :class:`autograd.engine.Constant`; a leaf
    your code made (``x = Value(1.0)``, even unlabelled) is a leaf with a gradient.
    """
    return {id(node) for node in topo if isinstance(node, Constant)}


_PARAMETER_NAME = re.compile(
    r"(w|b|weights?|bias(es)?|theta|params?|parameters?)(?![a-z])", re.IGNORECASE
)


def looks_like_parameter(label: str) -> bool:
    """Whether a label reads as a parameter's (``w1``, ``w_0``, ``b``, ``bias``, ``W.3``):
    the guess :func:`draw_graph` makes when neither ``inputs=``, ``params=`` nor
    ``model=`` says; the legend says it guessed.

    >>> [looks_like_parameter(s) for s in ("w1", "b", "bias", "x1", "width", "")]
    [True, True, True, False, False, False]
    """
    return bool(label) and _PARAMETER_NAME.match(label) is not None


def op_text(node: Value) -> str:
    """The text of a node's op ellipse: the op as :func:`autograd.explain.formula` writes it.

    ``+``, ``*``, ``**2``, ``-`` (negation too, as ``-x``), ``tanh``, ``relu``,
    ``leaky_relu(·, 0.1)``; a sum of several terms is ``+``. A node built by hand
    with a plain string as its op shows that string.
    """
    if not has_table_op(node):
        return node._op
    op = node.op
    if op.arity is None and "{*}" not in op.formula:  # n terms joined by a separator
        return op.formula.strip() or str(op)
    try:
        text = node_formula(node, {id(p): "\u00b7" for p in node._prev})
    except (IndexError, KeyError, ValueError):  # a custom formula that does not fit
        return str(op)
    call = re.fullmatch(r"(.+?)\(\u00b7(?:, \u00b7)*\)", text)
    if call:  # tanh(·), logsumexp(·, ·): the function's name
        return call.group(1)
    if "(" in text:  # a call with parameters: leaky_relu(·, 0.1)
        return text
    return text.replace("\u00b7", "").strip() or str(op)


# ----- building the digraph -------------------------------------------------------------
class _Cluster:
    """A module's cluster: the statements inside it and the clusters nested in it."""

    def __init__(self) -> None:
        self.statements: list[Callable[[graphviz.Digraph], None]] = []
        self.children: dict[str, _Cluster] = {}


def _display_order(roots: list[Value]) -> list[Value]:
    """The nodes in reading order: each node after its operands, operands in order.

    A depth-first walk that takes the first operand first, so the leaves of ``a*b``
    come as ``a, b`` (the engine's topological order emits them reversed).
    """
    order: list[Value] = []
    seen: set[int] = set()
    for root in roots:
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node._prev) if id(p) not in seen)
    return order


class _Drawing:
    """One drawing: decides what is visible, then writes nodes, clusters and edges."""

    def __init__(self, roots: list[Value], options: _Options, frame: Frame | None = None):
        self.roots = roots
        self.opt = options
        self.frame = frame
        self.topo = topological_order(roots)
        self.constants = implicit_constants(self.topo)
        self.index = {id(node): i for i, node in enumerate(self.topo)}
        self.root_ids = {id(r) for r in roots}
        for node in self.topo:
            check_label(node.label)
        auto_names = node_names(roots[0], self.topo)
        self.param_names: dict[int, str] = {}
        self.modules: dict[int, str] = {}
        if options.model is not None:
            self.param_names = large.parameter_names(options.model)
            param_modules = {
                key: large.module_of(name)
                for key, name in self.param_names.items()
                if key in self.index
            }
            self.modules = large.assign_modules(self.topo, param_modules)
        self.names = {key: self._name(node, auto_names) for key, node in self._items()}
        self.roles_seen: dict[str, None] = {}

    def _items(self) -> Iterable[tuple[int, Value]]:
        return ((id(node), node) for node in self.topo)

    def _name(self, node: Value, auto_names: dict[int, str]) -> str:
        key = id(node)
        if key in self.param_names:  # the model's name says where the parameter lives
            name = self.param_names[key]
            module = self.modules.get(key, "")
            if self.opt.clusters and module and name.startswith(module + "."):
                return name[len(module) + 1 :]  # the cluster shows the module
            return name
        return node.label or auto_names[key]

    # ----- what to draw -----------------------------------------------------------------
    def _plan(self) -> None:
        opt = self.opt
        self.consumers = consumers(self.topo)
        self.center: Value | None = None
        if opt.focus is not None:
            focus = opt.focus
            if isinstance(focus, str):  # a model's full parameter name works too
                by_param_name = {n: k for k, n in self.param_names.items() if k in self.index}
                if focus in by_param_name:
                    focus = self.topo[self.index[by_param_name[focus]]]
            self.center, visible = large.select_focus(
                self.topo, self.names, focus, opt.depth, self.consumers
            )
        else:
            visible = set(self.index)
        self.visible = [node for node in _display_order(self.roots) if id(node) in visible]
        self.visible_ids = visible
        self.groups: dict[int, str] = {}
        if opt.collapse:
            modules = {k: m for k, m in self.modules.items() if k in visible}
            self.groups = large.collapse_groups(modules, opt.collapse)
            if not self.groups:
                known = large.known_modules(self.modules)
                shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
                raise ValueError(
                    f"collapse={opt.collapse!r} matches no module of this graph; "
                    f"its modules are: {shown or '(none: no model parameter is used)'}"
                )
        ordered = sorted(set(self.groups.values()), key=natural_key)
        self.group_ids = {g: f"g{i}" for i, g in enumerate(ordered)}
        self._check_size()
        self._entries()

    def _check_size(self) -> None:
        values = [n for n in self.visible if id(n) not in self.groups]
        count = len(values) + sum(1 for n in values if n._prev) + len(self.group_ids)
        if self.center is not None:
            count += sum(
                bool(self._hidden_parents(n)) + bool(self._hidden_consumers(n)) for n in values
            )
        limit = self.opt.max_nodes
        if limit is not None and count > limit:
            raise large.GraphTooLargeError(
                large.too_large_message(count, len(values), limit, self.opt.model is not None)
            )

    def _top(self, key: int) -> str | None:
        """The outermost module cluster a node (or its collapsed module) is drawn in."""
        if not self.opt.clusters:
            return None
        module = self.groups.get(key) or self.modules.get(key)
        levels = large.module_levels(module) if module else []
        return levels[0] if levels else None

    def _entries(self) -> None:
        """Weights drawn before their module's cluster, and the edges that leave room for them.

        An op inside a top-level cluster (a layer) that takes a value from outside it
        (``w*x``) must sit at the cluster's first rank, or the layer would share a rank
        with the previous one: its leaves from inside the cluster (``w``) are drawn
        outside, and an edge from another cluster into it spans two ranks, so the
        weights get a rank of their own between the two clusters.
        """
        self.outside: set[int] = set()
        self.long_edges: set[tuple[int, int]] = set()
        if not self.opt.clusters:
            return
        for node in self.visible:
            key = id(node)
            top = self._top(key)
            if not node._prev or key in self.groups or top is None:
                continue
            parents = [p for p in node._prev if id(p) in self.visible_ids]
            foreign = [p for p in parents if self._top(id(p)) != top]
            own_leaves = [
                p
                for p in parents
                if not p._prev and id(p) not in self.groups and self._top(id(p)) == top
            ]
            if not foreign or not own_leaves:
                continue
            self.outside.update(id(p) for p in own_leaves)
            self.long_edges.update((id(p), key) for p in foreign if self._top(id(p)) is not None)

    def _hidden_parents(self, node: Value) -> int:
        return len({id(p) for p in node._prev if id(p) not in self.visible_ids})

    def _hidden_consumers(self, node: Value) -> int:
        return sum(1 for c in self.consumers[node] if id(c) not in self.visible_ids)

    # ----- roles and colours ------------------------------------------------------------
    def role(self, node: Value) -> str:
        key = id(node)
        if key in self.root_ids:
            return "output"
        if node._prev:
            return "intermediate"
        if key in self.opt.inputs:
            return "input"
        if key in self.opt.params or key in self.param_names:
            return "parameter"
        if key in self.constants:
            return "constant"
        if self.opt.params or self.opt.model is not None:
            return "input"
        if self.opt.inputs:
            return "parameter"
        return "parameter" if looks_like_parameter(node.label) else "input"

    def _roles_rule(self) -> list[str]:
        """How the roles were decided, for the legend (one or two lines)."""
        opt = self.opt
        given = [name for name, ok in [("inputs=", opt.inputs), ("params=", opt.params),
                                       ("model=", opt.model is not None)] if ok]  # fmt: skip
        if not given:
            return [
                "roles guessed from names: w\u2026, b\u2026 parameters, other leaves inputs;",
                "pass inputs=, params= or model= to say which",
            ]
        if opt.params or opt.model is not None:
            rest = [] if opt.inputs else ["other leaves are inputs"]
        else:
            rest = ["other leaves are parameters"]
        return [f"roles from {' and '.join(given)}", *rest]

    def grad_of(self, node: Value) -> float | None:
        if self.frame is not None:
            return self.frame.grads.get(id(node))
        grad = node.grad
        return float(getattr(grad, "data", grad))

    def _scale(self) -> float:
        if self.frame is not None:
            return self.frame.scale
        grads = (abs(g) for n in self.visible if (g := self.grad_of(n)) is not None)
        return max((g for g in grads if math.isfinite(g)), default=0.0)

    def _current(self, key: int) -> bool:
        return self.frame is not None and key in self.frame.current

    # ----- writing ----------------------------------------------------------------------
    def build(self) -> graphviz.Digraph:
        self._plan()
        opt = self.opt
        self.scale = self._scale()
        graph_attr = {"rankdir": opt.rankdir, "fontname": FONT, "nodesep": "0.15"}
        if opt.max_size is not None:
            graph_attr["size"] = f"{opt.max_size[0]:g},{opt.max_size[1]:g}"
        if self.group_ids and opt.clusters:
            # dot's last pass over the whole graph reorders nodes inside clusters freely
            # (it rotated 16 collapsed neurons to 8..15, 0..7); without it they keep the
            # order in which they are written
            graph_attr["remincross"] = "false"
        graph = Digraph(
            format=opt.format,
            graph_attr=graph_attr,
            node_attr={"fontname": FONT, "fontsize": "11"},
            edge_attr={"fontname": FONT, "fontsize": "9", "arrowsize": "0.7"},
        )
        caption = self._caption()
        if caption:
            graph.attr(label=html_label(caption), labelloc="t", labeljust="l")
        top = _Cluster()
        for node in self.visible:
            key = id(node)
            if key in self.groups:
                continue
            self._place(top, self._cluster_path(key)).append(
                lambda g, node=node: self._value_node(g, node)
            )
        for group, gid in self.group_ids.items():
            self._place(top, large.module_levels(group)[:-1] if opt.clusters else []).append(
                lambda g, group=group, gid=gid: self._group_node(g, group, gid)
            )
        self.cluster_names: dict[tuple[str, ...], str] = {}
        self._emit(graph, top, prefix="cluster", path=())
        self._edges(graph)
        if opt.legend:
            self._legend(graph)
        return graph

    def _caption(self) -> str:
        parts = []
        if self.opt.title:
            parts.append(f"<B>{escape(shorten_lines(str(self.opt.title)))}</B>")
        if self.frame is not None and self.frame.caption:
            lines = shorten_lines(self.frame.caption).split("\n")
            text = "".join(f'{escape(line)}<BR ALIGN="LEFT"/>' for line in lines)
            parts.append(f'<FONT FACE="{MONO}" POINT-SIZE="11">{text}</FONT>')
        return "<BR/>".join(parts)

    def _cluster_path(self, key: int) -> list[str]:
        if not self.opt.clusters or key not in self.modules or key in self.outside:
            return []
        return large.module_levels(self.modules[key])

    @staticmethod
    def _place(top: _Cluster, path: list[str]) -> list[Callable[[graphviz.Digraph], None]]:
        cluster = top
        for level in path:
            cluster = cluster.children.setdefault(level, _Cluster())
        return cluster.statements

    def _emit(
        self, graph: graphviz.Digraph, cluster: _Cluster, prefix: str, path: tuple[str, ...]
    ) -> None:
        for write in cluster.statements:
            write(graph)
        children = sorted(cluster.children.items(), key=lambda item: natural_key(item[0]))
        for i, (module, child) in enumerate(children):
            name = f"{prefix}_{i}"
            self.cluster_names[(*path, module)] = name
            with graph.subgraph(name=name) as sub:
                sub.attr(label=html_label(escape(shorten(module))), **_CLUSTER_STYLE)
                self._emit(sub, child, name, (*path, module))

    def vid(self, node: Value) -> str:
        return f"n{self.index[id(node)]}"

    def _value_node(self, graph: graphviz.Digraph, node: Value) -> None:
        key = id(node)
        opt = self.opt
        role = self.role(node)
        self.roles_seen.setdefault(role)
        name_fill = ROLE_COLORS[role] if opt.roles else "#ffffff"
        if self._current(key):
            name_fill = HIGHLIGHT
        name = escape(shorten(self.names[key]))
        if node is self.center:
            name = f"<B>{name}</B>"
        cells = [
            f'<TD BGCOLOR="{name_fill}">{name}</TD>',
            self._data_cell(node),
            self._grad_cell(node),
        ]
        border = ' BORDER="2" COLOR="#ff9f1c"' if node is self.center else ' BORDER="0"'
        table = (
            f'<TABLE{border} CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f"<TR>{''.join(cells)}</TR></TABLE>"
        )
        graph.node(self.vid(node), label=html_label(table), shape="plain")
        if node._prev:
            attrs = {}
            if len(node._prev) > 1 and not self._cluster_path(key):
                attrs["ordering"] = "in"  # operands top to bottom in order (ignored in clusters)
            fill = HIGHLIGHT if self._current(key) else OP_FILL
            graph.node(
                self.vid(node) + "op", label=html_label(escape(op_text(node))),
                shape="ellipse", style="filled", fillcolor=fill, margin="0.03,0.01",
                width="0.3", height="0.25", **attrs,
            )  # fmt: skip

    def _data_cell(self, node: Value) -> str:
        text = format_number(node.data, self.opt.precision)
        width = self.frame.data_width.get(id(node)) if self.frame is not None else None
        if width is None:
            return f"<TD>data {escape(text)}</TD>"
        padded = escape(text.rjust(width, NBSP))
        return f'<TD><FONT FACE="{MONO}">data {padded}</FONT></TD>'

    def _grad_cell(self, node: Value) -> str:
        opt, frame = self.opt, self.frame
        grad = self.grad_of(node)
        text = "?" if grad is None else format_number(grad, opt.precision)
        fill, ink = "#ffffff", "#000000"
        if grad is not None and opt.grad_colors:
            fill, ink = gradient_color(grad, self.scale), text_color(grad, self.scale)
        if frame is None:
            return f'<TD BGCOLOR="{fill}"><FONT COLOR="{ink}">grad {escape(text)}</FONT></TD>'
        # Fixed width and no border changes: every frame keeps the same layout.
        width = frame.grad_width.get(id(node), len(text))
        padded = escape(text.rjust(width, NBSP))
        if id(node) in frame.updated:
            if not opt.grad_colors:
                fill = JUST_UPDATED
            return (
                f'<TD BGCOLOR="{fill}" COLOR="{EDGE_HIGHLIGHT}"><FONT FACE="{MONO}" '
                f'COLOR="{ink}"><B>grad {padded}</B></FONT></TD>'
            )
        return f'<TD BGCOLOR="{fill}"><FONT FACE="{MONO}" COLOR="{ink}">grad {padded}</FONT></TD>'

    def _group_node(self, graph: graphviz.Digraph, group: str, gid: str) -> None:
        """A collapsed module: its name and size, and its output's data and grad."""
        members = [n for n in self.visible if self.groups.get(id(n)) == group]
        n_params = sum(1 for n in members if id(n) in self.param_names)
        levels = large.module_levels(group)
        title = group
        if self.opt.clusters and len(levels) > 1:  # the enclosing cluster shows the rest
            title = group[len(levels[-2]) + 1 :]
        title = escape(shorten(title))
        plural = "s" if n_params != 1 else ""
        fill = HIGHLIGHT if any(self._current(id(n)) for n in members) else COLLAPSED_FILL
        size = f"{len(members)} values, {n_params} parameter{plural}"
        rows = [
            f'<TR><TD COLSPAN="2" BGCOLOR="{fill}"><B>{title}</B> '
            f'<FONT POINT-SIZE="9" COLOR="#444444">{size}</FONT></TD></TR>'
        ]
        exits = [n for n in members if self._leaves_group(n, group)]
        if len(exits) == 1:  # one output (a neuron's activation): show its numbers
            out = exits[0]
            rows.append(f"<TR>{self._data_cell(out)}{self._grad_cell(out)}</TR>")
        table = f"{_TABLE}{''.join(rows)}</TABLE>"
        graph.node(gid, label=html_label(table), shape="plain")

    def _leaves_group(self, node: Value, group: str) -> bool:
        if id(node) in self.root_ids:
            return True
        return any(self.groups.get(id(c)) != group for c in self.consumers[node])

    def _edges(self, graph: graphviz.Digraph) -> None:
        group_edges: dict[tuple[str, str], None] = {}  # in the order they are met
        for node in self.visible:
            key = id(node)
            group = self.groups.get(key)
            if not node._prev:
                continue
            head = self.group_ids[group] if group else self.vid(node) + "op"
            if not group:
                graph.edge(self.vid(node) + "op", self.vid(node))
            local = self._local_grads(node) if self.opt.local_grads and not group else None
            for i, parent in enumerate(node._prev):
                if id(parent) not in self.visible_ids:
                    continue
                parent_group = self.groups.get(id(parent))
                tail = self.group_ids[parent_group] if parent_group else self.vid(parent)
                if group or parent_group:
                    if tail != head:
                        group_edges.setdefault((tail, head))
                    continue
                attrs: dict[str, str] = {}
                if local is not None:
                    out, into = shorten(self.names[key]), shorten(self.names[id(parent)])
                    text = f"∂{out}/∂{into} = {local[i]}"
                    attrs.update(label=html_label(escape(text)), fontcolor="#444444")
                if (id(parent), key) in self.long_edges:
                    attrs["minlen"] = "2"
                if self._current(key):
                    attrs.update(color=EDGE_HIGHLIGHT, penwidth="2.5")
                graph.edge(tail, head, **attrs)
            if self.center is not None and not group:
                self._stubs(graph, node)
        self._group_edges(graph, list(group_edges))
        if self.center is not None:
            for node in self.visible:
                if not node._prev and id(node) not in self.groups:
                    self._stubs(graph, node)

    # ----- edges between collapsed modules ---------------------------------------------
    def _side(self, end: str) -> tuple[str, ...] | None:
        """The cluster a collapsed module is drawn in (None: not in one, or not a module)."""
        if not self.opt.clusters or not end.startswith("g"):
            return None
        group = self._group_names[end]
        return tuple(large.module_levels(group)[:-1]) or None

    def _group_edges(self, graph: graphviz.Digraph, edges: list[tuple[str, str]]) -> None:
        """One edge per pair of ends; a bundle for more than BUNDLE_EDGES between two clusters."""
        self._group_names = {gid: group for group, gid in self.group_ids.items()}
        current = {
            gid for group, gid in self.group_ids.items()
            if self.frame is not None and any(
                self.groups.get(k) == group for k in self.frame.current
            )
        }  # fmt: skip
        buckets: dict[tuple[Any, Any], list[tuple[str, str]]] = {}
        for tail, head in edges:
            key = (self._side(tail) or tail, self._side(head) or head)
            buckets.setdefault(key, []).append((tail, head))
        for number, ((tail_side, head_side), members) in enumerate(buckets.items()):
            clustered = isinstance(tail_side, tuple) or isinstance(head_side, tuple)
            between_clusters = isinstance(tail_side, tuple) and isinstance(head_side, tuple)
            if len(members) <= BUNDLE_EDGES or not clustered:
                many = len({t for t, _ in members}) > 1 and len({h for _, h in members}) > 1
                if len(members) > 4 and between_clusters and many:
                    graph.attr(ranksep="1.1")  # room to follow edges that cross between layers
                for tail, head in members:
                    attrs = {"color": EDGE_HIGHLIGHT, "penwidth": "2.5"} if head in current else {}
                    graph.edge(tail, head, **attrs)
                continue
            self._bundle(graph, number, tail_side, head_side, members, current)

    def _bundle(
        self,
        graph: graphviz.Digraph,
        number: int,
        tail_side: Any,
        head_side: Any,
        members: list[tuple[str, str]],
        current: set[str],
    ) -> None:
        """Many edges between two clusters as one edge labelled with their count.

        Invisible edges, each one of the real edges, keep every member ranked (and in
        order) as if all were drawn: one from each tail and one into each head.
        """
        order = {end: i for i, end in enumerate(dict.fromkeys(e for pair in members for e in pair))}

        def position(end: str) -> tuple[int, int]:
            return (0, int(end[1:])) if end.startswith("g") else (1, order[end])

        tails = sorted({t for t, _ in members}, key=position)
        heads = sorted({h for _, h in members}, key=position)
        keep: set[tuple[str, str]] = set()
        for ends, pick in ((tails, 0), (heads, 1)):
            for i, end in enumerate(ends):
                others = [pair for pair in members if pair[pick] == end]
                target = (len(heads) if pick == 0 else len(tails)) * (i + 0.5) / len(ends)
                spot = {h: j for j, h in enumerate(heads if pick == 0 else tails)}
                keep.add(min(others, key=lambda pair: abs(spot[pair[1 - pick]] + 0.5 - target)))
        for tail, head in sorted(keep, key=lambda pair: (position(pair[0]), position(pair[1]))):
            graph.edge(tail, head, style="invis")
        count = len(members)
        text = f"{count} edges"
        if count == len(tails) * len(heads) and len(tails) > 1 and len(heads) > 1:
            text += f"<BR/>each of {len(tails)} to each of {len(heads)}"
        attrs = {
            "id": f"bundle{number}",
            "label": html_label(text),
            "penwidth": "3",
            "color": EDGE_HIGHLIGHT if any(h in current for h in heads) else BUNDLE_COLOR,
            "fontcolor": "#333333",
            "fontsize": "10",
            "arrowsize": "1",
        }
        if isinstance(tail_side, tuple):
            attrs["ltail"] = self.cluster_names[tail_side]
        if isinstance(head_side, tuple):
            attrs["lhead"] = self.cluster_names[head_side]
        graph.attr(compound="true")
        graph.edge(tails[len(tails) // 2], heads[len(heads) // 2], **attrs)

    def _stubs(self, graph: graphviz.Digraph, node: Value) -> None:
        hidden_in, hidden_out = self._hidden_parents(node), self._hidden_consumers(node)
        stub = {"shape": "plaintext", "fontcolor": "#777777", "fontsize": "9"}
        if hidden_in:
            sid = self.vid(node) + "in"
            graph.node(sid, label=html_label(escape(f"{hidden_in} more")), **stub)
            graph.edge(sid, self.vid(node) + "op", style="dashed", color="#999999")
        if hidden_out:
            sid = self.vid(node) + "out"
            graph.node(sid, label=html_label(escape(f"{hidden_out} more")), **stub)
            graph.edge(self.vid(node), sid, style="dashed", color="#999999")

    def _local_grads(self, node: Value) -> list[str]:
        args = [p.data for p in node._prev]
        if not has_table_op(node):  # a node built by hand with a plain string as its op
            return ["?"] * len(args)
        op = node.op
        try:
            values = op.local_grads(args, node.data)
        except (ArithmeticError, ValueError):
            return ["undefined"] * len(args)
        return [format_number(v, self.opt.precision) for v in values]

    def _legend(self, graph: graphviz.Digraph) -> None:
        rows = []
        if self.opt.roles:
            roles = [r for r in ROLE_COLORS if r in self.roles_seen and r != "intermediate"]
            if roles:
                cells = "".join(
                    f'<TD BGCOLOR="{ROLE_COLORS[r]}">{ROLE_NAMES[r]}</TD>' for r in roles
                )
                rows.append(f"<TR>{cells}</TR>")
            if any(r in self.roles_seen for r in ("input", "parameter")):
                lines = "".join(f'{escape(line)}<BR ALIGN="LEFT"/>' for line in self._roles_rule())
                rows.append(
                    f'<TR><TD BORDER="0" ALIGN="LEFT"><FONT POINT-SIZE="9">{lines}</FONT></TD></TR>'
                )
        if self.group_ids:
            rows.append(f'<TR><TD BGCOLOR="{COLLAPSED_FILL}">collapsed module</TD></TR>')
        if self.opt.grad_colors:
            rows.append(f"<TR>{self._scale_cells()}</TR>")
        if not rows:
            return
        inner = "".join(
            f'<TR><TD BORDER="0" ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" '
            f'CELLPADDING="3">{row}</TABLE></TD></TR>'
            for row in rows
        )
        table = (
            f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2">'
            f'<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9">legend</FONT></TD></TR>{inner}</TABLE>'
        )
        graph.node("legend", label=html_label(table), shape="plain", fontsize="9")

    def _scale_cells(self) -> str:
        s = self.scale
        if s == 0:
            return "<TD>grad: all 0 so far (call backward())</TD>"
        cells = []
        for t in (-1.0, -0.25, 0.0, 0.25, 1.0):
            g = t * s
            text = format_number(g, 3) if t in (-1.0, 0.0, 1.0) else " "
            cells.append(
                f'<TD BGCOLOR="{gradient_color(g, s)}"><FONT COLOR="{text_color(g, s)}">'
                f"{escape(text)}</FONT></TD>"
            )
        return "<TD>grad</TD>" + "".join(cells)
