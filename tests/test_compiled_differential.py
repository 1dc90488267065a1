"""Differential tests: the compiled path against the scalar engine, on random graphs.

Every output, parameter gradient and input gradient of :func:`autograd.compile`'s program
over a batch must equal the scalar engine's, run row by row with the same seed, to a
relative 1e-9. The graphs are drawn over every op of the table, with several nodes of
one op and different parameters at the same depth (``leaky_relu(x, 0.1)`` beside
``leaky_relu(x, 0.5)``, ``x**2`` beside ``x**3``), n-ary sums and logsumexps of several
arities, neuron-shaped sums, dot products, static (parameter-only) subgraphs and shared
subexpressions. As both engines read the same op table, the compiled gradients are also
checked against central finite differences, and a deliberately broken compiler (ops
grouped by name only) must be caught, with a small graph as the counterexample.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import autograd
import nn
from autograd import Op, Value
from autograd.engine import apply
from autograd.strategies import expressions, graph_is_well_posed, well_posed

from .helpers import central_difference

REL = 1e-9  # compiled vs scalar, relative
ABS = 1e-12  # the absolute floor for values near 0
TABLE = autograd.ops.table()  # the built-in ops (tests register theirs and remove them)


# ----- drawing graphs ------------------------------------------------------------------------
@dataclass
class Graph:
    """A drawn multi-output graph, the batch it is fed and how its outputs are seeded."""

    outputs: list[Value]
    inputs: list[Value]
    params: list[Value]
    batch: np.ndarray  # (n, inputs)
    seed: str | np.ndarray  # "mean", "sum", or an (n, outputs) array
    ops: set[Op] = field(default_factory=set, repr=False)

    def formula(self) -> str:
        return "; ".join(o.formula() for o in self.outputs)

    def seed_array(self) -> np.ndarray:
        n, m = len(self.batch), len(self.outputs)
        if isinstance(self.seed, np.ndarray):
            return self.seed
        return np.full((n, m), 1.0 / n if self.seed == "mean" else 1.0)

    def __repr__(self) -> str:
        params = ", ".join(f"{p.label}={p.data!r}" for p in self.params)
        return (
            f"outputs: {self.formula()}\n  rows of ({', '.join(x.label for x in self.inputs)}): "
            f"{self.batch.tolist()}\n  params: {params or 'none'}\n  seed: {self.seed!r}"
        )


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


# op parameters (pow's exponent, leaky_relu's slope): common ones, or any moderate number
PARAMETER_VALUES = st.one_of(
    st.sampled_from([2, 3, -1, 0.5, 0.1, 1.5, -2, 0.01, 4, -0.5]), _floats(-2.5, 3.5)
)


@dataclass
class _Entry:
    """A node of the graph being drawn, with its value at every row of the batch."""

    node: Value
    rows: np.ndarray
    batch: bool  # depends on the inputs


def _values_at_rows(op: Op, operands: Sequence[_Entry]) -> np.ndarray | None:
    """The op's output at every row, or None unless it is well posed at each one
    (inside its domain, away from kinks, moderate values and derivatives)."""
    out = []
    for args in zip(*(e.rows.tolist() for e in operands)):
        if not well_posed(op, args):
            return None
        out.append(op.evaluate(args))
    return np.array(out)


def _add(op: Op, operands: Sequence[_Entry], into: list[_Entry]) -> _Entry | None:
    """Apply ``op`` if it is well posed at every row; record the new entry."""
    rows = _values_at_rows(op, operands)
    if rows is None:
        return None
    entry = _Entry(apply(op, tuple(e.node for e in operands)), rows, any(e.batch for e in operands))
    into.append(entry)
    return entry


def _bindings(draw: Callable[..., Any], op: Op, first: tuple = ()) -> list[Op]:
    """``op`` itself, or bindings with up to 3 different parameters: ``first`` and at
    least one other when given."""
    if not op.param_names:
        return [op]
    entry = op.entry
    params = st.tuples(*[PARAMETER_VALUES] * len(entry.param_names))
    drawn = draw(st.lists(params, min_size=1, max_size=3 - bool(first)))
    return [entry.bind(*p) for p in dict.fromkeys([first, *drawn] if first else drawn)]


def _siblings(
    draw: Callable[..., Any], op: Op, operands: list[_Entry], into: list[_Entry], first: tuple = ()
) -> list[_Entry]:
    """``op`` with several parameters on the same operands (so at the same depth), and
    for an n-ary op also a different arity; sometimes added up, as in
    ``leaky_relu(x, 0.1) + leaky_relu(x, 0.5)``."""
    made = [e for bound in _bindings(draw, op, first) if (e := _add(bound, operands, into))]
    if op.arity is None and len(operands) > 1 and draw(st.booleans()):
        _add(op, operands[:-1], into)
    if len(made) > 1 and draw(st.booleans()):
        combine = autograd.ops.add if len(made) == 2 else autograd.ops.sum
        _add(combine, made, into)
    return made


def _neuron(draw: Callable[..., Any], pool: list[_Entry], fixed: list[_Entry], into: list[_Entry]):
    """sum(w_i * a_i) + b with static coefficients (a row of a matrix product)."""
    if not fixed:
        return
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        coef, source = draw(st.sampled_from(fixed)), draw(st.sampled_from(pool))
        pair = [source, coef] if draw(st.booleans()) else [coef, source]
        term = _add(autograd.ops.mul, pair, [])
        if term is not None:
            terms.append(term)
    if draw(st.booleans()):
        terms.append(draw(st.sampled_from(fixed)))
    if terms:
        _add(autograd.ops.sum, terms, into)


def _dot(draw: Callable[..., Any], pool: list[_Entry], into: list[_Entry]) -> None:
    """sum(a_i * b_i) of products of two batch values each (cross-entropy's shape)."""
    batch = [e for e in pool if e.batch]
    products = []
    for _ in range(draw(st.integers(1, 3))):
        term = _add(autograd.ops.mul, [draw(st.sampled_from(batch)) for _ in range(2)], [])
        if term is not None:
            products.append(term)
    if products:
        _add(autograd.ops.sum, products, into)


def _jittered_rows(draw: Callable[..., Any], first: Value, inputs: list[Value], n: int):
    """n rows around the inputs' values, at each of which the first node stays well posed."""
    center = np.array([x.data for x in inputs])
    position = {id(x): i for i, x in enumerate(inputs)}
    rows = [center]
    for _ in range(n - 1):
        jitter = np.array([draw(_floats(-0.5, 0.5)) for _ in inputs])
        for shrink in (1.0, 0.1, 0.0):  # the center itself is well posed
            row = center * (1 + shrink * jitter)
            if well_posed(first.op, [row[position[id(p)]] for p in first._prev]):
                break
        rows.append(row)
    return np.array(rows)


@st.composite
def graphs(draw: Callable[..., Any], required: Sequence[Op] = (), max_layers: int = 3) -> Graph:
    """A graph whose first node applies one of ``required`` (default: any op of the table),
    with siblings of other parameters, and 1 to ``max_layers`` layers of every op on top."""
    table = autograd.ops.table()
    first_op = draw(st.sampled_from(list(required) or table))
    # the strategies find inputs inside the first op's domain
    expr = draw(expressions(ops=[first_op], mix=(), max_nodes=1), label="first node")
    inputs = list(expr.inputs)
    batch = _jittered_rows(draw, expr.output, inputs, draw(st.integers(3, 5)))
    n = len(batch)
    params = [Value(draw(_floats(-2, 2)), label=f"w{i}") for i in range(draw(st.integers(0, 3)))]
    constants = [Value(draw(_floats(-2, 2))) for _ in range(draw(st.integers(0, 1)))]
    fixed = [_Entry(v, np.full(n, v.data), False) for v in params + constants]
    pool = [_Entry(x, batch[:, i], True) for i, x in enumerate(inputs)] + fixed
    operands = [pool[inputs.index(p)] for p in expr.output._prev]
    made: list[_Entry] = []
    _siblings(draw, first_op, operands, made, first=expr.output.op.params)
    for _ in range(draw(st.integers(min(1, max_layers), max_layers))):
        pool = pool + made
        made = []
        for _ in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(["op", "op", "op", "neuron", "dot"]))
            if kind == "neuron":
                _neuron(draw, pool, fixed, made)
            elif kind == "dot":
                _dot(draw, pool, made)
            else:
                op = draw(st.sampled_from(table))
                arity = op.arity if op.arity is not None else draw(st.integers(1, 4))
                chosen = [draw(st.sampled_from(pool)) for _ in range(arity)]
                _siblings(draw, op, chosen, made)
    nodes = [e.node for e in pool + made if e.node._prev]
    used = {id(p) for node in nodes for p in node._prev}
    outputs = [node for node in nodes if id(node) not in used]  # every node reaches one
    seed = draw(st.sampled_from(["mean", "sum", "random"]))
    if seed == "random":
        values = [draw(_floats(-2, 2)) for _ in range(n * len(outputs))]
        seed = np.array(values).reshape(n, len(outputs))
    return Graph(
        outputs, inputs, params, batch, seed, {node.op for node in _nodes(outputs) if node._prev}
    )


