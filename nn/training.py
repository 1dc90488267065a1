"""Training: ``nn.fit`` (with a progress bar), the ``History`` it returns, and ``evaluate``.

>>> model = nn.MLP(2, [16, 16, 1], seed=0)
>>> history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.1),
...                  epochs=50, metrics=["accuracy"], quiet=True)
>>> history["loss"][-1], history["accuracy"][-1]

``fit`` reads as its parts: the arguments are checked into a :class:`_Plan`; a
:class:`~nn.steps.TrainingStep` is built (:class:`ScalarStep`, one graph per sample, or
:class:`CompiledStep`, one compiled program for the batch); the epoch loop calls it on
every batch and measures; :class:`_StoppingRules` decide when to stop; the
:class:`History` records it all. Training that diverges (numbers that are no longer
finite) ends in one :class:`~nn.optim.TrainingDiverged` that says where and why.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograd import DomainError, Value, cycle_collector_paused, no_grad

from . import progress
from .checks import finite_real, flag, int_at_least
from .compiled import CompiledStep, NotCompilable, describe
from .data import check_dataset, train_test_split
from .losses import Loss, get_loss
from .metrics import CLASSIFICATION_METRICS, get_metric
from .module import Module, Perceptron, temporary_mode
from .optim import SGD, Adam, LRScheduler, Optimizer, TrainingDiverged
from .programs import ENGINES, check_engine, is_nn_own
from .recording import Recorder, check_recorder
from .steps import ScalarStep, StepResult, TrainingStep

__all__ = [
    "ENGINES",
    "CompiledStep",
    "History",
    "ScalarStep",
    "TrainingDiverged",
    "evaluate",
    "fit",
]

Penalty = Callable[[Module], Value]


class History:
    """What happened in each epoch: ``history['loss']`` is a list with one float per epoch.

    Keys: ``'loss'``, each metric (``'accuracy'``), and with validation data ``'val_loss'``
    and ``'val_accuracy'``... ``len(history)`` is the number of epochs run.
    ``best_epoch`` is the index (into those lists) of the lowest monitored loss
    (``val_loss`` with validation data, else ``loss``); ``stopped_early`` says whether
    training ended before ``epochs`` and ``stop_reason`` why ('early_stopping',
    'stop_at_loss', 'diverged' (on the History of a :class:`~nn.optim.TrainingDiverged`)
    or None). ``seconds`` is the training time. ``engine`` says which engine trained
    ('compiled' or 'scalar'), ``engine_note`` why or how, and ``compile_seconds`` what
    compiling cost.
    """

    def __init__(self) -> None:
        self._logs: dict[str, list[float]] = {}
        self.stopped_early = False
        self.stop_reason: str | None = None
        self.best_epoch: int | None = None
        self.monitor = "loss"
        self.seconds = 0.0
        self.engine = "scalar"
        self.engine_note: str | None = None
        self.compile_seconds = 0.0

    def append(self, name: str, value: float) -> None:
        self._logs.setdefault(name, []).append(float(value))

    def __getitem__(self, name: str) -> list[float]:
        try:
            return self._logs[name]
        except KeyError:
            raise KeyError(f"no {name!r} in this history; it has {list(self._logs)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._logs

    def keys(self) -> list[str]:
        return list(self._logs)

    def items(self) -> list[tuple[str, list[float]]]:
        return list(self._logs.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._logs)

    def __len__(self) -> int:
        return len(self._logs.get("loss", ()))

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self._logs.items()}

    def last(self) -> dict[str, float]:
        """Every quantity's value in the final epoch."""
        return {k: v[-1] for k, v in self._logs.items() if v}

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v:.4g}" for k, v in self.last().items())
        stop = f", stopped by {self.stop_reason}" if self.stopped_early else ""
        return f"History({len(self)} epochs: {last}{stop})"


