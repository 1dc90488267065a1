"""Metrics, with scikit-learn's definitions: classification (accuracy, precision, recall,
F1, confusion matrix, a printed report) and regression (MSE, MAE, R²).

Classification metrics take labels, not scores: threshold scores first
(``scores > 0``) or take the argmax of class scores (``scores.argmax(axis=1)``).

>>> precision([0, 1, 1, 0], [0, 1, 0, 1])    # binary, positive label 1
0.5
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "METRICS",
    "accuracy",
    "classification_report",
    "confusion_matrix",
    "f1",
    "get_metric",
    "mae",
    "mse",
    "precision",
    "precision_recall_f1",
    "r2",
    "recall",
]

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


# ----- checking -----------------------------------------------------------------------------
def _label_array(name: str, y: Any) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per sample), got shape {array.shape}"
            + ("; for class scores take scores.argmax(axis=1)" if array.ndim == 2 else "")
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinity")
        fractional = np.flatnonzero(array != np.round(array))
        if fractional.size:
            i = fractional[0]
            raise ValueError(
                f"{name} holds continuous values ({name}[{i}] = {array[i]:g}); classification "
                "metrics need labels: threshold scores (scores > 0) or take the argmax"
            )
        array = array.astype(int)
    elif array.dtype.kind == "b":
        array = array.astype(int)
    elif array.dtype.kind not in "iuUSO":
        raise TypeError(f"{name} must hold class labels, got dtype {array.dtype}")
    return array


def _label_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _label_array("y_true", y_true)
    p = _label_array("y_pred", y_pred)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but y_pred has {len(p)}")
    return t, p


def _value_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        try:
            a = np.asarray(y, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must hold numbers") from None
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim not in (1, 2) or a.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D or 2-D array, got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} contains NaN or infinity")
        arrays.append(a)
    t, p = arrays
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    return t, p


# ----- classification ---------------------------------------------------------------------
def accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of labels predicted exactly."""
    t, p = _label_pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``labels[i]`` predicted as ``labels[j]``
    (rows: true, columns: predicted); labels default to all seen, sorted."""
    t, p = _label_pair(y_true, y_pred)
    labels = _labels(t, p, labels)
    index = {label: i for i, label in enumerate(labels.tolist())}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for a, b in zip(t.tolist(), p.tolist()):
        if a in index and b in index:
            matrix[index[a], index[b]] += 1
    return matrix


def _labels(t: np.ndarray, p: np.ndarray, labels: Sequence[Any] | None) -> np.ndarray:
    if labels is None:
        return np.unique(np.concatenate([t, p]))
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError("labels must be a non-empty list")
    return labels


def _counts(t: np.ndarray, p: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    matrix = confusion_matrix(t, p, labels)
    tp = np.diag(matrix).astype(float)
    fp = matrix.sum(axis=0) - tp
    fn = matrix.sum(axis=1) - tp
    return tp, fp, fn, matrix.sum(axis=1)


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    pos_label: Any = 1,
    labels: Sequence[Any] | None = None,
    zero_division: float = 0.0,
) -> tuple[Any, Any, Any]:
    """Precision, recall and F1 together (scikit-learn's precision_recall_fscore_support).

    ``average``: 'binary' (the ``pos_label`` class only), 'macro' (unweighted mean over
    classes), 'weighted' (by support), 'micro' (global counts) or None (per-class arrays).
    A ratio with a zero denominator is ``zero_division`` (0, as scikit-learn's default).
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    t, p = _label_pair(y_true, y_pred)
    all_labels = _labels(t, p, labels)
    if average == "binary":
        present = np.unique(np.concatenate([t, p]))
        if len(present) > 2:
            raise ValueError(
                f"average='binary' needs two classes, but the labels have {len(present)} "
                f"({present.tolist()[:10]}); use average='macro' or 'weighted'"
            )
        if len(present) == 2 and pos_label not in present.tolist():
            raise ValueError(f"pos_label={pos_label!r} is not one of the labels {present.tolist()}")
    tp, fp, fn, support = _counts(t, p, all_labels)
    if average == "binary":  # only the positive class counts
        is_positive = all_labels == pos_label
        tp, fp, fn, support = (a[is_positive] for a in (tp, fp, fn, support))
        if tp.size == 0:  # the positive label never occurs
            tp = fp = fn = support = np.zeros(1)
    if average == "micro":
        tp, fp, fn = (np.array([a.sum()]) for a in (tp, fp, fn))
    prec = _divide(tp, tp + fp, zero_division)
    rec = _divide(tp, tp + fn, zero_division)
    f = _divide(2 * tp, 2 * tp + fp + fn, zero_division)
    if average is None:
        return prec, rec, f
    if average == "weighted":
        if support.sum() == 0:
            return (float(zero_division),) * 3
        return tuple(float(np.average(x, weights=support)) for x in (prec, rec, f))
    return float(prec.mean()), float(rec.mean()), float(f.mean())


def precision(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Of the samples predicted positive, the fraction that are: TP / (TP + FP)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, None, zero_division)[0]


def recall(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Of the positive samples, the fraction found: TP / (TP + FN)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, None, zero_division)[1]


def f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "binary",
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """The harmonic mean of precision and recall: 2 TP / (2 TP + FP + FN)."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, None, zero_division)[2]


def classification_report(
    y_true: Any,
    y_pred: Any,
    target_names: Sequence[str] | None = None,
    digits: int = 2,
    output_dict: bool = False,
) -> str | dict[str, Any]:
    """Per-class precision, recall, F1 and support, plus accuracy and averages, laid out
    as scikit-learn's report (print it). ``output_dict=True`` returns the numbers."""
    t, p = _label_pair(y_true, y_pred)
    labels = _labels(t, p, None)
    if target_names is None:
        names = [str(label) for label in labels.tolist()]
    else:
        names = [str(n) for n in target_names]
        if len(names) != len(labels):
            raise ValueError(
                f"target_names has {len(names)} names but there are {len(labels)} classes"
            )
    prec, rec, f = precision_recall_f1(t, p, None, labels=labels)
    support = confusion_matrix(t, p, labels).sum(axis=1)
    rows: dict[str, Any] = {
        name: {"precision": a, "recall": b, "f1-score": c, "support": int(s)}
        for name, a, b, c, s in zip(names, prec.tolist(), rec.tolist(), f.tolist(), support)
    }
    total = int(support.sum())
    rows["accuracy"] = accuracy(t, p)
    for avg in ("macro", "weighted"):
        a, b, c = precision_recall_f1(t, p, avg, labels=labels)
        rows[f"{avg} avg"] = {"precision": a, "recall": b, "f1-score": c, "support": total}
    if output_dict:
        return rows
    width = max(len(n) for n in [*names, "weighted avg"])
    headers = ("precision", "recall", "f1-score", "support")
    lines = [f"{'':>{width}} " + "".join(f" {h:>9}" for h in headers), ""]
    for name in [*names, "", "accuracy", "macro avg", "weighted avg"]:
        if name == "":
            lines.append("")
            continue
        if name == "accuracy":
            lines.append(f"{name:>{width}} " + " " * 20 + f" {rows[name]:>9.{digits}f} {total:>9}")
            continue
        r = rows[name]
        cells = "".join(f" {r[k]:>9.{digits}f}" for k in ("precision", "recall", "f1-score"))
        lines.append(f"{name:>{width}} {cells} {r['support']:>9}")
    return "\n".join(lines) + "\n"


# ----- regression -------------------------------------------------------------------------
def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error."""
    t, p = _value_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error."""
    t, p = _value_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination: 1 - SS_res / SS_tot (1 is perfect, 0 is the mean).

    A constant y_true gives 1.0 for a perfect fit and 0.0 otherwise (as scikit-learn);
    several outputs are averaged uniformly.
    """
    t, p = _value_pair(y_true, y_pred)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
    scores = np.where((ss_tot == 0) & (ss_res == 0), 1.0, scores)
    return float(scores.mean())


# ----- by name (for fit) ------------------------------------------------------------------
def _auto_average(function: Callable[..., Any]) -> Callable[[Any, Any], float]:
    """Binary for two classes, macro-averaged for more."""

    def metric(y_true: Any, y_pred: Any) -> float:
        classes = np.unique(np.concatenate([np.ravel(y_true), np.ravel(y_pred)]))
        seen = set(classes.tolist())
        if seen <= {0, 1} or seen <= {-1, 1}:
            return function(y_true, y_pred, average="binary")
        return function(y_true, y_pred, average="macro")

    metric.__name__ = function.__name__
    return metric


METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": accuracy,
    "precision": _auto_average(precision),
    "recall": _auto_average(recall),
    "f1": _auto_average(f1),
    "mse": mse,
    "mae": mae,
    "r2": r2,
}
"""Metrics by the names ``fit(metrics=[...])`` accepts (precision, recall and F1 are
binary for 0/1 or -1/+1 labels, macro-averaged otherwise)."""

CLASSIFICATION_METRICS = frozenset({"accuracy", "precision", "recall", "f1"})


def get_metric(metric: str | Callable[[Any, Any], float]) -> tuple[str, Callable[..., float]]:
    """``(name, function(y_true, y_pred))`` from a name in :data:`METRICS` or a function."""
    if isinstance(metric, str):
        key = {"acc": "accuracy", "f1_score": "f1", "r2_score": "r2"}.get(metric, metric)
        if key not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
        return key, METRICS[key]
    if callable(metric):
        if isinstance(metric, numbers.Number):
            raise TypeError("a metric must be a name or a function")
        return getattr(metric, "__name__", "metric"), metric
    raise TypeError(f"a metric must be a name or a function, not {type(metric).__name__}")
