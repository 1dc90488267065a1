"""Backprop you can read: formulas, text trees and the chain rule one step at a time.

Everything here reads the op table (each op's ``formula`` and derivative rules);
nothing here knows any op by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .graph import reverse_walk, seed, topological_order, use_counts
from .operation import Op, Precedence

if TYPE_CHECKING:
    from .engine import Value

__all__ = [
    "BackwardStep",
    "Contribution",
    "ForwardStep",
    "TextTree",
    "backward_steps",
    "formula",
    "forward_steps",
    "node_formula",
    "node_names",
    "parameter_names",
    "tree",
]


def _signed(x: float) -> str:
    """A number for a product: negative numbers in parentheses, ``2 * (-3)``."""
    text = f"{x:.6g}"
    return f"({text})" if text.startswith("-") else text


# ----- names and formulas ---------------------------------------------------------------
def parameter_names(model: Any) -> dict[int, str]:
    """``id(parameter) -> name`` from ``model.named_parameters()`` (or ``parameters()``).

    Any object with ``named_parameters()`` works (``nn.MLP``, a PyTorch-style module of
    Values): the names say where each parameter lives, ``layers.0.neurons.3.w.1``.
    """
    if hasattr(model, "named_parameters"):
        pairs = list(model.named_parameters())
    elif hasattr(model, "parameters"):
        pairs = [(f"p{i}", p) for i, p in enumerate(model.parameters())]
    else:
        raise TypeError(
            f"model= takes an object with named_parameters() or parameters() "
            f"(such as nn.MLP), not {type(model).__name__}"
        )
    names: dict[int, str] = {}
    for name, param in pairs:
        if not hasattr(param, "_prev") or not hasattr(param, "data"):  # not a graph node
            raise TypeError(
                f"model parameter {name!r} is a {type(param).__name__}, not an autograd Value"
            )
        names.setdefault(id(param), str(name))
    return names


def node_names(
    root: Value, topo: list[Value] | None = None, *, model: Any = None
) -> dict[int, str]:
    """A short name for every node: its label, its number if a constant, else v1, v2...

    With ``model=`` the model's parameters are named as in ``model.named_parameters()``
    (``layers.0.neurons.3.w.1``) instead of by their labels, so that the ``w0`` of one
    neuron is told apart from the ``w0`` of another.
    """
    topo = topological_order(root) if topo is None else topo
    given = {} if model is None else parameter_names(model)
    names: dict[int, str] = {}
    used = {node.label for node in topo if node.label} | set(given.values())
    counter = 0
    for node in topo:
        key = id(node)
        if key in given:
            names[key] = given[key]
        elif node.label:
            names[key] = node.label
        elif not node._prev and node.op is None:
            names[key] = f"{node.data:g}"
        else:
            counter += 1
            while f"v{counter}" in used:
                counter += 1
            names[key] = f"v{counter}"
    return names


def _render(op: Op, parts: list[tuple[str, int]]) -> str:
    """Fill op's formula template, adding parentheses where precedence requires."""
    prec = op.precedence

    def wrap(text: str, child_prec: int, right: bool) -> str:
        # Equal binding needs parentheses on the right of a non-associative op
        # (a - (b + c), a/(b*c)) and on either side of ** (it groups to the right).
        same = child_prec == prec and ((right and not op.associative) or prec == Precedence.POWER)
        tight = child_prec < prec or same
        return f"({text})" if tight and prec != Precedence.CALL else text

    if op.arity is None:
        if "{*}" in op.formula:  # a call: f(a, b, c)
            return op.formula.replace("{*}", ", ".join(t for t, _ in parts))
        return op.formula.join(wrap(t, p, i > 0) for i, (t, p) in enumerate(parts))
    args = [wrap(t, p, i > 0) for i, (t, p) in enumerate(parts)]
    return op.formula.format(*args, **dict(zip(op.param_names, map(_param, op.params))))


def _param(p: object) -> str:
    return f"{p:g}" if isinstance(p, float) else str(p)


