"""Training through the compiled path: one program per model and loss, reused every step.

The per-sample graph (model, then the loss term) is built once from placeholder
Values and compiled by :func:`autograd.compile` into batched numpy; each step runs
forward and backward for the whole batch and the optimizer updates the parameters.
The gradients equal the scalar engine's. A graph that changes from sample to sample
(dropout masks in training mode, Python control flow on data) cannot be compiled:
:class:`NotCompilable` says why, and ``fit`` falls back to the scalar engine.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np

from autograd import Value, compile
from autograd.compiled import Program, graph_signature

from .losses import FunctionLoss, Loss
from .module import Dropout, Module
from .optim import Optimizer

__all__ = ["CompiledStep", "NotCompilable", "compile_training_graph"]


class NotCompilable(ValueError):
    """The model's graph cannot be compiled once for every sample (the message says why)."""


# One program per (model, loss, shapes): reused across steps, epochs and fit calls.
_PROGRAMS: weakref.WeakKeyDictionary[Module, dict[tuple, Program]] = weakref.WeakKeyDictionary()


def _template(model: Module, loss: Loss, x_row: np.ndarray, t_row: np.ndarray) -> tuple:
    x = [Value(float(v)) for v in x_row]
    t = [Value(float(v)) for v in t_row]
    outputs = model(x)
    outputs_list = [outputs] if isinstance(outputs, Value) else list(outputs)
    term = loss.sample_encoded(outputs, t)
    return [term, *outputs_list], [*x, *t]


def compile_training_graph(
    model: Module, loss: Loss, x_rows: np.ndarray, t_rows: np.ndarray
) -> Program:
    """Compile ``[loss term, *model outputs]`` of one sample, checked on two samples.

    ``x_rows`` and ``t_rows`` hold two (or more) samples' inputs and encoded targets;
    the graphs built for the first two must have the same shape.
    """
    if isinstance(loss, FunctionLoss) or type(loss).sample is Loss.sample:
        raise NotCompilable(
            f"the loss {loss.name!r} is a plain function; compiling needs an nn Loss with "
            "a per-sample term (e.g. 'mse', 'cross_entropy', 'hinge')"
        )
    for name, module in model.named_modules():
        if isinstance(module, Dropout) and module.training and module.p > 0:
            raise NotCompilable(
                f"dropout ({name or 'model'}) draws a new mask for every sample in training mode"
            )
    params = model.parameters()
    key = (type(loss).__name__, repr(loss), x_rows.shape[1], t_rows.shape[1])
    cached = _PROGRAMS.get(model, {}).get(key)
    if cached is not None and cached.params == params:
        return cached
    rng = np.random.default_rng(0)
    second_x = x_rows[1] if len(x_rows) > 1 else rng.normal(size=x_rows.shape[1])
    second_t = t_rows[1] if len(t_rows) > 1 else t_rows[0]
    outputs, inputs = _template(model, loss, x_rows[0], t_rows[0])
    other_outputs, other_inputs = _template(model, loss, second_x, second_t)
    if graph_signature(outputs, inputs, params) != graph_signature(
        other_outputs, other_inputs, params
    ):
        raise NotCompilable(
            "the graph differs between two samples (Python control flow on the data, "
            "or constants taken from the data)"
        )
    program = compile(outputs, inputs, params=params)
    _PROGRAMS.setdefault(model, {})[key] = program
    return program


class CompiledStep:
    """One optimisation step through a compiled program; same gradients as ScalarStep."""

    def __init__(
        self,
        model: Module,
        loss: Loss,
        optimizer: Optimizer,
        penalty: Callable[[Module], Value] | None = None,
    ) -> None:
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.penalty = penalty
        self.program: Program | None = None
        self.width: int | None = None

    def prepare(self, X: np.ndarray, targets: np.ndarray, width: int) -> Program:
        """Compile (or reuse) the program; raises NotCompilable with the reason."""
        self.width = width
        encoded = self.loss.encode_targets(targets[:2], width)
        self.program = compile_training_graph(self.model, self.loss, X[:2], encoded)
        return self.program

    def __call__(self, X_batch: np.ndarray, y_batch: np.ndarray) -> tuple[float, np.ndarray]:
        if self.program is None or self.width is None:
            raise RuntimeError("CompiledStep.prepare(X, targets, width) must run first")
        n = len(X_batch)
        encoded = self.loss.encode_targets(y_batch, self.width)
        scale = self.loss.scale(n, self.width)
        seed = np.zeros((n, 1 + self.width))
        seed[:, 0] = scale
        self.optimizer.zero_grad()
        results = self.program(np.hstack([X_batch, encoded]), seed=seed)
        total = scale * float(results[:, 0].sum())
        if self.penalty is not None:
            penalty = self.penalty(self.model)
            penalty.backward()
            total += penalty.data
        self.optimizer.step()
        outputs = results[:, 1:]
        return total, outputs[:, 0] if self.width == 1 else outputs


def describe(program: Program) -> str:
    return (
        f"compiled the per-sample graph in {program.compile_seconds * 1e3:.0f} ms: "
        f"{program.n_nodes} nodes -> {len(program.groups)} batched numpy steps"
    )
