"""The Hypothesis strategies: values, expressions (graphs that respect the op table's
domains), networks, and the property test a user writes for their own op."""

from __future__ import annotations

import sys

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from autograd import REGISTRY, Value
from autograd.strategies import (
    Expression,
    GradcheckError,
    assert_gradients_close,
    expressions,
    values,
)
from nn.strategies import networks

from .helpers import central_difference

BUILTIN = [op for op in REGISTRY.values() if op.builtin]


def inner_nodes(expr: Expression) -> list[Value]:
    return [node for node in expr.output.topological_order() if node._prev]


def depth(node: Value, inputs) -> int:
    if not node._prev or any(node is x for x in inputs):
        return 0
    return 1 + max(depth(p, inputs) for p in node._prev)


def test_autograd_does_not_import_hypothesis():
    import subprocess

    code = "import autograd, sys; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----- values -----------------------------------------------------------------------------
@given(values(-2.0, 5.0, label="w", min_magnitude=0.1))
def test_values_are_labelled_leaves_in_range(v):
    assert isinstance(v, Value) and v.is_leaf and v.label == "w"
    assert -2.0 <= v.data <= 5.0 and abs(v.data) >= 0.1


def test_values_bad_range():
    with pytest.raises(ValueError, match="above max_value"):
        values(3.0, 1.0)


# ----- expressions ------------------------------------------------------------------------
@pytest.mark.parametrize("op", BUILTIN, ids=lambda op: op.name)
@settings(max_examples=15)
@given(data=st.data())
def test_every_node_is_well_posed_by_independent_finite_differences(op, data):
    """Each node's op is defined around its operands and its derivative rules agree with
    finite differences of its forward rule there: no node sits at a kink or domain edge."""
    expr = data.draw(expressions(ops=[op]))
    assert any(node.op.name == op.name for node in inner_nodes(expr)), expr
    for node in inner_nodes(expr):
        args = [p.data for p in node._prev]
        local = node.op.local_grads(args, node.data)
        for i, x in enumerate(args):
            for delta in (-1e-4, 1e-4):
                moved = list(args)
                moved[i] = x + delta * max(1.0, abs(x))
                assert node.op.check_domain(moved), (expr, node.op, moved)
            forward = lambda *xs, op=node.op: op.evaluate(xs)
            numeric = central_difference(forward, args, i, h=1e-7)
            assert local[i] == pytest.approx(numeric, rel=1e-4, abs=1e-5), (expr, node.op, args)


@settings(max_examples=40)
@given(expressions(n_inputs=(2, 3), max_depth=3, max_nodes=5))
def test_expression_shape(expr):
    assert 2 <= len(expr.inputs) <= 3
    assert [x.label for x in expr.inputs] == [f"x{i}" for i in range(len(expr.inputs))]
    assert all(x.is_leaf for x in expr.inputs)
    assert 1 <= len(inner_nodes(expr)) <= 5
    assert depth(expr.output, expr.inputs) <= 3
    assert expr.data == tuple(x.data for x in expr.inputs)
    assert expr(*expr.data) == expr.output.data  # replaying the table's ops
    text = repr(expr)
    assert text.startswith(expr.formula()) and "  at x0=" in text


@settings(max_examples=40)
@given(expressions(ops=["mul", "tanh"], mix=(), shared=False))
def test_trees_and_restricted_ops(expr):
    names = {node.op.name for node in inner_nodes(expr)}
    assert names <= {"mul", "tanh"}
    uses = [id(p) for node in inner_nodes(expr) for p in node._prev if p._prev]
    assert len(uses) == len(set(uses)), "an intermediate result was used twice in a tree"


def test_shared_graphs_reuse_subexpressions():
    def reuses(expr):
        uses = [id(p) for node in inner_nodes(expr) for p in node._prev if p._prev]
        return len(uses) > len(set(uses))

    found = find(expressions(), reuses, settings=settings(database=None, derandomize=True))
    assert reuses(found)


def test_domains_are_read_from_the_table(register):
    # an op defined only above 20, far outside the default input range, still gets drawn
    register(
        "log_shift",
        lambda x: __import__("math").log(x - 20),
        lambda x, out: 1 / (x - 20),
        domain=("x > 20", lambda x: x > 20),
    )

    @settings(max_examples=25, database=None)
    @given(expressions(ops=["log_shift"]))
    def check(expr):
        for node in inner_nodes(expr):
            if node.op.name == "log_shift":
                assert node._prev[0].data > 20.02
        assert_gradients_close(expr)

    check()


def test_an_op_defined_nowhere_is_a_clear_error(register):
    register("nowhere", lambda x: x, lambda x, out: 1.0, domain=("never", lambda x: False))
    with pytest.raises(ValueError, match="found no point where nowhere is defined"):
        find(expressions(ops=["nowhere"]), lambda e: True, settings=settings(database=None))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_inputs": 0}, "n_inputs must be at least 1"),
        ({"n_inputs": (3, 2)}, "n_inputs must be at least 1"),
        ({"ops": ["no_such_op"]}, "no op named 'no_such_op'.*known ops: add"),
        ({"ops": []}, "ops is empty"),
        ({"max_depth": 0}, "max_depth"),
        ({"min_value": 2.0, "max_value": 1.0}, "above max_value"),
    ],
)
def test_bad_arguments_fail_when_the_strategy_is_made(kwargs, match):
    with pytest.raises(ValueError, match=match):
        expressions(**kwargs)


# ----- the property test a user writes for their own op -----------------------------------
def test_a_correct_custom_op_passes_its_property_test(register):
    cube = register("cube_ok", lambda x: x**3, lambda x, out: 3 * x**2)

    @settings(max_examples=40, database=None)
    @given(expressions(ops=[cube]))
    def test_cube(expr):
        assert_gradients_close(expr, order=2)

    test_cube()


def test_a_wrong_derivative_is_caught_and_shrunk_to_a_readable_formula(register):
    cube = register("cube", lambda x: x**3, lambda x, out: 3 * x)  # should be 3 * x**2

    @settings(max_examples=60, derandomize=True, database=None)
    @given(expressions(ops=[cube]))
    def test_cube(expr):
        assert_gradients_close(expr)

    with pytest.raises(GradcheckError) as info:
        test_cube()
    report = "\n".join(getattr(info.value, "__notes__", []))
    # Hypothesis prints the minimal failing graph as a formula with its inputs (its
    # heading reads "Falsifying example" or, in newer releases, "Failing test case")
    assert "test_cube(\n    expr=cube(x0)  at x0=2.0,\n)" in report
    message = str(info.value)
    assert "f = cube(x0)\n  at x0=2.0" in message
    (row,) = info.value.rows
    assert (row.analytic, round(row.numeric, 6)) == (6.0, 12.0)


# ----- networks (nn.strategies: nn builds on autograd, never the reverse) ---------------------
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_network_gradients(net):
    assert repr(net).startswith("MLP(")
    assert len(net.inputs) == len(list(net.model.parameters()))
    assert_gradients_close(net)


def test_autograd_does_not_import_nn():
    import subprocess
    import sys

    code = "import sys, autograd, autograd.strategies; print('nn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