SHARED_INLINE = 24  # a shared subexpression longer than this is named once
LONG_INLINE = 200  # any subexpression longer than this is named (text stays linear)


def formula(root: Value, *, stop_at_labels: bool = False) -> str:
    """A readable expression: ``tanh(x*w + b)``.

    Leaves print as their label (or their number), other nodes as their formula.
    ``stop_at_labels=True`` prints labelled intermediate nodes as their label. A
    subexpression used more than once (if longer than a few characters), or a very long
    one, is written once and named, the way ``tree()`` names nodes::

        v2*v2 + v2*0.5
          where v1 = x*x + x*0.5
                v2 = v1*v1 + v1*0.5

    so the text grows in proportion to the graph, never with the number of paths.
    """
    topo = topological_order(root)
    uses = use_counts(topo)
    names: dict[int, str] | None = None
    text: dict[int, tuple[str, int]] = {}
    bindings: list[str] = []
    for node in topo:
        if node.op is None:
            shown = node.label or (f"{node.data:g}" if node.data >= 0 else f"({node.data:g})")
            text[id(node)] = (shown, Precedence.ATOM)
            continue
        if node.label and node is not root and stop_at_labels:
            text[id(node)] = (node.label, Precedence.ATOM)
            continue
        op = node.op
        rendered = _render(op, [text[id(p)] for p in node._prev])
        shared = uses[node] > 1 and len(rendered) > SHARED_INLINE
        if node is not root and (shared or len(rendered) > LONG_INLINE):
            names = node_names(root, topo) if names is None else names
            bindings.append(f"{names[id(node)]} = {rendered}")
            text[id(node)] = (names[id(node)], Precedence.ATOM)
        else:
            text[id(node)] = (rendered, op.precedence)
    result = text[id(root)][0]
    if not bindings:
        return result
    return result + "\n  where " + "\n        ".join(bindings)


def node_formula(node: Value, names: dict[int, str]) -> str:
    """This node's formula in terms of its parents' names: ``x*w + b`` -> ``xw + b``."""
    parts = [(names[id(p)], Precedence.ATOM) for p in node._prev]
    return _render(node.op, parts)


