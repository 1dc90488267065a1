"""Your own ops: ``register_op`` and the ``@op`` decorator (like HIPS autograd's ``defvjp``).

A registered op joins the same table as the built-in ones, so the engine, the
stepper, formulas, the visualizer, the gradient checker and the compiled path all
handle it without further work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .operation import Domain, Kinks, Op, Precedence, defop

__all__ = ["op", "register_op", "unregister_op"]


def register_op(
    name: str,
    forward: Callable[..., float],
    derivatives: Sequence[Callable[..., Any] | float] | Callable[..., Any],
    *,
    domain: Domain | tuple[str, Callable[..., bool]] | None = None,
    vectorized: Callable[..., Any] | None = None,
    formula: str | None = None,
    symbol: str | None = None,
    kinks: Kinks = (),
) -> Op:
    """Add an op to the table and return it; call it on Values, numbers or arrays.

    * ``forward(x, ...)``: the rule on floats.
    * ``derivatives``: one rule per input, each ``rule(*inputs, out)`` returning
      d out / d input (a single callable is fine for a one-input op). Write them with
      operators and table ops (``autograd.ops.cos``) and they also work for second
      derivatives and for the compiled path.
    * ``domain``: ``("x > 0", lambda x: x > 0)`` or a :class:`Domain`; used by error
      messages and by the Hypothesis strategies.
    * ``vectorized``: the forward rule on numpy arrays (else numpy.vectorize is used).
    * ``kinks``: where the op is not differentiable, for ``gradcheck``: points of a
      one-input op (``kinks=(0.0,)`` for ``abs``), or functions of the inputs that are 0
      on a kink (``kinks=lambda a, b: a - b`` for ``max(a, b)``).

    >>> cube = register_op("cube", lambda x: x**3, lambda x, out: 3 * x**2)
    >>> cube(Value(2.0))  # a node in the graph, with backward support
    """
    if not name.isidentifier():
        raise ValueError(f"op name must be an identifier, got {name!r}")
    if callable(derivatives):
        derivatives = (derivatives,)
    derivatives = tuple(derivatives)
    if not all(callable(d) or isinstance(d, (int, float)) for d in derivatives):
        raise TypeError("each derivative rule must be a callable or a number")
    if isinstance(domain, tuple):
        domain = Domain(*domain)
    arity = len(derivatives)
    return defop(
        name,
        arity=arity,
        forward=forward,
        derivatives=tuple(float(d) if not callable(d) else d for d in derivatives),
        symbol=symbol,
        formula=formula,
        precedence=Precedence.CALL,
        domain=domain,
        vectorized=vectorized,
        kinks=kinks,
    )


def op(
    derivatives: Sequence[Callable[..., Any] | float] | Callable[..., Any],
    **options: Any,
) -> Callable[[Callable[..., float]], Op]:
    """Decorator form of :func:`register_op`; the function is the forward rule.

    >>> @op(lambda x, out: 3 * x**2)
    ... def cube(x):
    ...     return x**3
    """

    def decorate(forward: Callable[..., float]) -> Op:
        return register_op(forward.__name__, forward, derivatives, **options)

    return decorate


def unregister_op(name: str) -> None:
    """Remove a user op from the table (built-in ops cannot be removed)."""
    from .operation import REGISTRY

    entry = REGISTRY.get(name)
    if entry is None:
        raise KeyError(f"no op named {name!r}")
    if entry.builtin:
        raise ValueError(f"{name!r} is a built-in op and cannot be removed")
    del REGISTRY[name]