# ----- the two engines -----------------------------------------------------------------------
def _nodes(outputs: Sequence[Value]) -> list[Value]:
    """Every node the outputs depend on, parents first."""
    seen: dict[int, Value] = {}
    for out in outputs:
        for node in out.topological_order():
            seen.setdefault(id(node), node)
    return list(seen.values())


def scalar_engine(g: Graph, seed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(outputs, param grads, input grads) by the scalar engine: the graph rebuilt for
    each row on the same parameters, each output backpropagated with its seed."""
    for p in g.params:
        p.grad = 0.0
    order = _nodes(g.outputs)
    outputs, input_grads = [], []
    for r, row in enumerate(g.batch.tolist()):
        xs = [Value(v) for v in row]
        env = {id(x): v for x, v in zip(g.inputs, xs)}
        for node in order:
            if id(node) not in env:  # parameters and constants are shared by every row
                env[id(node)] = (
                    apply(node.op, tuple(env[id(p)] for p in node._prev)) if node._prev else node
                )
        outs = [env[id(o)] for o in g.outputs]
        for out, s in zip(outs, seed[r].tolist()):
            out.backward(gradient=s)
        outputs.append([o.data for o in outs])
        input_grads.append([x.grad for x in xs])
    param_grads = [p.grad for p in g.params]
    for p in g.params:
        p.grad = 0.0
    return np.array(outputs), np.array(param_grads), np.array(input_grads)


def assert_close(what: str, actual: Any, expected: Any, where: object) -> None:
    """Compiled ``actual`` equals scalar ``expected``; the message shows ``where`` (a
    Graph prints its formula, rows and parameters)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bad = ~np.isclose(actual, expected, rtol=REL, atol=ABS)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what} differ at {first}: compiled {actual[first]!r}, scalar {expected[first]!r} "
            f"({int(bad.sum())} of {bad.size} entries)\n  {where}"
        )


