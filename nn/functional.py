"""Functions on Values: activations by name, softmax and log_softmax.

Everything here is a composite of operations from the op table, so nothing needs a
derivative rule of its own: backward, the stepper and the visualizer see ordinary nodes.

>>> from autograd import Value
>>> from nn.functional import softmax
>>> [round(p.data, 4) for p in softmax([Value(1.0), Value(2.0), Value(3.0)])]
[0.09, 0.2447, 0.6652]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Value, ops
from autograd.operation import Op

from .checks import named_choice

__all__ = [
    "ACTIVATIONS",
    "activation",
    "activation_op",
    "apply_activation",
    "canonical_activation",
    "log_softmax",
    "logsumexp",
    "softmax",
]

# Activation name -> the op of the table it applies (None: the identity).
_ACTIVATION_OPS: dict[str, Op | None] = {
    "linear": None,
    "relu": ops.relu,
    "tanh": ops.tanh,
    "sigmoid": ops.sigmoid,
    "leaky_relu": ops.leaky_relu.bind(0.01),
    "softplus": ops.softplus,
    "gaussian": ops.gaussian,
    "sin": ops.sin,
}
_ALIASES = {"identity": "linear", "none": "linear"}

ACTIVATIONS: tuple[str, ...] = tuple(_ACTIVATION_OPS)
"""The activation names a Neuron, Layer or MLP accepts (``None`` means ``'linear'``)."""


def _identity(x: Value) -> Value:
    return x


def _leaky_relu(x: Value) -> Value:
    return x.leaky_relu(0.01)


# The scalar forms call Value's methods directly (the same ops, without a dispatch).
_SCALAR: dict[str, Callable[[Value], Value]] = {
    "linear": _identity,
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": _leaky_relu,
    "softplus": Value.softplus,
    "gaussian": Value.gaussian,
    "sin": Value.sin,
}


def canonical_activation(name: str | None) -> str:
    """The activation's canonical name; a clear error for an unknown one."""
    if name is None:
        return "linear"
    return named_choice("activation", name, ACTIVATIONS, "activation", _ALIASES)


def activation(name: str | None) -> Callable[[Value], Value]:
    """The function ``Value -> Value`` for an activation name ('relu', 'tanh', ...)."""
    return _SCALAR[canonical_activation(name)]


def activation_op(name: str | None) -> Op | None:
    """The op-table entry behind an activation (None for 'linear')."""
    return _ACTIVATION_OPS[canonical_activation(name)]


def apply_activation(name: str | None, x: Any) -> Any:
    """Apply an activation to a Value, a float or a numpy array (elementwise)."""
    op = activation_op(name)
    if op is None:
        return x
    if isinstance(x, np.ndarray):
        return op(x)
    return op(x) if isinstance(x, Value) else op.evaluate([float(x)])


def _as_values(xs: Sequence[Value | float]) -> list[Value]:
    if isinstance(xs, Value) or not isinstance(xs, Sequence | np.ndarray):
        raise TypeError(f"expected a sequence of Values (one per class), got {type(xs).__name__}")
    if len(xs) == 0:
        raise ValueError("expected at least one value, got an empty sequence")
    return [x if isinstance(x, Value) else Value(x) for x in xs]


def logsumexp(xs: Sequence[Value | float]) -> Value:
    """log(sum(exp(x_i))), computed stably as one node of the op table."""
    return Value.logsumexp(_as_values(xs))


def log_softmax(xs: Sequence[Value | float]) -> list[Value]:
    """log(softmax(x))_i = x_i - logsumexp(x): stable for any size of logits."""
    values = _as_values(xs)
    lse = Value.logsumexp(values)
    return [x - lse for x in values]


def softmax(xs: Sequence[Value | float]) -> list[Value]:
    """exp(x_i) / sum_j exp(x_j), as exp(x_i - logsumexp(x)): never overflows."""
    return [v.exp() for v in log_softmax(xs)]
