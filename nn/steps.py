"""Training steps: one optimisation step on a batch, ``step(X_batch, targets) -> (loss, outputs)``.

``fit`` hands a step its data once (:meth:`TrainingStep.use_data`) and then the rows of
each batch (:meth:`TrainingStep.step_rows`).

``fit`` only loops, measures and decides when to stop; a training step does the work.
This module holds the base class, :class:`TrainingStep`, and the scalar engine's step;
:mod:`nn.compiled` holds the compiled one. (Not to be confused with the steps of
backprop that ``Value.backward_steps()`` shows, :class:`autograd.explain.BackwardStep`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from autograd import Value

from .losses import Loss
from .module import Module
from .optim import Optimizer, TrainingDiverged
from .programs import outputs_to_array

__all__ = ["ScalarStep", "StepResult", "TrainingStep"]

StepResult = tuple[float, np.ndarray]


class TrainingStep:
    """One optimisation step on a batch; what every training step holds: the model, the
    loss, the optimizer and an optional penalty."""

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

    def encode(self, targets: np.ndarray) -> np.ndarray:
        """The targets as this step takes them (by default unchanged), computed once."""
        return targets

    def sync(self) -> None:
        """Bring the model's Values up to date (nothing to do by default)."""

    def use_data(self, X: np.ndarray, targets: np.ndarray) -> None:
        """The training data that :meth:`step_rows` picks batches from (targets as
        :meth:`encode` gives them); a step may lay it out once for all epochs."""
        self._data = (X, targets)

    def step_rows(self, rows: slice | np.ndarray) -> StepResult:
        """One step on the rows ``rows`` (a slice or an index array) of :meth:`use_data`'s data."""
        X, targets = self._data
        return self(X[rows], targets[rows])

    def __call__(self, X_batch: np.ndarray, targets: np.ndarray) -> StepResult:
        """Update the parameters from one batch; return its loss and the model outputs.

        A step changes nothing when it raises: a non-finite loss (:meth:`check_loss`) or
        update (:meth:`~nn.optim.Optimizer.update`) raises :class:`~nn.optim.TrainingDiverged`
        before any parameter changes.
        """
        raise NotImplementedError

    @staticmethod
    def check_loss(total: float) -> float:
        """The batch loss, checked to be finite before the update uses its gradients."""
        if not math.isfinite(total):
            raise TrainingDiverged(
                f"the batch loss is {total}: training diverged; nothing was changed"
            )
        return total


class ScalarStep(TrainingStep):
    """One optimisation step with the scalar engine.

    Builds the graph of each sample (model, then loss) and of the penalty, zeroes the
    gradients, backpropagates once through the whole batch and lets the optimizer
    update the parameters. Returns the batch loss and the model outputs as numbers.
    """

    def __call__(self, X_batch: np.ndarray, y_batch: np.ndarray) -> StepResult:
        model = self.model
        outputs = [model(row) for row in X_batch.tolist()]
        total = self.loss(outputs, y_batch)
        if self.penalty is not None:
            total = total + self.penalty(model)
        loss = self.check_loss(total.data)
        self.optimizer.zero_grad()
        total.backward()
        self.optimizer.step()  # all or nothing: a non-finite update raises, changing nothing
        return loss, outputs_to_array(outputs)