def assert_compiled_matches_scalar(g: Graph) -> None:
    """Program.run, Program.__call__ and Program.forward against the scalar engine."""
    program = autograd.compile(g.outputs, g.inputs, params=g.params)
    seed = g.seed_array()
    expected = scalar_engine(g, seed)
    given_seed = {"seed": seed} if isinstance(g.seed, np.ndarray) else {"reduction": g.seed}
    results = program.run(g.batch, program.parameter_values(), **given_seed)
    for what, actual, wanted in zip(
        ("outputs", "parameter gradients", "input gradients"), results, expected
    ):
        assert_close(what, actual, wanted, g)
    assert_close("forward outputs", program.forward(g.batch), expected[0], g)
    program(g.batch, **given_seed)  # adds into .grad, as backward does
    assert_close(".grad of the parameters", [p.grad for p in g.params], expected[1], g)
    assert_close("program.input_grads", program.input_grads, expected[2], g)
    for p in g.params:
        p.grad = 0.0


# ----- a. every op of the table --------------------------------------------------------------
@pytest.mark.parametrize("op", TABLE, ids=lambda op: op.name)
@given(data=st.data())
def test_graphs_around_each_op_compiled_equal_scalar(op, data):
    g = data.draw(graphs(required=[op]), label="graph")
    assert op.name in {o.name for o in g.ops}
    assert_compiled_matches_scalar(g)


def test_kinks_at_exactly_zero_follow_the_scalar_engine():
    """relu'(0) = abs'(0) = 0 and leaky_relu'(0) = slope on batch and static nodes alike."""
    x, w = Value(0.0, label="x0"), Value(0.0, label="w0")
    kinks = [x.relu(), abs(x), x.leaky_relu(0.1), x.leaky_relu(-0.5), x**2, (x * w).relu()]
    outputs = [*kinks, abs(w), w.leaky_relu(0.2), (w - w).relu() + w.relu()]
    batch = np.array([[0.0], [-0.0], [1.5], [-1.5]])
    for seed in ("mean", np.linspace(-1, 1, len(batch) * len(outputs)).reshape(len(batch), -1)):
        assert_compiled_matches_scalar(Graph(outputs, [x], [w], batch, seed))


@pytest.mark.parametrize("op", [op for op in TABLE if op.param_names], ids=lambda op: op.name)
def test_parametrised_ops_are_drawn_side_by_side(op):
    """The graphs of the test above do hold nodes of one op with different parameters
    on the same operands, so at the same depth."""
    side_by_side = []

    @given(graphs(required=[op]))
    def record(g):
        by_operands: dict[tuple, set[Op]] = {}
        for node in _nodes(g.outputs):
            if node._prev and node.op.name == op.name:
                by_operands.setdefault(tuple(map(id, node._prev)), set()).add(node.op)
        side_by_side.append(max(map(len, by_operands.values())))

    record()
    assert sum(count > 1 for count in side_by_side) >= len(side_by_side) // 2, side_by_side