# ----- checking the arguments ----------------------------------------------------------------
@dataclass
class _Plan:
    """Everything ``fit`` was given, checked and converted: what one training run uses."""

    model: Module
    loss: Loss
    optimizer: Optimizer
    scheduler: LRScheduler | None
    penalty: Penalty | None
    measure: _Metrics
    X: np.ndarray
    y: np.ndarray
    targets: np.ndarray  # y as the loss takes it
    width: int  # outputs per sample
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    val_targets: np.ndarray | None
    epochs: int
    batch_size: int | None
    shuffle: bool
    seed: int | None
    engine: str


def _output_width(model: Module, X: np.ndarray) -> int:
    """How many numbers the model outputs per sample: ``nout`` of nn's own Neuron, Layer
    and MLP, else one probe without a graph."""
    nout = getattr(model, "nout", None) if is_nn_own(model) else None
    if isinstance(nout, int) and not isinstance(nout, bool):
        return nout
    with temporary_mode(model, training=False), no_grad():
        out = model(X[0].tolist())
    if isinstance(out, Value | numbers.Real):
        return 1
    try:
        return len(out)
    except TypeError:
        raise TypeError(
            f"the model must return a Value or a list of Values, got {type(out).__name__}"
        ) from None


def _optimizer(optimizer: Any, model: Module) -> Optimizer:
    if optimizer is None or optimizer == "sgd":
        return SGD(model.parameters(), lr=0.01)
    if optimizer == "adam":
        return Adam(model.parameters(), lr=0.001)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an Optimizer (nn.SGD, nn.Adam), 'sgd' or 'adam', "
            f"not {optimizer!r:.60}"
        )
    model_params = {id(p) for p in model.parameters()}
    if not any(id(p) in model_params for p in optimizer.params):
        raise ValueError(
            "the optimizer updates none of this model's parameters; "
            "build it with optimizer = nn.SGD(model.parameters(), ...)"
        )
    return optimizer


def _function_or_none(name: str, value: Any) -> Any:
    """``value`` if it is None or callable, else a TypeError naming the argument."""
    if value is not None and not callable(value):
        raise TypeError(
            f"{name} must be a function or None, not {type(value).__name__}: {value!r:.40}"
        )
    return value


