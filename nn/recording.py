"""Recording one sample's graph while ``fit`` trains: the data behind a training replay.

>>> X, y = nn.datasets.make_moons(100, noise=0.1, seed=0)
>>> model = nn.MLP(2, [16, 16, 1], seed=0)
>>> recorder = nn.Recorder(X[0], y[0], every=5)
>>> history = nn.fit(model, X, y, loss="hinge", epochs=100, quiet=True, explore=recorder)
>>> recorder.snapshots[0].step, recorder.snapshots[-1].step   # (0, 100)
>>> recorder.output                                           # the graph, to draw

Every ``every`` optimizer steps the recorder builds the chosen sample's graph with the
scalar engine from the model's current weights (inputs, model, the sample's loss), runs
backward, and keeps every node's ``data`` and ``grad`` as a :class:`Snapshot`. The node
lists follow :func:`autograd.graph.topological_order` of the graph's root, which is the
same for every snapshot (the recorder checks it), so one drawing of ``recorder.output``
serves them all: node ``i`` of the drawing has ``snapshot.data[i]`` and ``snapshot.grad[i]``.

Recording changes nothing in training: the parameters' gradients are saved before and
put back after each recording, the graph is built in eval mode (dropout draws no random
numbers), and with the compiled engine the only extra work is writing the weight array
into the model's Values (``step.sync()``), which training never reads back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import Value, allow_nonfinite, enable_grad
from autograd.graph import topological_order

from .checks import finite_real, int_at_least
from .losses import Loss
from .module import Module, temporary_mode
from .steps import StepResult, TrainingStep

__all__ = ["Recorder", "Snapshot", "check_recorder"]


@dataclass(frozen=True)
class Snapshot:
    """One sample's graph at one point of training.

    * ``step``: optimizer steps taken in this fit so far (0: the untrained model).
    * ``epoch``: epochs done, as a float: ``step / batches per epoch`` (2.5 is halfway
      through the third epoch; with full-batch training it equals ``step``).
    * ``loss``: the sample's loss (None for a recorder without a target).
    * ``data``, ``grad``: every node's number and gradient, in the order of
      :func:`autograd.graph.topological_order` of the root (the same order in every
      snapshot of a recorder).
    """

    step: int
    epoch: float
    loss: float | None
    data: list[float]
    grad: list[float]


class Recorder:
    """Records one sample's graph (data and grad of every node) while ``nn.fit`` trains.

    ``nn.Recorder(x, y=None, *, every=1, max_snapshots=100)``, passed as
    ``nn.fit(model, X, Y, ..., explore=recorder)``:

    * ``x``: one sample, a sequence of finite numbers as wide as the rows of ``X``
      (the inputs are drawn as ``x0``, ``x1``, ...).
    * ``y``: its target, as in ``Y`` (a class label, a number, or a row); the root of the
      graph is then this sample's loss, computed as ``fit`` computes it for a batch of
      one (the same loss object and target encoding). The ``penalty`` of ``fit`` is not
      included: it does not belong to one sample. With ``y=None`` the root is the model
      output (several outputs are summed into one root), so grads are d(sum of
      outputs)/d(node), and ``Snapshot.loss`` is None.
    * ``every``: record after every ``every``-th optimizer step; there is always a
      snapshot at step 0 (before training) and one of the final state.
    * ``max_snapshots`` (>= 2): at most this many are kept. When full, every other
      snapshot is dropped (the first stays) and the interval doubles, so snapshots stay
      evenly spaced over the whole run; ``recorder.every`` is the interval in use. The
      final state is always kept (its gap to the one before may be shorter).

    The graph is built with the scalar engine, in eval mode (dropout passes values
    through), from the model's current weights (with the compiled engine the weights are
    written into the Values first). Recording does not change training: the weights and
    the History are the same bit for bit with or without ``explore=``.

    After fit:

    * ``snapshots``: the :class:`Snapshot` list, oldest first; ``len(recorder)`` counts it.
    * ``output``: the root Value of the graph built at the last snapshot, to draw. Its
      nodes hold the final snapshot's data and grads; its parameters are the model's own
      Values, so after fit their ``.grad`` hold this sample's gradients (fit without a
      recorder leaves the last batch's there). If early stopping gave the model its best
      weights back (``restore_best``), ``output`` is rebuilt from those: it shows the
      model as fit returns it, while ``snapshots[-1]`` is the last step's state.
    * ``model``: the model; ``losses``: the training loss of each epoch (History's
      ``'loss'``); ``every``: the interval in use.

    A recorder passed to a second fit starts over (its snapshots are replaced). A fit
    that raises (e.g. :class:`~nn.optim.TrainingDiverged`) keeps the snapshots taken
    before the error. Cost: one scalar forward and backward of one sample per snapshot.
    """

    def __init__(
        self, x: Sequence[float], y: Any = None, *, every: int = 1, max_snapshots: int = 100
    ) -> None:
        self.x = _check_sample(x)
        self.y = y
        self.every = self._every = int_at_least("every", every)
        self.max_snapshots = int_at_least("max_snapshots", max_snapshots, minimum=2)
        self.snapshots: list[Snapshot] = []
        self.output: Value | None = None
        self.model: Module | None = None
        self._history: Any = None
        self._target: np.ndarray | None = None
        self._loss: Loss | None = None
        self._step: TrainingStep | None = None
        self._batches = 1
        self._steps = 0
        self._order: list[Value] = []
        self._structure: tuple | None = None

    # ----- what fit calls -----------------------------------------------------------------
    def _watch(
        self,
        step: TrainingStep,
        *,
        model: Module,
        loss: Loss,
        width: int,
        n_inputs: int,
        batches_per_epoch: int,
        history: Any,
    ) -> TrainingStep:
        """Start over for a new fit: check the sample against the model and the loss,
        record step 0, and return ``step`` wrapped to record after its updates."""
        if len(self.x) != n_inputs:
            raise ValueError(
                f"explore: x has {len(self.x)} number{'s' * (len(self.x) != 1)}, "
                f"the model takes {n_inputs}"
            )
        target = None
        if self.y is not None:
            try:
                target = loss.check_targets(np.asarray([self.y]), width)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"explore: y = {self.y!r:.40}: {exc}") from None
        self.model, self._loss, self._target, self._step = model, loss, target, step
        self._history, self._batches = history, batches_per_epoch
        self.every, self._steps, self.snapshots = self._every, 0, []
        self.output, self._order, self._structure = None, [], None
        self._take()
        return _RecordingStep(step, self)

    def _after_step(self) -> None:
        self._steps += 1
        if self._steps % self.every == 0:
            self._take()

    def _end(self) -> None:
        """After the last step: record the final state unless it was just recorded, and
        leave its gradients in the graph of ``output``."""
        if self.snapshots and self.snapshots[-1].step == self._steps:
            for node, g in zip(self._order, self.snapshots[-1].grad):
                node.grad = g  # the parameters' grads were given back to training
        else:
            self._take(final=True)

    def _finish(self) -> None:
        """After fit: rebuild ``output`` if fit changed the weights since the last snapshot
        (early stopping restored the best ones)."""
        if self.snapshots and any(
            node.data != d and not (math.isnan(node.data) and math.isnan(d))
            for node, d in zip(self._order, self.snapshots[-1].data)
        ):
            self.output, self._order, _, _ = self._build(keep_grads=True)

    # ----- recording ------------------------------------------------------------------------
    def _take(self, final: bool = False) -> None:
        """Record the current state, first making room (thinning) if the list is full."""
        while len(self.snapshots) >= self.max_snapshots:
            self.every *= 2
            self.snapshots = [s for s in self.snapshots if s.step % self.every == 0]
            if not final and self._steps % self.every:
                return  # this step is between the snapshots of the doubled interval
        self._step.sync()  # the compiled engine keeps the weights in an array until then
        try:
            root, order, data, grads = self._build(keep_grads=final)
        except (ArithmeticError, ValueError) as exc:  # not training's fault: say so
            raise RuntimeError(
                f"explore: recording the sample's graph failed at step {self._steps}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        structure = _structure(order)
        if self._structure is None:
            self._structure = structure
        elif structure != self._structure:
            raise RuntimeError(_changed(self._structure, structure, self._steps))
        loss = None if self._target is None else root.data
        epoch = self._steps / self._batches
        self.snapshots.append(Snapshot(self._steps, epoch, loss, data, grads))
        self.output, self._order = root, order

    def _build(self, keep_grads: bool) -> tuple[Value, list[Value], list[float], list[float]]:
        """The sample's graph from the model's current weights, after backward; every
        leaf's grad is put back afterwards unless ``keep_grads``."""
        model = self.model
        with temporary_mode(model, training=False), enable_grad(), allow_nonfinite():
            inputs = [Value(v, label=f"x{i}") for i, v in enumerate(self.x)]
            out = model(inputs)
            if self._target is not None:
                root = self._loss([out], self._target)
            elif isinstance(out, Value):
                root = out
            else:
                outputs = list(out)
                root = outputs[0] if len(outputs) == 1 else Value.sum(outputs)
            if not isinstance(root, Value):
                raise TypeError(
                    f"explore: the graph's root must be a Value, got {type(root).__name__}"
                )
            order = topological_order(root)
            leaves = [node for node in order if not node._prev]
            saved = [node.grad for node in leaves]
            try:
                for node in leaves:
                    node.grad = 0.0
                root.backward()
                data = [node.data for node in order]
                grads = [float(node.grad) for node in order]
            finally:
                if not keep_grads:
                    for node, g in zip(leaves, saved):
                        node.grad = g
        return root, order, data, grads

    # ----- reading ------------------------------------------------------------------------
    @property
    def losses(self) -> list[float]:
        """The training loss of each epoch of the last fit (its History's ``'loss'``)."""
        if self._history is None or "loss" not in self._history:
            return []
        return list(self._history["loss"])

    def __len__(self) -> int:
        return len(self.snapshots)

    def __repr__(self) -> str:
        shown = ", ".join(f"{v:.4g}" for v in self.x[:4]) + (", ..." if len(self.x) > 4 else "")
        y = self.y.tolist() if isinstance(self.y, np.ndarray | np.generic) else self.y
        head = f"Recorder(x=[{shown}], y={y!r:.30}, every={self.every}"
        if not self.snapshots:
            return f"{head}, max_snapshots={self.max_snapshots}: nothing recorded yet)"
        first, last = self.snapshots[0], self.snapshots[-1]
        return (
            f"{head}: {len(self)} snapshots of {len(last.data)} nodes, "
            f"steps {first.step}..{last.step} (max {self.max_snapshots}))"
        )


