"""Data handling: checking, splitting, cross-validation folds, batching, scaling, augmentation.

Everything here works on plain numpy arrays (lists are accepted and converted); models turn
rows into Values only when they compute. Every function that shuffles takes a ``seed``: an
int for a reproducible result, a ``numpy.random.Generator`` to continue its stream, or None
for fresh randomness.

>>> from nn.data import train_test_split, batches, Standardizer
>>> X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)   # 70 / 30
>>> scaler = Standardizer().fit(X_train)
>>> for xb, yb in batches(scaler.transform(X_train), y_train, batch_size=32, seed=0):
...     ...
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .checks import finite_real, int_at_least

Seed = int | np.random.Generator | None

__all__ = [
    "KFold",
    "Standardizer",
    "StratifiedKFold",
    "add_noise",
    "augment",
    "batches",
    "check_dataset",
    "check_labels",
    "shift_images",
    "train_test_split",
]


# --------------------------------------------------------------------------- validation


def as_generator(seed: Seed) -> np.random.Generator:
    """A numpy Generator from an int seed, an existing Generator (used as is) or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(None if seed is None else int(seed))
    raise TypeError(f"seed must be an int, a numpy Generator or None, not {type(seed).__name__}")


def _ragged_message(name: str, data: Any) -> str | None:
    """Describe the first row whose length differs from row 0, if ``data`` is a ragged list."""
    if not isinstance(data, list | tuple) or not data:
        return None

    def length(row: Any) -> int | None:
        return len(row) if isinstance(row, list | tuple | np.ndarray) else None

    first = length(data[0])
    for i, row in enumerate(data):
        if length(row) != first:
            got = "a single value" if length(row) is None else f"{length(row)} values"
            want = "a single value" if first is None else f"{first} values"
            return f"{name} is ragged: row {i} has {got} but row 0 has {want}"
    return None


def _to_numeric_array(name: str, data: Any) -> np.ndarray:
    """``data`` as a numpy array of a real numeric dtype, or a clear error saying why not."""
    if data is None:
        raise TypeError(f"{name} is None; expected an array or a list of numbers")
    if isinstance(data, str | bytes):
        raise TypeError(f"{name} must be numeric, not a string ({data!r:.40})")
    message = _ragged_message(name, data)
    if message is not None:
        raise ValueError(message)
    try:
        array = np.asarray(data)
        if array.dtype.kind in "OUS":
            # keep each entry's own type so the error can point at the culprit
            array = np.asarray(data, dtype=object)
    except ValueError as error:  # ragged nesting deeper than one level
        raise ValueError(f"{name} is ragged (rows of different lengths): {error}") from None
    if array.dtype == object:
        is_number = np.vectorize(lambda v: isinstance(v, numbers.Real), otypes=[bool])
        bad = np.argwhere(~is_number(array)) if array.size else []
        if len(bad):
            position = tuple(bad[0])
            value = array[position]
            where = ", ".join(f"{axis} {i}" for axis, i in zip(("row", "column"), position))
            where = f" at {where}" if where else ""
            kind = "strings" if isinstance(value, str | bytes) else "non-numbers"
            raise TypeError(
                f"{name} must be numeric; got {kind}: {value!r:.40} "
                f"(type {type(value).__name__}){where}"
            )
        array = np.asarray(array.tolist())
        if array.dtype == object:  # e.g. Fractions
            array = array.astype(float)
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must be real; got complex numbers")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got an array of dtype {array.dtype}")
    return array


def _check_finite(name: str, array: np.ndarray) -> None:
    bad = ~np.isfinite(array)
    if not bad.any():
        return
    position = np.argwhere(bad)[0]
    value = array[tuple(position)]
    where = f"row {position[0]}" + (f", column {position[1]}" if array.ndim == 2 else "")
    what = "NaN" if np.isnan(value) else str(value)
    raise ValueError(f"{name} contains {what} at {where} ({int(bad.sum())} non-finite value(s))")