def _check_seed(seed: Any) -> int | np.random.Generator | None:
    """fit's ``seed``: None, an int >= 0 or a numpy Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(
            "seed must be None, an int >= 0 or a numpy Generator, "
            f"not {type(seed).__name__}: {seed!r:.40}"
        )
    return int_at_least("seed", seed, minimum=0)


def _check_model(model: Any) -> Module:
    if not isinstance(model, Module):
        raise TypeError(f"fit trains an nn.Module, not {type(model).__name__}")
    if isinstance(model, Perceptron):
        raise TypeError(
            "a Perceptron learns with the perceptron rule, not backprop: call perceptron.fit(X, y)"
        )
    return model


def _plan(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: Any,
    optimizer: Any,
    epochs: Any,
    batch_size: Any,
    validation: Any,
    metrics: Any,
    penalty: Penalty | None,
    scheduler: Any,
    predict: Any,
    shuffle: Any,
    seed: Any,
    engine: Any,
) -> _Plan:
    """Check fit's arguments other than the stopping rules and prepare the data (the
    validation split, targets as the loss takes them); the first problem found raises."""
    model = _check_model(model)
    loss_fn = get_loss(loss)
    epochs = int_at_least("epochs", epochs)
    if batch_size is not None:
        batch_size = int_at_least("batch_size", batch_size)
    engine = check_engine(engine)
    shuffle = flag("shuffle", shuffle)
    seed = _check_seed(seed)
    penalty = _function_or_none("penalty", penalty)
    predict = _function_or_none("predict", predict)
    nin = getattr(model, "nin", None)
    X, y = check_dataset(X, y, n_features=nin)
    width = _output_width(model, X)
    X, y, X_val, y_val = _validation_data(validation, X, y, loss_fn, nin, seed)
    targets = loss_fn.check_targets(y, width)
    val_targets = None
    if y_val is not None:
        with _about_validation_data():
            val_targets = loss_fn.check_targets(y_val, width)
    optimizer = _optimizer(optimizer, model)
    if scheduler is not None and (
        not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer
    ):
        raise ValueError("scheduler must be a schedule built on this fit's optimizer")
    return _Plan(
        model=model,
        loss=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        penalty=penalty,
        measure=_Metrics(metrics, loss_fn, y, predict),
        X=X,
        y=y,
        targets=targets,
        width=width,
        X_val=X_val,
        y_val=y_val,
        val_targets=val_targets,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        engine=engine,
    )


def _to_labels(
    loss: Loss, outputs: np.ndarray, negative: int, predict: Callable[..., Any] | None
) -> np.ndarray:
    if predict is not None:
        return np.asarray(predict(outputs))
    labels = loss.predict(outputs)
    if negative == -1 and loss.task == "classification" and labels.ndim == 1:
        labels = np.where(labels == 1, 1, -1)
    return labels


def _loss_on_numbers(loss: Loss, outputs: np.ndarray, targets: np.ndarray) -> float:
    """The loss of output numbers (no graph kept)."""
    with no_grad():
        if outputs.ndim == 1:
            values: list[Any] = [Value(o) for o in outputs.tolist()]
        else:
            values = [[Value(o) for o in row] for row in outputs.tolist()]
        return loss(values, targets).data


class _Metrics:
    """Named metrics computed from outputs and the original labels."""

    def __init__(self, metrics: Sequence[Any], loss: Loss, y: np.ndarray, predict: Any) -> None:
        if isinstance(metrics, str) or callable(metrics):
            metrics = [metrics]
        if not isinstance(metrics, Sequence | set):
            raise TypeError(
                "metrics must be a list of metric names or functions, "
                f"not {type(metrics).__name__}: {metrics!r:.40}"
            )
        self.metrics = [get_metric(m) for m in metrics]
        self.loss = loss
        self.predict = predict
        self.negative = -1 if (np.asarray(y) == -1).any() else 0
        for name, _ in self.metrics:
            if name in CLASSIFICATION_METRICS and loss.task != "classification" and not predict:
                raise ValueError(
                    f"the metric {name!r} compares labels, but the loss {loss.name!r} is a "
                    "regression loss; use a classification loss, or pass predict= to turn "
                    "outputs into labels"
                )

    def __call__(self, outputs: np.ndarray, y: np.ndarray, prefix: str = "") -> dict[str, float]:
        if not self.metrics:
            return {}
        labels = None
        scores = {}
        for name, function in self.metrics:
            if name in CLASSIFICATION_METRICS or self.loss.task == "classification":
                if labels is None:
                    labels = _to_labels(self.loss, outputs, self.negative, self.predict)
                prediction = labels
            else:
                prediction = outputs if self.predict is None else self.predict(outputs)
            scores[prefix + name] = float(function(y, prediction))
        return scores


def _validation_data(
    validation: Any, X: np.ndarray, y: np.ndarray, loss: Loss, nin: int | None, seed: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    if validation is None:
        return X, y, None, None
    if isinstance(validation, numbers.Real) and not isinstance(validation, bool):
        fraction = finite_real("validation (a fraction of the data)", validation, above=0, below=1)
        stratify = loss.task == "classification" and y.ndim == 1
        with _about_validation_data():
            try:
                parts = train_test_split(X, y, test_size=fraction, seed=seed, stratify=stratify)
            except ValueError:
                if not stratify:
                    raise
                parts = train_test_split(X, y, test_size=fraction, seed=seed)
        X_train, X_val, y_train, y_val = parts
        return X_train, y_train, X_val, y_val
    if isinstance(validation, tuple | list) and len(validation) == 2:
        with _about_validation_data():
            X_val, y_val = check_dataset(*validation, n_features=nin, names=("X_val", "y_val"))
        return X, y, X_val, y_val
    raise TypeError(
        "validation must be a fraction of the training data (e.g. 0.2) or a pair (X_val, y_val)"
    )


@contextmanager
def _about_validation_data() -> Iterator[None]:
    """Say that a TypeError or ValueError raised in the block is about the validation data."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"validation data: {exc}") from None


