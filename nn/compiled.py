"""Training through the compiled path: one program per model and loss, reused every step.

The per-sample graph (model, then the loss term, and the penalty) is built once from
placeholder Values and compiled by :func:`autograd.compile` into batched numpy (through
:func:`nn.programs.compile_per_sample`, which caches it with the model); each step runs
forward and backward for the whole batch and the optimizer updates the parameters. The
gradients equal the scalar engine's. A graph that changes from sample to sample (dropout
masks in training mode, Python control flow on data) cannot be compiled:
:class:`NotCompilable` says why, and ``fit`` falls back to the scalar engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograd import Value
from autograd.compiler import Program

from .losses import FunctionLoss, Loss
from .module import Module
from .programs import NotCompilable, compile_per_sample, output_values
from .steps import TrainingStep

__all__ = ["CompiledStep", "NotCompilable", "compile_training_graph"]

Penalty = Callable[[Module], Value]


def compile_training_graph(
    model: Module,
    loss: Loss,
    x_rows: np.ndarray,
    t_rows: np.ndarray,
    penalty: Penalty | None = None,
) -> Program:
    """Compile ``[loss term, *model outputs, penalty]`` of one sample.

    ``x_rows`` and ``t_rows`` hold one or more samples' inputs and encoded targets; the
    graphs built for two samples must be the same. The penalty depends on the
    parameters only, so the program computes it once per batch.
    """
    if isinstance(loss, FunctionLoss) or type(loss).sample is Loss.sample:
        raise NotCompilable(
            f"the loss {loss.name!r} is a plain function; compiling needs an nn Loss with "
            "a per-sample term (e.g. 'mse', 'cross_entropy', 'hinge')"
        )
    n_inputs = x_rows.shape[1]

    def sample_graph(row: np.ndarray) -> tuple[list[Value], list[Value]]:
        x = [Value(v) for v in row[:n_inputs].tolist()]
        t = [Value(v) for v in row[n_inputs:].tolist()]
        outputs = model(list(x))
        values = output_values(outputs)
        term = loss.sample_encoded(outputs, t)
        extra = [] if penalty is None else [penalty(model)]
        return [term, *values, *extra], [*x, *t]

    rows = np.hstack([x_rows, t_rows])
    return compile_per_sample(model, sample_graph, rows, builders=[loss, penalty])


class CompiledStep(TrainingStep):
    """One optimisation step through a compiled program; same updates as ScalarStep.

    While a fit runs the parameters live in one numpy array, updated by the optimizer's
    own rule (:meth:`~nn.optim.Optimizer.update`): no per-parameter Python work per step.
    :meth:`sync` writes them into the model's Values: ``fit`` calls it at the end, and
    before anything reads the Values (validation, early-stopping checkpoints).
    """

    program: Program | None = None
    width: int | None = None
    _values: np.ndarray | None = None  # the parameters while a fit runs
    _grads: np.ndarray | None = None
    _order: np.ndarray | None = None  # optimizer order -> program order, when they differ
    _columns: np.ndarray | None = None  # the training data, one row per input

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seeds: dict[tuple[int, float], np.ndarray] = {}  # by batch size and scale

    def prepare(self, X: np.ndarray, targets: np.ndarray, width: int) -> Program:
        """Compile (or reuse) the program; raises NotCompilable with the reason."""
        self.width = width
        encoded = self.loss.encode_targets(targets[:2], width)
        program = compile_training_graph(self.model, self.loss, X[:2], encoded, self.penalty)
        index = {id(p): i for i, p in enumerate(program.params)}
        if any(id(p) not in index for p in self.optimizer.params):
            raise NotCompilable("the optimizer updates Values that are not the model's parameters")
        order = np.array([index[id(p)] for p in self.optimizer.params], dtype=np.intp)
        self._order = None if np.array_equal(order, np.arange(len(index))) else order
        self.program = program
        return program

    def encode(self, targets: np.ndarray) -> np.ndarray:
        """Targets as the program's input columns (one-hot rows for classes), once."""
        if self.width is None:
            raise RuntimeError("CompiledStep.prepare(X, targets, width) must run first")
        return self.loss.encode_targets(targets, self.width)

    def __call__(self, X_batch: np.ndarray, encoded: np.ndarray) -> tuple[float, np.ndarray]:
        """One step on a batch of inputs and its targets as :meth:`encode` gives them."""
        return self._step(np.vstack([X_batch.T, encoded.T]))

    def use_data(self, X: np.ndarray, targets: np.ndarray) -> None:
        """Lay the training data out once as the program reads it: one row per input."""
        self._columns = np.ascontiguousarray(np.vstack([X.T, targets.T]))

    def step_rows(self, rows: slice | np.ndarray) -> tuple[float, np.ndarray]:
        return self._step(self._columns[:, rows])

    def _step(self, columns: np.ndarray) -> tuple[float, np.ndarray]:
        program = self.program
        if program is None or self.width is None:
            raise RuntimeError("CompiledStep.prepare(X, targets, width) must run first")
        if self._values is None:
            self._values = program.parameter_values()
        n = columns.shape[1]
        scale = self.loss.scale(n, self.width)
        seed = self._seeds.get((n, scale))
        if seed is None:
            seed = np.zeros((n, len(program.outputs)))
            seed[:, 0] = scale
            if self.penalty is not None:
                seed[:, -1] = 1.0 / n  # the penalty is the same in every row: counted once
            self._seeds[(n, scale)] = seed
        results, grads, _ = program.run_columns(columns, self._values, seed, input_grads=False)
        total = scale * float(results[:, 0].sum())
        if self.penalty is not None:
            total += float(results[0, -1])
        self.check_loss(total)  # a step that raises changes nothing
        if self._order is None:
            self.optimizer.update(self._values, grads)
        else:
            chosen = self._values[self._order]
            self.optimizer.update(chosen, grads[self._order])
            self._values[self._order] = chosen
        self._grads = grads
        outputs = results[:, 1 : 1 + self.width]
        return total, outputs[:, 0] if self.width == 1 else outputs

    def sync(self) -> None:
        """Write the parameter array (and the last gradients) back into the Values."""
        if self.program is None or self._values is None:
            return
        grads = self._grads.tolist() if self._grads is not None else None
        for i, (param, value) in enumerate(zip(self.program.params, self._values.tolist())):
            param.data = value
            if grads is not None:
                param.grad = grads[i]


def describe(program: Program) -> str:
    """One line on what compiling did, for ``History.engine_note`` and the progress bar."""
    return (
        f"compiled the per-sample graph in {program.compile_seconds * 1e3:.0f} ms: "
        f"{program.n_nodes} nodes -> {len(program.groups)} batched numpy steps"
    )
