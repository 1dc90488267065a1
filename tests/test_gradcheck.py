"""numerical_grad, gradcheck, graph_function and assert_gradients_close."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograd import DomainError, Value
from autograd.gradcheck import (
    GradcheckError,
    assert_gradients_close,
    compare_gradients,
    gradcheck,
    graph_function,
    numerical_grad,
)

# ----- the nudging argument -----------------------------------------------------------------
XS = [0.0, 1.0, 2.0, 3.0, 4.0]
YS = [4 * x for x in XS]


def sse(w):
    """Summed squared error of the prediction w*x on the data y = 4x."""
    return sum((w * x - y) ** 2 for x, y in zip(XS, YS))


def test_nudging_numbers_from_the_introduction():
    assert sse(2.0) == 120.0
    assert sse(2.0001) == pytest.approx(119.988, abs=1e-6)
    assert sse(1.9999) == pytest.approx(120.012, abs=1e-6)
    assert sse(7.0) == 270.0
    # the loss drops by 0.012 for a nudge of +0.0001: the slope is -120
    assert numerical_grad(sse, 2.0, eps=1e-4, method="forward") == pytest.approx(-119.997)
    assert numerical_grad(sse, 2.0, eps=1e-4, method="central") == pytest.approx(-120, rel=1e-9)
    assert numerical_grad(sse, 2.0) == pytest.approx(-120, rel=1e-7)
    # and backward agrees with the nudging
    w = Value(2.0, label="w")
    loss = sse(w)
    loss.backward()
    assert loss.data == 120.0
    assert w.grad == -120.0
    assert gradcheck(sse, [2.0])


def test_numerical_grad_of_floats_and_of_values():
    f = lambda x, y: x * y + math.sin(x) if isinstance(x, float) else x * y + x.sin()
    expected = [0.5 + math.cos(1.5), 1.5]
    assert numerical_grad(f, [1.5, 0.5]) == pytest.approx(expected, rel=1e-8)
    x, y = Value(1.5, label="x"), Value(0.5, label="y")
    x.grad = 7.0
    assert numerical_grad(f, (x, y)) == pytest.approx(expected, rel=1e-8)
    assert (x.data, x.grad, y.data, y.grad) == (1.5, 7.0, 0.5, 0.0)  # untouched


def test_numerical_grad_takes_numpy_scalars_and_ints():
    assert numerical_grad(lambda x: x * x, np.float64(3.0)) == pytest.approx(6.0)
    assert numerical_grad(lambda x: x * x, [3]) == pytest.approx([6.0])


def test_central_differences_are_more_accurate_than_forward_ones():
    exact = math.exp(1.0)
    central = numerical_grad(math.exp, 1.0, eps=1e-3)
    forward = numerical_grad(math.exp, 1.0, eps=1e-3, method="forward")
    assert abs(central - exact) < 1e-6 < abs(forward - exact)
    assert abs(forward - exact) == pytest.approx(exact * 1e-3 / 2, rel=0.01)  # eps/2 * f''


def test_numerical_grad_names_the_input_when_a_nudge_leaves_the_domain():
    with pytest.raises(DomainError, match=r"numerical_grad: f is not defined at x = 0\.0") as info:
        numerical_grad(lambda x: x.sqrt(), [Value(0.0, label="x")])
    assert "method='forward'" in str(info.value)
    assert numerical_grad(lambda x: x.sqrt(), Value(0.0), eps=1e-6, method="forward") == (
        pytest.approx(1000.0)
    )


# ----- gradcheck ----------------------------------------------------------------------------
def test_gradcheck_passes_on_correct_gradients():
    f = lambda x, w, b: (x * w + b).tanh() + x.log() * w**2 / (1 + b.exp())
    assert gradcheck(f, [1.5, -0.3, 0.7]) is True
    assert gradcheck(f, [1.5, -0.3, 0.7], order=2) is True


def test_gradcheck_second_derivatives_are_the_closed_forms():
    rows = compare_gradients(lambda x, y: x**3 * y, [2.0, 5.0], order=2)
    by_name = {row.name: row for row in rows}
    assert by_name["x"].analytic == pytest.approx(3 * 4 * 5)
    assert by_name["x [create_graph]"].analytic == pytest.approx(60)
    assert by_name["x, x"].analytic == pytest.approx(6 * 2 * 5)
    assert by_name["x, y"].analytic == pytest.approx(3 * 4)
    assert by_name["y, y"].analytic == 0
    assert all(row.ok for row in rows)
    assert all(row.abs_error < 1e-6 for row in rows)


def test_gradcheck_leaves_your_values_alone():
    x = Value(1.2, label="x")
    x.grad = 3.0
    assert gradcheck(lambda x: x * x.sin(), [x], order=2)
    assert (x.data, x.grad) == (1.2, 3.0)


def test_wrong_derivative_gives_a_table_with_the_formula(register):
    cube = register("cube", lambda x: x**3, lambda x, out: 3 * x)  # should be 3*x**2
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, w: cube(x) * w, [1.5, 2.0])
    message = str(info.value)
    assert "1 of 2 derivatives disagree" in message
    assert "f = cube(x)*w" in message
    assert "at x=1.5, w=2.0" in message
    assert "input" in message and "analytic" in message and "numeric" in message
    x_row, w_row = info.value.rows
    assert x_row.name == "x" and not x_row.ok
    assert x_row.analytic == pytest.approx(3 * 1.5 * 2.0)
    assert x_row.numeric == pytest.approx(3 * 1.5**2 * 2.0, rel=1e-6)
    assert x_row.abs_error == pytest.approx(4.5, rel=1e-6)
    assert x_row.rel_error == pytest.approx(4.5 / 13.5, rel=1e-6)
    assert w_row.ok and w_row.analytic == pytest.approx(1.5**3)
    x_line = next(line for line in message.splitlines() if line.strip().startswith("x "))
    assert x_line.endswith("<- mismatch")
    assert isinstance(info.value, AssertionError)  # a failed check in any test runner
    assert gradcheck(lambda x: cube(x), [1.5], raise_exception=False) is False


def test_order_2_catches_a_rule_that_only_works_on_floats(register):
    # math.cos turns a Value into a plain float, so backward(create_graph=True) loses the
    # dependence on x: first derivatives are right, second derivatives are not
    msin = register("msin", math.sin, lambda x, out: math.cos(x))
    assert gradcheck(lambda x: msin(x), [0.7])
    with pytest.raises(GradcheckError, match=r"x, x .*<- mismatch") as info:
        gradcheck(lambda x: msin(x), [0.7], order=2)
    second = next(row for row in info.value.rows if row.name == "x, x")
    assert second.analytic == 0.0
    assert second.numeric == pytest.approx(-math.sin(0.7), rel=1e-6)
    assert "second derivative" in str(info.value)


def test_tolerances_decide():
    f = lambda x: x * x
    assert gradcheck(f, [1.0], atol=0, rtol=1e-9)
    rows = compare_gradients(f, [1e3], atol=0, rtol=0)
    assert rows[0].abs_error > 0 and not rows[0].ok  # rounding of central differences


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gradcheck(lambda x: 3.0, [1.0]), TypeError, "f must return a Value.*got float"),
        (lambda: gradcheck(lambda x: None, [1.0]), TypeError, "got NoneType"),
        (lambda: gradcheck(lambda x: [x], [1.0]), TypeError, "got list"),
        (lambda: gradcheck(lambda x: x, ["1.0"]), TypeError, r"input 0 is a str \('1.0'\)"),
        (lambda: gradcheck(lambda x, y: x, [1.0, None]), TypeError, "input 1 is a NoneType"),
        (lambda: gradcheck(lambda x: x, [1j]), TypeError, "input 0 is a complex"),
        (lambda: gradcheck(lambda x: x, [True]), TypeError, "input 0 is a bool"),
        (lambda: gradcheck(lambda x: x, [[1.0]]), TypeError, "input 0 is a list"),
        (lambda: gradcheck(lambda x: x, "1.0"), TypeError, "inputs must be a number"),
        (lambda: gradcheck(lambda x: x, [math.nan]), ValueError, "must be finite"),
        (lambda: gradcheck(lambda x: x, []), ValueError, "at least one input"),
        (lambda: gradcheck(lambda x: x, [1.0], eps=0), ValueError, "eps must be a positive"),
        (lambda: gradcheck(lambda x: x, [1.0], eps=-1e-6), ValueError, "got -1e-06"),
        (lambda: gradcheck(lambda x: x, [1.0], eps=math.inf), ValueError, "eps must be"),
        (lambda: gradcheck(lambda x: x, [1.0], eps="1e-6"), ValueError, "eps must be"),
        (lambda: gradcheck(lambda x: x, [1.0], atol=-1), ValueError, "atol must be"),
        (lambda: gradcheck(lambda x: x, [1.0], order=3), ValueError, "order must be 1 or 2"),
        (lambda: gradcheck("x**2", [1.0]), TypeError, "f must be a function"),
        (lambda: numerical_grad(lambda x: x, [1.0], eps=0), ValueError, "eps must be"),
        (lambda: numerical_grad(lambda x: x, [1.0], method="back"), ValueError, "method"),
        (lambda: numerical_grad(lambda x: "y", [1.0]), TypeError, "must return a Value or a"),
        (lambda: numerical_grad(lambda x: x, ["a"]), TypeError, "inputs must be numbers"),
        (lambda: numerical_grad(lambda x: x, 1e12, eps=1e-6), ValueError, "eps=1e-06 is too small"),
    ],
)
def test_bad_input_gives_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_row_names_come_from_labels_then_parameter_names():
    rows = compare_gradients(lambda weight, bias: weight * bias, [Value(2.0, label="w"), 3.0])
    assert [row.name for row in rows] == ["w", "bias"]
    rows = compare_gradients(lambda *xs: Value.sum(xs), [1.0, 2.0])
    assert [row.name for row in rows] == ["x0", "x1"]


# ----- graphs as functions ------------------------------------------------------------------
def test_graph_function_replays_the_ops_of_the_table():
    x, w = Value(1.0, label="x"), Value(2.0, label="w")
    y = (x * w + 3).tanh() * x
    f = graph_function(y, [x, w])
    assert f(1.0, 2.0) == y.data
    assert f(0.5, -1.0) == pytest.approx(math.tanh(0.5 * -1.0 + 3) * 0.5)
    rebuilt = f(Value(0.5, label="a"), Value(-1.0, label="b"))
    assert isinstance(rebuilt, Value)
    assert rebuilt.formula() == "tanh(a*b + 3)*a"
    assert y.formula() == "tanh(x*w + 3)*x"  # the original graph is unchanged
    with pytest.raises(TypeError, match="takes 2 input"):
        f(1.0)


def test_graph_function_refuses_hand_built_nodes():
    x = Value(1.0)
    weird = Value(2.0, (x,), "mystery")
    with pytest.raises(TypeError, match="not an op of chainrule's table"):
        graph_function(weird, [x])


def test_assert_gradients_close_on_a_graph_checks_every_leaf():
    x = Value(0.8, label="x")
    y = x * x.sin() + 2 * x  # leaves: x and the constant 2
    assert_gradients_close(y)
    assert_gradients_close(y, [x], order=2)
    assert_gradients_close(lambda a: a.exp() * a, [0.3], order=2)


def test_assert_gradients_close_reports_the_graph(register):
    bad = register("bad_square", lambda x: x * x, lambda x, out: x)  # should be 2x
    x = Value(1.5, label="x")
    with pytest.raises(GradcheckError, match=r"f = bad_square\(x\) \+ x\n  at x=1\.5"):
        assert_gradients_close(bad(x) + x, [x])
    with pytest.raises(GradcheckError):
        assert_gradients_close(lambda t: bad(t), [1.5])


def test_assert_gradients_close_bad_targets():
    with pytest.raises(TypeError, match="give the inputs"):
        assert_gradients_close(lambda x: x)
    with pytest.raises(TypeError, match="takes an expression, a Value or a function"):
        assert_gradients_close(3.0)
    with pytest.raises(TypeError, match="must be Values of that graph"):
        assert_gradients_close(Value(1.0) * 2, [1.0])
