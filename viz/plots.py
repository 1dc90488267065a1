"""Training plots: loss and metric curves, 2-D decision boundaries, searches compared.

matplotlib is an optional extra (``pip install "chainrule[plot]"``), imported when
a plot is made. Plots are drawn on a stand-alone ``matplotlib.figure.Figure``:
nothing touches pyplot's global state or the backend of a running notebook. Each
function returns the figure and, given a path, also saves it there (format from the
suffix: png, svg, pdf). As a notebook cell's last expression the figure shows inline
(as a PNG) with no ``%matplotlib`` magic: it carries its own ``_repr_png_``.
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .render import _write_atomically
from .style import format_number

__all__ = ["plot_decision_boundary", "plot_history", "plot_search"]

PLOT_HINT = 'plots need matplotlib, an optional extra: pip install "chainrule[plot]"'
_SAVE_FORMATS = ("png", "svg", "pdf")
FAILED_COLOR = "#b00020"  # labels of configurations with failed runs


def available() -> bool:
    """True when matplotlib is installed (plots are an optional extra)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(PLOT_HINT) from None
    return _inline_figure_class(Figure)(**kwargs)


@functools.cache
def _inline_figure_class(base: type) -> type:
    class Figure(base):  # type: ignore[misc, valid-type]
        """A matplotlib Figure that notebooks show inline without ``%matplotlib``."""

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    return Figure


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
        if base == "loss":
            _log_if_wide(ax.set_yscale, [v for k in keys for v in series[k]])
    if title:
        fig.suptitle(title)
    _save(fig, path, dpi)
    return fig


