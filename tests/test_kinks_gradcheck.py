"""gradcheck at kinks (one-sided differences), in random directions, and on a replayed graph."""

from __future__ import annotations

import math

import pytest

import autograd
from autograd import GradcheckError, Value, gradcheck, ops
from autograd.gradcheck import compare_gradients


# ----- kinks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "f", "left", "right"),
    [
        ("relu", lambda x: x.relu(), 0.0, 1.0),
        ("abs", lambda x: abs(x), -1.0, 1.0),
        ("leaky_relu", lambda x: x.leaky_relu(0.1), 0.1, 1.0),
        ("leaky_relu", lambda x: x.leaky_relu(-2.0), -2.0, 1.0),
        ("relu", lambda x: (x * 3.0).relu() * 2.0, 0.0, 6.0),
    ],
)
def test_builtin_kinks_pass_between_the_one_sided_differences(name, f, left, right):
    assert gradcheck(f, [0.0])
    (row,) = compare_gradients(f, [0.0])
    assert row.ok and f"a kink of {name}" in row.note
    assert f"left {left:.6g}, right {right:.6g}" in row.note


def test_pytorch_gradcheck_fails_relu_at_zero_where_this_one_passes():
    """pytorch#114234: the central difference at the kink is 0.5, relu'(0) is 0."""
    (row,) = compare_gradients(lambda x: x.relu(), [0.0])
    assert row.analytic == 0.0 and row.numeric == pytest.approx(0.5)
    assert row.ok


def test_a_user_op_with_a_declared_kink(register):
    hinge = register(
        "hinge_at_one", lambda x: max(1.0 - x, 0.0), lambda x, out: -1.0 if x < 1 else 0.0,
        kinks=(1.0,),
    )  # fmt: skip
    assert hinge.kinks and hinge.kink_sides([1.0]) == (0.0,)
    assert gradcheck(lambda x: hinge(x), [1.0])


def test_a_two_input_kink_declared_as_a_switch(register):
    larger = register(
        "larger", lambda a, b: max(a, b),
        (lambda a, b, out: 1.0 if a >= b else 0.0, lambda a, b, out: 0.0 if a >= b else 1.0),
        kinks=lambda a, b: a - b,
    )  # fmt: skip
    assert gradcheck(lambda a, b: larger(a, b) * 2.0, [0.5, 0.5])
    rows = compare_gradients(lambda a, b: larger(a, b), [0.5, 0.5])
    assert all(row.ok and "a kink of larger" in row.note for row in rows)


def test_a_wrong_derivative_at_a_kink_still_fails_with_the_kink_row(register):
    wrong = register(
        "wrong_relu", lambda x: max(x, 0.0), lambda x, out: 2.0 if x >= 0 else 0.0,
        kinks=(0.0,),
    )  # fmt: skip
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, w: wrong(x * w), [0.0, 1.5])
    message = str(info.value)
    assert "x: at a kink of wrong_relu, in wrong_relu(x*w): left 0, right 1.5, analytic 3" in (
        message
    )
    assert [row.ok for row in info.value.rows] == [False, True]


def test_away_from_kinks_nothing_changes(register):
    wrong = register("wrong_square", lambda x: x * x, lambda x, out: 3 * x)
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: wrong(x), [1.0])
    rows = compare_gradients(lambda x: (x * 2.0).relu(), [0.75])
    assert rows[0].note == "" and rows[0].numeric == pytest.approx(2.0)


def test_an_undeclared_kink_is_not_excused(register):
    sneaky = register("sneaky_relu", lambda x: max(x, 0.0), lambda x, out: ops.step(x))
    assert sneaky.kinks == ()
    with pytest.raises(GradcheckError):
        gradcheck(lambda x: sneaky(x), [0.0])  # step(0) = 0, central difference 0.5


# ----- many inputs: random directions ---------------------------------------------------------
def _quadratic(*xs):
    return Value.sum([x * x * (0.5 + 0.01 * i) for i, x in enumerate(xs)])


def test_directional_mode_passes_a_correct_function_of_500_inputs():
    point = [math.sin(i) for i in range(500)]
    assert gradcheck(_quadratic, point, mode="directional", directions=6)
    rows = compare_gradients(_quadratic, point, mode="directional", directions=6, seed=3)
    assert [row.name for row in rows] == [f"direction {k}" for k in range(1, 7)]
    again = compare_gradients(_quadratic, point, mode="directional", directions=6, seed=3)
    assert [r.numeric for r in rows] == [r.numeric for r in again]  # seeded


def test_directional_mode_catches_a_wrong_derivative_among_500_inputs(register):
    off = register("wrong_square", lambda x: x * x, lambda x, out: 3.0 * x)  # should be 2x

    def f(*xs):
        return _quadratic(*xs[:-1]) + off(xs[-1])  # only the last input is wrong

    point = [math.cos(i) for i in range(500)]
    with pytest.raises(GradcheckError, match="direction"):
        gradcheck(f, point, mode="directional", directions=4)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("mode", "random", "mode must be"), ("directions", 0, "directions must be")],
)
def test_bad_options(option, value, message):
    with pytest.raises(ValueError, match=message):
        gradcheck(lambda x: x * x, [1.0], **{option: value})


# ----- one graph, replayed ---------------------------------------------------------------------
def test_replaying_the_graph_gives_the_same_numbers_as_calling_f():
    def f(x, w, b):
        return (x * w + b).tanh() * (x - w).relu() + (w * b).exp()

    point = [0.3, -1.2, 0.7]
    replayed = compare_gradients(f, point, reuse_graph=True)
    called = compare_gradients(f, point, reuse_graph=False)
    assert [r.numeric for r in replayed] == [r.numeric for r in called]


def test_a_graph_that_changes_with_its_inputs_is_called_not_replayed():
    calls = []

    def f(x):
        calls.append(x.data)
        return x * x if x.data > 1.0 else x * 3.0  # another graph right of x = 1

    rows = compare_gradients(f, [1.0], eps=1e-6)
    assert len(calls) == 3  # the checked point and both nudges: f was called each time
    assert rows[0].analytic == 3.0


def test_replay_raises_the_domain_error_of_f():
    with pytest.raises(autograd.DomainError, match="not defined"):
        gradcheck(lambda x: x.log(), [1e-9], eps=1e-6, reuse_graph=True)


@pytest.mark.parametrize(
    ("f", "point"),
    [
        (lambda x0, x1: abs(x0) * x0 / x1, [0.0, 0.0625]),
        (lambda x0, x1: x0.exp() * abs(x1) * x0.exp() * x1, [0.3, 0.0]),
    ],
)
def test_one_sided_differences_are_second_order_accurate(f, point):
    """Two-point one-sided differences missed these by ~eps*f''/2 > atol (found by a
    3,000-example run of expressions(at_kinks=True)); three-point ones do not."""
    rows = compare_gradients(f, point)
    assert all(row.ok for row in rows), rows


def test_a_constant_taken_from_the_inputs_is_not_replayed():
    """x * x.data: the constant moves with x, so replaying the first graph would be wrong."""
    rows = compare_gradients(lambda x: x * x.data, [1.5])
    assert rows[0].analytic == 1.5 and rows[0].numeric == pytest.approx(3.0)
    assert not rows[0].ok  # backward cannot see through .data: the check must say so
