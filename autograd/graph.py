"""The graph: its order, its consumers, and the one reverse walk of the chain rule.

A node is anything with ``data``, ``grad``, ``op`` (an :class:`~autograd.operation.Op`,
or ``None`` for a leaf) and ``_prev`` (its parents, in order). Everything in chainrule
that needs the order of a graph or walks it backwards comes here: ``backward``, the
stepper, ``gradients``/``grad``, anomaly detection, formulas, the visualizer and the
compiler.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from math import isfinite
from operator import attrgetter
from typing import Any

from .mode import enable_grad, no_grad, nonfinite_allowed
from .operation import DomainError, Op, RuleShape, float_of

__all__ = [
    "backpropagate",
    "check_table_ops",
    "consumers",
    "cycle_collector_paused",
    "derivative_error",
    "graph_signature",
    "has_table_op",
    "nonfinite_gradient_error",
    "reverse_walk",
    "seed",
    "topological_order",
    "use_counts",
]

GENERAL, UNIT, PRODUCT, OUTPUT, UNARY = (
    RuleShape.GENERAL, RuleShape.UNIT, RuleShape.PRODUCT, RuleShape.OUTPUT, RuleShape.UNARY
)  # fmt: skip
Node = Any  # a Value: data, grad, op and _prev; hashed by identity
Check = Callable[[Node, Any, Sequence[Any]], None]


def topological_order(roots: Node | Iterable[Node], *, leaves: bool = True) -> list[Node]:
    """Every node the roots depend on, parents before children, in a stable order.

    Iterative (no recursion limit). With several roots, one merged order. The first
    operand's subgraph comes first, so names given in this order (v1, v2, ...) read
    left to right. ``leaves=False`` leaves out the leaves and that reading order:
    the order the reverse walk needs, and no more.
    """
    roots = [roots] if hasattr(roots, "_prev") else list(roots)
    order: list[Node] = []
    # A node is marked when it is expanded (not when it is pushed): a shared node pushed
    # earlier but not yet expanded must still come before every node that uses it.
    visited: set[Node] = set()
    done = None  # on the stack above a node: "all its parents are emitted"
    for root in roots:
        if root in visited:
            continue
        if not root._prev:
            visited.add(root)
            if leaves:
                order.append(root)
            continue
        stack: list[Node] = [root]
        push, pop, emit, mark = stack.append, stack.pop, order.append, visited.add
        while stack:
            node = pop()
            if node is done:
                emit(pop())
                continue
            if node in visited:
                continue
            mark(node)
            waiting = False  # does the node wait for a parent to be expanded first?
            for parent in reversed(node._prev) if leaves else node._prev:
                if parent._prev:
                    if parent not in visited:
                        if not waiting:
                            push(node)
                            push(done)
                            waiting = True
                        push(parent)
                elif leaves and parent not in visited:
                    mark(parent)
                    emit(parent)
            if not waiting:
                emit(node)
    return order


def graph_signature(
    outputs: Node | Sequence[Node],
    inputs: Sequence[Node],
    params: Sequence[Node] = (),
    *,
    order: Sequence[Node] | None = None,
) -> tuple:
    """The shape of a graph: its ops, wiring and constants, with inputs and params by place.

    Two graphs built for two samples have the same signature exactly when one
    compiled program serves both; a difference means the graph depends on the
    sample (dropout masks, ``if x.data > 0`` in Python, a constant taken from data).
    """
    outs = [outputs] if hasattr(outputs, "_prev") else list(outputs)
    roles = {x: ("input", i) for i, x in enumerate(inputs)}
    roles.update({p: ("param", i) for i, p in enumerate(params)})
    if order is None:
        order = topological_order(outs)
    index = {node: i for i, node in enumerate(order)}
    place = index.__getitem__
    shape = [
        (node.op, tuple(map(place, node._prev)))
        if node._prev
        else roles.get(node) or ("constant", node.data)
        for node in order
    ]
    shape.append(tuple(map(place, outs)))
    return tuple(shape)


def use_counts(order: Sequence[Node]) -> Counter[Node]:
    """How many times each node is an input of a node of ``order`` (``x*x`` uses x twice)."""
    return Counter(chain.from_iterable(map(attrgetter("_prev"), order)))


def consumers(order: Sequence[Node]) -> dict[Node, list[Node]]:
    """For each node of ``order``, the nodes that use it, each listed once, in order."""
    used_by: dict[Node, list[Node]] = {node: [] for node in order}
    for node in order:
        for parent in node._prev:
            users = used_by[parent]
            if not users or users[-1] is not node:  # x*x uses x twice: list it once
                users.append(node)
    return used_by


def has_table_op(node: Node) -> bool:
    """True for a node made by an op of the table, False for a leaf or a node built by
    hand micrograd-style with a plain string as its op."""
    return node.op.__class__ is Op


def check_table_ops(order: Iterable[Node], why: str = "there is no derivative for it") -> None:
    """Raise one clear TypeError for a node built by hand with an op outside the table."""
    for node in order:
        op = node.op
        if op is not None and op.__class__ is not Op:
            raise TypeError(
                f"node {node!r} was built by hand with _op={node.op!r}, which is not an op of "
                f"chainrule's table, so {why}; build nodes with operators or register the "
                "op with autograd.register_op"
            )


def seed(order: Sequence[Node], root: Node, gradient: Any) -> None:
    """Start a pass: intermediate grads restart at 0, leaves keep accumulating."""
    for node in order:
        if node.op is not None:
            node.grad = 0.0
    root.grad = root.grad + gradient if root.op is None else gradient


def derivative_error(node: Node, exc: BaseException) -> DomainError:
    op = node.op
    operands = [p.data for p in node._prev]
    shown = ", ".join(f"{x:g}" for x in operands)
    return DomainError(
        f"{op.name}({shown}): the derivative is undefined or infinite there ({exc})",
        op,
        operands,
    )


def reverse_walk(
    order: Sequence[Node],
    *,
    create_graph: bool = False,
    check: Check | None = None,
    stepping: bool = False,
) -> Iterator[tuple[Node, Any, Sequence[Any]]]:
    """The chain rule, children before parents: each node passes ``grad * local`` on.

    Every node's ``grad`` must be complete when it is reached, which the reversed
    topological order guarantees. Local derivatives come from the node's op (the
    table's rules): as floats, or as recorded Values with ``create_graph``.
    ``check(node, upstream, local)`` runs before a node passes its gradient on.
    With ``stepping`` the walk pauses after each node and yields
    ``(node, upstream, local)``; otherwise it runs to the end in one go. Its return value
    (``StopIteration.value``) is the sum of every gradient it passed on (float walks),
    which is finite exactly when each of them is, unless the sum itself overflows.
    """
    general = create_graph or stepping or check is not None
    total = 0.0
    try:
        for node in reversed(order):
            op = node.op
            if op is None:
                continue
            g = node.grad
            parents = node._prev
            shape = GENERAL if general else op.rule_shape
            if shape == UNIT:  # add, sum: each input receives the upstream gradient
                for parent in parents:
                    parent.grad += g
                total += g
            elif shape == PRODUCT:  # mul: d/da = b, d/db = a
                a, b = parents
                ga, gb = g * b.data, g * a.data
                a.grad += ga
                b.grad += gb
                total += ga + gb
            elif shape == OUTPUT:  # exp: d/dx = out
                c = g * node.data
                parents[0].grad += c
                total += c
            elif shape == UNARY:  # tanh: d/dx = 1 - out**2, the rule called directly
                x = parents[0]
                try:
                    c = g * op.derivatives[0](x.data, node.data)
                except (ArithmeticError, ValueError) as exc:
                    raise derivative_error(node, exc) from None
                x.grad += c
                total += c
            else:
                try:
                    if create_graph:
                        local = op.local_grads(parents, node)
                    else:
                        local = op.local(parents, node.data)
                except (ArithmeticError, ValueError) as exc:
                    raise derivative_error(node, exc) from None
                if check is not None:
                    check(node, g, local)
                for parent, d in zip(parents, local):
                    c = g * d
                    parent.grad += c
                    if not create_graph:
                        total += c
                if stepping:
                    yield node, g, local
    except AttributeError:
        check_table_ops(order)  # a hand-built node: say so clearly
        raise
    return total


def backpropagate(
    order: Sequence[Node],
    root: Node,
    gradient: Any = 1.0,
    *,
    create_graph: bool = False,
    check: Check | None = None,
) -> None:
    """Seed ``root`` with ``gradient`` and run the reverse walk to the end."""
    seed(order, root, gradient)
    if create_graph:
        check_table_ops(order)
    walk = reverse_walk(order, create_graph=create_graph, check=check)
    with cycle_collector_paused(), enable_grad() if create_graph else no_grad():
        try:
            while True:
                next(walk)
        except StopIteration as end:
            total = end.value  # the sum of every gradient the walk passed on
    finite = _all_finite(order, root) if create_graph else isfinite(total + float_of(root.grad))
    if not finite and not nonfinite_allowed():
        error = nonfinite_gradient_error(order)
        if error is not None:
            raise error


def _all_finite(order: Sequence[Node], root: Node) -> bool:
    """Whether every gradient of the pass is finite, node by node (for create_graph,
    whose gradients are Values; the float walk sums what it passes on instead)."""
    return all(isfinite(float_of(node.grad)) for node in _every_node(order, root))


def nonfinite_gradient_error(order: Sequence[Node]) -> DomainError | None:
    """The error naming where a pass first made a non-finite gradient, or None.

    The first node in the walk whose own gradient is finite but passes on a nan or an
    infinity is the one to blame (its local derivative is infinite, or the product
    overflows); failing that, a sum of finite contributions overflowed.
    """
    for node in reversed(order):
        g = float_of(node.grad)
        if not isfinite(g):
            continue  # received from a consumer: the culprit came earlier in the walk
        local = node.op.local(node._prev, node.data)
        for i, d in enumerate(local, 1):
            d = float_of(d)
            if not isfinite(g * d):
                operands = ", ".join(f"{p.data:g}" for p in node._prev)
                return DomainError(
                    f"backward: {node.op.name}({operands}) passes a non-finite gradient "
                    f"{g * d} to its input {i} (upstream {g:g} * local derivative {d:g}); "
                    "run backward inside autograd.detect_anomaly() to see the line that "
                    "made the node, or use autograd.allow_nonfinite() for IEEE semantics",
                    node.op,
                    [p.data for p in node._prev],
                )
    for node in _every_node(order, None):
        if not isfinite(float_of(node.grad)):
            return DomainError(
                f"backward: the gradient of {node!r} overflowed a float when the "
                "contributions of its consumers were added up"
            )
    return None


def _every_node(order: Sequence[Node], root: Node | None) -> Iterator[Node]:
    yield from order
    for node in order:
        yield from node._prev
    if root is not None:
        yield root


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block, then restore its state.

    chainrule's graphs hold no reference cycles (reference counting frees them), so
    the collector has nothing to find in them; while a large graph is built it only
    rescans it. ``backward()`` and ``nn.fit`` use this; wrap your own graph building
    in it for the same speed-up.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
