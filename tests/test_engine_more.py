"""The engine's smaller promises, each checked on what a user sees: exact error
messages, reprs, comparisons, labels kept by detach()."""

from __future__ import annotations

import math
import re

import pytest

from autograd import (
    AnomalyError,
    DomainError,
    Value,
    allow_nonfinite,
    detect_anomaly,
    no_grad,
    ops,
)


def exactly(message: str) -> str:
    """A ``match=`` pattern for the whole message, nothing more or less."""
    return "^" + re.escape(message) + "$"


# ----- messages ----------------------------------------------------------------------------
def test_backward_seed_of_the_wrong_type_says_what_a_seed_is():
    with pytest.raises(TypeError, match=exactly(
        "backward(gradient): the seed is one number, d(this)/d(this) (1.0 by default), "
        "or a Value; got str: 'ab'"
    )):  # fmt: skip
        Value(1.0).backward("ab")


def test_a_value_of_a_value_is_refused_with_the_way_out():
    with pytest.raises(TypeError, match=exactly(
        "Value(...) takes a number, not another Value; use value.data for its number "
        "or value.detach() for a copy cut from the graph"
    )):  # fmt: skip
        Value(Value(1.0))


def test_mean_of_nothing():
    with pytest.raises(ValueError, match=exactly("mean of no values")):
        Value.mean([])


# ----- comparisons read data, against Values and numbers ---------------------------------
@pytest.mark.parametrize(
    ("a", "b", "lt", "le", "gt", "ge"),
    [
        (1.0, 2.0, True, True, False, False),
        (2.0, 2.0, False, True, False, True),
        (3.0, 2.0, False, False, True, True),
    ],
)
def test_comparisons_against_values_and_numbers(a, b, lt, le, gt, ge):
    for other in (Value(b), b, int(b)):
        x = Value(a)
        assert (x < other, x <= other, x > other, x >= other) == (lt, le, gt, ge)
    # a number on the left: Python reflects to the Value's method
    assert (a < Value(b), a <= Value(b), a > Value(b), a >= Value(b)) == (lt, le, gt, ge)


def test_sorting_and_max_of_values_use_their_data():
    values = [Value(3.0), Value(-1.0), Value(2.0)]
    assert [v.data for v in sorted(values)] == [-1.0, 2.0, 3.0]
    assert max(values) is values[0]
    assert min(values) is values[1]


@pytest.mark.parametrize("compare", ["lt", "le", "gt", "ge"])
def test_comparing_with_text_is_a_clear_error(compare):
    with pytest.raises(TypeError, match=exactly(
        "Value holds one real number (int, float, bool or numpy scalar), not str: 'a'"
    )):  # fmt: skip
        getattr(Value(1.0), f"__{compare}__")("a")


# ----- detach and repr -----------------------------------------------------------------------
def test_detach_keeps_the_label_and_data_and_cuts_the_graph():
    x = Value(2.0, label="x")
    y = (x * 3).detach()
    assert (y.data, y.label, y.is_leaf) == (6.0, "", True)
    d = x.detach()
    assert (d.data, d.label, d.is_leaf) == (2.0, "x", True)
    assert repr(d) == "Value(data=2, grad=0, label='x')"


def test_repr_shows_a_gradient_that_is_a_value_as_its_repr():
    x = Value(2.0, label="x")
    (x * x).backward(create_graph=True)
    assert repr(x.grad) == "Value(data=4, grad=0, op='+')"
    assert repr(x) == "Value(data=2, grad=Value(data=4, grad=0, op='+'), label='x')"


# ----- tree() ------------------------------------------------------------------------------
def _tanh_chain(levels: int) -> Value:
    """x, tanh(x), tanh(tanh(x)), ...: a graph ``levels`` nodes deep."""
    v = Value(0.5, label="x")
    for _ in range(levels - 1):
        v = v.tanh()
    return v


def test_tree_shows_forty_levels_by_default_then_an_ellipsis():
    lines = str(_tanh_chain(40).tree()).splitlines()
    assert len(lines) == 40
    assert lines[-1].strip().startswith("└── x   data=0.5 ")
    lines = str(_tanh_chain(41).tree()).splitlines()
    assert len(lines) == 41  # 40 levels, then the "..." line instead of x
    assert lines[-1].strip() == "└── ... (deeper levels not shown: tree(max_depth=...))"
    assert not any(" x " in line or line.strip().startswith("└── x") for line in lines)


# ----- modes: no_grad and detect_anomaly ---------------------------------------------------
def test_a_value_made_under_no_grad_is_a_plain_leaf():
    x = Value(2.0)
    with no_grad():
        y = x * 3
    assert (y.data, y.is_leaf, y.op, y._op) == (6.0, True, None, "")
    assert repr(y) == "Value(data=6, grad=0)"


