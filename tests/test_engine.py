"""The engine: micrograd compatibility, backward semantics, modes, bad input."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import (
    AnomalyError,
    DomainError,
    Value,
    allow_nonfinite,
    detect_anomaly,
    grad,
    no_grad,
)

from .helpers import central_difference, close


# ----- micrograd's own tests, with PyTorch's numbers written in -----------------------------
def test_micrograd_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert y.data == -20.0
    assert x.grad == 46.0


def test_micrograd_more_ops():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert close(g.data, 24.70408163265306, rel=1e-12)
    assert close(a.grad, 138.83381924198252, rel=1e-12)
    assert close(b.grad, 645.5772594752186, rel=1e-12)


def test_micrograd_constructor_and_fields():
    a = Value(2.0)
    b = Value(3.0)
    c = Value(a.data * b.data, (a, b), "")
    assert c._prev == (a, b)
    d = a * b
    assert d._op == "*" and d._prev == (a, b)
    assert (a + b)._op == "+" and (a**2)._op == "**2" and a.relu()._op == "ReLU"
    a.data = 5
    a.grad = 0.5
    assert a.data == 5 and a.grad == 0.5


def test_numbers_on_either_side():
    x = Value(3.0)
    assert (2 + x).data == 5 and (x + 2).data == 5
    assert (2 - x).data == -1 and (x - 2).data == 1
    assert (2 * x).data == 6 and (x * 2).data == 6
    assert (6 / x).data == 2 and (x / 6).data == 0.5
    assert (2**x).data == 8 and (x**2).data == 9
    assert (np.float64(2.0) * x).data == 6 and isinstance(np.float64(2.0) * x, Value)
    y = 2**x
    y.backward()
    assert close(x.grad, 8 * math.log(2))


def test_repr_shows_data_grad_op_label():
    x = Value(2.0, label="x")
    y = x.tanh()
    y.label = "y"
    y.backward()
    text = repr(y)
    assert (
        "data=0.964028" in text and "grad=1" in text and "op='tanh'" in text and "label='y'" in text
    )
    assert repr(Value(1.5)) == "Value(data=1.5, grad=0)"


# ----- backward semantics ---------------------------------------------------------------------
def test_reused_node_traps():
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    x = Value(3.0)
    (x - x).backward()
    assert x.grad == 0.0


def test_diamond():
    x = Value(2.0)
    a = x * 3
    b = x.exp()
    y = a * b
    y.backward()
    assert close(x.grad, 3 * math.exp(2) + 6 * math.exp(2))


def test_leaves_accumulate_intermediates_do_not():
    x = Value(2.0)
    h = x * x
    y = h * 3
    y.backward()
    y.backward()
    assert x.grad == 24.0  # 12 + 12: leaves accumulate, as in PyTorch
    assert h.grad == 3.0  # this pass only, never 6
    x.grad = 0.0
    y.backward()
    assert x.grad == 12.0


def test_backward_seed():
    x = Value(2.0)
    (x * 5).backward(gradient=0.5)
    assert x.grad == 2.5


def test_zero_grad_clears_the_graph():
    x = Value(1.0)
    y = (x * 2).tanh()
    y.backward()
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0


def test_million_node_chain_under_default_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y + 1e-6
    y.backward()
    assert x.grad == 1.0
    assert close(y.data, 1.5, rel=1e-6)


def test_deep_tanh_chain():
    """50,000 tanh in a row: no recursion limit, and the chain rule's exact product.

    y_0 = x, y_k = tanh(y_{k-1}); dy/dx = prod_k (1 - y_k**2). The chain y = tanh(y)
    decays to 0 only like sqrt(3 / 2k), so the product (about 6e-6 here) stays far from
    underflow and every factor counts: a wrong tanh' gives another number.
    """
    depth, x0 = 50_000, 0.3
    x = Value(x0)
    y = x
    for _ in range(depth):
        y = y.tanh()
    y.backward()

    def chain(v: float) -> float:  # the same chain on floats, with math only
        for _ in range(depth):
            v = math.tanh(v)
        return v

    closed_form, v = 1.0, x0
    for _ in range(depth):
        v = math.tanh(v)
        closed_form *= 1 - v * v
    assert y.data == chain(x0)
    assert 1e-6 < closed_form < 1e-5  # a chain of factors each < 1, far from 0 and from 1
    assert x.grad == pytest.approx(closed_form, rel=1e-9)
    assert x.grad == pytest.approx(central_difference(chain, [x0], 0, h=1e-5), rel=1e-5)


def test_topological_order_is_stable():
    def build():
        a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
        return ((a * b + c) * (a - c)).tanh()

    first = [n.label or str(n._op) for n in build().topological_order()]
    second = [n.label or str(n._op) for n in build().topological_order()]
    assert first == second
    assert first[-1] == "tanh"


def test_shared_node_comes_before_every_user():
    """A node reached first as a later parent must still precede its other users."""
    x = Value(0.5, label="x")
    c = x.tanh()
    b = c * 2.0  # b uses c
    a = b + c  # a's parents are (b, c): c is pushed before b is expanded
    order = a.topological_order()
    assert order.index(c) < order.index(b) < order.index(a)
    a.backward()
    t = 1 - c.data**2
    assert close(x.grad, 3 * t, rel=1e-12)


def test_nary_sum_is_one_node():
    xs = [Value(float(i)) for i in range(100)]
    s = Value.sum(xs)
    assert len(s._prev) == 100 and s.data == sum(range(100))
    (s * 2).backward()
    assert all(x.grad == 2.0 for x in xs)
    assert Value.sum([1, 2, Value(3.0)]).data == 6.0
    assert Value.mean([Value(1.0), Value(3.0)]).data == 2.0


# ----- second derivatives ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "f, d2",
    [
        (lambda x: x.tanh(), lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2)),
        (lambda x: x.sin(), lambda x: -math.sin(x)),
        (lambda x: x**3, lambda x: 6 * x),
        (lambda x: x.exp(), math.exp),
        (lambda x: x.log(), lambda x: -1 / x**2),
        (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 2 * s)),
        (lambda x: x.gaussian(), lambda x: (4 * x * x - 2) * math.exp(-x * x)),
        (lambda x: 1 / x, lambda x: 2 / x**3),
        (lambda x: x * x.exp(), lambda x: (x + 2) * math.exp(x)),
        (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5),
    ],
)
def test_second_derivatives_via_create_graph(f, d2):
    x0 = 0.7
    x = Value(x0)
    y = f(x)
    y.backward(create_graph=True)
    first = x.grad
    assert isinstance(first, Value)
    x.grad = 0.0
    first.backward()
    assert close(x.grad, d2(x0), rel=1e-9), (x.grad, d2(x0))


def test_grad_of_grad():
    d2 = grad(grad(lambda x: x**4))
    assert close(d2(2.0), 48.0)
    assert close(grad(grad(grad(lambda x: x**4)))(2.0), 48.0)


# ----- grad(), no_grad, detach ----------------------------------------------------------------
def test_grad_function():
    f = lambda x, y: x * y + y.sin()
    gx, gy = grad(f)(2.0, 3.0)
    assert gx == 3.0 and close(gy, 2 + math.cos(3.0))
    assert grad(f, argnums=1)(2.0, 3.0) == gy
    value, g = grad(lambda x: x * x, return_value=True)(3.0)
    assert value == 9.0 and g == 6.0
    assert autograd.value_and_grad(lambda x: x.exp())(0.0) == (1.0, 1.0)


def test_grad_leaves_user_grads_alone():
    w = Value(2.0)
    w.grad = 7.0
    f = lambda x: x * w
    assert grad(f)(3.0) == 2.0
    assert w.grad == 7.0


def test_grad_rejects_non_value_output():
    with pytest.raises(TypeError, match="must return a Value"):
        grad(lambda x: 3.0)(1.0)


def test_no_grad_records_nothing():
    x = Value(2.0)
    with no_grad():
        y = x * 3 + 1
        assert not autograd.is_grad_enabled()
    assert y.data == 7.0 and y._prev == () and y._op == ""
    assert autograd.is_grad_enabled()
    z = x * 3
    assert z._prev == (x, z._prev[1])


def test_no_grad_as_decorator_and_enable_grad():
    @no_grad()
    def f(x):
        with autograd.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f(Value(1.0))
    assert outer.is_leaf and not inner.is_leaf


def test_no_grad_is_per_thread():
    seen = {}
    ready = threading.Event()
    done = threading.Event()

    def other():
        ready.wait()
        seen["other"] = (Value(1.0) * 2).is_leaf
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with no_grad():
        ready.set()
        done.wait()
        seen["main"] = (Value(1.0) * 2).is_leaf
    t.join()
    assert seen == {"other": False, "main": True}


def test_detach():
    x = Value(2.0)
    y = x * x
    d = y.detach()
    z = d * x
    z.backward()
    assert d.is_leaf and d.data == 4.0
    assert x.grad == 4.0  # only through the direct use of x


# ----- anomaly detection ----------------------------------------------------------------------
def test_detect_anomaly_forward():
    with allow_nonfinite():
        x = Value(float("inf"))
        with detect_anomaly(), pytest.raises(AnomalyError) as info:
            x * 0  # the offending line
    message = str(info.value)
    assert "mul" in message and "inf" in message and "the offending line" in message


def test_by_default_no_op_makes_a_silent_nan():
    with pytest.raises(DomainError, match=r"mul\(1e\+200, 1e\+200\).*overflows"):
        Value(1e200) * Value(1e200)
    with pytest.raises(ValueError, match="finite number, not inf"):
        Value(float("inf"))


def test_inside_allow_nonfinite_nan_flows_like_pytorch():
    with allow_nonfinite():
        y = Value(float("inf")) * 0
    assert math.isnan(y.data)


def test_detect_anomaly_backward_names_op_and_creation_line():
    x = Value(1e200)
    with detect_anomaly():
        z = x * 1e-200  # created here
        with pytest.raises(AnomalyError) as info:
            z.backward(gradient=1e300)  # d z / d 1e-200 = x: 1e300 * 1e200 overflows
    message = str(info.value)
    assert "backward" in message and "mul" in message
    assert "created here" in message


# ----- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["3", None, [1], 1 + 2j, {"a": 1}])
def test_bad_types_name_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)
    with pytest.raises(TypeError):
        Value(1.0) + bad


@pytest.mark.parametrize("good", [1, 2.5, True, np.float32(1.5), np.int64(3), np.bool_(True)])
def test_accepted_numbers(good):
    assert Value(good).data == float(good)
    assert isinstance(Value(good).data, float)


def test_value_of_value_is_refused():
    with pytest.raises(TypeError, match="detach"):
        Value(Value(1.0))


def test_hand_built_node_gets_a_clear_error():
    a = Value(1.0)
    c = Value(2.0, (a,), "custom")
    with pytest.raises(TypeError, match="not an op"):
        c.backward()


# ----- random expressions against finite differences -----------------------------------------
def _random_expression(draw_ops, xs):
    nodes = list(xs)
    for kind, i, j in draw_ops:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if kind == 0:
            nodes.append(a + b)
        elif kind == 1:
            nodes.append(a * b)
        elif kind == 2:
            nodes.append(a.tanh())
        elif kind == 3:
            nodes.append((a * 0.3).sin())
        elif kind == 4:
            nodes.append(a - b * 0.5)
        else:
            nodes.append((a * a + 1.0).log())
    return nodes[-1]


@given(
    xs=st.lists(st.floats(-2, 2), min_size=3, max_size=3),
    draw_ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(0, 50)),
        min_size=1,
        max_size=12,
    ),
)
def test_random_expressions_match_finite_differences(xs, draw_ops):
    def f(*numbers):
        return _random_expression(draw_ops, [Value(x) for x in numbers]).data

    values = [Value(x) for x in xs]
    out = _random_expression(draw_ops, values)
    out.backward()
    for i, v in enumerate(values):
        numeric = central_difference(f, xs, i, h=1e-5)
        assert close(v.grad, numeric, rel=1e-4, abs_=1e-4), (i, v.grad, numeric)


def test_register_op_works_everywhere():
    cube = autograd.register_op(
        "cube_test",
        lambda x: x**3,
        lambda x, out: 3 * x**2,
        domain=("any x", lambda x: True),
        formula="cube({0})",
    )
    try:
        x = Value(2.0, label="x")
        y = cube(x)
        y.backward(create_graph=True)
        assert y.data == 8.0 and close(x.grad.data, 12.0)
        assert y.formula() == "cube(x)"
        assert cube(2.0) == 8.0
        np.testing.assert_allclose(cube(np.array([1.0, 2.0])), [1.0, 8.0])
        assert "cube_test" in autograd.REGISTRY
        with pytest.raises(ValueError, match="already registered"):
            autograd.register_op("cube_test", lambda x: x, lambda x, out: 1.0)
    finally:
        autograd.unregister_op("cube_test")
    assert "cube_test" not in autograd.REGISTRY


def test_op_decorator():
    @autograd.op(lambda x, out: 2 * x)
    def square_test(x):
        return x * x

    try:
        x = Value(3.0)
        square_test(x).backward()
        assert x.grad == 6.0
    finally:
        autograd.unregister_op("square_test")


def test_cycle_collector_paused_restores_the_collector_state():
    import gc

    with autograd.cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with autograd.cycle_collector_paused():
            pass
        Value(2.0).tanh().backward()
        assert not gc.isenabled()  # a user's choice is left alone
    finally:
        gc.enable()
