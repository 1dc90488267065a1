"""nn.module: the parameter tree, micrograd compatibility, activations, initialisation,
graph shape, modes, Dropout, state dicts, predict and the Perceptron."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import Value
from nn.functional import ACTIVATIONS, apply_activation
from nn.module import init_weights


def test_parameter_names_are_hierarchical_and_stable():
    model = nn.MLP(2, [3, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert names[-1] == "layers.1.neurons.0.b"
    assert len(names) == len(set(names)) == model.num_parameters() == 2 * 3 + 3 + 3 + 1
    assert names == [name for name, _ in nn.MLP(2, [3, 1], seed=5).named_parameters()]
    params = dict(model.named_parameters())
    assert params["layers.0.neurons.2.w.1"] is model.layers[0].neurons[2].w[1]
    assert model.parameters() == [p for _, p in model.named_parameters()]


def test_parameters_are_labelled_with_their_short_names():
    neuron = nn.Neuron(3, seed=0)
    assert [w.label for w in neuron.w] == ["w0", "w1", "w2"]
    assert neuron.b.label == "b"


def test_a_custom_module_finds_values_modules_and_lists_and_skips_private_attributes():
    class Net(nn.Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.blocks = [nn.Neuron(1, seed=0), [nn.Neuron(1, seed=1)]]
            self._cache = Value(5.0)
            self.note = "not a parameter"

        def __call__(self, x):
            return self.blocks[0](x) * self.scale

    names = [n for n, _ in Net().named_parameters()]
    assert names == ["scale", "blocks.0.w.0", "blocks.0.b", "blocks.1.0.w.0", "blocks.1.0.b"]


def test_a_shared_parameter_is_listed_once():
    shared = nn.Neuron(2, seed=0)
    model = nn.Sequential(shared, shared)
    assert model.num_parameters() == 3


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = nn.MLP(3, [4, 2], seed=7), nn.MLP(3, [4, 2], seed=7), nn.MLP(3, [4, 2], seed=8)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()


def test_without_a_seed_the_random_module_is_used_as_micrograd_does():
    random.seed(1337)
    first = nn.MLP(2, [4, 1]).state_dict()
    random.seed(1337)
    expected = [random.uniform(-1, 1) for _ in range(2 * 4 + 4)]
    weights = [v for k, v in first.items() if ".w." in k]
    assert weights == expected
    assert all(v == 0.0 for k, v in first.items() if k.endswith(".b"))


def test_weights_and_forward_match_micrograd_exactly():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MicroValue

    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = nn.MLP(2, [16, 16, 1])
    assert [p.data for p in theirs.parameters()] == [p.data for p in ours.parameters()]
    x = [0.3, -1.2]
    assert ours(x).data == pytest.approx(theirs([MicroValue(v) for v in x]).data, rel=1e-12)


def run_micrograd_demo(Value, MLP, X, y, steps=5):
    """The training loop of micrograd's demo.ipynb, verbatim except that ``Value`` and
    ``MLP`` come in as arguments (the imports) and it stops after ``steps`` steps.
    Returns the losses, the accuracies (each of the outputs before its step) and the model."""
    np.random.seed(1337)
    random.seed(1337)
    model = MLP(2, [16, 16, 1])

    def loss(batch_size=None):
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    losses, accuracies = [], []
    for k in range(steps):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        losses.append(float(total_loss.data))
        accuracies.append(float(acc))
    return losses, accuracies, model


def test_micrograd_demo_runs_with_only_its_imports_changed():
    from autograd import Value
    from nn import MLP

    X, y = nn.datasets.make_moons(n_samples=20, noise=0.1, seed=0)
    y = y * 2 - 1
    losses, accuracies, model = run_micrograd_demo(Value, MLP, X, y)
    assert str(model).startswith("MLP(")
    # 10, 16, 15, 16 and 16 of the 20 points; micrograd itself gives the same numbers
    # (below), and so did the first run of this test
    assert accuracies == [0.5, 0.8, 0.75, 0.8, 0.8]
    assert losses[0] == pytest.approx(0.9048821593037246, rel=1e-12)
    # the same run through nn.fit gives the same losses (up to summation order)
    random.seed(1337)
    again = MLP(2, [16, 16, 1])
    optimizer = nn.SGD(again.parameters(), lr=1.0)
    history = nn.fit(
        again,
        X,
        y,
        loss="hinge",
        penalty=nn.L2(1e-4),
        optimizer=optimizer,
        scheduler=nn.LinearDecay(optimizer, 100, end_factor=0.1),
        epochs=5,
        metrics=["accuracy"],
        quiet=True,
    )
    assert history["loss"] == pytest.approx(losses, rel=1e-9)
    assert history["accuracy"] == accuracies
    # the oracle: the very same demo on micrograd's own Value and MLP
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from micrograd.engine import Value as MicroValue

    their_losses, their_accuracies, _ = run_micrograd_demo(MicroValue, micrograd_nn.MLP, X, y)
    assert their_accuracies == accuracies
    assert their_losses == pytest.approx(losses, rel=1e-12)


def test_a_neuron_is_one_sum_of_weight_input_products_then_the_activation():
    neuron = nn.Neuron(3, activation="tanh", seed=0)
    x = [Value(0.5), Value(-1.0), Value(2.0)]
    out = neuron(x)
    assert out.op.name == "tanh"
    (total,) = out._prev
    assert total.op.name == "sum"
    products, bias = total._prev[:3], total._prev[3]
    assert bias is neuron.b
    for product, w, xi in zip(products, neuron.w, x):
        assert product.op.name == "mul"
        assert product._prev == (w, xi)  # weight first
    expected = math.tanh(sum(w.data * xi.data for w, xi in zip(neuron.w, x)) + neuron.b.data)
    assert out.data == pytest.approx(expected, rel=1e-15)


def test_a_linear_neuron_without_bias_is_just_the_sum():
    neuron = nn.Neuron(2, activation="linear", bias=False, seed=0)
    out = neuron([1.0, 2.0])
    assert out.op.name == "sum" and len(out._prev) == 2
    assert neuron.num_parameters() == 2
    assert out.data == pytest.approx(neuron.w[0].data + 2 * neuron.w[1].data)


def test_layer_returns_one_value_for_one_neuron_as_micrograd():
    assert isinstance(nn.Layer(2, 1, seed=0)([1.0, 2.0]), Value)
    out = nn.Layer(2, 3, seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3


def test_layer_wraps_number_inputs_once_for_all_neurons():
    layer = nn.Layer(2, 3, seed=0)
    outs = layer([1.0, 2.0])
    first_inputs = [out._prev[0]._prev[0]._prev[1] for out in outs]  # relu <- sum <- mul
    assert first_inputs[0] is first_inputs[1] is first_inputs[2]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_name_gives_the_table_op(name):
    neuron = nn.Neuron(2, activation=name, seed=3)
    x = [0.7, -0.4]
    z = sum(w.data * v for w, v in zip(neuron.w, x)) + neuron.b.data
    assert neuron(x).data == pytest.approx(apply_activation(name, z), rel=1e-14)
    assert neuron.predict([x])[0] == pytest.approx(apply_activation(name, z), rel=1e-12)


def test_activation_per_layer_and_unknown_names():
    model = nn.MLP(2, [3, 3, 1], activation=["tanh", "sigmoid", "linear"], seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "sigmoid", "linear"]
    assert nn.MLP(2, [3, 1], activation="tanh").layers[-1].activation == "linear"
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*relu"):
        nn.Neuron(2, activation="swish")
    with pytest.raises(ValueError, match="one name per layer"):
        nn.MLP(2, [3, 1], activation=["tanh"])


def test_init_schemes():
    assert init_weights("zeros", 3) == [0.0, 0.0, 0.0]
    uniform = init_weights("uniform", 1000, seed=0)
    assert all(-1 <= w <= 1 for w in uniform) and max(uniform) > 0.99
    bound = math.sqrt(6 / (400 + 100))
    xavier = init_weights("glorot", 400, 100, seed=0)
    assert max(map(abs, xavier)) <= bound and max(map(abs, xavier)) > 0.98 * bound
    he = np.array(init_weights("kaiming", 20000, seed=0))
    assert he.std() == pytest.approx(math.sqrt(2 / 20000), rel=0.03)
    assert abs(he.mean()) < 0.01 * math.sqrt(2 / 20000) * 10
    assert init_weights("he", 5, seed=1) == init_weights("he", 5, seed=1)
    with pytest.raises(ValueError, match="unknown init scheme 'lecun'"):
        init_weights("lecun", 3)
    layer = nn.Layer(300, 100, init="xavier", seed=0)
    assert max(abs(w.data) for n in layer.neurons for w in n.w) <= math.sqrt(6 / 400)


@pytest.mark.parametrize(
    ("make", "x", "error", "match"),
    [
        (lambda: nn.Neuron(2, seed=0), [1.0, 2.0, 3.0], ValueError, "takes 2 inputs, got 3"),
        (lambda: nn.MLP(2, [3, 1], seed=0), [1.0], ValueError, "takes 2 inputs, got 1"),
        (lambda: nn.MLP(2, [3, 1], seed=0), "ab", TypeError, "sequence of numbers"),
        (lambda: nn.MLP(2, [3, 1], seed=0), [1.0, "x"], TypeError, "str"),
    ],
)
def test_bad_inputs_to_a_model(make, x, error, match):
    with pytest.raises(error, match=match):
        make()(x)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nin must be a positive int"):
        nn.Neuron(0)
    with pytest.raises(TypeError, match="nin must be a positive int"):
        nn.Layer(2.5, 3)
    with pytest.raises(TypeError, match="nouts must be a list of layer sizes"):
        nn.MLP(2, 3)
    with pytest.raises(TypeError, match="seed"):
        nn.MLP(2, [1], seed="x")
    with pytest.raises(ValueError, match=r"dropout probability\) must be .* in \[0, 1\)"):
        nn.Dropout(1.0)


def test_train_and_eval_reach_every_submodule():
    model = nn.MLP(2, [4, 4, 1], dropout=0.5, seed=0)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert model.dropout.training and model.layers[1].neurons[0].training


def test_temporary_mode_gives_every_module_back_its_own_mode_even_after_an_error():
    model = nn.MLP(2, [3, 3, 1], dropout=0.5, seed=0)
    model.layers[1].eval()  # a mix of modes
    before = [m.training for m in model.modules()]
    with pytest.raises(RuntimeError, match="inside"):
        with nn.temporary_mode(model, training=False) as inside:
            assert inside is model and not any(m.training for m in model.modules())
            raise RuntimeError("inside")
    assert [m.training for m in model.modules()] == before
    with nn.temporary_mode(model, training=True):
        assert all(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == before


def test_dropout_zeroes_and_rescales_only_in_training_mode():
    drop = nn.Dropout(0.25, seed=0)
    xs = [Value(1.0) for _ in range(4000)]
    out = drop(xs)
    data = np.array([v.data for v in out])
    assert set(np.unique(data)) == {0.0, 1 / 0.75}
    assert (data == 0).mean() == pytest.approx(0.25, abs=0.03)
    total = Value.sum(out)
    total.backward()
    assert {x.grad for x in xs} == {0.0, 1 / 0.75}
    drop.eval()
    assert drop(xs) is xs
    again = nn.Dropout(0.25, seed=0)([Value(1.0) for _ in range(50)])
    first = nn.Dropout(0.25, seed=0)([Value(1.0) for _ in range(50)])
    assert [v.data for v in again] == [v.data for v in first]


def test_mlp_dropout_is_used_between_hidden_layers_only_while_training():
    model = nn.MLP(3, [50, 1], dropout=0.5, seed=1)
    x = [0.5, -0.2, 0.9]
    train_out = {model(x).data for _ in range(5)}
    assert len(train_out) > 1  # a different mask each call
    model.eval()
    assert model(x).data == pytest.approx(model.predict([x])[0], rel=1e-12)


def test_state_dict_round_trip_and_all_or_nothing_load():
    a, b = nn.MLP(2, [3, 1], seed=0), nn.MLP(2, [3, 1], seed=1)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    before = b.state_dict()
    bad = dict(a.state_dict())
    bad["layers.1.neurons.0.b"] = float("nan")
    with pytest.raises(ValueError, match=r"state\['layers.1.neurons.0.b'\] is nan"):
        b.load_state_dict(bad)
    assert b.state_dict() == before
    with pytest.raises(ValueError, match=r"missing layers.1.neurons.0.b$"):
        b.load_state_dict(
            {k: v for k, v in a.state_dict().items() if not k.startswith("layers.1.neurons.0.b")}
        )
    with pytest.raises(ValueError, match="unexpected extra"):
        b.load_state_dict({**a.state_dict(), "extra": 1.0})
    with pytest.raises(TypeError, match="must be a number"):
        b.load_state_dict({**a.state_dict(), "layers.0.neurons.0.b": "1"})
    assert b.state_dict() == before
    b.load_state_dict({"layers.0.neurons.0.b": 5.0}, strict=False)
    assert b.layers[0].neurons[0].b.data == 5.0


def test_zero_grad_clears_every_parameter():
    model = nn.MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_repr_reads_like_pytorch():
    text = repr(nn.MLP(2, [16, 1], dropout=0.1, seed=0))
    assert text.splitlines() == [
        "MLP(",
        "  (layers.0): Layer(nin=2, nout=16, activation='relu')",
        "  (layers.1): Layer(nin=16, nout=1, activation='linear')",
        "  (dropout): Dropout(p=0.1)",
        ")",
    ]
    assert repr(nn.Neuron(3, nonlin=False, bias=False)) == (
        "Neuron(nin=3, activation='linear', bias=False)"
    )


@given(
    st.lists(st.floats(-3, 3), min_size=3, max_size=3),
    st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "softplus", "linear"]),
    st.integers(0, 10_000),
)
def test_predict_matches_the_scalar_graph(x, activation, seed):
    model = nn.MLP(3, [5, 4, 2], activation=activation, seed=seed)
    expected = [v.data for v in model(x)]
    assert model.predict([x])[0] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_predict_runs_custom_modules_and_sequences_with_them():
    class Twice(nn.Module):
        def __init__(self):
            self.inner = nn.Neuron(2, activation="linear", seed=0)

        def __call__(self, x):
            return self.inner(x) * 2

    model = Twice()
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    expected = [2 * model.inner(row).data for row in X.tolist()]
    assert model.predict(X).tolist() == pytest.approx(expected)
    seq = nn.Sequential(nn.Layer(2, 2, activation="tanh", seed=0), nn.Dropout(0.5), Twice())
    assert seq.predict(X).shape == (2,)


def test_predict_checks_its_input():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="3 features, but 2 are expected"):
        model.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="NaN at row 1"):
        model.predict([[0.0, 1.0], [float("nan"), 1.0]])
    with pytest.raises(ValueError, match="empty"):
        model.predict(np.empty((0, 2)))
    assert model.predict([[1.0, 2.0], [3.0, 4.0]]).shape == (2,)
    assert nn.MLP(2, [3, 4], seed=0).predict([[1.0, 2.0]]).shape == (1, 4)


def test_predict_restores_training_mode():
    model = nn.MLP(2, [3, 1], dropout=0.5, seed=0)
    model.predict([[1.0, 2.0]])
    assert all(m.training for m in model.modules())


def test_perceptron_learns_a_separable_problem_and_stops():
    X, y = nn.datasets.make_blobs(n_samples=60, centers=[[-2, -2], [2, 2]], seed=0)
    labels = np.where(y == 1, 1, -1)
    perceptron = nn.Perceptron(2)
    mistakes = perceptron.fit(X, labels, epochs=50)
    assert mistakes[-1] == 0 and len(mistakes) < 50
    assert (perceptron.predict(X) == labels).all()
    assert perceptron(X[0].tolist()) == labels[0]
    assert perceptron.score(X[0].tolist()).op.name == "sum"


def test_perceptron_learns_and_but_not_xor():
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    perceptron = nn.Perceptron(2, lr=0.1)
    assert perceptron.fit(X, [0, 0, 0, 1])[-1] == 0
    assert perceptron.predict(X).tolist() == [0, 0, 0, 1]
    xor = nn.Perceptron(2)
    assert xor.fit(X, [0, 1, 1, 0], epochs=30)[-1] > 0  # not linearly separable
    with pytest.raises(ValueError, match="exactly two classes; y has 3"):
        nn.Perceptron(2).fit(X, [0, 1, 2, 0])
    with pytest.raises(ValueError, match="3 features, but 2 are expected"):
        nn.Perceptron(2).fit([[0, 0, 0]], [1])
