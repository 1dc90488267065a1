"""The stepper, formulas and text trees."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from autograd import Value

from .test_engine import _random_expression


def neuron():
    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    b = Value(6.8813735870195432, label="b")
    xw = x * w
    xw.label = "xw"
    n = xw + b
    n.label = "n"
    y = n.tanh()
    y.label = "y"
    return x, w, b, y


def test_steps_explain_the_chain_rule_with_numbers():
    x, w, b, y = neuron()
    steps = list(y.backward_steps())
    assert [s.name for s in steps] == ["y", "n", "xw"]
    text = str(steps[-1])
    assert text.splitlines()[0] == "xw = x*w:  dy/dx += dy/dxw * dxw/dx = 0.5 * (-3) = -1.5"
    assert "dy/dw += dy/dxw * dxw/dw = 0.5 * 2 = 1" in text
    last = steps[-1]
    assert math.isclose(last.upstream, 0.5)
    assert [c.parent for c in last.contributions] == [x, w]
    assert [c.local for c in last.contributions] == [-3.0, 2.0]
    assert math.isclose(last.contributions[0].contribution, -1.5)
    assert steps[0].index == 1 and steps[0].total == 3


def test_consuming_steps_equals_backward():
    x, w, b, y = neuron()
    list(y.backward_steps())
    stepped = [x.grad, w.grad, b.grad]
    x2, w2, b2, y2 = neuron()
    y2.backward()
    assert stepped == [x2.grad, w2.grad, b2.grad]


@given(
    xs=st.lists(st.floats(-2, 2), min_size=3, max_size=3),
    draw_ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=10,
    ),
)
def test_steps_equal_backward_on_random_graphs(xs, draw_ops):
    a = [Value(x) for x in xs]
    list(_random_expression(draw_ops, a).backward_steps())
    b = [Value(x) for x in xs]
    _random_expression(draw_ops, b).backward()
    assert [v.grad for v in a] == [v.grad for v in b]


def test_formula():
    x, w, b, y = neuron()
    assert y.formula() == "tanh(x*w + b)"
    a, c = Value(1.0, label="a"), Value(2.0, label="c")
    assert ((a - c) - (a - c)).formula() == "a - c - (a - c)"
    assert ((a + c) * a).formula() == "(a + c)*a"
    assert ((a + c) ** 2).formula() == "(a + c)**2"
    assert (-(a + c)).formula() == "-(a + c)"
    assert (2**a).formula() == "2**a"
    assert (a / (a * c)).formula() == "a/(a*c)"
    assert Value.sum([a, c, a * c]).formula() == "a + c + a*c"
    assert (a * -1.5).formula() == "a*(-1.5)"
    assert a.leaky_relu(0.2).formula() == "leaky_relu(a, 0.2)"


def test_tree_shows_every_node_once():
    x, w, b, y = neuron()
    y.backward()
    text = y.tree()
    assert text.splitlines()[0].startswith("y = tanh(n)")
    assert "x   data=2 grad=-1.5" in text
    shared = Value(2.0, label="s")
    z = (shared * shared) + (shared * shared)
    assert "(shown above)" not in z.tree()
    m = shared * 3
    z = m + m
    assert z.tree().count("(shown above)") == 1