def check_dataset(
    X: Any,
    y: Any = None,
    n_features: int | None = None,
    *,
    allow_nan: bool = False,
    names: tuple[str, str] = ("X", "y"),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate and convert a dataset; return ``(X, y)`` with X a 2-D float array.

    X may be a list of rows or an array of shape (n_samples, n_features); a 1-D X is read as
    n samples of one feature (the articles' x = 0..4). y (optional) must have one entry per
    row of X; it is returned as an array with its numeric dtype kept (ints stay ints).
    Raises TypeError for non-numeric input and ValueError for empty data, ragged rows, NaN or
    infinity (naming the row and column), a wrong feature count or mismatched lengths.
    Messages call the arrays ``names`` (e.g. ``("X_val", "y_val")``).
    """
    x_name, y_name = names
    array = _to_numeric_array(x_name, X)
    if array.ndim == 0:
        raise ValueError(
            f"{x_name} must be a 2-D array (samples x features), got the scalar {array}"
        )
    if array.shape[0] == 0:
        raise ValueError(f"{x_name} is empty: it has no samples")
    if array.ndim == 1:
        if n_features not in (None, 1):
            raise ValueError(
                f"{x_name} is 1-D with {array.shape[0]} values but {n_features} features are "
                "expected; use X.reshape(1, -1) for a single sample or a 2-D array of rows"
            )
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(
            f"{x_name} must be 2-D (samples x features), got shape {array.shape}; "
            "flatten images with X.reshape(len(X), -1)"
        )
    if array.shape[1] == 0:
        raise ValueError(f"{x_name} has no features (shape {array.shape})")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"{x_name} has {array.shape[1]} features, but {n_features} are expected")
    array = array.astype(float)
    if not allow_nan:
        _check_finite(x_name, array)
    if y is None:
        return array, None
    target = _to_numeric_array(y_name, y)
    if target.ndim == 0:
        raise ValueError(
            f"{y_name} must be an array with one entry per sample, got the scalar {target}"
        )
    if target.ndim > 2:
        raise ValueError(
            f"{y_name} must be 1-D (or 2-D for several outputs), got shape {target.shape}"
        )
    if target.shape[0] != array.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} have different lengths: {x_name} has {array.shape[0]} "
            f"samples, {y_name} has {target.shape[0]}"
        )
    if target.dtype.kind == "b":
        target = target.astype(int)
    if target.dtype.kind == "f" and not allow_nan:
        _check_finite(y_name, target)
    return array, target


def check_labels(y: Any, n_classes: int | None = None) -> np.ndarray:
    """Validate class labels: return a 1-D int array of labels 0..n_classes-1.

    Integer-valued floats (1.0) and booleans are accepted; strings, fractions, negatives and
    labels >= n_classes raise a ValueError or TypeError naming the first offending entry.
    """
    if isinstance(y, list | tuple) and y and all(isinstance(v, str) for v in y):
        raise TypeError(
            f"labels must be integers 0..k-1, got strings (e.g. {y[0]!r}); "
            "map each class name to an integer first"
        )
    labels = _to_numeric_array("labels", y)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (one class index per sample), got {labels.shape}")
    if labels.size == 0:
        raise ValueError("labels are empty")
    if labels.dtype.kind == "f":
        _check_finite("labels", labels)
        fractional = np.flatnonzero(labels != np.round(labels))
        if fractional.size:
            i = fractional[0]
            raise ValueError(
                f"labels must be whole numbers (class indices); labels[{i}] = {labels[i]}. "
                "For regression targets use a regression loss instead"
            )
    labels = labels.astype(int)
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        i = negative[0]
        raise ValueError(f"labels must be 0..k-1; labels[{i}] = {labels[i]} is negative")
    if n_classes is not None:
        too_big = np.flatnonzero(labels >= n_classes)
        if too_big.size:
            i = too_big[0]
            raise ValueError(
                f"labels must be 0..{n_classes - 1} for {n_classes} classes; "
                f"labels[{i}] = {labels[i]}"
            )
    return labels


# --------------------------------------------------------------------------- splitting


def _test_count(test_size: float | int, n: int) -> int:
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a fraction or a count, not {type(test_size).__name__}")
    if isinstance(test_size, numbers.Integral):
        if not 1 <= test_size < n:
            raise ValueError(f"test_size={test_size} must be between 1 and {n - 1} for {n} samples")
        return int(test_size)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a fraction between 0 and 1, got {test_size}")
    n_test = math.ceil(test_size * n)
    if not 1 <= n_test < n:
        raise ValueError(
            f"test_size={test_size} with {n} samples leaves {n - n_test} for training and "
            f"{n_test} for testing; both need at least one"
        )
    return n_test


def _stratified_test_indices(y: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        rare = classes[np.argmin(counts)]
        raise ValueError(
            f"class {rare!r} has only 1 sample; a stratified split needs at least 2 per class"
        )
    # Largest-remainder allocation: each class's test count is its share of n_test, rounded so
    # the counts add up exactly (ties go to the larger class).
    exact = counts * n_test / len(y)
    per_class = np.floor(exact).astype(int)
    order = np.lexsort((-counts, -(exact - per_class)))
    per_class[order[: n_test - per_class.sum()]] += 1
    chosen = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(per_class)]
    return np.concatenate(chosen)


def train_test_split(
    X: Any,
    y: Any,
    test_size: float | int = 0.3,
    seed: Seed = None,
    stratify: bool = False,
    shuffle: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``X_train, X_test, y_train, y_test`` (70 / 30 by default).

    ``test_size`` is a fraction (rounded up, as in scikit-learn) or a number of samples.
    ``stratify=True`` keeps each class's proportion the same in both parts.
    ``shuffle=False`` keeps the order: the last rows become the test set.
    """
    X, y = check_dataset(X, y, allow_nan=True)
    n = len(X)
    n_test = _test_count(test_size, n)
    rng = as_generator(seed)
    if stratify:
        if not shuffle:
            raise ValueError("stratify=True needs shuffle=True")
        if y.ndim != 1:
            raise ValueError(f"stratify needs 1-D class labels, got y of shape {y.shape}")
        test_idx = _stratified_test_indices(y, n_test, rng)
        is_test = np.zeros(n, dtype=bool)
        is_test[test_idx] = True
        train_idx = rng.permutation(np.flatnonzero(~is_test))
        test_idx = rng.permutation(test_idx)
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        train_idx, test_idx = order[: n - n_test], order[n - n_test :]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


class KFold:
    """K-fold cross-validation indices, like scikit-learn's ``KFold``.

    ``split(X)`` yields ``(train_idx, test_idx)`` for each of the ``n_splits`` folds; every
    sample is in exactly one test fold. The first ``n % n_splits`` folds get one extra sample.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: Seed = None) -> None:
        self.n_splits = int_at_least("n_splits", n_splits, minimum=2)
        if not shuffle and seed is not None:
            raise ValueError("a seed has no effect when shuffle=False; pass shuffle=True")
        self.shuffle = shuffle
        self.seed = seed

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed})"

    def get_n_splits(self, X: Any = None, y: Any = None) -> int:
        return self.n_splits

    def _n_samples(self, X: Any) -> int:
        n = len(X)
        if self.n_splits > n:
            raise ValueError(f"cannot make {self.n_splits} folds from only {n} samples")
        return n

    def _fold_of(self, X: Any, y: Any) -> np.ndarray:
        """Fold number of each sample."""
        n = self._n_samples(X)
        order = as_generator(self.seed).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        fold_of = np.empty(n, dtype=int)
        fold_of[order] = np.repeat(np.arange(self.n_splits), sizes)
        return fold_of

    def split(self, X: Any, y: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` index arrays, one pair per fold."""
        fold_of = self._fold_of(X, y)
        for k in range(self.n_splits):
            yield np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)


class StratifiedKFold(KFold):
    """K-fold where every fold keeps the class proportions (counts differ by at most one)."""

    def split(self, X: Any, y: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        if y is None:
            raise TypeError("StratifiedKFold.split needs the class labels y")
        return super().split(X, y)

    def _fold_of(self, X: Any, y: Any) -> np.ndarray:
        n = self._n_samples(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be 1-D with {n} labels, got shape {y.shape}")
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < self.n_splits:
            warnings.warn(
                f"the smallest class has only {counts.min()} members, fewer than "
                f"n_splits={self.n_splits}; some folds will have none of it",
                UserWarning,
                stacklevel=3,
            )
        order = as_generator(self.seed).permutation(n) if self.shuffle else np.arange(n)
        # Sort by class (stably, so the shuffle survives within each class) and deal the
        # samples out to the folds like cards: each class is spread evenly over all folds.
        by_class = order[np.argsort(y[order], kind="stable")]
        fold_of = np.empty(n, dtype=int)
        fold_of[by_class] = np.arange(n) % self.n_splits
        return fold_of


# --------------------------------------------------------------------------- batching


def batches(
    X: Any,
    y: Any = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: Seed = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield ``(X_batch, y_batch)`` covering the data once (one epoch).

    ``batch_size=None`` gives one full batch (gradient descent), ``1`` single samples
    (stochastic gradient descent), ``k`` mini-batches of k; the last, smaller batch is kept.
    Pass a Generator as ``seed`` to get a different, reproducible order every epoch.
    """
    X, y = check_dataset(X, y)
    n = len(X)
    size = n if batch_size is None else int_at_least("batch_size", batch_size)
    order = as_generator(seed).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, size):
        idx = order[start : start + size]
        yield X[idx], (None if y is None else y[idx])


# --------------------------------------------------------------------------- scaling


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1 (scikit-learn's StandardScaler).

    Fit on the training data only, then transform training and test data with the same
    ``mean_`` and ``scale_``. A constant feature gets scale 1, so it becomes all zeros.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def __repr__(self) -> str:
        if self.mean_ is None:
            return "Standardizer(unfitted)"
        return f"Standardizer(n_features={len(self.mean_)})"

    @property
    def n_features(self) -> int | None:
        return None if self.mean_ is None else len(self.mean_)

    def fit(self, X: Any) -> Standardizer:
        """Learn each feature's mean and standard deviation from X; return self."""
        X, _ = check_dataset(X)
        std = X.std(axis=0)
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _prepare(self, X: Any, action: str) -> tuple[np.ndarray, bool]:
        if self.mean_ is None:
            raise RuntimeError(
                f"this Standardizer is not fitted yet: call fit(X) before {action}()"
            )
        one_d = np.ndim(X) == 1 and self.n_features == 1
        X, _ = check_dataset(X)
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but this Standardizer was fitted on "
                f"{self.n_features}"
            )
        return X, one_d

    def transform(self, X: Any) -> np.ndarray:
        """``(X - mean_) / scale_``; a 1-D input (one feature) gives a 1-D output."""
        X, one_d = self._prepare(X, "transform")
        out = (X - self.mean_) / self.scale_
        return out.ravel() if one_d else out

    def fit_transform(self, X: Any) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Undo ``transform``: ``X * scale_ + mean_``."""
        X, one_d = self._prepare(X, "inverse_transform")
        out = X * self.scale_ + self.mean_
        return out.ravel() if one_d else out

    def state_dict(self) -> dict[str, list[float]]:
        """The fitted statistics as JSON-friendly lists."""
        if self.mean_ is None:
            raise RuntimeError("this Standardizer is not fitted yet: nothing to save")
        return {"mean": self.mean_.tolist(), "scale": self.scale_.tolist()}

    def load_state_dict(self, state: dict[str, Sequence[float]]) -> Standardizer:
        """Restore statistics saved by ``state_dict``; the object is unchanged on error."""
        try:
            mean = np.asarray(state["mean"], dtype=float)
            scale = np.asarray(state["scale"], dtype=float)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"not a Standardizer state (needs 'mean' and 'scale'): {error}"
            ) from None
        if mean.ndim != 1 or mean.shape != scale.shape or mean.size == 0:
            raise ValueError(
                f"mean and scale must be 1-D of equal length, got {mean.shape} and {scale.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("mean must be finite and scale finite and positive")
        self.mean_, self.scale_ = mean, scale
        return self


# --------------------------------------------------------------------------- augmentation


def add_noise(X: Any, scale: float = 0.1, seed: Seed = None) -> np.ndarray:
    """X plus Gaussian noise of standard deviation ``scale`` (a new array, same shape)."""
    scale = finite_real("scale", scale, minimum=0)
    array = _to_numeric_array("X", X).astype(float)
    return array + as_generator(seed).normal(0.0, scale, size=array.shape)


def shift_images(
    X: Any, image_shape: tuple[int, int] = (8, 8), max_shift: int = 1, seed: Seed = None
) -> np.ndarray:
    """Shift each image by a random whole number of pixels (up to ``max_shift`` each way).

    X is (n, height*width) flattened images or (n, height, width); the result has X's shape.
    Pixels shifted in from outside are 0.
    """
    array = _to_numeric_array("X", X).astype(float)
    height, width = image_shape
    max_shift = int_at_least("max_shift", max_shift, minimum=0)
    if array.ndim == 2 and array.shape[1] == height * width:
        images = array.reshape(-1, height, width)
    elif array.ndim == 3 and array.shape[1:] == (height, width):
        images = array
    else:
        raise ValueError(
            f"X of shape {array.shape} does not hold {height}x{width} images; expected "
            f"(n, {height * width}) or (n, {height}, {width})"
        )
    rng = as_generator(seed)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))
    out = np.zeros_like(images)
    for dy, dx in np.unique(shifts, axis=0):
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        src_y = slice(max(0, -dy), height - max(0, dy))
        dst_y = slice(max(0, dy), height - max(0, -dy))
        src_x = slice(max(0, -dx), width - max(0, dx))
        dst_x = slice(max(0, dx), width - max(0, -dx))
        out[rows, dst_y, dst_x] = images[rows, src_y, src_x]
    return out.reshape(array.shape)


def augment(
    X: Any,
    y: Any,
    copies: int = 1,
    noise: float = 0.0,
    max_shift: int = 0,
    image_shape: tuple[int, int] | None = None,
    seed: Seed = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The original data plus ``copies`` altered copies (random image shifts, then noise).

    Returns ``(X_aug, y_aug)`` with ``(1 + copies) * n`` rows; labels are repeated.
    ``max_shift > 0`` needs ``image_shape``.
    """
    X, y = check_dataset(X, y)
    copies = int_at_least("copies", copies, minimum=0)
    if max_shift and image_shape is None:
        raise ValueError("max_shift needs image_shape, e.g. image_shape=(8, 8)")
    rng = as_generator(seed)
    parts = [X]
    for _ in range(copies):
        part = shift_images(X, image_shape, max_shift, seed=rng) if max_shift else X
        parts.append(add_noise(part, noise, seed=rng) if noise else part.copy())
    y_aug = np.concatenate([y] * (copies + 1))
    return np.concatenate(parts), y_aug
