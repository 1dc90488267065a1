"""viz.plot_search: a search's configurations compared (matplotlib, optional)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nn
import viz

from .test_viz_draw import png_size

pytest.importorskip("matplotlib")

LRS = [0.01, 0.1, 1.0]
FAILED_COLOR = viz.plots.FAILED_COLOR


def make_model(lr):
    model = nn.MLP(2, [8, 1], seed=0)
    return model, nn.SGD(model.parameters(), lr=lr)  # lr <= 0 raises: a failed run


def moons_search(lrs):
    X, y = nn.datasets.make_moons(60, noise=0.1, seed=0)
    return nn.search(
        make_model, {"lr": lrs}, X, y, k=2, loss="hinge", epochs=4, metrics=["accuracy"],
        quiet=True, refit=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def search_result():
    return moons_search(LRS)


def legend_texts(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def tick_texts(ax):
    return [label.get_text() for label in ax.get_yticklabels()]


def test_a_line_and_a_label_per_configuration_best_first(search_result, tmp_path):
    path = tmp_path / "search.png"
    fig = viz.plot_search(search_result, path)
    curves, scores = fig.axes
    expected = [f"lr={row['config']['lr']:g}" for row in search_result.table]
    assert sorted(expected) == ["lr=0.01", "lr=0.1", "lr=1"]
    assert len(curves.get_lines()) == 3
    assert legend_texts(curves) == expected
    assert tick_texts(scores) == expected  # best first: on top, the y axis runs downwards
    assert scores.get_ylim()[0] > scores.get_ylim()[1]
    best = search_result.results[0]
    folds = np.array([run.history["val_loss"] for run in best.runs])
    np.testing.assert_allclose(curves.get_lines()[0].get_ydata(), folds.mean(axis=0))
    assert list(curves.get_lines()[0].get_xdata()) == [1, 2, 3, 4]
    assert "val_loss" in curves.get_title() and "val_loss" in scores.get_title()

    data = path.read_bytes()
    width, height = png_size(data)
    assert width > 1000 and 350 < height < width  # two panels side by side, slide-sized
    Image = pytest.importorskip("PIL.Image")
    with Image.open(path) as image:
        assert image.size == (width, height)


def test_failed_configurations_are_marked(tmp_path):
    result = moons_search([0.1, -1.0])  # every run of lr=-1 fails
    assert [row["failed"] for row in result.table] == [0, 2]
    fig = viz.plot_search(result, tmp_path / "failed.svg")
    curves, scores = fig.axes
    assert len(curves.get_lines()) == 1  # no curve for the failed configuration...
    assert legend_texts(curves) == ["lr=0.1", "lr=-1  (all 2 runs failed)"]  # ...but a label
    assert tick_texts(scores) == ["lr=0.1", "lr=-1"]
    colors = [label.get_color() for label in scores.get_yticklabels()]
    assert colors[1] == FAILED_COLOR and colors[0] != FAILED_COLOR
    assert "all 2 runs failed" in [text.get_text() for text in scores.texts]
    assert (tmp_path / "failed.svg").stat().st_size > 0


def made_run(lr, fold, val_loss, error=None):
    """A Run as nn.search records it (validation loss per epoch), built by hand."""
    history = {"loss": [1.0] * len(val_loss), "val_loss": val_loss}
    scores = {} if error else {"val_loss": val_loss[-1]}
    return nn.Run({"lr": lr}, fold, fold, history, scores, error=error)


def test_failed_runs_are_left_out_of_the_means():
    runs = [
        made_run(0.5, 0, [1.0, 0.6]),
        made_run(0.5, 1, [3.0, 0.2]),
        made_run(0.5, 2, [1e9, 1e30], error="TrainingDiverged: x"),
    ]
    result = nn.SearchResult("val_loss", False, [nn.CVResult({"lr": 0.5}, runs)])
    curves, scores = viz.plot_search(result).axes
    np.testing.assert_allclose(curves.get_lines()[0].get_ydata(), [2.0, 0.4])
    low_high = curves.collections[0].get_paths()[0].vertices[:, 1]  # the band: fold min..max
    assert low_high.min() == 0.2 and low_high.max() == 3.0
    assert legend_texts(curves) == ["lr=0.5  (1 of 3 runs failed)"]
    assert tick_texts(scores) == ["lr=0.5\n(1 of 3 runs failed)"]
    assert scores.get_yticklabels()[0].get_color() == FAILED_COLOR
    assert curves.get_yscale() == "linear"  # the diverged run's 1e30 is not drawn


def test_one_far_worse_configuration_does_not_squash_the_others():
    good = [made_run(0.1, 0, [0.5, 0.0]), made_run(0.1, 1, [0.5, 0.2])]  # a loss of exactly 0
    bad = [made_run(10.0, 0, [50.0, 3000.0]), made_run(10.0, 1, [60.0, 900.0])]
    result = nn.SearchResult("val_loss", False, [nn.CVResult({"lr": 0.1}, good),
                                                 nn.CVResult({"lr": 10.0}, bad)])  # fmt: skip
    curves, scores = viz.plot_search(result).axes
    assert curves.get_yscale() == scores.get_xscale() == "symlog"  # 0 is still shown
    low, high = scores.get_xlim()
    assert low < 0 and high > 3000
    only_positive = [made_run(0.1, 0, [0.5, 0.01]), made_run(0.1, 1, [0.5, 0.02])]
    result.results[0] = nn.CVResult({"lr": 0.1}, only_positive)
    curves, scores = viz.plot_search(result).axes
    assert curves.get_yscale() == scores.get_xscale() == "log"
    assert scores.get_xlim()[0] > 0


def test_a_cross_validation_other_scores_and_your_own_axes(search_result):
    from matplotlib.figure import Figure

    cv = search_result.results[1]
    curves, scores = viz.plot_search(cv, score="val_accuracy", curve="loss").axes
    assert len(curves.get_lines()) == 1 and curves.get_ylabel() == "loss"
    assert scores.get_xlabel() == "val_accuracy" and "best" not in scores.get_title()

    fig = viz.plot_search(search_result, top=2, title="moons")
    assert len(fig.axes[0].get_lines()) == 2 and "the best 2 of 3" in fig.axes[1].get_title()
    assert fig._suptitle.get_text() == "moons"

    own = Figure()
    ax = own.subplots()
    assert viz.plot_search(search_result, ax=(ax, None)) is own
    assert own.axes == [ax] and len(ax.get_lines()) == 3


def test_errors(search_result, tmp_path):
    with pytest.raises(TypeError, match=r"nn\.search or nn\.cross_validate"):
        viz.plot_search({"loss": [1.0]})
    with pytest.raises(ValueError, match="'val_f1' is not among"):
        viz.plot_search(search_result, score="val_f1")
    with pytest.raises(ValueError, match="top must be"):
        viz.plot_search(search_result, top=0)
    with pytest.raises(TypeError, match="two Axes"):
        viz.plot_search(search_result, ax=(None, None))
    with pytest.raises(ValueError, match="save plots as one of"):
        viz.plot_search(search_result, tmp_path / "s.bmp")


def test_missing_matplotlib_says_which_extra(search_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[plot\]"'):
        viz.plot_search(search_result)