# ----- b. user-registered ops, named like the compiler's own patterns ------------------------
def _user_ops(register: Callable[..., Op], numpy_form: bool) -> list[Op]:
    """Ops named linear, dot, matmul, batch and static; with a numpy form or without one
    (then evaluated element by element), their rules on arrays or on floats only."""
    vec = (lambda f: f) if numpy_form else (lambda f: None)
    return [
        register("linear", lambda x, w, b: x * w + b,
                 (lambda x, w, b, out: w, lambda x, w, b, out: x, 1.0),
                 vectorized=vec(lambda x, w, b: x * w + b)),
        register("dot", lambda a, b: a * b + math.sin(a),
                 (lambda a, b, out: b + autograd.ops.cos(a), lambda a, b, out: a),
                 vectorized=vec(lambda a, b: a * b + np.sin(a))),
        register("matmul", lambda a, b: a * b * b,
                 (lambda a, b, out: b * b, lambda a, b, out: 2 * a * b),
                 vectorized=vec(lambda a, b: a * b * b)),
        register("batch", lambda x: 2 * math.tanh(x),
                 lambda x, out: 2 * (1 - math.tanh(x) ** 2),  # floats only
                 vectorized=vec(lambda x: 2 * np.tanh(x))),
        register("static", lambda x: math.log(1 + x * x),
                 lambda x, out: 2 * x / (1 + x * x), domain=("any x", lambda x: True),
                 vectorized=vec(lambda x: np.log1p(x * x))),
    ]  # fmt: skip


@pytest.mark.parametrize("numpy_form", [True, False], ids=["vectorized", "elementwise"])
def test_user_ops_named_like_compiler_patterns(register, numpy_form):
    """Each op in graphs of its own, so none is left to chance (which examples a
    derandomized Hypothesis draws can depend on the modules imported before)."""
    seen: set[str] = set()
    for user_op in _user_ops(register, numpy_form):

        @settings(max_examples=15)
        @given(graphs(required=[user_op], max_layers=2))
        def check(g):
            seen.update(op.name for op in g.ops)
            assert_compiled_matches_scalar(g)

        check()
        assert user_op.name in seen


# ----- c. nn models: every activation, every loss ---------------------------------------------
def _data_for(
    loss: str, variant: int, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray, int, str]:
    """Inputs, targets suited to the loss, the number of outputs and the output
    activation; two variants per loss (one output or several, labels or probabilities)."""
    X = rng.normal(size=(n, 3))
    if loss in ("mse", "sse", "mae", "huber"):  # huber: residuals on both sides of delta
        width = 1 + variant
        return X, rng.normal(scale=2.0, size=(n, width) if variant else n), width, "linear"
    if loss in ("bce", "bce_with_logits"):
        y = rng.uniform(0, 1, size=n) if variant else rng.integers(0, 2, size=n)
        return X, y, 1, "sigmoid" if loss == "bce" else "linear"
    if loss == "hinge" and not variant:
        return X, rng.choice([-1, 1], size=n), 1, "linear"
    if loss == "cross_entropy" and variant:
        return X, rng.dirichlet(np.ones(3), size=n), 3, "linear"  # soft targets
    return X, rng.integers(0, 3, size=n), 3, "linear"  # class labels


@pytest.mark.parametrize("loss", sorted(nn.losses.LOSSES))
def test_mlps_with_every_activation_train_the_same(loss):
    """One full-batch SGD step (lr 1) by nn.fit on each engine: the same loss, and the
    same update, which is the gradient, for every activation in the hidden layers."""
    rng = np.random.default_rng(sorted(nn.losses.LOSSES).index(loss))
    for i, activation in enumerate(nn.ACTIVATIONS):
        X, y, width, last = _data_for(loss, i % 2, rng, 7)
        results = []
        for engine in ("scalar", "compiled"):
            model = nn.MLP(3, [4, 3, width], activation=[activation, activation, last], seed=5)
            before = np.array([p.data for p in model.parameters()])
            history = nn.fit(
                model, X, y, loss=loss, optimizer=nn.SGD(model.parameters(), lr=1.0), epochs=1,
                shuffle=False, quiet=True, engine=engine, penalty=nn.L2(1e-3),
            )  # fmt: skip
            assert history.engine == engine
            after = np.array([p.data for p in model.parameters()])
            results.append((history["loss"], before - after))
        where = f"MLP(3, [4, 3, {width}]) {activation}/{last} with {loss} loss"
        assert_close("losses", results[1][0], results[0][0], where)
        assert_close("gradients (SGD updates)", results[1][1], results[0][1], where)


