"""Optimizers (SGD, Adam) and learning-rate schedules, as in PyTorch.

>>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> for epoch in range(100):
...     optimizer.zero_grad()
...     loss = ...; loss.backward()
...     optimizer.step()

Each optimizer's rule is written once, on numpy arrays (:meth:`Optimizer.update`);
``step()`` gathers the parameters' data and grads, applies it and assigns ``p.data``
(so it records no graph). The compiled training path applies the same ``update`` to
its parameter array directly. A non-finite gradient raises before any parameter
changes (training diverged: lower the learning rate).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Value

from .checks import int_at_least
from .module import Module

__all__ = ["SGD", "Adam", "LRScheduler", "LinearDecay", "Optimizer", "StepDecay"]


def _hyperparameter(
    name: str, value: Any, *, positive: bool = False, below_one: bool = False
) -> float:
    """An optimizer or schedule setting as a float: finite and >= 0 (> 0 with
    ``positive``, also < 1 with ``below_one``), else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    value = float(value)
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if not positive and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if below_one and not value < 1:
        raise ValueError(f"{name} must be < 1, got {value}")
    return value


class Optimizer:
    """Holds the parameters and the learning rate ``lr`` (which schedules change)."""

    def __init__(self, params: Iterable[Value] | Module, lr: float) -> None:
        if isinstance(params, Module):
            params = params.parameters()
        if isinstance(params, Value):
            raise TypeError("pass a list of parameters, e.g. model.parameters()")
        unique: dict[int, Value] = {}
        for p in params:
            if not isinstance(p, Value):
                raise TypeError(f"an optimizer updates Values, got {type(p).__name__}")
            unique.setdefault(id(p), p)
        if not unique:
            raise ValueError("the optimizer got an empty parameter list")
        self.params: list[Value] = list(unique.values())
        self.lr = _hyperparameter("lr", lr, positive=True)
        self.steps = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (leaf gradients accumulate otherwise)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its ``grad``."""
        data = np.array([p.data for p in self.params], dtype=float)
        grads = np.array([float(p.grad) for p in self.params], dtype=float)
        self.update(data, grads)
        for p, value in zip(self.params, data.tolist()):
            p.data = value

    def update(self, data: np.ndarray, grads: np.ndarray) -> None:
        """The rule: change ``data`` in place from ``grads`` (both in ``self.params`` order)."""
        bad = ~np.isfinite(grads)
        if bad.any():
            i = int(np.argmax(bad))
            raise FloatingPointError(
                f"the gradient of parameter {i} ({self.params[i]!r}) is {grads[i]}: "
                "training diverged; lower the learning rate or scale the inputs"
            )
        self.steps += 1
        self._rule(data, grads)

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Gradient descent: ``p -= lr * g``, optionally with momentum and weight decay.

    As PyTorch: ``g = grad + weight_decay * p``; with momentum ``v = momentum * v + g``
    and the step uses ``v``.
    """

    def __init__(
        self,
        params: Iterable[Value] | Module,
        lr: float = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _hyperparameter("momentum", momentum, below_one=True)
        self.weight_decay = _hyperparameter("weight_decay", weight_decay)
        self._velocity = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> None:
        g = grads + self.weight_decay * data if self.weight_decay else grads
        if self.momentum:
            self._velocity *= self.momentum
            self._velocity += g
            g = self._velocity
        data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), step for step as PyTorch's ``torch.optim.Adam``."""

    def __init__(
        self,
        params: Iterable[Value] | Module,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers, got {betas!r}")
        self.betas = (
            _hyperparameter("beta1", betas[0], below_one=True),
            _hyperparameter("beta2", betas[1], below_one=True),
        )
        self.eps = _hyperparameter("eps", eps)
        self.weight_decay = _hyperparameter("weight_decay", weight_decay)
        self._m = np.zeros(len(self.params))
        self._v = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> None:
        beta1, beta2 = self.betas
        step_size = self.lr / (1 - beta1**self.steps)
        root_correction = math.sqrt(1 - beta2**self.steps)
        g = grads + self.weight_decay * data if self.weight_decay else grads
        self._m = beta1 * self._m + (1 - beta1) * g
        self._v = beta2 * self._v + (1 - beta2) * g * g
        data -= step_size * self._m / (np.sqrt(self._v) / root_correction + self.eps)


# ----- learning-rate schedules -------------------------------------------------------------
class LRScheduler:
    """Changes ``optimizer.lr`` each time ``step()`` is called (once per epoch in fit)."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a schedule needs an Optimizer, not {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.epoch += 1
        self.optimizer.lr = self.lr_at(self.epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(epoch={self.epoch}, lr={self.optimizer.lr:g})"


class StepDecay(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)`` (PyTorch's StepLR)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = int_at_least("step_size", step_size)
        self.gamma = _hyperparameter("gamma", gamma, positive=True)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class LinearDecay(LRScheduler):
    """From ``start_factor * base_lr`` to ``end_factor * base_lr`` over ``total_steps``,
    then constant (PyTorch's LinearLR). micrograd's demo, ``lr = 1.0 - 0.9 * k / 100``, is
    ``LinearDecay(SGD(params, lr=1.0), total_steps=100, end_factor=0.1)``."""

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        end_factor: float = 0.1,
        start_factor: float = 1.0,
    ) -> None:
        self.total_steps = int_at_least("total_steps", total_steps)
        self.start_factor = _hyperparameter("start_factor", start_factor, positive=True)
        self.end_factor = _hyperparameter("end_factor", end_factor)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        done = min(epoch, self.total_steps)
        factor = self.start_factor - (self.start_factor - self.end_factor) * done / self.total_steps
        return self.base_lr * factor
