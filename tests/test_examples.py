"""The examples run and show what they claim (small settings; moons also at full size)."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_fit_reproduces_the_articles_numbers(capsys):
    r = load("linear_fit").main(quiet=True)
    assert r["loss_at_2"] == 120
    assert r["loss_up"] == pytest.approx(119.988, abs=1e-6)
    assert r["loss_down"] == pytest.approx(120.012, abs=1e-6)
    assert r["loss_at_7"] == 270
    assert r["slope"] == -120
    assert r["w"] == pytest.approx(4, abs=1e-3) and r["final_loss"] < 1e-6
    assert r["fit_final_loss"] < 1e-6 and r["fit_w"] == pytest.approx(4, abs=1e-3)
    out = capsys.readouterr().out
    assert "total squared error: 120" in out and "dL/dw at w = 2: -120" in out


def test_linear_fit_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "linear_fit.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for text in ("120", "119.988", "120.012", "w = 7 -> loss 270", "-120"):
        assert text in done.stdout


def test_moons_quick(capsys):
    r = load("moons").main(quick=True, quiet=True, plot_dir=None)
    assert len(r["history"]) == 40 and r["accuracy"] >= 0.9
    assert r["history"]["loss"][-1] < r["history"]["loss"][0] / 3
    assert "number of parameters: 337" in capsys.readouterr().out


# The loss of examples/moons.py's first epoch: the initial model's loss on the 100 moons.
# Derived without chainrule's engine by test_the_first_moons_loss_from_numpy_and_micrograd
# below (numpy, and micrograd's own MLP and Value): 0.90994439167...
FIRST_MOONS_LOSS = 0.909944


def test_the_first_moons_loss_from_numpy_and_micrograd():
    """The number pinned for the moons example, computed without chainrule's engine."""
    X, y = nn.datasets.make_moons(n_samples=100, noise=0.1, seed=0)  # the example's data
    targets = 2 * y - 1  # the hinge loss reads label 0 as -1
    # micrograd's initialisation (the example's seed=1337 is its random.seed(1337)): each
    # neuron draws its weights with random.uniform(-1, 1), layer by layer; biases are 0
    draw = random.Random(1337)
    sizes = [2, 16, 16, 1]
    weights = [
        np.array([[draw.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_out)])
        for n_in, n_out in zip(sizes, sizes[1:])
    ]
    h = X
    for i, w in enumerate(weights):  # ReLU on the hidden layers, a linear output
        h = h @ w.T if i == len(weights) - 1 else np.maximum(h @ w.T, 0.0)
    hinge = np.maximum(0.0, 1.0 - targets * h[:, 0]).mean()
    l2 = 1e-4 * sum((w**2).sum() for w in weights)
    assert hinge + l2 == pytest.approx(FIRST_MOONS_LOSS, abs=1e-6)
    # the oracle: micrograd's own MLP and Value, as in its demo notebook
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MicroValue

    random.seed(1337)
    model = micrograd_nn.MLP(2, [16, 16, 1])
    scores = [model([MicroValue(float(v)) for v in row]) for row in X]
    losses = [(1 + -float(t) * s).relu() for t, s in zip(targets, scores)]
    total = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    assert total.data == pytest.approx(hinge + l2, rel=1e-12)


def test_moons_with_micrograds_settings_reaches_100_percent(tmp_path):
    plots = importlib.util.find_spec("matplotlib") is not None
    r = load("moons").main(quiet=True, plot_dir=str(tmp_path) if plots else None)
    assert r["accuracy"] == 1.0
    assert r["history"]["loss"][0] == pytest.approx(FIRST_MOONS_LOSS, abs=1e-6)
    if plots:  # the example writes its plots when matplotlib is installed
        assert [p.name for p in r["plots"]] == ["moons_boundary.png", "moons_history.png"]
        for path in r["plots"]:
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000


def test_churn_quick():
    r = load("churn").main(quick=True, quiet=True, plot_dir=None)
    assert "val_loss" in r["history"].keys() and r["history"].best_epoch is not None
    assert r["accuracy"] > 0.7 and r["f1"] > 0
    assert 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1


def test_digits_quick(capsys):
    r = load("digits").main(quick=True, quiet=True, plot_dir=None)
    assert r["accuracy"] > 0.5  # chance is 0.1; the full run reaches about 0.95
    out = capsys.readouterr().out
    assert "held-out test accuracy" in out and "top guesses" in out


def test_regression_quick():
    r = load("regression").main(quick=True, quiet=True, plot_dir=None)
    line, curve = r["no hidden layer"], r["one hidden layer (16 tanh)"]
    assert line["r2"] < 0.65  # a straight line cannot follow sin(x)
    assert curve["r2"] > 0.95 and curve["mse"] < line["mse"] / 10
