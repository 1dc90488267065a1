"""Training plots: loss and metric curves, and 2-D decision boundaries.

matplotlib is an optional extra (``pip install "chainrule[plot]"``), imported when
a plot is made. Plots are drawn on a stand-alone ``matplotlib.figure.Figure``:
nothing touches pyplot's global state or the backend of a running notebook. Each
function returns the figure (Jupyter shows it inline) and, given a path, also
saves it there (format from the suffix: png, svg, pdf).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .render import _write_atomically

__all__ = ["plot_decision_boundary", "plot_history"]

PLOT_HINT = 'plots need matplotlib, an optional extra: pip install "chainrule[plot]"'
_SAVE_FORMATS = ("png", "svg", "pdf")


def available() -> bool:
    """True when matplotlib is installed (plots are an optional extra)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    return Figure(**kwargs)


def _save(fig: Any, path: str | os.PathLike[str] | None, dpi: float) -> None:
    if path is None:
        return
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if fmt not in _SAVE_FORMATS:
        raise ValueError(f"{target}: save plots as one of .{', .'.join(_SAVE_FORMATS)}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight")
    _write_atomically(target, buffer.getvalue())


# ----- loss and metric curves ------------------------------------------------------------
def _series(history: Any) -> dict[str, list[float]]:
    if not hasattr(history, "keys") and hasattr(history, "history"):
        history = history.history  # Keras-style objects keep the dict in .history
    if not hasattr(history, "keys") or not hasattr(history, "__getitem__"):
        raise TypeError(
            f"plot_history takes a History or a dict of lists, not {type(history).__name__}"
        )
    series: dict[str, list[float]] = {}
    for key in history.keys():
        values = history[key]
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            continue  # not a per-epoch series (e.g. a note or a setting)
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"history[{key!r}] holds something that is not a number") from None
        series[str(key)] = numbers
    if "loss" not in series:
        raise ValueError(f"history has no 'loss' series (its keys: {', '.join(series) or 'none'})")
    if not series["loss"]:
        raise ValueError("history['loss'] is empty: nothing to plot yet")
    return series


def _panels(series: Mapping[str, list[float]]) -> list[tuple[str, list[str]]]:
    """('loss', ['loss', 'val_loss']), ('accuracy', ['accuracy', 'val_accuracy']), ..."""
    panels: dict[str, list[str]] = {}
    for key in series:
        base = key[4:] if key.startswith("val_") else key
        panels.setdefault(base, [])
        panels[base].append(key)
    ordered = ["loss", *[k for k in panels if k != "loss"]]
    return [(base, sorted(panels[base], key=lambda k: k.startswith("val_"))) for base in ordered]


def plot_history(
    history: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    dpi: float = 110,
) -> Any:
    """Loss curves (``loss``, ``val_loss``) and one panel per metric (``accuracy`` with
    ``val_accuracy``, ...), against the epoch.

    ``history`` is nn's ``History`` or any mapping of series names to per-epoch
    numbers. The loss axis is logarithmic when the loss is positive and spans more
    than two orders of magnitude. Returns the matplotlib figure; saves it to
    ``path`` when given.
    """
    series = _series(history)
    panels = _panels(series)
    fig = _figure(figsize=(4.6 * len(panels), 3.6), layout="constrained")
    from matplotlib.ticker import MaxNLocator  # matplotlib is there: _figure checked

    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (base, keys) in zip(axes, panels):
        for key in keys:
            values = series[key]
            epochs = range(1, len(values) + 1)
            style = "--" if key.startswith("val_") else "-"
            label = "validation" if key.startswith("val_") else "training"
            ax.plot(epochs, values, style, marker="." if len(values) <= 30 else None, label=label)
        ax.set_title(base)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend()
        positive = [v for k in keys for v in series[k] if math.isfinite(v)]
        if (
            base == "loss"
            and positive
            and min(positive) > 0
            and max(positive) > 100 * min(positive)
        ):
            ax.set_yscale("log")
    if title:
        fig.suptitle(title)
    _save(fig, path, dpi)
    return fig


# ----- decision boundaries ---------------------------------------------------------------
def plot_decision_boundary(
    predict: Callable[[np.ndarray], Any],
    X: Any,
    y: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    resolution: int = 60,
    title: str | None = None,
    dpi: float = 110,
) -> Any:
    """The regions a 2-feature classifier assigns, with the data points on top.

    ``predict`` maps an ``(n, 2)`` array of points to ``n`` numbers: class labels
    (whole numbers: each class gets a region) or scores (the boundary is drawn at
    0 when the scores change sign, else at 0.5, as for probabilities). It is
    called once, on a ``resolution x resolution`` grid covering the data with a
    margin. Returns the matplotlib figure; saves it to ``path`` when given.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2): two features per point, got {X.shape}")
    if len(X) == 0:
        raise ValueError("X is empty: no points to plot")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinity")
    y = np.asarray(y).ravel()
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} points but y has {len(y)} labels")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be a whole number >= 2, got {resolution!r}")

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    z = np.asarray(predict(grid), dtype=float)
    if z.size != len(grid):
        raise ValueError(
            f"predict returned shape {z.shape} for {len(grid)} points; it must return one "
            "number per point, shape (n,)"
        )
    z = z.reshape(gx.shape)
    if not np.isfinite(z).all():
        raise ValueError("predict returned NaN or infinity for some points")

    fig = _figure(figsize=(5.2, 4.4), layout="constrained")
    ax = fig.subplots()
    classes = np.unique(z)
    if np.all(z == np.round(z)) and len(classes) <= 20:  # class labels
        middles = (classes[1:] + classes[:-1]) / 2
        edges = np.concatenate([[classes[0] - 0.5], middles, [classes[-1] + 0.5]])
        ax.contourf(gx, gy, z, levels=edges, cmap="coolwarm", alpha=0.35)
        if len(classes) > 1:
            ax.contour(gx, gy, z, levels=edges[1:-1], colors="black", linewidths=1)
    else:  # scores
        threshold = 0.0 if z.min() < 0 < z.max() else 0.5
        span = max(abs(z.max() - threshold), abs(z.min() - threshold)) or 1.0
        ax.contourf(gx, gy, z, levels=21, cmap="coolwarm", alpha=0.4,
                    vmin=threshold - span, vmax=threshold + span)  # fmt: skip
        if z.min() < threshold < z.max():
            ax.contour(gx, gy, z, levels=[threshold], colors="black", linewidths=1.2)
    labels = np.unique(y)
    colors = _class_colors(len(labels))
    for label, color in zip(labels, colors):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], s=18, color=color, edgecolors="black",
                   linewidths=0.4, label=f"class {_label_text(label)}")  # fmt: skip
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    if len(labels) <= 10:
        ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    _save(fig, path, dpi)
    return fig


def _class_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["coolwarm"]
    return [cmap(0.5)] if n == 1 else [cmap(i / (n - 1)) for i in range(n)]


def _label_text(label: Any) -> str:
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label)
