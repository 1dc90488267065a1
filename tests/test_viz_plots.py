"""Training plots: loss and metric curves, decision boundaries (matplotlib, optional)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import viz

from .test_viz_draw import png_size

pytest.importorskip("matplotlib")

HISTORY = {
    "loss": [1.0, 0.6, 0.4, 0.3],
    "val_loss": [1.1, 0.7, 0.5, 0.45],
    "accuracy": [0.5, 0.7, 0.8, 0.9],
    "val_accuracy": [0.45, 0.65, 0.75, 0.8],
}


class FakeHistory:
    """Looks like nn.History: keys() and history[key]."""

    def __init__(self, logs):
        self._logs = logs

    def keys(self):
        return list(self._logs)

    def __getitem__(self, key):
        return self._logs[key]


def test_history_plot_has_a_panel_per_quantity(tmp_path):
    path = tmp_path / "history.png"
    fig = viz.plot_history(FakeHistory(HISTORY), path, title="training")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    loss_ax, acc_ax = fig.axes
    assert [list(line.get_ydata()) for line in loss_ax.get_lines()] == [
        HISTORY["loss"],
        HISTORY["val_loss"],
    ]
    assert list(acc_ax.get_lines()[1].get_xdata()) == [1, 2, 3, 4]  # epochs count from 1
    assert loss_ax.get_yscale() == "linear"
    width, height = png_size(path.read_bytes())
    assert width > 1.6 * height  # two panels side by side


def test_a_loss_over_orders_of_magnitude_gets_a_log_axis(tmp_path):
    fig = viz.plot_history({"loss": [100.0, 1.0, 0.01]})
    assert fig.axes[0].get_yscale() == "log"
    assert len(fig.axes) == 1
    svg = viz.plot_history({"loss": [1.0, 0.5]}, tmp_path / "h.svg")
    assert b"<svg" in (tmp_path / "h.svg").read_bytes()
    assert svg.axes[0].get_legend() is None  # one series: no legend


def test_history_errors(tmp_path):
    with pytest.raises(ValueError, match="no 'loss' series"):
        viz.plot_history({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="empty"):
        viz.plot_history({"loss": []})
    with pytest.raises(ValueError, match="not a number"):
        viz.plot_history({"loss": [1.0, "x"]})
    with pytest.raises(TypeError, match="History or a dict"):
        viz.plot_history([1.0, 2.0])
    with pytest.raises(ValueError, match="save plots as one of"):
        viz.plot_history({"loss": [1.0]}, tmp_path / "h.bmp")


def moons_like(n: int = 60):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


def test_decision_boundary_from_labels(tmp_path):
    X, y = moons_like()
    calls = []

    def predict(points):
        calls.append(points.shape)
        return (points[:, 0] + 0.5 * points[:, 1] > 0).astype(int)

    path = tmp_path / "boundary.png"
    fig = viz.plot_decision_boundary(predict, X, y, path, resolution=30, title="boundary")
    assert calls == [(900, 2)]  # one call on the whole grid
    ax = fig.axes[0]
    assert ax.get_title() == "boundary"
    low, high = ax.get_xlim()
    assert low < X[:, 0].min() and high > X[:, 0].max()  # the grid covers the data
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["class 0", "class 1"]
    width, height = png_size(path.read_bytes())
    assert 300 < width < 1000 and 300 < height < 1000


def test_decision_boundary_from_scores_and_values(tmp_path):
    from autograd import Value

    X, y = moons_like(20)
    X_values = [[Value(a), Value(b)] for a, b in X]  # Values convert to their numbers
    fig = viz.plot_decision_boundary(
        lambda p: np.tanh(p[:, 0] + 0.5 * p[:, 1]), X_values, [-1 if t == 0 else 1 for t in y]
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class -1", "class 1"]
    assert len(ax.collections) >= 3  # filled scores, the 0 contour, the points


def test_decision_boundary_errors():
    X, y = moons_like(10)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        viz.plot_decision_boundary(lambda p: p[:, 0], np.zeros((5, 3)), y[:5])
    with pytest.raises(ValueError, match="10 points but y has 3"):
        viz.plot_decision_boundary(lambda p: p[:, 0], X, y[:3])
    with pytest.raises(ValueError, match="one number per point"):
        viz.plot_decision_boundary(lambda p: p, X, y)
    with pytest.raises(ValueError, match="NaN"):
        viz.plot_decision_boundary(lambda p: p[:, 0] * np.nan, X, y)
    with pytest.raises(ValueError, match="resolution"):
        viz.plot_decision_boundary(lambda p: p[:, 0], X, y, resolution=1)


def test_missing_matplotlib_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[plot\]"'):
        viz.plot_history({"loss": [1.0]})
