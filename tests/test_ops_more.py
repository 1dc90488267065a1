"""The op table's small rules, checked where they matter: kinks on Values (second
derivatives), x*log(y) at 0, the signs of zeros, the domain of pow."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from autograd import DomainError, Value, compile, ops


def exactly(message: str) -> str:
    """A ``match=`` pattern for the whole message, nothing more or less."""
    return "^" + re.escape(message) + "$"


# ----- kinks, also when the derivative is recorded as Values -----------------------------------
@pytest.mark.parametrize(
    ("x", "relu_slope", "abs_slope"),
    [(-2.0, 0.0, -1.0), (0.0, 0.0, 0.0), (0.5, 1.0, 1.0), (3.0, 1.0, 1.0)],
)
def test_relu_and_abs_slopes_match_pytorch_in_both_backward_modes(x, relu_slope, abs_slope):
    # PyTorch: relu'(0) = 0, abs'(0) = 0
    for create_graph in (False, True):
        for f, slope in ((Value.relu, relu_slope), (abs, abs_slope)):
            v = Value(x)
            f(v).backward(create_graph=create_graph)
            assert float(v.grad) == slope


def test_second_derivative_of_abs_times_x_at_and_around_zero():
    # d/dx (x * |x|) = 2|x|: through abs' = sign, recorded as a Value
    for x, expected in ((-1.5, 3.0), (0.0, 0.0), (2.0, 4.0)):
        v = Value(x)
        (v * abs(v)).backward(create_graph=True)
        assert float(v.grad) == expected


# ----- x * log(y), the derivative of a**b with respect to b ---------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "d_a", "d_b"),
    [
        (4.0, 0.0, 0.0, math.log(4.0)),  # d/db 4**b = 4**b log 4; a**b = 1 here
        (0.0, 2.0, 0.0, 0.0),  # 0**b = 0 for b > 0: 0 * log 0 taken as 0
        (2.0, 3.0, 12.0, 8.0 * math.log(2.0)),
        (1.0, 5.0, 5.0, 0.0),
    ],
)
def test_pow_of_two_values_has_the_calculus_derivatives(a, b, d_a, d_b):
    x, y = Value(a), Value(b)
    (x**y).backward()
    assert (x.grad, y.grad) == pytest.approx((d_a, d_b), rel=1e-15, abs=0.0)
    # the compiled path, from the same rules evaluated on arrays
    x, y = Value(1.0), Value(1.0)
    program = compile(x**y, [x, y])
    program([[a, b]], reduction="sum")
    assert program.input_grads.tolist() == [pytest.approx([d_a, d_b], rel=1e-15, abs=0.0)]


def test_xlogy_on_an_array_and_a_number():
    # one array makes the result an array of the broadcast shape, 0 where x == 0
    got = ops.xlogy(0.0, np.array([0.5, 2.0]))
    assert (got.shape, got.tolist()) == ((2,), [0.0, 0.0])
    got = ops.xlogy(np.array([0.0, 0.0]), 0.0)  # no log(0) is taken
    assert (got.shape, got.tolist()) == ((2,), [0.0, 0.0])
    got = ops.xlogy(np.array([0.0, 2.0]), 0.5)
    assert (got.shape, got.tolist()) == ((2,), [0.0, 2.0 * math.log(0.5)])
    assert ops.xlogy(0.0, 0.0) == 0.0
    assert ops.xlogy(3.0, math.e) == pytest.approx(3.0, rel=1e-15)


# ----- zeros keep a sign only where it makes sense ----------------------------------------------
def test_relu_of_minus_zero_is_plus_zero():
    y = Value(-0.0).relu()
    assert math.copysign(1.0, y.data) == 1.0
    assert repr(y) == "Value(data=0, grad=0, op='ReLU')"


# ----- the domain of pow ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [-1, -0.5])
def test_zero_to_a_negative_power_is_outside_the_domain(n):
    with pytest.raises(DomainError, match=exactly(
        "pow(0): math domain error: it is defined only for x > 0, or x = 0 with n >= 0, "
        "or x < 0 with integer n"
    )):  # fmt: skip
        Value(0.0) ** n
    with pytest.raises(DomainError, match=exactly(
        "pow_value(0, -1): math domain error: it is defined only for a > 0, or a = 0 with "
        "b >= 0, or a < 0 with integer b"
    )):  # fmt: skip
        Value(0.0) ** Value(-1.0)


def test_zero_to_a_positive_power_is_zero():
    assert (Value(0.0) ** 0.5).data == 0.0
    assert (Value(0.0) ** 2).data == 0.0
    assert (Value(0.0) ** Value(3.0)).data == 0.0
