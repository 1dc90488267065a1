"""Loss functions, built from Value operations (no derivative rules of their own).

Each loss is a class with a per-sample term, ``sample(output, target)``, and a
reduction over the batch (``'mean'``, as PyTorch, ``'sum'``, or ``'none'`` for the list
of terms), plus a function form with PyTorch's name:

>>> from nn.losses import mse_loss
>>> mse_loss([Value(1.0), Value(2.0)], [0.0, 4.0]).data   # ((1-0)^2 + (2-4)^2) / 2
2.5

``outputs`` is one model output per sample: a Value (one output) or a list of Values
(one per output unit). ``targets`` has one entry per sample.

Built once, used for a whole batch: ``encode_targets(y, k)`` gives one row of numbers per
sample (class labels become one-hot rows) and ``sample_encoded(output, row)`` builds the
sample's term from a row of numbers *or Values*. No term branches on a target's value, so
one graph serves every sample. For ``'mean'`` the batch loss is ``scale(n, k) * sum(terms)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd import Value

from .checks import finite_real
from .data import check_labels

__all__ = [
    "LOSSES",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HingeLoss",
    "HuberLoss",
    "Loss",
    "MAELoss",
    "MSELoss",
    "NLLLoss",
    "SSELoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "get_loss",
    "hinge_loss",
    "huber_loss",
    "mae_loss",
    "mse_loss",
    "nll_loss",
    "sse_loss",
]

Output = Value | Sequence[Value]

_LOG_FLOOR = -100.0  # PyTorch's BCELoss clamps log(p) at -100 so that p = 0 gives a finite loss
_TINY = math.exp(_LOG_FLOOR)


def _is_number(x: Any) -> bool:
    return isinstance(x, Value | numbers.Real)


def _width(output: Any) -> int:
    return 1 if _is_number(output) else len(output)


def _clamped_log(v: Value) -> Value:
    """log(max(v, e^-100)), written as log(e^-100 + relu(v - e^-100)): no branch."""
    return (_TINY + (v - _TINY).relu()).log()


def _float_targets(name: str, y: np.ndarray, width: int) -> np.ndarray:
    """Targets of a loss on numbers: shape (n,) for one output, (n, width) for several."""
    if y.dtype == object or y.dtype.kind not in "biuf":
        raise TypeError(f"{name}: targets must be numbers, got an array of {y.dtype}")
    y = y.astype(float)
    if width == 1 and y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    expected = (len(y),) if width == 1 else (len(y), width)
    if y.shape != expected:
        raise ValueError(
            f"{name}: the model has {width} output(s) per sample, so targets need shape "
            f"{expected}; got {y.shape}"
        )
    bad = np.argwhere(~np.isfinite(y))
    if bad.size:
        raise ValueError(f"{name}: targets contain {y[tuple(bad[0])]} at {tuple(bad[0].tolist())}")
    return y


class Loss:
    """Base class: ``loss(outputs, targets) -> Value``. Subclasses define ``sample``."""

    name = "loss"
    task = "regression"  # or "classification": fit turns outputs into labels with predict()

    def __init__(self, reduction: str = "mean") -> None:
        if not isinstance(reduction, str):
            raise TypeError(
                f"reduction must be 'mean', 'sum' or 'none', not {type(reduction).__name__}"
            )
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    # ----- to override ----------------------------------------------------------------
    def sample(self, output: Output, target: Any) -> Value:
        """The loss of one sample (summed over its outputs); targets may be Values."""
        raise NotImplementedError

    def check_targets(self, targets: Any, width: int) -> np.ndarray:
        """Validate a batch's targets for a model with ``width`` outputs; return them
        in the form ``sample`` takes (e.g. -1/+1 for the hinge loss)."""
        return _float_targets(self.name, np.asarray(targets), width)

    def encode_targets(self, targets: Any, width: int) -> np.ndarray:
        """Targets as a float matrix with one row per sample, for graphs built once and
        fed a batch (the compiled path); :meth:`sample_encoded` reads a row back."""
        y = np.asarray(self.check_targets(targets, width), dtype=float)
        return y.reshape(len(y), -1)

    def sample_encoded(self, output: Output, row: Sequence[Any]) -> Value:
        """The sample term from one row of :meth:`encode_targets` (numbers or Values)."""
        return self.sample(output, row[0] if _is_number(output) else list(row))

    def terms_per_sample(self, width: int) -> int:
        """How many numbers a sample's term adds up ('mean' divides by n times this)."""
        return width

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        """Turn output numbers into predictions (labels, for classification losses)."""
        return outputs

    # ----- the batch --------------------------------------------------------------------
    def scale(self, n_samples: int, width: int) -> float:
        """The factor between the sum of the sample terms and the batch loss."""
        if self.reduction == "mean":
            return 1.0 / (n_samples * self.terms_per_sample(width))
        return 1.0

    def __call__(self, outputs: Any, targets: Any) -> Any:
        outputs, targets = _as_batch(self.name, outputs, targets)
        width = _width(outputs[0])
        for i, out in enumerate(outputs):
            if _width(out) != width:
                raise ValueError(
                    f"{self.name}: sample 0 has {width} output(s) but sample {i} has {_width(out)}"
                )
        if _holds_values(targets):  # Values as targets: used as they are
            prepared = [t if _is_number(t) else list(t) for t in targets]
        else:
            prepared = self.check_targets(targets, width).tolist()
        sample = self.sample
        terms = [sample(out, t) for out, t in zip(outputs, prepared)]
        if self.reduction == "none":
            return terms
        total = Value.sum(terms)
        if self.reduction == "mean":
            return total / (len(terms) * self.terms_per_sample(width))
        return total