# ----- building the step ---------------------------------------------------------------------
def _make_step(plan: _Plan, history: History) -> TrainingStep:
    """The training step for ``plan.engine``; 'auto' compiles where the model allows.

    Records in ``history`` which engine runs, why, and what compiling cost.
    """
    parts = (plan.model, plan.loss, plan.optimizer, plan.penalty)
    history.engine = "scalar"
    if plan.engine == "scalar":
        return ScalarStep(*parts)
    step = CompiledStep(*parts)
    try:
        program = step.prepare(plan.X, plan.targets, plan.width)
    except NotCompilable as exc:
        if plan.engine == "compiled":
            raise NotCompilable(f"engine='compiled' cannot be used: {exc}") from None
        history.engine_note = f"fit uses the scalar engine: {exc}"
        warnings.warn(history.engine_note, RuntimeWarning, stacklevel=3)
        return ScalarStep(*parts)
    history.engine = "compiled"
    history.compile_seconds = program.compile_seconds
    history.engine_note = describe(program)
    return step


def _run_step(step: TrainingStep, rows: slice | np.ndarray) -> StepResult:
    """One step on the rows ``rows`` of the step's data, with the cyclic garbage collector
    paused (see docs/nn.md)."""
    with cycle_collector_paused():  # the step's graphs have no cycles to collect
        return step.step_rows(rows)


# ----- stopping rules ------------------------------------------------------------------------
@dataclass
class _StoppingRules:
    """When fit stops before ``epochs``: early stopping on the monitored loss (with the best
    weights kept to restore), or a training loss at most ``stop_at_loss``."""

    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    stop_at_loss: float | None = None
    best: float = math.inf
    waited: int = 0  # epochs since the monitored loss last improved
    best_state: dict[str, float] | None = None

    @classmethod
    def checked(
        cls,
        early_stopping: Any,
        min_delta: Any,
        restore_best: bool,
        stop_at_loss: Any,
    ) -> _StoppingRules:
        """The rules from fit's arguments; a clear error for a bad one."""
        if early_stopping is not None:
            early_stopping = int_at_least(
                "early_stopping (the patience, in epochs)", early_stopping
            )
        if stop_at_loss is not None:
            stop_at_loss = finite_real("stop_at_loss", stop_at_loss)
        return cls(
            early_stopping,
            finite_real("min_delta", min_delta, minimum=0),
            flag("restore_best", restore_best),
            stop_at_loss,
        )

    @property
    def keeps_checkpoints(self) -> bool:
        """Whether the best epoch's weights are kept (read from the model's Values)."""
        return self.patience is not None and self.restore_best

    def after_epoch(
        self, epoch: int, logs: dict[str, float], history: History, model: Module
    ) -> str | None:
        """Note the epoch's monitored loss; return why training stops now
        ('stop_at_loss' or 'early_stopping'), or None to go on."""
        monitored = logs[history.monitor]
        if not math.isfinite(monitored):
            raise FloatingPointError(f"{history.monitor} became {monitored} in epoch {epoch}")
        if monitored < self.best - self.min_delta:
            self.best, self.waited = monitored, 0
            history.best_epoch = epoch
            if self.patience is not None and self.restore_best:
                self.best_state = model.state_dict()
        else:
            self.waited += 1
        if self.stop_at_loss is not None and logs["loss"] <= self.stop_at_loss:
            return "stop_at_loss"
        if self.patience is not None and self.waited >= self.patience:
            return "early_stopping"
        return None

    def restore_best_weights(self, model: Module) -> None:
        """Give the model the weights of its best epoch, if early stopping kept them."""
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


# ----- the epoch loop ------------------------------------------------------------------------
@dataclass
class _Position:
    """Where the epoch loop is, for the message of a :class:`TrainingDiverged`."""

    epochs: int
    batches: int
    epoch: int = 0  # counted from 1, as the progress bar counts
    batch: int | None = None  # None between batches (validation, stopping rules)