def _log_if_wide(set_scale: Callable[..., Any], values: Sequence[float]) -> None:
    """A log scale for numbers >= 0 whose positive ones span more than two orders of
    magnitude; symmetric-log (linear near 0) when some are exactly 0, so they stay shown."""
    finite = [v for v in values if math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    if not positive or min(finite) < 0 or max(positive) <= 100 * min(positive):
        return
    if min(finite) == 0:  # linear from 0 to the power of 10 below the smallest positive
        set_scale("symlog", linthresh=10 ** math.floor(math.log10(min(positive))))
    else:
        set_scale("log")


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


# ----- cross-validation and searches -----------------------------------------------------
def plot_search(
    result: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    score: str | None = None,
    curve: str | None = None,
    top: int | None = 10,
    ax: Sequence[Any] | None = None,
    title: str | None = None,
    dpi: float = 110,
) -> Any:
    """Configurations compared: left, each one's ``curve`` per epoch (the mean over its
    folds, in a band from the lowest fold to the highest); right, each one's ``score`` as
    mean ± standard deviation with every fold's score as a dot, best on top.

    ``result`` comes from ``nn.search`` (configurations in its table's order, so ranked
    by ``result.score``) or ``nn.cross_validate`` (one configuration). ``score``
    defaults to the search's score (``val_loss`` for a cross-validation); ``curve`` to
    the score. Failed runs are left out of both panels, and their configuration's legend
    entry and label say how many failed. ``top`` keeps the best configurations (None:
    all). ``ax`` is a pair of matplotlib Axes ``(curves, scores)`` to draw into instead
    of a new figure; either may be None to leave that panel out. Returns the figure;
    saves it to ``path`` when given.
    """
    entries = _search_entries(result)
    score = score or getattr(result, "score", "val_loss")
    curve = curve or score
    _check_score(entries, score, "score")
    _check_score(entries, curve, "curve")
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top must be a positive int or None, got {top!r}")
    shown = entries[:top]
    if ax is None:
        height = max(3.8, 1.4 + 0.42 * len(shown))
        fig = _figure(figsize=(11.5, height), layout="constrained")
        curves_ax, scores_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    else:
        if not isinstance(ax, Sequence) or len(ax) != 2 or all(a is None for a in ax):
            raise TypeError(
                "ax takes two Axes, (curves, scores); (ax, None) draws the curves alone"
            )
        curves_ax, scores_ax = ax
        fig = (curves_ax or scores_ax).figure
    colors = _config_colors(len(shown))
    if curves_ax is not None:
        _draw_curves(curves_ax, shown, curve, colors)
    if scores_ax is not None:
        _draw_scores(scores_ax, shown, score, colors)
        if len(shown) < len(entries):
            scores_ax.set_title(
                f"{scores_ax.get_title()}\nthe best {len(shown)} of {len(entries)}", fontsize=12
            )
    if title:
        fig.suptitle(title, fontsize=13)
    _save(fig, path, dpi)
    return fig


def _search_entries(result: Any) -> list[Any]:
    """The CVResults of a SearchResult (best first), or a CVResult on its own."""
    if hasattr(result, "results"):
        entries = list(result.results)
    elif hasattr(result, "runs") and hasattr(result, "config"):
        entries = [result]
    else:
        raise TypeError(
            "plot_search takes the result of nn.search or nn.cross_validate, "
            f"not {type(result).__name__}"
        )
    if not entries:
        raise ValueError("the search has no configurations: nothing to plot")
    return entries


def _check_score(entries: Sequence[Any], name: str, what: str) -> None:
    ok = [run for entry in entries for run in _ok_runs(entry)]
    known = sorted({key for run in ok for key in run.history})
    if ok and name not in known:
        raise ValueError(f"{what} {name!r} is not among the runs' series {known}")


def _ok_runs(entry: Any) -> list[Any]:
    return [run for run in entry.runs if run.error is None]


def _config_label(entry: Any) -> str:
    """'lr=0.1, width=16' (a setting's number with 4 significant digits)."""
    parts = []
    for name, value in entry.config.items():
        text = getattr(value, "__name__", None) or format_number(value)
        parts.append(f"{name}={text}")
    return ", ".join(parts) or "(defaults)"


def _failure_note(entry: Any) -> str:
    failed, total = len(entry.runs) - len(_ok_runs(entry)), len(entry.runs)
    if failed == 0:
        return ""
    return f"all {total} runs failed" if failed == total else f"{failed} of {total} runs failed"


def _config_colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    return [colormaps["viridis"](i / (n - 1)) for i in range(n)]


def _fold_curves(runs: Sequence[Any], key: str) -> np.ndarray:
    """One row per run, one column per epoch; nan past a run's last epoch."""
    curves = [run.history[key] for run in runs if run.history.get(key)]
    table = np.full((len(curves), max(map(len, curves), default=0)), np.nan)
    for row, values in zip(table, curves):
        row[: len(values)] = values
    return table


def _draw_curves(ax: Any, entries: Sequence[Any], key: str, colors: Sequence[Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    handles, drawn = [], []
    for entry, color in zip(entries, colors):
        folds = _fold_curves(_ok_runs(entry), key)
        note = _failure_note(entry)
        label = _config_label(entry) + (f"  ({note})" if note else "")
        if folds.size == 0:  # every run failed: a legend entry, no line
            handles.append(Line2D([], [], color=color, marker="x", linestyle="", label=label))
            continue
        mean = np.nanmean(folds, axis=0)  # over the folds that reached the epoch
        low, high = np.nanmin(folds, axis=0), np.nanmax(folds, axis=0)
        epochs = np.arange(1, len(mean) + 1)
        (line,) = ax.plot(epochs, mean, color=color, linewidth=2, label=label,
                          marker="." if len(mean) <= 30 else None)  # fmt: skip
        ax.fill_between(epochs, low, high, color=color, alpha=0.18, linewidth=0)
        handles.append(line)
        drawn.extend([*low, *high])
    if key.endswith("loss"):
        _log_if_wide(ax.set_yscale, drawn)
    ax.set_title(f"{key} per epoch: mean of the folds, band min to max", fontsize=12)
    ax.set_xlabel("epoch", fontsize=11)
    ax.set_ylabel(key, fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=10)
    ax.grid(alpha=0.3)
    if len(handles) <= 5:
        ax.legend(handles=handles, fontsize=10, loc="best")
    else:  # below the axes, clear of the curves
        ax.legend(handles=handles, fontsize=10, loc="upper center", ncol=2,
                  bbox_to_anchor=(0.5, -0.16))  # fmt: skip


def _draw_scores(ax: Any, entries: Sequence[Any], score: str, colors: Sequence[Any]) -> None:
    ticks, values = [], []
    for row, (entry, color) in enumerate(zip(entries, colors)):
        folds = [run.scores[score] for run in _ok_runs(entry) if score in run.scores]
        note = _failure_note(entry)
        if not folds:  # every run failed: said on the row
            ticks.append(_config_label(entry))
            ax.text(0.02, row, note or f"no {score}", transform=ax.get_yaxis_transform(),
                    va="center", fontsize=10, color=FAILED_COLOR)  # fmt: skip
            continue
        ticks.append(_config_label(entry) + (f"\n({note})" if note else ""))
        mean, std = float(np.mean(folds)), float(np.std(folds))
        ax.errorbar(mean, row, xerr=std, fmt="o", color=color, markersize=8, capsize=5,
                    elinewidth=2)  # fmt: skip
        ax.scatter(folds, [row] * len(folds), s=18, color=color, alpha=0.5, zorder=3)
        values.extend([mean, *folds])
    ax.margins(x=0.08)
    if score.endswith("loss"):
        _log_if_wide(ax.set_xscale, values)
    if ax.get_xscale() != "linear":  # fit the scores; an error bar below 0 runs off the edge
        positive = [v for v in values if v > 0]
        if ax.get_xscale() == "log":
            low = min(positive) / 1.6
        else:  # symlog
            low = -ax.xaxis.get_transform().linthresh / 2
        ax.set_xlim(low, max(positive) * 1.6)
    ax.set_yticks(range(len(entries)), ticks)
    for label, entry in zip(ax.get_yticklabels(), entries):
        if _failure_note(entry):
            label.set_color(FAILED_COLOR)
    ax.set_ylim(len(entries) - 0.5, -0.5)  # the best on top
    ranked = " (best on top)" if len(entries) > 1 else ""
    ax.set_title(f"{score}: mean ± std, dots are folds{ranked}", fontsize=12)
    ax.set_xlabel(score, fontsize=11)
    ax.tick_params(labelsize=10)
    ax.grid(axis="x", alpha=0.3)