def test_detect_anomaly_leaves_finite_computations_alone():
    with detect_anomaly():
        a = Value(2.0)
        b = (a * a + 1).tanh()
        b.backward()
    assert b.data == pytest.approx(math.tanh(5.0))
    assert a.grad == pytest.approx((1 - math.tanh(5.0) ** 2) * 4.0)
    assert repr(b) == f"Value(data={math.tanh(5.0):.6g}, grad=1, op='tanh')"


def test_detect_anomaly_names_the_op_and_its_inputs_going_forward():
    with allow_nonfinite():
        x = Value(float("inf"))
        with detect_anomaly(), pytest.raises(AnomalyError) as info:
            x * 0
    head, site = str(info.value).split("\n  at ")
    assert head == "forward: mul(inf, 0.0) produced nan"
    assert site.strip()  # the source line (its text depends on how the tests run)


def test_detect_anomaly_going_backward_knows_where_nodes_were_created():
    x = Value(1e200)
    outside = x * 1e-200
    with detect_anomaly():
        inside = x * 1e-200
        with pytest.raises(AnomalyError) as info:
            inside.backward(gradient=1e300)
        head, site = str(info.value).split("\n  node created at ")
        assert head == (
            "backward: mul(1e+200, 1e-200) gave a non-finite gradient inf "
            "(upstream 1e+300 * local 1e+200)"
        )
        assert site.strip() and site != "(created outside detect_anomaly)"
        with pytest.raises(AnomalyError) as info:
            outside.backward(gradient=1e300)
        assert str(info.value).endswith("\n  node created at (created outside detect_anomaly)")


def test_an_exponent_that_is_not_a_number_is_refused():
    with pytest.raises(TypeError, match=exactly("exponent must be a number or a Value, not str")):
        Value(2.0) ** "a"


def test_a_nan_is_refused_with_the_way_to_ieee_semantics():
    with pytest.raises(ValueError, match=exactly(
        "a Value holds a finite number, not nan; chainrule never computes with a silent nan or "
        "inf (autograd.allow_nonfinite() gives IEEE semantics)"
    )):  # fmt: skip
        Value(float("nan"))


# ----- backward ----------------------------------------------------------------------------
def test_backward_takes_a_value_as_its_seed():
    x = Value(3.0)
    y = x * x
    y.backward(Value(2.0))
    assert float(x.grad) == 2.0 * 6.0  # seed * dy/dx


def test_a_non_finite_gradient_names_the_node_that_made_it():
    # y = x*1e-200 + c*2: mul(x, 1e-200) passes 1e300 * x = inf to the constant 1e-200;
    # the other branch and its leaves, walked before it, are fine
    x, c = Value(1e200), Value(1.0)
    y = x * 1e-200 + c * 2.0
    with pytest.raises(DomainError, match=exactly(
        "backward: mul(1e+200, 1e-200) passes a non-finite gradient inf to its input 2 "
        "(upstream 1e+300 * local derivative 1e+200); run backward inside "
        "autograd.detect_anomaly() to see the line that made the node, or use "
        "autograd.allow_nonfinite() for IEEE semantics"
    )) as info:  # fmt: skip
        y.backward(gradient=1e300)
    assert info.value.op == ops.mul
    assert info.value.operands == (1e200, 1e-200)


# ----- new nodes start with a zero gradient ----------------------------------------------------
def test_every_new_node_starts_with_grad_zero():
    x = Value(3.0)
    nodes = {
        "Value(data=9, grad=0, op='**2')": x**2,
        "Value(data=3, grad=0, op='leaky_relu')": x.leaky_relu(0.1),
        "Value(data=4, grad=0, op='sum')": Value.sum([x, 1.0]),
        "Value(data=6, grad=0, op='*')": x * 2,
        "Value(data=0.995055, grad=0, op='tanh')": x.tanh(),
    }
    for text, node in nodes.items():
        assert (repr(node), node.grad) == (text, 0.0)


# ----- apply: the op table called on Values ------------------------------------------------------
def test_n_ary_ops_of_nothing_are_refused():
    with pytest.raises(ValueError, match=exactly("sum of no values")):
        Value.sum([])
    with pytest.raises(ValueError, match=exactly("logsumexp of no values")):
        Value.logsumexp([])


@pytest.mark.parametrize(
    "call",
    [lambda op, *args: op(*args), lambda op, *args: Value.apply(op, args)],
    ids=["op_call", "Value_apply"],
)
def test_ops_called_with_the_wrong_arguments_say_so(call):
    with pytest.raises(TypeError, match=exactly("tanh takes 1 argument(s), got 2")):
        call(ops.tanh, Value(1.0), Value(2.0))
    with pytest.raises(TypeError, match=exactly(
        "op 'pow' needs parameters ('n',); use .bind(...)"
    )):  # fmt: skip
        call(ops.pow, Value(1.0))
    assert repr(call(ops.pow.bind(3), Value(2.0))) == "Value(data=8, grad=0, op='**3')"


def test_a_label_that_is_not_text_is_refused():
    with pytest.raises(TypeError, match=exactly("a Value's label must be a str, not int: 3")):
        Value(1.0, label=3)
    assert Value(1.0, label=None).label is None  # None is let through