def _run_epochs(
    plan: _Plan, step: TrainingStep, stopping: _StoppingRules, history: History, quiet: bool
) -> None:
    """Train epoch after epoch, recording each in ``history``, until the stopping rules
    or ``plan.epochs`` end it; the progress bar counts steps. Numbers that stop being
    finite once training has changed the weights raise :class:`TrainingDiverged`."""
    epochs = plan.epochs
    step.use_data(plan.X, step.encode(plan.targets))
    rng = np.random.default_rng(plan.seed)
    n_batches = 1 if plan.batch_size is None else math.ceil(len(plan.X) / plan.batch_size)
    position = _Position(epochs, n_batches)
    updates_before = plan.optimizer.steps
    bar = progress.progress_bar(
        total=epochs * n_batches, disable=quiet, unit="step", dynamic_ncols=True
    )
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            position.epoch, position.batch = epoch + 1, None
            bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
            try:
                reason = _one_epoch(plan, step, stopping, history, rng, bar, position)
            except (FloatingPointError, OverflowError, DomainError) as exc:
                if plan.optimizer.steps == updates_before and not isinstance(exc, TrainingDiverged):
                    raise  # the weights never changed: the model, data or loss is at fault
                raise _diverged(exc, plan, history, position) from exc
            if reason is not None:
                history.stop_reason = reason
                history.stopped_early = epoch < epochs - 1
                break
    finally:
        step.sync()
        history.seconds = time.perf_counter() - start
        if history.stopped_early:
            bar.set_description(f"stopped by {history.stop_reason} after epoch {len(history)}")
        bar.close()


def _one_epoch(
    plan: _Plan,
    step: TrainingStep,
    stopping: _StoppingRules,
    history: History,
    rng: np.random.Generator,
    bar: Any,
    position: _Position,
) -> str | None:
    """Train, validate and record one epoch; return why training stops now, or None."""
    logs = _train_one_epoch(plan, step, rng, bar, position)
    position.batch = None
    if plan.X_val is not None:
        step.sync()  # validation reads the model's Values
        logs.update(_validation_logs(plan))
    for name, value in logs.items():
        history.append(name, value)
    bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
    if plan.scheduler is not None:
        plan.scheduler.step()
    if stopping.keeps_checkpoints:
        step.sync()  # the checkpoint is the model's Values
    return stopping.after_epoch(position.epoch - 1, logs, history, plan.model)


def _train_one_epoch(
    plan: _Plan,
    step: TrainingStep,
    rng: np.random.Generator,
    bar: Any,
    position: _Position,
) -> dict[str, float]:
    """One pass over the training data; the epoch's loss (each batch measured before its
    update, weighted by its size) and metrics on the same outputs."""
    loss_sum, seen, all_outputs, all_rows = 0.0, 0, [], []
    batches = _epoch_rows(len(plan.X), plan.batch_size, plan.shuffle, rng)
    for position.batch, rows in enumerate(batches, start=1):
        batch_loss, outputs = _run_step(step, rows)
        n = len(outputs)
        loss_sum += batch_loss * n
        seen += n
        if plan.measure.metrics:
            all_outputs.append(outputs)
            all_rows.append(rows)
        bar.update(1)
    logs = {"loss": loss_sum / seen}
    if plan.measure.metrics:
        y_seen = np.concatenate([plan.y[rows] for rows in all_rows])
        logs.update(plan.measure(np.concatenate(all_outputs), y_seen))
    return logs


