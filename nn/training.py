"""Training: ``nn.fit`` (with a progress bar), the ``History`` it returns, and ``evaluate``.

>>> model = nn.MLP(2, [16, 16, 1], seed=0)
>>> history = nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.1),
...                  epochs=50, metrics=["accuracy"], quiet=True)
>>> history["loss"][-1], history["accuracy"][-1]

Each optimisation step is one call of a *step function*
``step(X_batch, y_batch) -> (loss, outputs)``; fit only loops, measures and decides when
to stop. :class:`ScalarStep` builds one graph per sample with the scalar engine.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from autograd import Value, cycle_collector_paused, no_grad

from .compiled import CompiledStep, NotCompilable, describe
from .data import batches, check_dataset, train_test_split
from .losses import Loss, get_loss
from .metrics import CLASSIFICATION_METRICS, get_metric
from .module import Module, Perceptron
from .optim import SGD, Adam, LRScheduler, Optimizer
from .steps import ScalarStep, Step, StepResult

__all__ = ["ENGINES", "CompiledStep", "History", "ScalarStep", "evaluate", "fit"]


class History:
    """What happened in each epoch: ``history['loss']`` is a list with one float per epoch.

    Keys: ``'loss'``, each metric (``'accuracy'``), and with validation data ``'val_loss'``
    and ``'val_accuracy'``... ``len(history)`` is the number of epochs run.
    ``best_epoch`` is the index (into those lists) of the lowest monitored loss
    (``val_loss`` with validation data, else ``loss``); ``stopped_early`` says whether
    training ended before ``epochs`` and ``stop_reason`` why ('early_stopping',
    'stop_at_loss' or None). ``seconds`` is the training time. ``engine`` says
    which engine trained ('compiled' or 'scalar'), ``engine_note`` why or how, and
    ``compile_seconds`` what compiling cost.
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


ENGINES = ("auto", "compiled", "scalar")


