"""nn.fit through the compiled path: the same training as the scalar engine, faster."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import autograd.engine as engine
import nn
from autograd import Value
from nn.compiled import NotCompilable

REL = 1e-9


def train(engine_name, model_fn, X, y, **kwargs):
    model = model_fn()
    history = nn.fit(model, X, y, quiet=True, engine=engine_name, seed=0, **kwargs)
    return model, history


def assert_same_training(model_fn, X, y, **kwargs):
    scalar_model, scalar = train("scalar", model_fn, X, y, **kwargs)
    compiled_model, compiled = train("compiled", model_fn, X, y, **kwargs)
    assert scalar.engine == "scalar" and compiled.engine == "compiled"
    assert scalar.keys() == compiled.keys()
    for key in scalar.keys():
        np.testing.assert_allclose(compiled[key], scalar[key], rtol=REL, atol=1e-12)
    np.testing.assert_allclose(
        [p.data for p in compiled_model.parameters()],
        [p.data for p in scalar_model.parameters()],
        rtol=1e-8, atol=1e-10,
    )  # fmt: skip
    return compiled


def test_moons_demo_same_losses_and_weights():
    X, y = nn.datasets.make_moons(n_samples=60, noise=0.1, seed=0)

    def model_fn():
        return nn.MLP(2, [16, 16, 1], seed=1337)

    history = assert_same_training(
        model_fn, X, y, loss="hinge", penalty=nn.L2(1e-4), epochs=5,
        optimizer="sgd", metrics=["accuracy"],
    )  # fmt: skip
    assert "batched numpy steps" in history.engine_note


def test_digits_minibatch_adam_cross_entropy():
    X, y = nn.datasets.load_digits()
    X, y = X[:120] / 16.0, y[:120]
    assert_same_training(
        lambda: nn.MLP(64, [12, 10], seed=0), X, y,
        loss="cross_entropy", batch_size=32, epochs=2, metrics=["accuracy"],
        optimizer="adam", validation=0.25,
    )  # fmt: skip


@pytest.mark.parametrize(
    "loss, targets, outputs",
    [
        ("mse", "regression", 2), ("mae", "regression", 1), ("huber", "regression", 1),
        ("sse", "regression", 1), ("bce", "binary", 1), ("bce_with_logits", "binary", 1),
        ("cross_entropy", "classes", 3), ("hinge", "binary", 1), ("hinge", "classes", 3),
    ],
)  # fmt: skip
def test_every_loss_trains_the_same_compiled(loss, targets, outputs):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(24, 3))
    if targets == "regression":
        y = rng.normal(size=(24, outputs)) if outputs > 1 else rng.normal(size=24)
    elif targets == "binary":
        y = (X[:, 0] > 0).astype(int)
    else:
        y = rng.integers(0, 3, size=24)
    activation = "sigmoid" if loss == "bce" else "linear"
    assert_same_training(
        lambda: nn.MLP(3, [5, outputs], seed=2, activation=["tanh", activation]),
        X, y, loss=loss, epochs=2, batch_size=8, optimizer="sgd",
    )  # fmt: skip


def test_dropout_falls_back_visibly():
    X, y = nn.datasets.make_moons(n_samples=20, seed=0)
    model = nn.MLP(2, [8, 1], seed=0, dropout=0.3)
    with pytest.warns(RuntimeWarning, match="dropout"):
        history = nn.fit(model, X, y, loss="hinge", epochs=1, quiet=True)
    assert history.engine == "scalar" and "dropout" in history.engine_note
    with pytest.raises(NotCompilable, match="dropout"):
        nn.fit(model, X, y, loss="hinge", epochs=1, quiet=True, engine="compiled")


def test_plain_function_loss_falls_back():
    X, y = nn.datasets.load_table()

    def my_loss(outputs, targets):
        return Value.sum([(o - t) ** 2 for o, t in zip(outputs, targets)])

    with pytest.warns(RuntimeWarning, match="plain function"):
        history = nn.fit(nn.MLP(1, [1], seed=0), X, y, loss=my_loss, epochs=2, quiet=True)
    assert history.engine == "scalar"


class DataDependent(nn.Module):
    """A model whose graph depends on the sample: Python branches on the data."""

    def __init__(self):
        self.inner = nn.MLP(2, [3, 1], seed=0)

    def __call__(self, x):
        out = self.inner(x)
        return out.tanh() if out.data > 0 else out * 2


def test_data_dependent_graph_is_detected():
    X = np.array([[3.0, 3.0], [-3.0, -3.0], [1.0, 0.0]])
    y = np.array([1.0, 0.0, 1.0])
    model = DataDependent()
    signs = {model(list(row)).data > 0 for row in X[:2]}
    assert len(signs) == 2, "the two probe samples must take different branches"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = nn.fit(model, X, y, loss="mse", epochs=1, quiet=True, shuffle=False)
    assert history.engine == "scalar"
    assert any("differs between two samples" in str(w.message) for w in caught)


def test_program_is_compiled_once_and_reused(monkeypatch):
    import nn.programs

    # count the compilations themselves: nn compiles only through nn.programs.compile
    compiled = {"training": 0, "inference": 0}
    real_compile = nn.programs.compile

    def counting_compile(outputs, inputs, *args, **kwargs):
        # a training graph has the target among its inputs: 2 features + 1 target
        compiled["training" if len(inputs) == 3 else "inference"] += 1
        return real_compile(outputs, inputs, *args, **kwargs)

    monkeypatch.setattr(nn.programs, "compile", counting_compile)
    X, y = nn.datasets.make_moons(n_samples=30, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)

    def fit(epochs):
        return nn.fit(model, X, y, loss="hinge", epochs=epochs, quiet=True, engine="compiled")

    first, second, third = fit(1), fit(2), fit(3)
    assert compiled == {"training": 1, "inference": 0}
    assert first.compile_seconds == second.compile_seconds == third.compile_seconds
    outputs = [model.predict(X, engine="compiled") for _ in range(3)]
    assert compiled == {"training": 1, "inference": 1}  # one forward-only program more
    np.testing.assert_allclose(outputs[0], model.predict(X, engine="scalar"), rtol=REL)
    fit(1)
    model.predict(X)
    assert compiled == {"training": 1, "inference": 1}  # both still reused
    # a changed structure (the hidden activation) is compiled again, once
    for neuron in model.layers[0].neurons:
        neuron.activation = "tanh"
        neuron._act = nn.functional.activation("tanh")
    fit(1)
    fit(2)
    changed = [model.predict(X, engine="compiled") for _ in range(2)]
    assert compiled == {"training": 2, "inference": 2}
    # and the new programs compute the new model
    np.testing.assert_allclose(changed[0], model.predict(X, engine="scalar"), rtol=REL)


def test_a_changed_model_is_compiled_again():
    X, y = nn.datasets.make_moons(n_samples=30, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    nn.fit(model, X, y, loss="hinge", epochs=1, quiet=True, engine="compiled")
    layer = model.layers[0]
    for neuron in layer.neurons:  # switch the hidden activation after a first fit
        neuron.activation = "tanh"
        neuron._act = nn.functional.activation("tanh")
    twin = nn.MLP(2, [4, 1], seed=0)
    twin.load_state_dict(model.state_dict())
    for neuron in twin.layers[0].neurons:
        neuron.activation = "tanh"
        neuron._act = nn.functional.activation("tanh")
    compiled = nn.fit(model, X, y, loss="hinge", epochs=2, quiet=True, engine="compiled")
    scalar = nn.fit(twin, X, y, loss="hinge", epochs=2, quiet=True, engine="scalar")
    np.testing.assert_allclose(compiled["loss"], scalar["loss"], rtol=REL)


def test_compiled_epoch_makes_no_per_sample_values(monkeypatch):
    """The number of Values built does not grow with the number of samples."""

    def values_made(n_samples):
        made = [0]
        real_new = engine._new

        def counting_new(cls):
            made[0] += 1
            return real_new(cls)

        real_init = engine.Value.__init__

        def counting_init(self, *args, **kwargs):
            made[0] += 1
            real_init(self, *args, **kwargs)

        monkeypatch.setattr(engine, "_new", counting_new)
        monkeypatch.setattr(engine.Value, "__init__", counting_init)
        X, y = nn.datasets.load_digits()
        model = nn.MLP(64, [8, 10], seed=0)
        nn.fit(model, X[:n_samples] / 16, y[:n_samples], loss="cross_entropy",
               batch_size=32, epochs=1, quiet=True, engine="compiled")  # fmt: skip
        monkeypatch.setattr(engine, "_new", real_new)
        monkeypatch.setattr(engine.Value, "__init__", real_init)
        return made[0]

    counts = [values_made(64), values_made(640)]
    assert counts[0] == counts[1]
    assert 0 < counts[0] < 3 * (64 * 8 + 8 * 10) * 3  # a couple of one-sample templates