def _diverged(
    exc: BaseException, plan: _Plan, history: History, position: _Position
) -> TrainingDiverged:
    """The error that ends a diverging fit: where, the losses so far, the cause, what to try.

    The failing step changed nothing (steps and optimizers are all or nothing), so the
    model keeps the weights it had before it; ``history`` is marked and attached.
    """
    history.stopped_early, history.stop_reason = True, "diverged"
    where = f"epoch {position.epoch}/{position.epochs}"
    if position.batch is None:
        where = f"the end of {where} (validation, schedule or stopping rules)"
    elif position.batches > 1:
        where += f", batch {position.batch}/{position.batches}"
    losses = history["loss"][-5:] if "loss" in history else []
    shown = ", ".join(f"{v:.4g}" for v in losses) if losses else "none (no epoch finished)"
    largest = float(np.abs(plan.X).max())
    scale = f" (the inputs reach |x| = {largest:.3g})" if largest > 10 else ""
    message = (
        f"training diverged at {where}: numbers stopped being finite.\n"
        f"  cause: {type(exc).__name__}: {exc}\n"
        f"  loss of the last epochs: {shown}\n"
        f"  the model keeps its last finite weights (from before the failing step); "
        f"exc.history holds the {len(history)} finished epoch(s)\n"
        f"  try: a lower learning rate (lr is {plan.optimizer.lr:g} now), or inputs scaled "
        f"to mean 0 and standard deviation 1 with nn.Standardizer{scale}"
    )
    return TrainingDiverged(message, epoch=position.epoch, batch=position.batch, history=history)


def _validation_logs(plan: _Plan) -> dict[str, float]:
    """``val_loss`` (penalty included) and ``val_<metric>`` after an epoch, in eval mode."""
    outputs = plan.model.predict(plan.X_val, engine=plan.engine)
    val_loss = _loss_on_numbers(plan.loss, outputs, plan.val_targets)
    if plan.penalty is not None:
        with no_grad():
            val_loss += plan.penalty(plan.model).data
    return {"val_loss": val_loss, **plan.measure(outputs, plan.y_val, prefix="val_")}


def _epoch_rows(
    n: int, batch_size: int | None, shuffle: bool, rng: np.random.Generator
) -> Iterator[slice | np.ndarray]:
    """The rows of each batch of one epoch: slices in order, index arrays when shuffled."""
    size = n if batch_size is None else batch_size
    order = rng.permutation(n) if shuffle else None
    for start in range(0, n, size):
        yield slice(start, min(start + size, n)) if order is None else order[start : start + size]