def _holds_values(targets: Any) -> bool:
    if isinstance(targets, np.ndarray) and targets.dtype != object:
        return False
    for t in targets:
        if isinstance(t, Value):
            return True
        if not _is_number(t) and any(isinstance(v, Value) for v in t):
            return True
    return False


def _as_batch(name: str, outputs: Any, targets: Any) -> tuple[list[Any], Any]:
    """Accept one sample or a batch; return (list of outputs, targets with one per output)."""
    target_is_scalar = _is_number(targets) or (
        isinstance(targets, np.ndarray) and targets.ndim == 0
    )
    if _is_number(outputs):
        return [outputs], [targets]
    if isinstance(outputs, str) or not isinstance(outputs, Sequence | np.ndarray):
        raise TypeError(
            f"{name}: outputs must be a Value or a list of model outputs, "
            f"not {type(outputs).__name__}"
        )
    outputs = list(outputs)
    if not outputs:
        raise ValueError(f"{name}: no outputs (an empty batch)")
    if target_is_scalar and all(_is_number(o) for o in outputs):
        return [outputs], [targets]  # one sample with several outputs and a class label
    if target_is_scalar:
        raise ValueError(f"{name}: {len(outputs)} outputs but a single target {targets!r}")
    try:
        n_targets = len(targets)
    except TypeError:
        raise TypeError(
            f"{name}: targets must be a number or a sequence, not {type(targets).__name__}"
        ) from None
    if n_targets != len(outputs):
        raise ValueError(
            f"{name}: {len(outputs)} outputs but {n_targets} targets; they must pair up"
        )
    return outputs, targets


# ----- regression ---------------------------------------------------------------------------
class MSELoss(Loss):
    """Mean squared error (L2): mean of (output - target)^2."""

    name = "mse"

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            return (output - target) ** 2
        return Value.sum([(o - t) ** 2 for o, t in zip(output, target)])


class SSELoss(MSELoss):
    """Sum of squared errors, the articles' loss: sum of (output - target)^2."""

    name = "sse"

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction)


class MAELoss(Loss):
    """Mean absolute error (L1): mean of |output - target|."""

    name = "mae"

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            return abs(output - target)
        return Value.sum([abs(o - t) for o, t in zip(output, target)])