class TextTree(str):
    """The text of :func:`tree`: a ``str`` that shows as the tree itself.

    As a REPL's or notebook cell's last expression it prints as lines, not as one
    quoted line full of ``\\n``; everything else a ``str`` does works unchanged.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython and Jupyter
        printer.text(str(self))


def tree(root: Value, *, max_depth: int = 40, model: Any = None) -> TextTree:
    """A text tree with data and grad on every node; shared nodes are shown once.

    Branches deeper than ``max_depth`` levels end in a visible ``...`` line (raise the
    limit to see more), so the text stays proportional to the graph even for a chain of
    a million nodes. ``model=`` names the model's parameters (see :func:`node_names`).
    """
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise ValueError(f"max_depth must be a whole number >= 1, got {max_depth!r}")
    topo = topological_order(root)
    names = node_names(root, topo, model=model)
    lines: list[str] = []
    shown: set[int] = set()
    stack: list[tuple[Value, str, str, int]] = [(root, "", "", 0)]
    while stack:
        node, lead, child_lead, depth = stack.pop()
        name = names[id(node)]
        what = f"{name} = {node_formula(node, names)}" if node.op is not None else name
        note = "  (shown above)" if id(node) in shown and node._prev else ""
        grad = f"{node.grad:.6g}" if isinstance(node.grad, float) else repr(node.grad)
        lines.append(f"{lead}{what}   data={node.data:.6g} grad={grad}{note}")
        if note or id(node) in shown:
            continue
        shown.add(id(node))
        parents = node._prev
        if parents and depth + 1 >= max_depth:
            lines.append(f"{child_lead}└── ... (deeper levels not shown: tree(max_depth=...))")
            continue
        for i in reversed(range(len(parents))):
            last = i == len(parents) - 1
            stack.append(
                (parents[i], child_lead + ("└── " if last else "├── "),
                 child_lead + ("    " if last else "│   "), depth + 1)
            )  # fmt: skip
    return TextTree("\n".join(lines))


# ----- the forward pass, one node at a time ---------------------------------------------
@dataclass(repr=False)
class ForwardStep:
    """One node of the forward pass: its formula, then with its operands' numbers.

    ``str(step)`` reads ``v1 = x*w = 2*(-3) = -6``.
    """

    index: int
    total: int
    node: Value
    name: str
    expression: str
    with_numbers: str

    def __str__(self) -> str:
        return f"{self.name} = {self.expression} = {self.with_numbers} = {self.node.data:.6g}"

    def __repr__(self) -> str:
        return f"<ForwardStep {self.index}/{self.total}\n{self}>"


def forward_steps(root: Value, *, model: Any = None) -> list[ForwardStep]:
    """One :class:`ForwardStep` per non-leaf node, in topological order (as computed).

    The numbers are the nodes' current data: the forward pass already ran when the
    graph was built; these steps retell it. ``model=`` names parameters as in
    :func:`node_names`.
    """
    topo = topological_order(root)
    names = node_names(root, topo, model=model)
    computed = [node for node in topo if node.op is not None]
    return [
        ForwardStep(
            index,
            len(computed),
            node,
            names[id(node)],
            node_formula(node, names),
            _render(node.op, [(_signed(p.data), Precedence.ATOM) for p in node._prev]),
        )
        for index, node in enumerate(computed, 1)
    ]


# ----- the stepper ----------------------------------------------------------------------
@dataclass
class Contribution:
    """What one parent receives in one step: upstream * local = contribution."""

    parent: Value
    name: str
    local: float
    contribution: float
    grad_after: float


@dataclass(repr=False)
class BackwardStep:
    """One node of the backward pass, with the chain rule's numbers.

    ``node`` is being processed; ``upstream`` is d(root)/d(node); each entry of
    ``contributions`` is a parent's local derivative and what it adds.
    """

    index: int
    total: int
    root: Value
    node: Value
    name: str
    root_name: str
    expression: str
    upstream: float
    contributions: list[Contribution]

    def __repr__(self) -> str:
        return f"<BackwardStep {self.index}/{self.total}\n{self}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython and Jupyter
        printer.text(repr(self))

    def __str__(self) -> str:
        y, n = self.root_name, self.name
        head = f"{n} = {self.expression}:"
        if not self.contributions:
            return f"{head}  (leaf) d{y}/d{n} = {self.upstream:.6g}"
        pad = " " * len(head)
        lines = []
        for i, c in enumerate(self.contributions):
            lines.append(
                f"{head if i == 0 else pad}  d{y}/d{c.name} += d{y}/d{n} * d{n}/d{c.name}"
                f" = {_signed(self.upstream)} * {_signed(c.local)} = {c.contribution:.6g}"
            )
        return "\n".join(lines)


def backward_steps(
    root: Value, gradient: float = 1.0, *, model: Any = None
) -> Iterator[BackwardStep]:
    """Yield one :class:`BackwardStep` per non-leaf node, in reverse topological order.

    The steps are the reverse walk of :mod:`autograd.graph`, paused after each node:
    consuming every step leaves exactly the gradients ``backward()`` gives. ``model=``
    names the model's parameters (see :func:`node_names`).
    """
    topo = topological_order(root)
    names = node_names(root, topo, model=model)
    seed(topo, root, gradient)
    total = sum(1 for node in topo if node.op is not None)
    walk = reverse_walk(topo, stepping=True)
    for index, (node, upstream, local) in enumerate(walk, 1):
        contributions = [
            Contribution(parent, names[id(parent)], d, upstream * d, parent.grad)
            for parent, d in zip(node._prev, local)
        ]
        yield BackwardStep(
            index, total, root, node, names[id(node)], names[id(root)],
            node_formula(node, names), upstream, contributions,
        )  # fmt: skip
