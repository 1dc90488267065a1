"""Graphs drawn exactly on kinks (``expressions(at_kinks=True)``), kinks read from the op
table by the strategies, and ``chainrule check --kinks``."""

from __future__ import annotations

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from autograd import REGISTRY, Value
from autograd.checking import check_op
from autograd.gradcheck import compare_gradients, graph_function
from autograd.ops import step
from autograd.strategies import (
    MARGIN,
    Expression,
    assert_gradients_close,
    expressions,
    well_posed,
)
from viz.cli import main

BUILTIN = [op for op in REGISTRY.values() if op.builtin]
KINKED = [op for op in BUILTIN if op.kinks]


def inner_nodes(expr: Expression) -> list[Value]:
    return [node for node in expr.output.topological_order() if node._prev]


def sides(node: Value) -> tuple[float, ...]:
    return node.op.kink_sides([p.data for p in node._prev])


def assert_on_a_kink(expr: Expression) -> None:
    """Some node of the graph sits exactly on a kink: exactly the nodes in kink_nodes."""
    assert expr.kink_nodes, expr
    on_kinks = [node for node in inner_nodes(expr) if 0.0 in sides(node)]
    assert [id(n) for n in on_kinks] == [id(n) for n in expr.kink_nodes], expr
    for node in inner_nodes(expr):  # every other node is a margin away from its kinks
        if all(node is not k for k in expr.kink_nodes):
            assert well_posed(node.op, [p.data for p in node._prev]), (expr, node)


def register_user_kinks(register) -> list:
    """A one-input op with a kink at 1 and a two-input op whose kink is a switch."""
    hinge = register(
        "hinge_at_one", lambda x: max(1.0 - x, 0.0), lambda x, out: -1.0 + step(x - 1.0),
        kinks=(1.0,),
    )  # fmt: skip
    larger = register(
        "larger", lambda a, b: max(a, b),
        (lambda a, b, out: step(a - b), lambda a, b, out: 1.0 - step(a - b)),
        kinks=lambda a, b: a - b,
    )  # fmt: skip
    return [hinge, larger]


# ----- expressions(at_kinks=True) ---------------------------------------------------------------
@pytest.mark.parametrize("op", KINKED, ids=lambda op: op.name)
@settings(max_examples=30)
@given(data=st.data())
def test_every_drawn_graph_has_a_node_of_the_op_exactly_on_a_kink(op, data):
    expr = data.draw(expressions(ops=[op], at_kinks=True))
    assert_on_a_kink(expr)
    (node,) = expr.kink_nodes
    assert node.op.name == op.name  # the op under test is the one on its kink


@pytest.mark.parametrize("which", [0, 1], ids=["hinge_at_one", "larger"])
def test_registered_ops_with_declared_kinks(register, which):
    user_op = register_user_kinks(register)[which]

    @settings(max_examples=30, database=None)
    @given(expressions(ops=[user_op], at_kinks=True))
    def check(expr):
        assert_on_a_kink(expr)
        assert expr.kink_nodes[0].op.name == user_op.name
        assert_gradients_close(expr)

    check()


def test_the_kink_of_a_user_op_is_solved_for_exactly(register):
    hinge, _ = register_user_kinks(register)
    expr = find(expressions(ops=[hinge], at_kinks=True), lambda e: True)
    assert repr(expr) == "hinge_at_one(x0)  at x0=1.0  (on a kink: hinge_at_one(x0))"


@settings(max_examples=30)
@given(expressions(ops=["tanh", "log"], at_kinks=True))
def test_ops_without_kinks_are_joined_to_a_node_of_mix_on_a_kink(expr):
    assert_on_a_kink(expr)
    names = {node.op.name for node in inner_nodes(expr)}
    assert names & {"tanh", "log"}, expr
    assert expr.kink_nodes[0].op.kinks


def test_default_ops_at_kinks_include_registered_ones(register):
    register_user_kinks(register)
    seen = set()

    @settings(max_examples=100, database=None, derandomize=True)
    @given(expressions(at_kinks=True))
    def check(expr):
        assert_on_a_kink(expr)
        seen.add(expr.kink_nodes[0].op.name)

    check()
    assert {"relu", "abs", "leaky_relu", "hinge_at_one", "larger"} <= seen


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ops": ["tanh"], "mix": ()}, "none of the ops under test .* declares a kink"),
        ({"ops": ["tanh"], "mix": ["relu"]}, "a two-input op"),
        ({"ops": ["tanh"], "n_inputs": 1}, "n_inputs and max_depth of at least 2"),
    ],
)
def test_impossible_kink_requests_fail_when_the_strategy_is_made(kwargs, match):
    with pytest.raises(ValueError, match=match):
        expressions(at_kinks=True, **kwargs)


