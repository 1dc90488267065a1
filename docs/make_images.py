"""Generate the pictures the README and docs/viz.md show, into docs/images/.

    python docs/make_images.py

Needs Graphviz's ``dot``, Pillow (the GIF) and matplotlib (the training and search plots):
``pip install -e ".[dev]"``. Every picture is deterministic (seeded models and data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nn
import viz
from autograd import Value
from viz.demo import classic_neuron

IMAGES = Path(__file__).resolve().parent / "images"


def neuron() -> tuple[Value, list[Value]]:
    """micrograd's neuron and its inputs (x1, x2)."""
    o, leaves = classic_neuron()
    return o, list(leaves[:2])


def mlp_loss(sizes: list[int], seed: int = 1) -> tuple[Value, nn.MLP, list[Value]]:
    """One sample through an MLP and its squared error."""
    model = nn.MLP(2, sizes, activation="tanh", seed=seed)
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss, model, x


def moons_model(lr: float) -> tuple[nn.MLP, nn.SGD]:
    """The README's search: the moons MLP with plain SGD at learning rate ``lr``."""
    model = nn.MLP(2, [16, 16, 1], seed=0)
    return model, nn.SGD(model.parameters(), lr=lr)


def search_picture(X: object, y: object) -> Path:
    """The README's learning-rate comparison, cross-validated, as docs/images/search.png."""
    result = nn.search(
        moons_model, {"lr": [0.01, 0.1, 1.0, 3.0]}, X, y, k=3, loss="hinge", epochs=30,
        metrics=["accuracy"], quiet=True,
    )  # fmt: skip
    path = IMAGES / "search.png"
    viz.plot_search(result, path, title="learning rates on moons, 3-fold cross-validation")
    return path


def main() -> int:
    IMAGES.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []

    o, inputs = neuron()
    o.backward()
    made.append(viz.render(o, IMAGES / "neuron.png", inputs=inputs, local_grads=True, dpi=110))

    o, inputs = neuron()
    made.append(viz.animate_backward(o, IMAGES / "backprop.gif", inputs=inputs, dpi=90))

    loss, model, x = mlp_loss([4, 4, 1])  # 47 steps, one frame per neuron: 19 frames
    made.append(
        viz.animate_backward(
            loss, IMAGES / "mlp_backprop.gif", model=model, inputs=x,
            collapse="layers.*.neurons.*", seconds_per_frame=1.0, dpi=80,
        )
    )  # fmt: skip

    loss, model, x = mlp_loss([3, 1])
    # at natural size (max_size=None): a slide-sized overview of every node is too small
    # to read, and the docs let the reader zoom in
    made.append(viz.render(loss, IMAGES / "mlp.png", model=model, inputs=x, max_size=None, dpi=90))

    loss, model, x = mlp_loss([8, 8, 1])
    made.append(
        viz.render(
            loss,
            IMAGES / "mlp_collapsed.png",
            model=model,
            inputs=x,
            collapse="layers.*.neurons.*",
            dpi=90,
        )
    )

    loss, model, x = mlp_loss([16, 16, 1])
    weight = "layers.1.neurons.3.w.5"
    made.append(
        viz.render(
            loss,
            IMAGES / "focus.png",
            model=model,
            inputs=x,
            focus=weight,
            depth=2,
            local_grads=True,
            title=f"focus={weight!r}, depth=2",
            dpi=100,
        )
    )

    X, y = nn.datasets.make_moons(100, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], seed=0)
    history = nn.fit(
        model, X, y, loss="hinge", optimizer=nn.SGD(model.parameters(), lr=0.1),
        epochs=60, metrics=["accuracy"], validation=0.3, quiet=True, seed=0,
    )  # fmt: skip
    viz.plot_history(history, IMAGES / "history.png", title="MLP(2, [16, 16, 1]) on moons")
    made.append(IMAGES / "history.png")
    viz.plot_decision_boundary(
        model.predict, X, y, IMAGES / "boundary.png", resolution=120, title="decision boundary"
    )
    made.append(IMAGES / "boundary.png")
    made.append(search_picture(X, y))

    small = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)  # as in docs/viz.md
    nn.fit(small, X, y, loss="hinge", optimizer=nn.SGD(small.parameters(), lr=0.1),
           epochs=30, quiet=True)  # fmt: skip
    made.append(
        viz.render(
            small,
            IMAGES / "network.png",
            view="network",
            sample=X[0],
            title="MLP(2, [8, 8, 1]) after 30 epochs on the moons",
        )
    )

    for path in made:
        print(f"wrote {path.relative_to(IMAGES.parent.parent)}")
    return 0


if __name__ == "__main__":
    start = time.perf_counter()
    status = main()
    print(f"done in {time.perf_counter() - start:.1f} s")
    sys.exit(status)
