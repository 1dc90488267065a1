"""predict and evaluate run the model's one forward: compiled for the batch, or the scalar engine.

A model is written once, as ``__call__`` on Values. ``predict`` compiles that forward
into one batched program (cached with the model) where the graph allows, and otherwise
runs it on the scalar engine row by row; there is no third, hand-written forward.
"""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autograd import Value, no_grad
from nn.functional import ACTIVATIONS
from nn.programs import _PROGRAMS

from .test_nn_compiled import DataDependent

TIGHT = {"rtol": 1e-12, "atol": 1e-12}


class Counted(nn.Module):
    """A model wrapped to count how often its Python forward runs."""

    def __init__(self, inner: nn.Module) -> None:
        self.inner = inner
        self._calls = 0

    def __call__(self, x):
        self._calls += 1
        return self.inner(x)


def rows(n: int, nin: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, nin))


def scalar_graph_outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The numbers the model's Value graph computes, sample by sample, without predict."""
    out = []
    for x in X.tolist():
        value = model(x)
        out.append(value.data if isinstance(value, Value) else [v.data for v in value])
    return np.array(out)


# ----- the two engines agree ---------------------------------------------------------------
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_predict_gives_the_same_numbers_on_both_engines(activation):
    model = nn.MLP(3, [6, 5, 2], activation=activation, seed=1)
    X = rows(40, 3)
    compiled = model.predict(X, engine="compiled")
    scalar = model.predict(X, engine="scalar")
    assert compiled.shape == scalar.shape == (40, 2)
    np.testing.assert_allclose(compiled, scalar, **TIGHT)
    np.testing.assert_array_equal(scalar, scalar_graph_outputs(model, X))
    np.testing.assert_array_equal(model.predict(X), compiled)  # 'auto' compiles


@pytest.mark.parametrize(
    "activations",
    [
        ["tanh", "sigmoid", "softplus"],
        ["relu", "leaky_relu", "linear"],
        ["gaussian", "sin", "tanh"],
    ],
)
def test_predict_of_mixed_activations_and_one_output(activations):
    model = nn.MLP(2, [7, 4, 1], activation=activations, seed=3)
    X = rows(30, 2, seed=1)
    compiled = model.predict(X, engine="compiled")
    assert compiled.shape == (30,)
    np.testing.assert_allclose(compiled, model.predict(X, engine="scalar"), **TIGHT)
    np.testing.assert_allclose(compiled, scalar_graph_outputs(model, X), **TIGHT)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "gaussian", "sin"])
def test_evaluate_gives_the_same_results_on_both_engines(activation):
    X, y = nn.datasets.make_blobs(n_samples=60, centers=3, seed=0)
    classifier = nn.MLP(2, [8, 3], activation=activation, seed=0)
    kwargs = {"loss": "cross_entropy", "metrics": ["accuracy", "f1"]}
    compiled = nn.evaluate(classifier, X, y, engine="compiled", **kwargs)
    scalar = nn.evaluate(classifier, X, y, engine="scalar", **kwargs)
    assert compiled.keys() == scalar.keys() == {"loss", "accuracy", "f1"}
    for key in compiled:
        assert compiled[key] == pytest.approx(scalar[key], rel=1e-12, abs=1e-12)

    target = np.sin(X[:, 0])
    regressor = nn.MLP(2, [8, 1], activation=activation, seed=0)
    compiled = nn.evaluate(regressor, X, target, loss="mse", metrics=["r2"], engine="compiled")
    scalar = nn.evaluate(regressor, X, target, loss="mse", metrics=["r2"], engine="scalar")
    assert compiled == pytest.approx(scalar, rel=1e-12, abs=1e-12)
    assert nn.evaluate(regressor, X, target, loss="mse", metrics=["r2"]) == compiled


# ----- one forward: compiled from __call__, not written again ---------------------------------
def test_auto_compiles_the_forward_once_instead_of_running_it_per_row():
    model = Counted(nn.MLP(4, [8, 3], activation="tanh", seed=0))
    X = rows(200, 4)
    first = model.predict(X)
    assert model._calls == 2  # the graph of two samples: built, compared, compiled
    model.predict(X)
    assert model._calls == 3  # then one sample's graph finds the cached program
    scalar = model.predict(X, engine="scalar")
    assert model._calls == 3 + 200
    np.testing.assert_allclose(first, scalar, **TIGHT)
    model.predict(X[:1])  # one row: the scalar engine is the cheapest
    assert model._calls == 3 + 200 + 1


def test_a_user_op_without_a_numpy_form_predicts_through_the_compiled_program(register):
    """No hand-written numpy forward exists to fall back on: the op has no numpy form,
    yet predict runs the compiled program, built from the Value graph."""
    cube = register("nn_predict_cube", lambda x: x**3, lambda x, out: 3 * x**2)
    assert cube.vectorized is None

    class Cube(nn.Module):
        def __call__(self, x):
            return [cube(v) for v in x]

    inner = nn.Sequential(
        nn.Layer(2, 4, activation="linear", seed=0), Cube(), nn.Layer(4, 1, activation="tanh")
    )
    model = Counted(inner)
    X = rows(50, 2)
    outputs = model.predict(X)
    assert model._calls == 2, "predict must run the compiled program, not a graph per row"
    np.testing.assert_allclose(outputs, scalar_graph_outputs(inner, X), **TIGHT)
    np.testing.assert_allclose(outputs, model.predict(X, engine="scalar"), **TIGHT)