def test_a_wrong_derivative_at_a_kink_shrinks_to_the_kink(register):
    # right everywhere but at the kink, where 2 lies outside the one-sided slopes 0 and 1
    bad = register(
        "bad_at_kink", lambda x: max(x, 0.0),
        lambda x, out: 2.0 if x == 0 else step(x), kinks=(0.0,),
    )  # fmt: skip

    def fails(expr: Expression) -> bool:
        rows = compare_gradients(graph_function(expr.output, expr.inputs), list(expr.inputs))
        return not all(row.ok for row in rows)

    config = settings(database=None, derandomize=True)
    with pytest.raises(Exception, match="No examples found"):
        find(expressions(ops=[bad]), fails, settings=config)  # away from kinks it is right
    minimal = find(expressions(ops=[bad], at_kinks=True), fails, settings=config)
    assert repr(minimal) == "bad_at_kink(x0)  at x0=0.0  (on a kink: bad_at_kink(x0))"


# ----- the default strategy keeps away from kinks, read from the table --------------------------
@pytest.mark.parametrize("op", KINKED, ids=lambda op: op.name)
@settings(max_examples=30)
@given(data=st.data())
def test_default_graphs_keep_every_node_a_margin_away_from_declared_kinks(op, data):
    expr = data.draw(expressions(ops=[op]))
    assert expr.kink_nodes == () and "on a kink" not in repr(expr)
    for node in inner_nodes(expr):
        args = [p.data for p in node._prev]
        for side in sides(node):
            assert abs(side) >= MARGIN * max(1.0, *map(abs, args)), (expr, node)


def test_well_posed_reads_the_declared_kinks(register):
    # smooth rules, but a declared kink at 1: the declaration is what keeps nodes away
    declared = register("kinked_identity", lambda x: x, lambda x, out: 1.0, kinks=(1.0,))
    assert not well_posed(declared, [1.0]) and not well_posed(declared, [1.0005])
    assert well_posed(declared, [1.01]) and well_posed(declared, [0.0])


def test_an_undeclared_kink_is_still_measured(register):
    forgot = register("abs_undeclared", abs, lambda x, out: step(x) * 2.0 - 1.0)
    assert not forgot.kinks
    assert not well_posed(forgot, [0.0]) and not well_posed(forgot, [0.0004])
    assert well_posed(forgot, [0.5])

    @settings(max_examples=30, database=None)
    @given(expressions(ops=[forgot]))
    def check(expr):
        for node in inner_nodes(expr):
            if node.op.name == "abs_undeclared":
                assert abs(node._prev[0].data) > MARGIN / 2, expr

    check()


# ----- the property test at kinks, over every op --------------------------------------------------
@pytest.mark.parametrize("op", BUILTIN, ids=lambda op: op.name)
@settings(max_examples=40)
@given(data=st.data())
def test_gradients_at_kinks_in_random_graphs(op, data):
    """backward's derivative lies between the one-sided differences at the kink (and
    agrees with central differences everywhere else), whatever the graph around it."""
    expr = data.draw(expressions(ops=[op], at_kinks=True), label="expr")
    assert_gradients_close(expr)


# ----- chainrule check --kinks -----------------------------------------------------------------
def table_rows(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 5 and cells[-1] in ("pass", "FAIL"):
            rows[cells[0]] = cells[1:]
    return rows


def test_check_kinks_adds_a_row_at_the_kinks_of_each_op(capsys):
    code = main(["check", "--kinks", "--ops", "relu", "abs", "leaky_relu", "tanh",
                 "--examples", "20"])  # fmt: skip
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert list(rows) == [
        "relu", "relu@kink", "abs", "abs@kink", "leaky_relu", "leaky_relu@kink", "tanh"
    ]  # fmt: skip
    assert all(row == ["20", *row[1:3], "pass"] for row in rows.values()), out
    assert "--kinks: 3 of them declare kinks" in out
    assert "all 7 checks passed." in out and code == 0


def test_check_kinks_catches_a_derivative_wrong_only_at_the_kink(register, capsys):
    register(
        "bad_at_kink", lambda x: max(x, 0.0),
        lambda x, out: 2.0 if x == 0 else step(x), kinks=(0.0,),
    )  # fmt: skip
    assert main(["check", "--kinks", "--ops", "bad_at_kink", "--examples", "20"]) == 1
    out = capsys.readouterr().out
    rows = table_rows(out)
    assert rows["bad_at_kink"][-1] == "pass" and rows["bad_at_kink@kink"][-1] == "FAIL"
    assert "bad_at_kink@kink: minimal failing graph: bad_at_kink(x0)  at x0=0.0" in out
    assert "a kink of bad_at_kink" in out and "1 of 2 checks failed." in out


def test_check_kinks_without_kinked_ops(capsys):
    assert main(["check", "--kinks", "--ops", "tanh", "--examples", "5"]) == 0
    out = capsys.readouterr().out
    assert "--kinks: none of these ops declares a kink" in out
    assert list(table_rows(out)) == ["tanh"] and "all 1 ops passed." in out


def test_check_op_at_kinks_arguments():
    result = check_op("relu", examples=10, at_kinks=True)
    assert result.passed and result.label == "relu@kink" and result.examples == 10
    with pytest.raises(ValueError, match="declares no kinks"):
        check_op("tanh", at_kinks=True)
    with pytest.raises(ValueError, match="second derivatives do not exist at a kink"):
        check_op("relu", at_kinks=True, order=2)
