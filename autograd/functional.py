"""Gradients as functions: ``grad(f)``, ``value_and_grad(f)`` and ``gradients(y, xs)``.

As in HIPS autograd and JAX, ``grad(f)`` is a new function that returns the
derivative of ``f`` with respect to its arguments. Nothing here touches the
``.grad`` of your own Values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import graph
from .engine import Value

__all__ = ["grad", "gradients", "value_and_grad"]


def gradients(
    output: Value, inputs: Sequence[Value], *, create_graph: bool = False
) -> list[float | Value]:
    """d output / d input for each input, like ``torch.autograd.grad``.

    The ``grad`` fields of the graph are left as they were. An input that the output
    does not depend on gets 0.0. With ``create_graph=True`` the results are Values
    that can be differentiated again.
    """
    if not isinstance(output, Value):
        raise TypeError(f"gradients() needs a Value output, got {type(output).__name__}")
    topo = graph.topological_order(output)
    saved = [node.grad for node in topo]
    saved_inputs = [x.grad for x in inputs]
    try:
        for node in topo:
            node.grad = 0.0
        for x in inputs:
            x.grad = 0.0
        graph.backpropagate(topo, output, 1.0, create_graph=create_graph)
        return [x.grad for x in inputs]
    finally:
        for node, g in zip(topo, saved):
            node.grad = g
        for x, g in zip(inputs, saved_inputs):
            x.grad = g


def value_and_grad(
    f: Callable[..., Value], argnums: int | Sequence[int] | None = None
) -> Callable[..., tuple[Any, Any]]:
    """Like :func:`grad`, but the new function returns ``(f(*args), gradient)``."""

    def value_and_gradient(*args: Any) -> tuple[Any, Any]:
        which = _argnums(argnums, len(args))
        nested = any(isinstance(args[i], Value) for i in which)
        leaves = list(args)
        for i in which:
            leaves[i] = args[i] if isinstance(args[i], Value) else Value(args[i])
        out = f(*leaves)
        if not isinstance(out, Value):
            raise TypeError(
                f"grad(f): f must return a Value (one number built from its arguments), "
                f"got {type(out).__name__}"
            )
        grads = gradients(out, [leaves[i] for i in which], create_graph=nested)
        value: Any = out if nested else out.data
        if isinstance(argnums, int) or (argnums is None and len(args) == 1):
            return value, grads[0]
        return value, tuple(grads)

    value_and_gradient.__name__ = f"value_and_grad_{getattr(f, '__name__', 'f')}"
    return value_and_gradient


def grad(
    f: Callable[..., Value],
    argnums: int | Sequence[int] | None = None,
    *,
    return_value: bool = False,
) -> Callable[..., Any]:
    """A function that returns the gradient of ``f`` at its arguments.

    ``grad(f)(x)`` is df/dx; with several arguments it returns a tuple, one
    derivative per argument (``argnums`` picks some). Numbers in give floats out;
    Values in give Values out, so ``grad(grad(f))(x)`` is the second derivative.
    ``return_value=True`` returns ``(f(x), df/dx)``.
    """
    both = value_and_grad(f, argnums)
    if return_value:
        return both

    def gradient(*args: Any) -> Any:
        return both(*args)[1]

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    return gradient


def _argnums(argnums: int | Sequence[int] | None, n: int) -> list[int]:
    if n == 0:
        raise TypeError("grad(f) needs at least one argument to differentiate with respect to")
    which = (
        list(range(n))
        if argnums is None
        else ([argnums] if isinstance(argnums, int) else list(argnums))
    )
    for i in which:
        if not -n <= i < n:
            raise IndexError(f"argnums {i} is out of range for {n} argument(s)")
    return [i % n for i in which]