def test_the_cached_program_reads_the_current_weights_and_a_changed_model_is_compiled_again():
    model = nn.MLP(2, [4, 1], seed=0)
    X = rows(25, 2)
    model.predict(X)
    for p in model.parameters():
        p.data = 0.5 * p.data - 0.1
    np.testing.assert_allclose(model.predict(X), scalar_graph_outputs(model, X), **TIGHT)
    assert len(_PROGRAMS[model]) == 1
    for neuron in model.layers[0].neurons:  # another activation: another graph
        neuron.activation = "tanh"
        neuron._act = nn.functional.activation("tanh")
    np.testing.assert_allclose(model.predict(X), scalar_graph_outputs(model, X), **TIGHT)
    assert len(_PROGRAMS[model]) == 2


def test_training_and_prediction_share_the_models_cache():
    X, y = nn.datasets.make_moons(n_samples=30, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    nn.fit(model, X, y, loss="hinge", epochs=2, quiet=True, validation=0.3, seed=0)
    assert len(_PROGRAMS[model]) == 2  # the training graph and the forward alone
    nn.fit(model, X, y, loss="hinge", epochs=2, quiet=True, validation=0.3, seed=0)
    assert len(_PROGRAMS[model]) == 2


def test_predict_compiles_even_inside_no_grad():
    model = Counted(nn.MLP(3, [5, 2], seed=0))
    X = rows(10, 3)
    with no_grad():
        outputs = model.predict(X)
    assert model._calls == 2
    np.testing.assert_allclose(outputs, model.predict(X, engine="scalar"), **TIGHT)


def test_dropout_models_predict_compiled_in_eval_mode_and_keep_their_mode():
    model = Counted(nn.MLP(3, [16, 1], dropout=0.5, seed=0))
    X = rows(20, 3)
    first = model.predict(X)
    assert model._calls == 2 and all(m.training for m in model.modules())
    np.testing.assert_array_equal(model.predict(X), first)
    model.eval()
    np.testing.assert_allclose(first, scalar_graph_outputs(model, X), **TIGHT)


def test_perceptron_labels_come_from_the_compiled_score():
    X, y = nn.datasets.make_blobs(n_samples=40, centers=[[-2, -2], [2, 2]], seed=0)
    labels = np.where(y == 1, 1, -1)
    perceptron = nn.Perceptron(2)
    perceptron.fit(X, labels)
    compiled = perceptron.predict(X, engine="compiled")
    assert compiled.tolist() == [perceptron(x) for x in X.tolist()]
    assert perceptron.predict(X, engine="scalar").tolist() == compiled.tolist()
    assert compiled.dtype.kind == "i"


# ----- the scalar engine where the graph cannot be compiled -----------------------------------
class HandBuilt(nn.Module):
    """A node built micrograd-style, with an op outside the table."""

    def __init__(self):
        self.w = Value(0.5)

    def __call__(self, x):
        z = x[0] * self.w
        return Value(2 * z.data, (z,), "double")


class Constant(nn.Module):
    """Returns plain numbers, not Values."""

    def __call__(self, x):
        return 3.0


@pytest.mark.parametrize(
    ("model", "expected", "reason"),
    [
        (DataDependent(), None, "differs between two samples"),
        (HandBuilt(), lambda X: X[:, 0], "built by hand"),
        (Constant(), lambda X: np.full(len(X), 3.0), "returns float, not a Value"),
    ],
)
def test_graphs_that_cannot_be_compiled_run_on_the_scalar_engine(model, expected, reason):
    X = np.array([[3.0, 3.0], [-3.0, -3.0], [1.0, 0.5], [0.2, -1.0]])
    outputs = model.predict(X)
    want = expected(X) if expected else scalar_graph_outputs(model, X)
    np.testing.assert_allclose(outputs, want, **TIGHT)
    np.testing.assert_array_equal(outputs, model.predict(X, engine="scalar"))
    with pytest.raises(nn.NotCompilable, match=reason):
        model.predict(X, engine="compiled")


def test_predict_refuses_an_unknown_engine():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="engine must be one of"):
        model.predict(rows(3, 2), engine="gpu")
    with pytest.raises(ValueError, match="engine must be one of"):
        nn.evaluate(model, rows(3, 2), np.zeros(3), loss="mse", engine="numpy")


def test_an_unchanged_model_is_neither_rebuilt_nor_signed_again(monkeypatch):
    """predict and fit look the program up by the model's structure: no per-call graph."""
    import nn.programs

    X, y = nn.datasets.make_moons(n_samples=20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    nn.fit(model, X, y, loss="hinge", epochs=1, quiet=True, engine="compiled")
    first = model.predict(X)

    def no_graph_please(*args, **kwargs):
        raise AssertionError("a graph was built or signed for an unchanged model")

    monkeypatch.setattr(nn.programs, "graph_signature", no_graph_please)
    monkeypatch.setattr(nn.programs, "topological_order", no_graph_please)
    assert np.array_equal(model.predict(X), first)
    history = nn.fit(model, X, y, loss="hinge", epochs=1, quiet=True, engine="compiled")
    assert history.engine == "compiled"
    model.layers[0].neurons[0].w[0].data += 1.0  # new weights: same program, new numbers
    assert not np.array_equal(model.predict(X), first)