class _RecordingStep(TrainingStep):
    """fit's training step, unchanged, with the recorder told after every update."""

    def __init__(self, step: TrainingStep, recorder: Recorder) -> None:
        super().__init__(step.model, step.loss, step.optimizer, step.penalty)
        self.inner = step
        self.recorder = recorder

    def encode(self, targets: np.ndarray) -> np.ndarray:
        return self.inner.encode(targets)

    def sync(self) -> None:
        self.inner.sync()

    def use_data(self, X: np.ndarray, targets: np.ndarray) -> None:
        self.inner.use_data(X, targets)

    def step_rows(self, rows: slice | np.ndarray) -> StepResult:
        result = self.inner.step_rows(rows)
        self.recorder._after_step()
        return result

    def __call__(self, X_batch: np.ndarray, targets: np.ndarray) -> StepResult:
        result = self.inner(X_batch, targets)
        self.recorder._after_step()
        return result

    def __getattr__(self, name: str) -> Any:  # anything else the step has (program, ...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def check_recorder(explore: Any) -> Recorder | None:
    """fit's ``explore``: None or a :class:`Recorder` (else a TypeError)."""
    if explore is not None and not isinstance(explore, Recorder):
        raise TypeError(
            f"explore must be an nn.Recorder(x, y) or None, not {type(explore).__name__}: "
            f"{explore!r:.40}"
        )
    return explore


