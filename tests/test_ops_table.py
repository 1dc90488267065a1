"""Every op of the table, checked against central differences and closed forms.

The tests iterate over the registry, so an op added to the table is checked
automatically, and ``CLOSED_FORMS`` must name it or ``test_every_op_has_a_closed_form``
fails.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd import REGISTRY, DomainError, Value
from autograd.engine import apply

from .helpers import central_difference, close


def softmax_entry(i, *xs):
    return math.exp(xs[i]) / sum(math.exp(x) for x in xs)


# op name -> (parameters to bind, forward on floats, closed-form derivative(s))
CLOSED_FORMS = {
    "add": ((), lambda a, b: a + b, (lambda a, b: 1.0, lambda a, b: 1.0)),
    "sub": ((), lambda a, b: a - b, (lambda a, b: 1.0, lambda a, b: -1.0)),
    "mul": ((), lambda a, b: a * b, (lambda a, b: b, lambda a, b: a)),
    "truediv": ((), lambda a, b: a / b, (lambda a, b: 1 / b, lambda a, b: -a / b**2)),
    "neg": ((), lambda x: -x, (lambda x: -1.0,)),
    "pow": ((3,), lambda x: x**3, (lambda x: 3 * x**2,)),
    "pow_value": (
        (),
        lambda a, b: a**b,
        (lambda a, b: b * a ** (b - 1), lambda a, b: a**b * math.log(a)),
    ),
    "exp": ((), math.exp, (math.exp,)),
    "log": ((), math.log, (lambda x: 1 / x,)),
    "sqrt": ((), math.sqrt, (lambda x: 1 / (2 * math.sqrt(x)),)),
    "abs": ((), abs, (lambda x: math.copysign(1.0, x) if x else 0.0,)),
    "tanh": ((), math.tanh, (lambda x: 1 / math.cosh(x) ** 2,)),
    "sigmoid": (
        (),
        lambda x: 1 / (1 + math.exp(-x)),
        (lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2,),
    ),
    "relu": ((), lambda x: max(x, 0.0), (lambda x: 1.0 if x > 0 else 0.0,)),
    "leaky_relu": ((0.1,), lambda x: x if x > 0 else 0.1 * x, (lambda x: 1.0 if x > 0 else 0.1,)),
    "softplus": ((), lambda x: math.log(1 + math.exp(x)), (lambda x: 1 / (1 + math.exp(-x)),)),
    "sin": ((), math.sin, (math.cos,)),
    "cos": ((), math.cos, (lambda x: -math.sin(x),)),
    "gaussian": ((), lambda x: math.exp(-(x**2)), (lambda x: -2 * x * math.exp(-(x**2)),)),
    "sum": ((), lambda a, b, c: a + b + c, (lambda a, b, c: 1.0,) * 3),
    "logsumexp": (
        (),
        lambda a, b, c: math.log(math.exp(a) + math.exp(b) + math.exp(c)),
        tuple(partial(softmax_entry, i) for i in range(3)),
    ),
}

BUILTIN = [op for op in REGISTRY.values() if op.builtin]


def bound(op):
    params = CLOSED_FORMS[op.name][0]
    return op.bind(*params) if op.param_names else op


def test_every_op_has_a_closed_form():
    missing = [op.name for op in BUILTIN if op.name not in CLOSED_FORMS]
    assert not missing, f"ops without closed-form tests: {missing}"


def test_registry_lists_the_issue_ops():
    names = {op.name for op in BUILTIN}
    for name in [
        "add",
        "sub",
        "mul",
        "truediv",
        "pow",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "tanh",
        "sigmoid",
        "relu",
        "leaky_relu",
        "softplus",
        "sin",
        "cos",
        "gaussian",
        "sum",
    ]:
        assert name in names


inputs = st.floats(min_value=-4, max_value=4, allow_nan=False)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda op: op.name)
@given(xs=st.lists(inputs, min_size=3, max_size=3))
def test_gradient_matches_closed_form_and_finite_differences(op, xs):
    op = bound(op)
    _, forward, closed = CLOSED_FORMS[op.name]
    n = len(closed)
    xs = xs[:n]
    assume(op.check_domain(xs))
    assume(all(abs(x) > 1e-3 for x in xs))  # away from kinks
    if op.name == "pow_value":
        assume(xs[0] > 0.05)
    if op.name in ("log", "sqrt", "truediv"):
        assume(abs(xs[-1]) > 0.05)
    values = [Value(x) for x in xs]
    out = apply(op, tuple(values))
    assert close(out.data, forward(*xs), rel=1e-9, abs_=1e-12)
    out.backward()
    for i, v in enumerate(values):
        assert close(v.grad, closed[i](*xs), rel=1e-9, abs_=1e-12), (op.name, i, xs)
        numeric = central_difference(forward, xs, i)
        assert close(v.grad, numeric, rel=1e-4, abs_=1e-5), (op.name, i, xs, v.grad, numeric)


@pytest.mark.parametrize("op", [op for op in BUILTIN if op.vectorized], ids=lambda op: op.name)
def test_vectorized_form_matches_forward(op):
    op = bound(op)
    n = op.arity or 3
    rng = np.random.default_rng(0)
    cols = [rng.uniform(0.2, 3.0, size=50) for _ in range(n)]
    expected = [op.evaluate([c[j] for c in cols]) for j in range(50)]
    np.testing.assert_allclose(op(*cols), expected, rtol=1e-12)


@pytest.mark.parametrize("op", BUILTIN, ids=lambda op: op.name)
def test_derivative_rules_evaluate_on_arrays(op):
    """The one rule per input serves numpy arrays too (for the compiled path)."""
    op = bound(op)
    n = op.arity or 3
    rng = np.random.default_rng(1)
    cols = [rng.uniform(0.2, 3.0, size=20) for _ in range(n)]
    out = op(*cols)
    grads = op.local_grads(cols, out)
    for j in range(20):
        scalar = op.local_grads([c[j] for c in cols], out[j])
        for g, s in zip(grads, scalar):
            assert close(float(np.broadcast_to(g, (20,))[j]), float(s), rel=1e-12)


# ----- kinks follow PyTorch ---------------------------------------------------------------
@pytest.mark.parametrize(
    "method, expected",
    [("relu", 0.0), ("abs", 0.0), ("leaky_relu", 0.01)],
)
def test_derivatives_at_zero_follow_pytorch(method, expected):
    x = Value(0.0)
    getattr(x, method)().backward()
    assert x.grad == expected


# ----- domains ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, op_name",
    [
        (lambda: Value(0.0).log(), "log"),
        (lambda: Value(-1.0).log(), "log"),
        (lambda: Value(-1.0).sqrt(), "sqrt"),
        (lambda: Value(1.0) / 0, "truediv"),
        (lambda: 1 / Value(0.0), "truediv"),
        (lambda: Value(-8.0) ** (1 / 3), "pow"),
        (lambda: Value(0.0) ** -1, "pow"),
        (lambda: Value(-2.0) ** Value(0.5), "pow_value"),
        (lambda: Value(1000.0).exp(), "exp"),
        (lambda: Value(10.0) ** 400, "pow"),
    ],
)
def test_domain_errors_name_the_op_and_operand(make, op_name):
    with pytest.raises(DomainError) as info:
        make()
    assert info.value.op.name == op_name
    assert op_name in str(info.value)
    assert info.value.operands


def test_overflow_is_reported_as_overflow():
    with pytest.raises(DomainError, match="overflow"):
        Value(1000.0).exp()


@pytest.mark.parametrize("op", [op for op in BUILTIN if op.domain], ids=lambda op: op.name)
@given(xs=st.lists(st.floats(min_value=-3, max_value=3), min_size=3, max_size=3))
def test_domain_predicate_agrees_with_forward(op, xs):
    """The declared domain is exactly where forward succeeds (no silent wrong numbers).

    An overflow (3e-207 ** -2) is a range error, not outside the math domain: it is
    reported as "overflow" (see test_overflow_is_reported_as_overflow), not checked here.
    """
    op = bound(op)
    xs = xs[: op.arity or 3]
    inside = op.check_domain(xs)
    try:
        op.evaluate(xs)
        ok = True
    except DomainError as error:
        assume("overflow" not in str(error))
        ok = False
    assert ok == inside, (op.name, xs)


def test_infinite_derivative_is_an_error_not_a_number():
    x = Value(0.0)
    y = x.sqrt()
    with pytest.raises(DomainError, match="sqrt"):
        y.backward()
