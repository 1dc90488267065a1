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

    return compile_per_sample(model, sample_graph, np.hstack([x_rows, t_rows]))


class CompiledStep(TrainingStep):
    """One optimisation step through a compiled program; same updates as ScalarStep.

    Between :meth:`sync` calls the parameters live in one numpy array, updated by the
    optimizer's own rule (:meth:`~nn.optim.Optimizer.update`): no per-parameter Python
    work per step. ``fit`` syncs the model's Values after every epoch.
    """

    program: Program | None = None
    width: int | None = None
    _values: np.ndarray | None = None  # the parameters while a fit runs
    _grads: np.ndarray | None = None
    _order: np.ndarray | None = None  # optimizer order -> program order, when they differ

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
        program = self.program
        if program is None or self.width is None:
            raise RuntimeError("CompiledStep.prepare(X, targets, width) must run first")
        if self._values is None:
            self._values = program.parameter_values()
        n = len(X_batch)
        scale = self.loss.scale(n, self.width)
        seed = np.zeros((n, len(program.outputs)))
        seed[:, 0] = scale
        if self.penalty is not None:
            seed[:, -1] = 1.0 / n  # the penalty is the same in every row: counted once
        results, grads, _ = program.run(
            np.hstack([X_batch, encoded]), self._values, seed, input_grads=False
        )
        self._grads = grads
        if self._order is None:
            self.optimizer.update(self._values, grads)
        else:
            chosen = self._values[self._order]
            self.optimizer.update(chosen, grads[self._order])
            self._values[self._order] = chosen
        total = scale * float(results[:, 0].sum())
        if self.penalty is not None:
            total += float(results[0, -1])
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
        self._values = None


def describe(program: Program) -> str:
    """One line on what compiling did, for ``History.engine_note`` and the progress bar."""
    return (
        f"compiled the per-sample graph in {program.compile_seconds * 1e3:.0f} ms: "
        f"{program.n_nodes} nodes -> {len(program.groups)} batched numpy steps"
    )
