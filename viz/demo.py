"""``chainrule demo``: the README's main job.

Backprop through one neuron, step by step; a model trained on the moons data with a
progress bar and its metrics; pictures of both graphs and a backprop animation; an
explorer page for each (the model's with a slider over training).
"""

from __future__ import annotations

from pathlib import Path

from autograd import Value

from .animate import animate_backward
from .render import GraphvizNotFoundError, render


def _section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def classic_neuron() -> tuple[Value, tuple[Value, ...]]:
    """micrograd's neuron, o = tanh(x1*w1 + x2*w2 + b); returns o and (x1, x2, w1, w2, b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, (x1, x2, w1, w2, b)


def neuron_backprop() -> tuple[Value, list[Value]]:
    """The classic single neuron, printed one chain-rule step at a time."""
    o, leaves = classic_neuron()
    print(f"o = {o.formula()} = {o.data:.6f}\n")
    for step in o.backward_steps():
        print(step)
    print()
    print(o.tree())
    return o, list(leaves[:2])


def train_moons(quick: bool) -> tuple[object, Value, object]:
    """micrograd's demo through nn.fit: MLP(2,[16,16,1]), SVM loss + L2, 100 epochs.

    A recorder keeps the score's graph for one training point every epoch, for the
    explorer page's training slider.
    """
    import nn

    X, y = nn.datasets.make_moons(n_samples=100, noise=0.1, seed=0)
    X_train, X_test, y_train, y_test = nn.train_test_split(
        X, y, test_size=0.3, seed=0, stratify=True
    )
    epochs = 40 if quick else 100
    model = nn.MLP(2, [16, 16, 1], seed=1337)
    optimizer = nn.SGD(model.parameters(), lr=1.0)
    recorder = nn.Recorder(X_train[0], every=1, max_snapshots=50)
    history = nn.fit(
        model, X_train, y_train, loss="hinge", penalty=nn.L2(1e-4), optimizer=optimizer,
        scheduler=nn.LinearDecay(optimizer, total_steps=epochs), epochs=epochs,
        metrics=["accuracy"], explore=recorder,
    )  # fmt: skip
    predicted = (model.predict(X_test) > 0).astype(int)
    print(
        f"{model.num_parameters()} parameters, {len(history)} epochs in {history.seconds:.2f} s "
        f"({history.engine} engine): train accuracy {history['accuracy'][-1]:.0%}, "
        f"test accuracy {nn.accuracy(y_test, predicted):.0%}"
    )
    print(nn.classification_report(y_test, predicted, target_names=["upper moon", "lower moon"]))
    # The test point nearest the decision boundary, its score backpropagated: the picture
    # shows d score / d node on every node of the model's graph.
    nearest = int(abs(model.predict(X_test)).argmin())
    x = [Value(float(v), label=f"x{i + 1}") for i, v in enumerate(X_test[nearest])]
    score = model(x)
    score.label = "score"
    model.zero_grad()
    score.backward()
    return model, score, recorder


def draw_pictures(o: Value, inputs: list[Value], model: object, score: Value, out: Path) -> None:
    """Graph PNGs and a backprop GIF (Graphviz's dot draws; the GIF needs Pillow)."""
    try:
        render(o, out / "neuron.png", inputs=inputs, local_grads=True)
        print(f"wrote {out / 'neuron.png'}: data, grad and local derivatives on every node")
        try:
            animate_backward(o, out / "backprop.gif", inputs=inputs)
            print(f"wrote {out / 'backprop.gif'}: one chain-rule step per frame")
        except ImportError as exc:  # no Pillow: the frames as PNG files instead
            frames = animate_backward(o, out / "backprop-frames", inputs=inputs)
            print(f"{exc}\nwrote {len(frames)} frames to {out / 'backprop-frames'}")
        render(score, out / "model.png", model=model, collapse="layers.*.neurons.*")
        print(
            f"wrote {out / 'model.png'}: d score / d node through the trained MLP, a box per neuron"
        )
        inputs_of_score = [v for v in score.topological_order() if v.label in ("x1", "x2")]
        sample = [v.data for v in sorted(inputs_of_score, key=lambda v: v.label)]
        render(model, out / "network.png", view="network", sample=sample, max_edges=64)
        print(f"wrote {out / 'network.png'}: the MLP as neurons and weights, for the same point")
    except GraphvizNotFoundError as exc:
        print(f"no pictures: {exc}")


def write_explorers(o: Value, inputs: list[Value], recorder: object, out: Path) -> None:
    """Two explorer pages: the neuron, and the moons model during training."""
    from .explore import explore

    try:
        page = explore(o, inputs=inputs, title="o = tanh(x1*w1 + x2*w2 + b)")
        page.save(out / "explorer-neuron.html")
        print(f"wrote {out / 'explorer-neuron.html'}: step through backprop (arrow keys)")
        page = explore(recorder, title="the moons MLP's score for one training point")
        page.save(out / "explorer-moons.html")
        print(
            f"wrote {out / 'explorer-moons.html'}: a box per neuron (click to open), "
            f"a slider over {len(recorder)} training snapshots"
        )
    except GraphvizNotFoundError as exc:
        print(f"no explorer pages: {exc}")


def run_demo(output_dir: str = "chainrule-output", quick: bool = False) -> int:
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _section("Backprop through one neuron, step by step")
    o, inputs = neuron_backprop()
    _section("Training micrograd's moons demo (nn.fit)")
    model, score, recorder = train_moons(quick)
    _section("Pictures")
    draw_pictures(o, inputs, model, score, out)
    _section("Explorer pages (open them in a browser)")
    write_explorers(o, inputs, recorder, out)
    return 0