# ----- d. an independent reference: central differences --------------------------------------
@pytest.mark.parametrize("op", TABLE, ids=lambda op: op.name)
@given(data=st.data())
def test_compiled_gradients_of_each_op_equal_finite_differences(op, data):
    """Input and parameter gradients of the compiled program against central differences
    of its own forward, on a small batch around a point the strategies keep well posed."""
    expr = data.draw(expressions(ops=[op], max_nodes=4), label="expr")
    n_inputs = data.draw(st.integers(1, len(expr.inputs)), label="inputs")
    inputs, params = list(expr.inputs[:n_inputs]), list(expr.inputs[n_inputs:])
    center = np.array(expr.data[:n_inputs])
    rows = [center]
    for _ in range(2):
        row = center * (1 + np.array([data.draw(_floats(-0.02, 0.02)) for _ in inputs]))
        moved = [Value(v) for v in [*row, *expr.data[n_inputs:]]]
        if graph_is_well_posed(expr(*moved), moved):
            rows.append(row)
    batch = np.array(rows)
    program = autograd.compile(expr.output, inputs, params=params)
    values = program.parameter_values()
    _, param_grads, input_grads = program.run(batch, values, reduction="sum")
    for r, row in enumerate(batch.tolist()):
        for i in range(n_inputs):
            numeric = central_difference(lambda *xs: program.forward([xs])[0, 0], row, i)
            _assert_near_numeric(
                f"d out / d {inputs[i].label} at row {r}", input_grads[r, i], numeric, expr
            )
    for j in range(len(params)):
        numeric = central_difference(
            lambda *ps: program.run(batch, np.array(ps), input_grads=False)[0].sum(),
            values.tolist(),
            j,
        )
        _assert_near_numeric(f"d sum(out) / d {params[j].label}", param_grads[j], numeric, expr)


def _assert_near_numeric(what: str, analytic: float, numeric: float, expr: Any) -> None:
    assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-6), (
        f"{what}: compiled {analytic!r}, central difference {numeric!r}\n  {expr!r}"
    )


# ----- e, f. a broken compiler is caught, with a small graph ----------------------------------
@contextmanager
def _ops_compared_by_name() -> Iterator[None]:
    """A mutation: ops equal when their names are (so leaky_relu(x, 0.1) and
    leaky_relu(x, 0.5) fall into one group of nodes)."""
    saved = Op.__eq__, Op.__hash__
    Op.__eq__ = lambda a, b: isinstance(b, Op) and a.name == b.name  # type: ignore[method-assign]
    Op.__hash__ = lambda a: hash(a.name)  # type: ignore[method-assign]
    try:
        yield
    finally:
        Op.__eq__, Op.__hash__ = saved  # type: ignore[method-assign]


def _fails(g: Graph) -> bool:
    try:
        assert_compiled_matches_scalar(g)
    except AssertionError:
        return True
    return False


def test_a_compiler_grouping_ops_by_name_is_caught_with_a_small_graph(monkeypatch):
    """Nodes of one depth share a group when their group keys are equal, and a key holds
    the node's op (autograd/compiler/schedule.py, group_kind); with ops compared by name
    while compiling, x**2 and x**3 run as one call. The property must fail, and shrink
    to a graph of a few nodes whose formula the message shows."""
    real_compile = autograd.compile

    def compile_grouping_by_name(*args, **kwargs):
        with _ops_compared_by_name():
            return real_compile(*args, **kwargs)

    monkeypatch.setattr(autograd, "compile", compile_grouping_by_name)
    parametrised = [op for op in TABLE if op.param_names]
    minimal = find(
        graphs(required=parametrised, max_layers=0), _fails,  # no layers: a short shrink
        settings=settings(database=None, derandomize=True, max_examples=200),
    )  # fmt: skip
    formula = minimal.formula()
    ops = [n.op for n in _nodes(minimal.outputs) if n._prev]
    assert len(ops) <= 4, formula
    assert any(a.name == b.name and a != b for a in ops for b in ops), formula
    with pytest.raises(AssertionError) as failure:
        assert_compiled_matches_scalar(minimal)
    assert formula in str(failure.value)
    monkeypatch.undo()
    assert_compiled_matches_scalar(minimal)  # the real compiler gets it right
