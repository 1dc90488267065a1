"""The core's shape: an op is a value, one graph walk, micrograd's string habits, no circles."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import Value, ops
from autograd.strategies import expressions

ROOT = Path(__file__).resolve().parents[1]


# ----- an op is a value ----------------------------------------------------------------------
def test_ops_with_different_parameters_differ():
    slow, fast = ops.leaky_relu.bind(0.1), ops.leaky_relu.bind(0.5)
    assert slow != fast and hash(slow) != hash(fast)
    assert slow == ops.leaky_relu.bind(0.1) and hash(slow) == hash(ops.leaky_relu.bind(0.1))
    assert ops.pow.bind(2) != ops.pow.bind(3)
    assert len({slow, fast, ops.leaky_relu.bind(0.1)}) == 2


def test_an_op_is_not_its_display_text():
    assert ops.add != "+" and "+" != ops.add
    assert str(ops.add) == "+" and str(ops.pow.bind(2)) == "**2"
    assert repr(ops.leaky_relu.bind(0.1)) == "Op('leaky_relu', slope=0.1)"
    assert {"+": 1}.get(ops.add) is None


def test_ops_that_print_alike_are_still_different(register):
    twin = register("twin_add", lambda a, b: a + b, (1.0, 1.0), symbol="+")
    assert str(twin) == str(ops.add) and twin != ops.add


def test_a_re_registered_name_is_a_new_operation():
    first = autograd.register_op("again_op", lambda x: 2 * x, lambda x, out: 2.0)
    autograd.unregister_op("again_op")
    second = autograd.register_op("again_op", lambda x: 3 * x, lambda x, out: 3.0)
    try:
        assert first != second
    finally:
        autograd.unregister_op("again_op")


@pytest.mark.parametrize("x0", [-2.0, -0.5, 1.5])
def test_compiled_leaky_relus_with_different_slopes_are_not_merged(x0):
    """Was -0.4 compiled against -1.2 in the scalar engine at x = -2."""
    x = Value(x0)
    y = x.leaky_relu(0.1) + x.leaky_relu(0.5)
    program = autograd.compile(y, [x])
    out = program.forward(np.array([[x0]]))
    expected = (x0 if x0 > 0 else 0.1 * x0) + (x0 if x0 > 0 else 0.5 * x0)
    assert out[0, 0] == pytest.approx(expected, rel=1e-12)
    grads = program.run(np.array([[x0]]), program.parameter_values(), reduction="sum")[2]
    assert grads[0, 0] == pytest.approx(2.0 if x0 > 0 else 0.6, rel=1e-12)


def test_compiled_pows_with_different_exponents_are_not_merged():
    x = Value(1.5)
    program = autograd.compile(x**2 + x**3, [x])
    batch = np.array([[1.5], [-2.0]])
    out, _, grads = program.run(batch, program.parameter_values(), reduction="sum")
    assert out[:, 0] == pytest.approx([1.5**2 + 1.5**3, 4.0 - 8.0])
    assert grads[:, 0] == pytest.approx([2 * 1.5 + 3 * 1.5**2, -4.0 + 12.0])


@pytest.mark.parametrize("name", ["linear", "dot", "batch", "static", "stacked"])
def test_user_ops_named_like_the_compilers_own_steps_compile(register, name):
    """register_op('linear', ...) once made compile() fail with a KeyError."""
    user_op = register(name, lambda x: 3.0 * x + 1.0, lambda x, out: 3.0)
    x, w = Value(2.0, label="x"), Value(0.5, label="w")
    y = user_op(x * w) + x * 4.0
    program = autograd.compile(y, [x], [w])
    batch = np.array([[2.0], [-1.0]])
    out, param_grads, input_grads = program.run(batch, np.array([0.5]), reduction="sum")
    assert out[:, 0] == pytest.approx([3 * 1.0 + 1 + 8.0, 3 * -0.5 + 1 - 4.0])
    assert param_grads[0] == pytest.approx(3 * 2.0 + 3 * -1.0)
    assert input_grads[:, 0] == pytest.approx([3 * 0.5 + 4.0] * 2)


# ----- one reverse walk ------------------------------------------------------------------------
@given(expressions(), st.floats(-3, 3).filter(lambda s: abs(s) > 1e-3))
def test_backward_stepper_and_gradients_are_the_same_walk(expr, seed_gradient):
    out, inputs = expr.output, list(expr.inputs)
    for x in inputs:
        x.grad = 0.0
    out.backward(seed_gradient)
    by_backward = [x.grad for x in inputs]
    for x in inputs:
        x.grad = 0.0
    steps = list(out.backward_steps(seed_gradient))
    by_steps = [x.grad for x in inputs]
    assert by_steps == by_backward
    assert len(steps) == sum(1 for n in out.topological_order() if n.op is not None)
    scaled = autograd.gradients(out, inputs)
    assert [seed_gradient * g for g in scaled] == pytest.approx(by_backward, rel=1e-12, abs=1e-300)


def test_only_the_graph_module_walks_a_graph_backwards():
    """A reverse walk over a topological order appears in autograd/graph.py alone."""
    walkers = []
    for package in ("autograd", "nn", "viz"):
        for path in sorted((ROOT / package).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "reversed":
                    walked = ast.unparse(node.args[0]).lower()
                    if "topo" in walked or "order" in walked:
                        walkers.append(f"{package}/{path.name}:{node.lineno}")
    assert walkers and all(w.startswith("autograd/graph.py:") for w in walkers), walkers


# ----- micrograd code that reads _op as a string ------------------------------------------------
def _micrograd_trace(root):  # micrograd's trace_graph.ipynb, unchanged
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def _micrograd_draw_dot(root):  # micrograd's trace_graph.ipynb, unchanged
    from graphviz import Digraph

    dot = Digraph(format="svg", graph_attr={"rankdir": "LR"})  # LR = left to right

    nodes, edges = _micrograd_trace(root)
    for n in nodes:
        uid = str(id(n))
        # for any value in the graph, create a rectangular ('record') node for it
        dot.node(name=uid, label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape="record")  # noqa: UP031
        if n._op:
            # if this value is a result of some operation, create an op node for it
            dot.node(name=uid + n._op, label=n._op)
            # and connect this node to it
            dot.edge(uid + n._op, uid)

    for n1, n2 in edges:
        # connect n1 to the op node of n2
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)

    return dot


def test_micrograd_trace_graph_notebook_runs_unchanged():
    from nn import Neuron

    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    source = _micrograd_draw_dot(y).source
    assert source.count("shape=record") == 6  # x, 2, x*2, 1, x*2 + 1, relu
    assert 'label="*"' in source and 'label="+"' in source and "label=ReLU" in source
    assert "grad 2.0000" in source  # dy/dx
    # the notebook's second cell: a neuron
    n = Neuron(2, nonlin=True)
    out = n([Value(1.0), Value(-2.0)])
    out.backward()
    assert _micrograd_draw_dot(out).source.count("->") > 0


def test_micrograd_string_fields():
    a, b = Value(2.0), Value(-3.0)
    d = a * b
    assert d._op == "*" and isinstance(d._op, str) and a._op == "" and not a._op
    assert d.op is ops.mul and a.op is None
    hand_made = Value(5.0, (a, b), "+")  # micrograd-style constructor
    assert hand_made._op == "+" and hand_made._prev == (a, b)
    with pytest.raises(TypeError, match=r"built by hand with _op='\+'"):
        hand_made.backward()


# ----- structure -----------------------------------------------------------------------------
def _imports(path: Path, package: str) -> set[str]:
    """Modules of autograd/nn/viz that a file imports, at any depth (TYPE_CHECKING excepted)."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = package + (f".{base}" if base else "")
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m.split(".")[0] in {"autograd", "nn", "viz"}}


def test_no_import_circles():
    modules = {}
    for package in ("autograd", "nn", "viz"):
        for path in (ROOT / package).glob("*.py"):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = _imports(path, package)
    edges = {
        name: {m for m in deps if m in modules and m != name and not name.startswith(m + ".")}
        for name, deps in modules.items()
    }
    edges = {k: {m for m in v if m.count(".") == 1} for k, v in edges.items()}  # module to module

    def reaches(start, goal, seen):
        for nxt in edges.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    circles = sorted(name for name in edges if name.count(".") == 1 and reaches(name, name, set()))
    assert circles == [], circles


def test_ops_all_names_every_builtin_op():
    builtin = {op.name for op in ops.table() if op.builtin}
    assert builtin <= set(ops.__all__)
    assert all(hasattr(ops, name) for name in ops.__all__)
