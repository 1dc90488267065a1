"""L1 and L2 penalties: add ``alpha * sum(|p|)`` or ``alpha * sum(p^2)`` to a loss.

micrograd's demo adds ``1e-4 * sum(p*p for p in model.parameters())`` to its SVM loss;
``L2(1e-4)(model)`` is that term, as one n-ary sum node. Every parameter is penalised,
biases included (as in micrograd); pass a list of Values to choose which.

>>> loss = data_loss + L2(1e-4)(model)      # or nn.fit(..., penalty=L2(1e-4))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from autograd import Value

from .checks import finite_real
from .module import Module

__all__ = ["L1", "L2", "l1_penalty", "l2_penalty"]


def _parameters(params: Module | Iterable[Value]) -> list[Value]:
    if isinstance(params, Module):
        params = params.parameters()
    params = list(params)
    if not params:
        raise ValueError("a penalty needs at least one parameter")
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"a penalty takes a Module or Values, got {type(p).__name__}")
    return params


def _alpha(alpha: Any) -> float:
    """The penalty strength, a finite number >= 0."""
    return finite_real("alpha", alpha, minimum=0)


def l2_penalty(params: Module | Iterable[Value], alpha: float) -> Value:
    """``alpha * sum(p**2)``: weight decay written into the loss (ridge)."""
    return _alpha(alpha) * Value.sum([p * p for p in _parameters(params)])  # as micrograd


def l1_penalty(params: Module | Iterable[Value], alpha: float) -> Value:
    """``alpha * sum(|p|)``: pushes weights to exactly zero (lasso)."""
    return _alpha(alpha) * Value.sum([abs(p) for p in _parameters(params)])


class L2:
    """``L2(alpha)(model)`` is :func:`l2_penalty`; pass it as ``fit(..., penalty=L2(1e-4))``."""

    def __init__(self, alpha: float) -> None:
        self.alpha = _alpha(alpha)

    def __call__(self, params: Module | Iterable[Value]) -> Value:
        return l2_penalty(params, self.alpha)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.alpha!r})"


class L1(L2):
    """``L1(alpha)(model)`` is :func:`l1_penalty`."""

    def __call__(self, params: Module | Iterable[Value]) -> Value:
        return l1_penalty(params, self.alpha)
