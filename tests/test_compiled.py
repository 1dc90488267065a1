"""The compiled path: batched numpy forward/backward equals the scalar engine."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import DomainError, Value
from autograd.compiler import compile

REL = 1e-9


def assert_close(a, b, rel=REL):
    np.testing.assert_allclose(a, b, rtol=rel, atol=1e-12)


def scalar_reference(build, params, batch, n_outputs=1):
    """Outputs per row and parameter gradients of the batch mean, by the scalar engine."""
    for p in params:
        p.grad = 0.0
    rows = []
    total = []
    for row in batch:
        outs = build([Value(x) for x in row])
        outs = outs if isinstance(outs, list) else [outs]
        rows.append([o.data for o in outs])
        total.extend(outs)
    Value.sum(total).backward(gradient=1.0 / len(batch))
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return np.array(rows), np.array(grads)


def compiled_result(build, params, batch, n_inputs):
    xs = [Value(0.5) for _ in range(n_inputs)]
    program = compile(build(xs), xs, params=params)
    for p in params:
        p.grad = 0.0
    outputs = program(batch)
    grads = np.array([p.grad for p in params])
    for p in params:
        p.grad = 0.0
    return program, outputs, grads


def make_mlp(sizes, seed=0, activation="relu"):
    rng = random.Random(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        w = [[Value(rng.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)]
        b = [Value(rng.uniform(-0.1, 0.1)) for _ in range(nout)]
        layers.append((w, b))
    params = [p for w, b in layers for row in w for p in row] + [p for _, b in layers for p in b]

    def forward(x):
        for i, (w, b) in enumerate(layers):
            x = [Value.sum([*(wi * xi for wi, xi in zip(row, x)), bias]) for row, bias in zip(w, b)]
            if i < len(layers) - 1:
                x = [getattr(v, activation)() for v in x]
        return x

    return forward, params


def test_moons_style_mlp_with_hinge_loss_and_l2():
    forward, params = make_mlp([2, 16, 16, 1])

    def build(v):
        x, y = v[:2], v[2]
        score = forward(x)[0]
        reg = 1e-4 * Value.sum([p * p for p in params])  # a static subgraph
        return (1 + -y * score).relu() + reg

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    batch = np.column_stack([X, np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)])
    program, out, grads = compiled_result(build, params, batch, 3)
    ref_out, ref_grads = scalar_reference(build, params, batch)
    assert_close(out, ref_out)
    assert_close(grads, ref_grads)
    assert "matrix products" in repr(program)


def test_softmax_cross_entropy_mlp_with_one_hot_targets():
    forward, params = make_mlp([6, 5, 4], seed=3, activation="tanh")

    def build(v):
        x, target = v[:6], v[6:]
        logits = forward(x)
        lse = Value.logsumexp(logits)
        return -Value.sum([t * (z - lse) for t, z in zip(target, logits)])

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=30)
    batch = np.column_stack([rng.normal(size=(30, 6)), np.eye(4)[labels]])
    _, out, grads = compiled_result(build, params, batch, 10)
    ref_out, ref_grads = scalar_reference(build, params, batch)
    assert_close(out, ref_out)
    assert_close(grads, ref_grads)


# ----- random graphs ---------------------------------------------------------------------
UNARY = [
    lambda a: a.tanh(), lambda a: a.sin(), lambda a: a.cos(), lambda a: a.sigmoid(),
    lambda a: a.softplus(), lambda a: a.gaussian(), lambda a: a.relu(), lambda a: -a,
    lambda a: a.leaky_relu(0.1), lambda a: abs(a), lambda a: a**2, lambda a: a**3,
    lambda a: (a * a + 1).log(), lambda a: (a * a + 1).sqrt(), lambda a: a.tanh().exp(),
    lambda a: 1 / (a * a + 1), lambda a: (a * a + 0.5) ** Value(0.7),
]  # fmt: skip
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b]


@st.composite
def random_graph(draw):
    """A recipe: each step combines earlier nodes (inputs, parameters, results)."""
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, 5), st.integers(0, 99), st.integers(0, 99),
                      st.integers(0, 99), st.integers(0, len(UNARY) - 1)),
            min_size=1, max_size=25,
        )
    )  # fmt: skip
    return steps


def build_random(steps, xs, params):
    nodes = list(xs) + list(params)
    for kind, i, j, k, u in steps:
        a, b, c = nodes[i % len(nodes)], nodes[j % len(nodes)], nodes[k % len(nodes)]
        if kind == 0:
            nodes.append(UNARY[u](a))
        elif kind == 1:
            nodes.append(BINARY[u % 3](a, b))
        elif kind == 2:
            nodes.append(Value.sum([a * params[u % len(params)], b * c, c, params[0]]))
        elif kind == 3:
            nodes.append(Value.logsumexp([a, b, c]))
        elif kind == 5:  # a sum of products of two values each (a dot product)
            nodes.append(Value.sum([a * b, b * c, c * a]))
        else:
            nodes.append(a * params[u % len(params)])
    return [nodes[-1], nodes[len(nodes) // 2]]


@given(steps=random_graph(), seed=st.integers(0, 2**16))
def test_random_graphs_compiled_equal_scalar(steps, seed):
    rng = np.random.default_rng(seed)
    params = [Value(x) for x in rng.uniform(-1, 1, size=3)]
    batch = rng.uniform(-1, 1, size=(5, 2))

    def build(xs):
        return build_random(steps, xs, params)

    try:
        ref_out, ref_grads = scalar_reference(build, params, batch)
    except DomainError:  # e.g. x**3 of x**3 of ... overflowing: both paths must refuse
        with pytest.raises(DomainError):
            compiled_result(build, params, batch, 2)
        return
    _, out, grads = compiled_result(build, params, batch, 2)
    assert_close(out, ref_out)
    assert_close(grads, ref_grads)


# ----- behaviour -------------------------------------------------------------------------
def test_parameters_are_read_at_every_call():
    w = Value(2.0)
    x = Value(0.0)
    program = compile(w * x, [x], params=[w])
    assert program.forward([[3.0]])[0, 0] == 6.0
    w.data = 5.0
    assert program.forward([[3.0]])[0, 0] == 15.0


def test_gradients_accumulate_like_backward():
    w = Value(2.0)
    x = Value(0.0)
    program = compile(w * x, [x])
    program([[1.0], [3.0]], reduction="sum")
    program([[1.0]], reduction="sum")
    assert w.grad == 5.0
    assert_close(program.input_grads, [[2.0]])


def test_shape_mismatch_is_reported():
    x = Value(0.0)
    program = compile(x * 2, [x])
    with pytest.raises(ValueError, match="shape mismatch"):
        program(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="empty"):
        program(np.zeros((0, 1)))


def test_domain_errors_name_the_op():
    x = Value(1.0)
    program = compile(x.log(), [x])
    with pytest.raises(DomainError, match="log"):
        program.forward([[1.0], [-2.0]])


def test_bad_inputs():
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"compile\(\): inputs must be leaf Values, got Value\("):
        compile(x * 2, [x * 3])
    with pytest.raises(TypeError, match=r"compile\(\): inputs must be leaf Values, got 3\.0"):
        compile(x * 2, [3.0])
    outputs_message = r"compile\(\) needs a Value or a list of Values as outputs"
    with pytest.raises(TypeError, match=outputs_message):
        compile([3.0], [x])
    with pytest.raises(TypeError, match=outputs_message):
        compile([], [x])
    with pytest.raises(TypeError, match=outputs_message):
        compile(3.0, [x])
    with pytest.raises(TypeError, match=r"compile\(\): params must be leaf Values"):
        compile(x * 2, [x], params=[x * 3])
    with pytest.raises(ValueError, match="the same input Value is listed twice"):
        compile(x * 2, [x, x])


def test_user_op_without_numpy_form():
    import math

    bump = autograd.register_op(
        "bump_test", lambda x: math.exp(-x * x) * 3, lambda x, out: -2 * x * out
    )
    try:
        w = Value(0.3)
        x = Value(0.0)
        program = compile(bump(w * x), [x])
        batch = np.array([[0.5], [1.5]])
        out = program(batch)
        expected = [3 * math.exp(-((0.3 * r) ** 2)) for r in (0.5, 1.5)]
        assert_close(out[:, 0], expected)
        closed_form = sum(-2 * (0.3 * r) * e * r for r, e in zip((0.5, 1.5), expected)) / 2
        assert_close(w.grad, closed_form)
        w.grad = 0.0
        total = Value.sum([bump(w * Value(r)) for r in (0.5, 1.5)]) / 2
        total.backward()
        scalar = w.grad
        w.grad = 0.0
        program(batch)
        assert_close(w.grad, scalar)
    finally:
        autograd.unregister_op("bump_test")