def _make_step(
    engine: str,
    model: Module,
    loss: Loss,
    optimizer: Optimizer,
    penalty: Any,
    data: tuple[np.ndarray, np.ndarray, int],
    history: History,
) -> Step:
    """The step function for ``engine``; 'auto' compiles where the model allows."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    history.engine = "scalar"
    if engine == "scalar":
        return ScalarStep(model, loss, optimizer, penalty)
    step = CompiledStep(model, loss, optimizer, penalty)
    try:
        program = step.prepare(*data)
    except NotCompilable as exc:
        if engine == "compiled":
            raise NotCompilable(f"engine='compiled' cannot be used: {exc}") from None
        history.engine_note = f"fit uses the scalar engine: {exc}"
        warnings.warn(history.engine_note, RuntimeWarning, stacklevel=3)
        return ScalarStep(model, loss, optimizer, penalty)
    history.engine = "compiled"
    history.compile_seconds = program.compile_seconds
    history.engine_note = describe(program)
    return step


# ----- checks --------------------------------------------------------------------------------
def _output_width(model: Module, X: np.ndarray) -> int:
    """How many numbers the model outputs per sample (one probe, no graph)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            out = model(X[0].tolist())
    finally:
        for module, mode in modes:
            module.training = mode
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


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


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
        if not 0.0 < validation < 1.0:
            raise ValueError(f"validation as a fraction must be in (0, 1), got {validation}")
        stratify = loss.task == "classification" and y.ndim == 1
        try:
            parts = train_test_split(X, y, test_size=validation, seed=seed, stratify=stratify)
        except ValueError:
            if not stratify:
                raise
            parts = train_test_split(X, y, test_size=validation, seed=seed)
        X_train, X_val, y_train, y_val = parts
        return X_train, y_train, X_val, y_val
    if isinstance(validation, tuple | list) and len(validation) == 2:
        X_val, y_val = check_dataset(validation[0], validation[1], n_features=nin)
        return X, y, X_val, y_val
    raise TypeError(
        "validation must be a fraction of the training data (e.g. 0.2) or a pair (X_val, y_val)"
    )


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
    * ``quiet=True`` hides the progress bar; ``seed`` fixes shuffling and the split.
    * ``engine``: 'compiled' (the per-sample graph compiled once to batched numpy, see
      :func:`autograd.compile`), 'scalar' (one graph per sample), or 'auto' (the
      default): compiled where the model allows, else scalar with a RuntimeWarning
      that says why (dropout in training mode, a plain-function loss, a graph that
      depends on the data). Both give the same gradients.

    An epoch's ``loss`` is the mean of its steps' losses (weighted by batch size), each
    measured before its update, penalty included, as Keras reports it.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit trains an nn.Module, not {type(model).__name__}")
    if isinstance(model, Perceptron):
        raise TypeError(
            "a Perceptron learns with the perceptron rule, not backprop: call perceptron.fit(X, y)"
        )
    loss_fn = get_loss(loss)
    epochs = _positive_int("epochs", epochs)
    if batch_size is not None:
        batch_size = _positive_int("batch_size", batch_size)
    if early_stopping is not None:
        early_stopping = _positive_int("early_stopping (the patience, in epochs)", early_stopping)
    if stop_at_loss is not None and (
        isinstance(stop_at_loss, bool) or not isinstance(stop_at_loss, numbers.Real)
    ):
        raise TypeError(f"stop_at_loss must be a number, got {stop_at_loss!r}")
    nin = getattr(model, "nin", None)
    X, y = check_dataset(X, y, n_features=nin)
    width = _output_width(model, X)
    X, y, X_val, y_val = _validation_data(validation, X, y, loss_fn, nin, seed)
    targets = loss_fn.check_targets(y, width)
    val_targets = None if y_val is None else loss_fn.check_targets(y_val, width)
    optimizer = _optimizer(optimizer, model)
    if scheduler is not None and (
        not isinstance(scheduler, LRScheduler) or scheduler.optimizer is not optimizer
    ):
        raise ValueError("scheduler must be a schedule built on this fit's optimizer")
    measure = _Metrics(metrics, loss_fn, y, predict)
    history = History()
    modes = [(m, m.training) for m in model.modules()]
    model.train()
    step = _make_step(engine, model, loss_fn, optimizer, penalty, (X, targets, width), history)
    if history.engine_note and not quiet:
        tqdm.write(history.engine_note)
    step_targets = step.encode(targets)

    history.monitor = "val_loss" if X_val is not None else "loss"
    rng = np.random.default_rng(seed)
    n_batches = 1 if batch_size is None else math.ceil(len(X) / batch_size)
    best, best_state, waited = math.inf, None, 0
    bar = tqdm(total=epochs * n_batches, disable=quiet, unit="step", dynamic_ncols=True)
    start = time.perf_counter()
    try:
        for epoch in range(epochs):
            bar.set_description(f"epoch {epoch + 1}/{epochs}", refresh=False)
            model.train()
            loss_sum, seen, all_outputs, all_y = 0.0, 0, [], []
            for X_batch, batch_targets, y_batch in _epoch_batches(
                X, step_targets, y, batch_size, shuffle, rng
            ):
                batch_loss, outputs = _run_step(step, X_batch, batch_targets)
                loss_sum += batch_loss * len(X_batch)
                seen += len(X_batch)
                all_outputs.append(outputs)
                all_y.append(y_batch)
                bar.update(1)
            step.sync()  # a compiled step keeps the parameters in an array
            epoch_loss = loss_sum / seen
            logs = {"loss": epoch_loss}
            logs.update(measure(np.concatenate(all_outputs), np.concatenate(all_y)))
            if X_val is not None:
                val_outputs = model.predict(X_val)
                val_loss = _loss_on_numbers(loss_fn, val_outputs, val_targets)
                if penalty is not None:
                    with no_grad():
                        val_loss += penalty(model).data
                logs["val_loss"] = val_loss
                logs.update(measure(val_outputs, y_val, prefix="val_"))
            for name, value in logs.items():
                history.append(name, value)
            bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            if scheduler is not None:
                scheduler.step()

            monitored = logs[history.monitor]
            if not math.isfinite(monitored):
                raise FloatingPointError(f"{history.monitor} became {monitored} in epoch {epoch}")
            if monitored < best - min_delta:
                best, waited = monitored, 0
                history.best_epoch = epoch
                if early_stopping is not None and restore_best:
                    best_state = model.state_dict()
            else:
                waited += 1
            more_to_do = epoch < epochs - 1
            if stop_at_loss is not None and epoch_loss <= stop_at_loss:
                history.stop_reason = "stop_at_loss"
                history.stopped_early = more_to_do
                break
            if early_stopping is not None and waited >= early_stopping:
                history.stop_reason = "early_stopping"
                history.stopped_early = more_to_do
                break
    finally:
        step.sync()
        history.seconds = time.perf_counter() - start
        if history.stopped_early:
            bar.set_description(f"stopped by {history.stop_reason} after epoch {len(history)}")
        bar.close()
        for module, mode in modes:
            module.training = mode
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _epoch_batches(
    X: np.ndarray,
    targets: np.ndarray,
    y: np.ndarray,
    batch_size: int | None,
    shuffle: bool,
    rng: np.random.Generator,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Batches of (inputs, prepared targets, original labels), in the same order."""
    order = np.arange(len(X))
    for X_batch, rows in batches(X, order, batch_size=batch_size, shuffle=shuffle, seed=rng):
        yield X_batch, targets[rows], y[rows]


def _run_step(step: Step, X_batch: np.ndarray, y_batch: np.ndarray) -> StepResult:
    with cycle_collector_paused():  # the step's graphs have no cycles to collect
        return step(X_batch, y_batch)


# ----- evaluate ------------------------------------------------------------------------------
def evaluate(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Loss | Callable[[Any, Any], Value] | None = None,
    metrics: Sequence[str | Callable[[Any, Any], float]] = (),
    predict: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, float]:
    """The loss (if given) and metrics of ``model`` on ``(X, y)``, in eval mode, no graph.

    Classification metrics need to know how outputs become labels: pass the training
    ``loss`` (or ``predict``).
    """
    X, y = check_dataset(X, y, n_features=getattr(model, "nin", None))
    outputs = model.predict(X)
    loss_fn = get_loss(loss) if loss is not None else None
    width = 1 if outputs.ndim == 1 else outputs.shape[1]
    results: dict[str, float] = {}
    if loss_fn is not None:
        results["loss"] = _loss_on_numbers(loss_fn, outputs, loss_fn.check_targets(y, width))
    if metrics:
        reference = loss_fn if loss_fn is not None else get_loss("mse")
        results.update(_Metrics(metrics, reference, y, predict)(outputs, y))
    return results
