"""Approximate sin(x) on [-pi, pi]: one hidden layer versus none.

A model without a hidden layer is a straight line, whatever the training; with one
hidden layer of 16 tanh units it bends to follow the sine. Both are trained the same way
(mean squared error, Adam, full batch) and compared by MSE and R².

Run: python examples/regression.py   (writes regression_fit.png when matplotlib is installed)
"""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path
from typing import Any

import numpy as np

import nn


def _matplotlib_figure() -> Any:
    """A matplotlib Figure class when matplotlib is installed, else None."""
    if importlib.util.find_spec("matplotlib") is None:
        return None
    from matplotlib.figure import Figure

    return Figure


def main(
    quick: bool = False, quiet: bool = False, plot_dir: str | None = "chainrule-output/examples"
) -> dict[str, Any]:
    """Train both models and compare; ``quick`` uses 40 points and 150 epochs."""
    n_samples, epochs = (40, 150) if quick else (100, 500)
    X = np.linspace(-math.pi, math.pi, n_samples).reshape(-1, 1)
    y = np.sin(X[:, 0])
    models = {
        "no hidden layer": nn.MLP(1, [1], seed=0),
        "one hidden layer (16 tanh)": nn.MLP(1, [16, 1], activation="tanh", init="xavier", seed=0),
    }
    results: dict[str, dict[str, float]] = {}
    for name, model in models.items():
        print(f"{name}: {model.num_parameters()} parameters")
        history = nn.fit(
            model,
            X,
            y,
            loss="mse",
            optimizer=nn.Adam(model.parameters(), lr=0.05),
            epochs=epochs,
            quiet=quiet,
        )
        prediction = model.predict(X)
        results[name] = {
            "mse": nn.mse(y, prediction),
            "r2": nn.r2(y, prediction),
            "final_loss": history["loss"][-1],
        }
    print()
    print(f"{'model':28} {'MSE':>8} {'R²':>7}")
    for name, r in results.items():
        print(f"{name:28} {r['mse']:8.4f} {r['r2']:7.3f}")
    print()
    print(f"{'x':>6} {'sin x':>7} " + " ".join(f"{n.split(' (')[0]:>16}" for n in models))
    for x in np.linspace(-math.pi, math.pi, 7):
        row = [models[n].predict([[x]])[0] for n in models]
        print(f"{x:6.2f} {math.sin(x):7.3f} " + " ".join(f"{v:16.3f}" for v in row))

    Figure = _matplotlib_figure()
    if Figure is not None and plot_dir is not None:
        out = Path(plot_dir)
        out.mkdir(parents=True, exist_ok=True)
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        grid = np.linspace(-math.pi, math.pi, 200).reshape(-1, 1)
        ax.plot(X[:, 0], y, "k.", label="data: sin(x)")
        for name, model in models.items():
            ax.plot(grid[:, 0], model.predict(grid), label=name)
        ax.set_xlabel("x")
        ax.legend()
        fig.savefig(out / "regression_fit.png", dpi=110)
        print("wrote", out / "regression_fit.png")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    main(quick=parser.parse_args().quick)