def _check_sample(x: Any) -> tuple[float, ...]:
    """One sample's inputs as a tuple of finite floats."""
    if isinstance(x, str | bytes | Value) or not isinstance(x, Sequence | np.ndarray):
        raise TypeError(
            f"x must be one sample, a sequence of numbers, not {type(x).__name__}: {x!r:.40}"
        )
    if isinstance(x, np.ndarray) and x.ndim != 1:
        raise ValueError(f"x must be one sample (a flat sequence of numbers), got shape {x.shape}")
    if len(x) == 0:
        raise ValueError("x must be one sample with at least one number, got an empty sequence")
    return tuple(finite_real(f"x[{i}]", v) for i, v in enumerate(x))


def _structure(order: list[Value]) -> tuple:
    """The graph's shape: each node's op and the places of its parents."""
    index = {node: i for i, node in enumerate(order)}
    return tuple(
        (str(node.op) if node.op is not None else "", tuple(index[p] for p in node._prev))
        for node in order
    )


def _changed(before: tuple, now: tuple, step: int) -> str:
    """Why a recorder stops: the sample's graph is not the one of the first snapshot."""
    head = f"explore: the recorded sample's graph changed at step {step}"
    tail = (
        "; every snapshot must have the same graph (the model's graph must not depend "
        "on its weights or the data, e.g. through Python if on a Value's data)"
    )
    if len(before) != len(now):
        return f"{head}: it had {len(before)} nodes, now {len(now)}{tail}"
    i = next(i for i, (a, b) in enumerate(zip(before, now)) if a != b)
    op_a, op_b = before[i][0], now[i][0]
    what = f"op {op_a or 'leaf'!r}, now {op_b or 'leaf'!r}" if op_a != op_b else "other inputs"
    return f"{head}: node {i} had {what}{tail}"