class HuberLoss(Loss):
    """Huber: 0.5 d^2 where |d| <= delta, else delta (|d| - delta/2) (PyTorch's HuberLoss).

    Written without a branch: with a = |d| and e = relu(a - delta) (the part beyond
    delta), the loss is 0.5 (a - e)^2 + delta e.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.delta = finite_real("delta", delta, above=0)

    def _term(self, o: Value, t: Any) -> Value:
        a = abs(o - t)
        excess = (a - self.delta).relu()
        return 0.5 * (a - excess) ** 2 + self.delta * excess

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            return self._term(output, target)
        return Value.sum([self._term(o, t) for o, t in zip(output, target)])


# ----- classification -----------------------------------------------------------------------
def _threshold(outputs: np.ndarray, at: float) -> np.ndarray:
    return (np.asarray(outputs) > at).astype(int)


def _argmax(outputs: np.ndarray) -> np.ndarray:
    outputs = np.asarray(outputs)
    if outputs.ndim != 2:
        raise ValueError(f"expected one row of class scores per sample, got shape {outputs.shape}")
    return outputs.argmax(axis=1)


class BCELoss(Loss):
    """Binary cross-entropy from probabilities p in [0, 1] (after a sigmoid):
    -(t log p + (1 - t) log(1 - p)), with log clamped at -100 as PyTorch does.
    Prefer :class:`BCEWithLogitsLoss` on raw scores: it is stable for any score."""

    name = "bce"
    task = "classification"

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            return self._term(output, target)
        return Value.sum([self._term(o, t) for o, t in zip(output, target)])

    def _term(self, p: Value, t: Any) -> Value:
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"bce: outputs must be probabilities in [0, 1], got {p.data!r}; end the model "
                "with a sigmoid, or use bce_with_logits on raw scores"
            )
        return -(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p))

    def check_targets(self, targets: Any, width: int) -> np.ndarray:
        y = _float_targets(self.name, np.asarray(targets), width)
        bad = np.argwhere((y < 0) | (y > 1))
        if bad.size:
            raise ValueError(
                f"{self.name}: targets must be in [0, 1] (class 1 probability); got "
                f"{y[tuple(bad[0])]} at {tuple(bad[0].tolist())}"
            )
        return y

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return _threshold(outputs, 0.5)


class BCEWithLogitsLoss(BCELoss):
    """Binary cross-entropy from a raw score z: softplus(z) - t z, stable for any z
    (it equals -(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))))."""

    name = "bce_with_logits"

    def _term(self, z: Value, t: Any) -> Value:
        return z.softplus() - z * t

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return _threshold(outputs, 0.0)


def _class_targets(name: str, targets: Any, width: int, allow_probabilities: bool) -> np.ndarray:
    if width < 2:
        raise ValueError(
            f"{name} needs one output per class (at least 2), but the model has 1 output; "
            "for two classes use bce_with_logits or hinge on a single score"
        )
    y = np.asarray(targets)
    if allow_probabilities and y.ndim == 2 and y.dtype.kind == "f":
        y = _float_targets(name, y, width)
        if (y < 0).any():
            raise ValueError(f"{name}: class probabilities must be >= 0")
        return y
    try:
        return check_labels(y, n_classes=width)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}: {exc}") from None


def _one_hot(y: np.ndarray, width: int) -> np.ndarray:
    if y.ndim == 2:
        return y.astype(float)
    encoded = np.zeros((len(y), width))
    encoded[np.arange(len(y)), y] = 1.0
    return encoded


class CrossEntropyLoss(Loss):
    """Categorical cross-entropy from logits: logsumexp(z) - z[t] (stable log-softmax).

    Targets are class indices 0..k-1, or rows of class probabilities (one-hot, or soft):
    then the loss is sum_j t_j (logsumexp(z) - z_j). Predictions are the argmax.
    """

    name = "cross_entropy"
    task = "classification"

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            raise ValueError(f"{self.name} needs a list of class scores per sample")
        lse = Value.logsumexp(output)
        if isinstance(target, numbers.Integral):
            return lse - output[target]
        return Value.sum([t * (lse - z) for z, t in zip(output, target)])

    def check_targets(self, targets: Any, width: int) -> np.ndarray:
        return _class_targets(self.name, targets, width, allow_probabilities=True)

    def encode_targets(self, targets: Any, width: int) -> np.ndarray:
        return _one_hot(self.check_targets(targets, width), width)

    def terms_per_sample(self, width: int) -> int:
        return 1

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        return _argmax(outputs)


class NLLLoss(CrossEntropyLoss):
    """Negative log-likelihood of log-probabilities (after log_softmax): -logp[t]."""

    name = "nll"

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            raise ValueError(f"{self.name} needs a list of class log-probabilities per sample")
        if isinstance(target, numbers.Integral):
            return -output[target]
        return -Value.sum([t * z for z, t in zip(output, target)])


class HingeLoss(Loss):
    """The max-margin (SVM) loss of micrograd's demo: relu(margin - t s), t = -1 or +1.

    Labels may be -1/+1 or 0/1 (0 is read as -1). With one score per class it is the
    multi-class margin loss (PyTorch's MultiMarginLoss):
    sum over j != t of relu(margin - s_t + s_j), divided by the number of classes.
    """

    name = "hinge"
    task = "classification"

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = finite_real("margin", margin)

    def sample(self, output: Output, target: Any) -> Value:
        if _is_number(output):
            return (self.margin - target * output).relu()
        if isinstance(target, numbers.Integral):
            correct = output[target]
            return Value.sum(
                [(self.margin - correct + s).relu() for j, s in enumerate(output) if j != target]
            )
        # a one-hot row: the same sum, without indexing (the true class's term gets weight 0)
        correct = Value.sum([t * s for s, t in zip(output, target)])
        return Value.sum(
            [(1 - t) * (self.margin - correct + s).relu() for s, t in zip(output, target)]
        )

    def encode_targets(self, targets: Any, width: int) -> np.ndarray:
        y = self.check_targets(targets, width)
        return _one_hot(y, width) if width > 1 else y.reshape(-1, 1)

    def check_targets(self, targets: Any, width: int) -> np.ndarray:
        if width > 1:
            return _class_targets(self.name, targets, width, allow_probabilities=False)
        y = _float_targets(self.name, np.asarray(targets), 1)
        bad = np.flatnonzero(~np.isin(y, (-1.0, 0.0, 1.0)))
        if bad.size:
            raise ValueError(
                f"{self.name}: labels must be -1/+1 (or 0/1) for one score per sample; "
                f"targets[{bad[0]}] = {y[bad[0]]}"
            )
        return np.where(y > 0, 1.0, -1.0)

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        outputs = np.asarray(outputs)
        return _threshold(outputs, 0.0) if outputs.ndim == 1 else _argmax(outputs)


LOSSES: dict[str, type[Loss]] = {
    "sse": SSELoss,
    "mse": MSELoss,
    "mae": MAELoss,
    "huber": HuberLoss,
    "bce": BCELoss,
    "bce_with_logits": BCEWithLogitsLoss,
    "cross_entropy": CrossEntropyLoss,
    "nll": NLLLoss,
    "hinge": HingeLoss,
}
"""Loss classes by the name ``fit(loss=...)`` accepts."""

_ALIASES = {
    "l2": "mse",
    "l1": "mae",
    "binary_cross_entropy": "bce",
    "binary_cross_entropy_with_logits": "bce_with_logits",
    "categorical_cross_entropy": "cross_entropy",
    "max_margin": "hinge",
    "svm": "hinge",
}


class FunctionLoss(Loss):
    """A plain function ``f(outputs, targets) -> Value`` used as a loss."""

    def __init__(self, function: Callable[[Any, Any], Value]) -> None:
        super().__init__("mean")
        self.function = function
        self.name = getattr(function, "__name__", "loss")

    def __repr__(self) -> str:
        return f"FunctionLoss({self.name})"

    def __call__(self, outputs: Any, targets: Any) -> Value:
        out = self.function(outputs, targets)
        if not isinstance(out, Value):
            raise TypeError(
                f"the loss function {self.name} must return a Value, got {type(out).__name__}"
            )
        return out

    def check_targets(self, targets: Any, width: int) -> np.ndarray:
        return np.asarray(targets)


def get_loss(loss: str | Loss | Callable[[Any, Any], Value]) -> Loss:
    """A Loss from a name ('mse', 'cross_entropy', ...), a Loss, or a function."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if isinstance(loss, str):
        key = _ALIASES.get(loss.lower(), loss.lower())
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        return LOSSES[key]()
    if callable(loss):
        return FunctionLoss(loss)
    raise TypeError(f"loss must be a name, a Loss or a function, not {type(loss).__name__}")


# ----- the function forms (PyTorch's names) ---------------------------------------------------
def sse_loss(outputs: Any, targets: Any) -> Value:
    """Sum of squared errors (the articles' loss)."""
    return SSELoss()(outputs, targets)


def mse_loss(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Mean squared error."""
    return MSELoss(reduction)(outputs, targets)


def mae_loss(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Mean absolute error (PyTorch's l1_loss)."""
    return MAELoss(reduction)(outputs, targets)


def huber_loss(outputs: Any, targets: Any, delta: float = 1.0, reduction: str = "mean") -> Any:
    """Huber loss: quadratic near 0, linear beyond ``delta``."""
    return HuberLoss(delta, reduction)(outputs, targets)


def binary_cross_entropy(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Binary cross-entropy from probabilities."""
    return BCELoss(reduction)(outputs, targets)


def binary_cross_entropy_with_logits(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Binary cross-entropy from raw scores (stable)."""
    return BCEWithLogitsLoss(reduction)(outputs, targets)


def cross_entropy(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Categorical cross-entropy from logits (one list of class scores per sample)."""
    return CrossEntropyLoss(reduction)(outputs, targets)


def nll_loss(outputs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Negative log-likelihood of log-probabilities."""
    return NLLLoss(reduction)(outputs, targets)


def hinge_loss(outputs: Any, targets: Any, margin: float = 1.0, reduction: str = "mean") -> Any:
    """The max-margin (SVM) loss of micrograd's demo."""
    return HingeLoss(margin, reduction)(outputs, targets)
