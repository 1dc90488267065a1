"""Optimizers (SGD, Adam) and learning-rate schedules, as in PyTorch.

>>> optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> for epoch in range(100):
...     optimizer.zero_grad()
...     loss = ...; loss.backward()
...     optimizer.step()

Each optimizer's rule is written once, on numpy arrays (:meth:`Optimizer.update`);
``step()`` gathers the parameters' data and grads, applies it and assigns ``p.data``
(so it records no graph). The compiled training path applies the same ``update`` to
its parameter array directly. An update that would make a parameter (or the
optimizer's running averages) NaN or infinite raises :class:`TrainingDiverged` and
changes nothing: the parameters keep their last finite values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from autograd import Value

from .checks import finite_real, int_at_least
from .module import Module

__all__ = [
    "SGD",
    "Adam",
    "LRScheduler",
    "LinearDecay",
    "Optimizer",
    "StepDecay",
    "TrainingDiverged",
]

State = dict[str, np.ndarray]  # optimizer attributes an update replaces, by name


class TrainingDiverged(FloatingPointError):
    """Training produced a number that is not finite (NaN or infinity): it diverged.

    Raised by an optimizer whose update would make a parameter non-finite (nothing is
    changed), and by :func:`nn.fit`, which adds where it happened and what came before:
    ``epoch`` and ``batch`` (counted from 1, as the progress bar counts) and ``history``
    (the :class:`~nn.training.History` of the epochs that finished). Outside ``fit`` the
    three are None. The cause, if another error, is chained as ``__cause__``.
    """

    def __init__(
        self,
        message: str,
        *,
        epoch: int | None = None,
        batch: int | None = None,
        history: Any = None,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.history = history


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
        self._lr = finite_real("lr", lr, above=0)
        self.steps = 0  # updates applied

    @property
    def lr(self) -> float:
        """The learning rate: > 0 when built; a schedule may lower it to 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = finite_real("lr", value, minimum=0)

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
        """The rule: change ``data`` in place from ``grads`` (both in ``self.params`` order).

        All or nothing: if a gradient, a new value or the optimizer's state would not be
        finite, raise :class:`TrainingDiverged` and leave ``data`` and the state as they were.
        """
        with np.errstate(all="ignore"):  # non-finite results are checked below
            new, state = self._rule(data, grads)
        if not (np.isfinite(new).all() and all(np.isfinite(a).all() for a in state.values())):
            raise TrainingDiverged(self._why_not_finite(data, grads, new))
        data[...] = new
        for name, array in state.items():
            setattr(self, name, array)
        self.steps += 1

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, State]:
        """The new values and the new state, computed without changing either."""
        raise NotImplementedError

    def _why_not_finite(self, data: np.ndarray, grads: np.ndarray, new: np.ndarray) -> str:
        """Which parameter went wrong, and how, for :class:`TrainingDiverged`."""
        advice = (
            "training diverged; nothing was changed: lower the learning rate or scale the inputs"
        )

        def where(i: int) -> str:
            label = self.params[i].label or "unlabelled"
            return f"parameter {i} ({label}, now {data[i]:.6g})"

        if not np.isfinite(grads).all():
            i = int(np.argmax(~np.isfinite(grads)))
            return f"the gradient of {where(i)} is {grads[i]}: {advice}"
        if not np.isfinite(new).all():
            i = int(np.argmax(~np.isfinite(new)))
            return (
                f"the update would make {where(i)} {new[i]} "
                f"(gradient {grads[i]:.6g}, lr={self.lr:g}): {advice}"
            )
        i = int(np.argmax(np.abs(grads)))
        return (
            f"{type(self).__name__}'s running averages overflow (the largest gradient, of "
            f"{where(i)}, is {grads[i]:.6g}): {advice}"
        )


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
        self.momentum = finite_real("momentum", momentum, minimum=0, below=1)
        self.weight_decay = finite_real("weight_decay", weight_decay, minimum=0)
        self._velocity = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, State]:
        g = grads + self.weight_decay * data if self.weight_decay else grads
        if not self.momentum:
            return data - self.lr * g, {}
        velocity = self.momentum * self._velocity + g
        return data - self.lr * velocity, {"_velocity": velocity}


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
        if not isinstance(betas, tuple | list):
            raise TypeError(f"betas must be a pair of numbers, not {type(betas).__name__}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair of numbers, got {len(betas)}: {betas!r}")
        self.betas = (
            finite_real("betas[0]", betas[0], minimum=0, below=1),
            finite_real("betas[1]", betas[1], minimum=0, below=1),
        )
        self.eps = finite_real("eps", eps, minimum=0)
        self.weight_decay = finite_real("weight_decay", weight_decay, minimum=0)
        self._m = np.zeros(len(self.params))
        self._v = np.zeros(len(self.params))

    def _rule(self, data: np.ndarray, grads: np.ndarray) -> tuple[np.ndarray, State]:
        beta1, beta2 = self.betas
        t = self.steps + 1  # this update's number
        step_size = self.lr / (1 - beta1**t)
        root_correction = math.sqrt(1 - beta2**t)
        g = grads + self.weight_decay * data if self.weight_decay else grads
        m = beta1 * self._m + (1 - beta1) * g
        v = beta2 * self._v + (1 - beta2) * g * g
        new = data - step_size * m / (np.sqrt(v) / root_correction + self.eps)
        return new, {"_m": m, "_v": v}


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
        self.gamma = finite_real("gamma", gamma, above=0)
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
        self.start_factor = finite_real("start_factor", start_factor, above=0)
        self.end_factor = finite_real("end_factor", end_factor, minimum=0)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        done = min(epoch, self.total_steps)
        factor = self.start_factor - (self.start_factor - self.end_factor) * done / self.total_steps
        return self.base_lr * factor