# ----- fit -----------------------------------------------------------------------------------
def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | Callable[[Any, Any], Value] = "mse",
    optimizer: Optimizer | str | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    validation: float | tuple[Any, Any] | None = None,
    early_stopping: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    stop_at_loss: float | None = None,
    metrics: Sequence[str | Callable[[Any, Any], float]] = (),
    penalty: Callable[[Module], Value] | None = None,
    scheduler: LRScheduler | None = None,
    predict: Callable[[np.ndarray], np.ndarray] | None = None,
    shuffle: bool = True,
    quiet: bool = False,
    seed: int | None = None,
    engine: str = "auto",
    explore: Recorder | None = None,
) -> History:
    """Train ``model`` on ``X`` (n_samples x n_features) and ``y``; return a :class:`History`.

    * ``loss``: a name ('mse', 'sse', 'mae', 'huber', 'bce', 'bce_with_logits',
      'cross_entropy', 'nll', 'hinge'), a Loss, or ``f(outputs, targets) -> Value``.
    * ``optimizer``: an :class:`~nn.optim.Optimizer` over the model's parameters,
      'sgd' (lr 0.01, the default) or 'adam' (lr 0.001).
    * ``batch_size``: None for full-batch gradient descent, 1 for stochastic, k for
      mini-batches; batches are reshuffled each epoch unless ``shuffle=False``.
    * ``validation``: a pair ``(X_val, y_val)`` or a fraction of the training data held
      out (stratified for classification); gives ``val_loss`` and ``val_<metric>``.
    * ``early_stopping=patience``: stop once the monitored loss (``val_loss`` if there is
      validation data, else ``loss``) has not improved by more than ``min_delta`` for
      ``patience`` epochs; with ``restore_best`` the model ends with its best weights.
    * ``stop_at_loss``: stop as soon as an epoch's training loss is at most this.
    * ``metrics``: names ('accuracy', 'precision', 'recall', 'f1', 'mse', 'mae', 'r2')
      or functions ``f(y_true, y_pred)``; classification metrics see labels made by the
      loss (threshold or argmax) or by ``predict(outputs)``.
    * ``penalty``: ``f(model) -> Value`` added to every step's loss, e.g. ``nn.L2(1e-4)``.
    * ``scheduler``: a learning-rate schedule, stepped after every epoch.
    * ``quiet=True`` hides the progress bar; ``seed`` (an int >= 0 or a numpy Generator)
      fixes shuffling and the split.
    * ``engine``: 'compiled' (the per-sample graph compiled once to batched numpy, see
      :func:`autograd.compile`), 'scalar' (one graph per sample), or 'auto' (the
      default): compiled where the model allows, else scalar with a RuntimeWarning
      that says why (dropout in training mode, a plain-function loss, a graph that
      depends on the data). Both give the same gradients. Validation outputs come
      from ``model.predict(X_val, engine=engine)``.
    * ``explore``: an :class:`~nn.recording.Recorder` ``nn.Recorder(x, y, every=k)``
      that records one sample's graph (every node's data and grad, loss without the
      penalty) at step 0, every ``k`` optimizer steps and at the end, for a training
      replay; it does not change training.

    An epoch's ``loss`` is the mean of its steps' losses (weighted by batch size), each
    measured before its update, penalty included, as Keras reports it.

    Training that diverges (a loss, gradient or weight that is no longer finite, once
    the weights have changed) raises :class:`~nn.optim.TrainingDiverged`, naming the
    epoch and batch, the last epoch losses and the cause, with the History so far as
    ``exc.history``. The failing step is not applied: the model keeps its last finite
    weights.
    """
    plan = _plan(
        model, X, y, loss=loss, optimizer=optimizer, epochs=epochs, batch_size=batch_size,
        validation=validation, metrics=metrics, penalty=penalty, scheduler=scheduler,
        predict=predict, shuffle=shuffle, seed=seed, engine=engine,
    )  # fmt: skip
    stopping = _StoppingRules.checked(early_stopping, min_delta, restore_best, stop_at_loss)
    quiet = flag("quiet", quiet)
    explore = check_recorder(explore)
    history = History()
    history.monitor = "val_loss" if plan.X_val is not None else "loss"
    with temporary_mode(plan.model, training=True):
        step = _make_step(plan, history)
        if explore is not None:  # records step 0 now, then after the steps it is due
            batches = 1 if plan.batch_size is None else math.ceil(len(plan.X) / plan.batch_size)
            step = explore._watch(
                step, model=plan.model, loss=plan.loss, width=plan.width,
                n_inputs=plan.X.shape[1], batches_per_epoch=batches, history=history,
            )  # fmt: skip
        if history.engine_note and not quiet:
            progress.write(history.engine_note)
        _run_epochs(plan, step, stopping, history, quiet)
        if explore is not None:
            explore._end()  # the final state (before early stopping restores the best)
    stopping.restore_best_weights(plan.model)
    if explore is not None:
        explore._finish()
    return history


# ----- evaluate ------------------------------------------------------------------------------
def evaluate(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | Callable[[Any, Any], Value] | None = None,
    metrics: Sequence[str | Callable[[Any, Any], float]] = (),
    predict: Callable[[np.ndarray], np.ndarray] | None = None,
    engine: str = "auto",
) -> dict[str, float]:
    """The loss (if given) and metrics of ``model`` on ``(X, y)``, in eval mode, no graph.

    The outputs come from ``model.predict(X, engine=engine)``: the compiled program
    where the model allows, else the scalar engine (the same numbers). Classification
    metrics need to know how outputs become labels: pass the training ``loss`` (or
    ``predict``).
    """
    X, y = check_dataset(X, y, n_features=getattr(model, "nin", None))
    outputs = model.predict(X, engine=engine)
    loss_fn = get_loss(loss) if loss is not None else None
    width = 1 if outputs.ndim == 1 else outputs.shape[1]
    results: dict[str, float] = {}
    if loss_fn is not None:
        results["loss"] = _loss_on_numbers(loss_fn, outputs, loss_fn.check_targets(y, width))
    if metrics:
        reference = loss_fn if loss_fn is not None else get_loss("mse")
        results.update(_Metrics(metrics, reference, y, predict)(outputs, y))
    return results
