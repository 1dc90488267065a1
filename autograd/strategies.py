"""Hypothesis strategies for gradient checks: random values, expression graphs and networks.

>>> from hypothesis import given
>>> from autograd.strategies import expressions, assert_gradients_close
>>> @given(expressions(ops=["tanh"]))
... def test_tanh_gradients(expr):
...     assert_gradients_close(expr)

Everything reads the op table: which ops exist (your registered ops included), how
many inputs each takes, its parameters, and its domain. A drawn graph keeps every
node a safe distance from where its op is undefined (log near 0, division near 0)
and from kinks (relu and abs near 0), measured numerically from the op's own
domain predicate and derivative rules, so finite differences are accurate on it
and a failure means a wrong derivative. Shrinking removes nodes and simplifies
numbers, so a failure prints a small graph as a readable formula.

This module needs Hypothesis (``pip install chainrule[test]``); ``import autograd``
does not import it.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hypothesis import strategies as st

from . import graph
from .engine import Value, apply
from .gradcheck import GradcheckError, assert_gradients_close, graph_function
from .operation import REGISTRY, DomainError, Op

__all__ = [
    "Expression",
    "GradcheckError",
    "assert_gradients_close",
    "expressions",
    "values",
]

# A node must stay defined and smooth within MARGIN * max(1, |operand|) of its operands;
# finite differences (eps around 1e-6) move an operand by at most eps * SENSITIVITY_BOUND,
# far less than that margin.
MARGIN = 1e-3
KINK_TOLERANCE = 1e-3
SENSITIVITY_BOUND = 100.0
VALUE_BOUND = 1e4
# Parameter values tried for parametrized ops (the exponent of pow, leaky_relu's slope).
PARAMETERS = (2, 3, 0.5, -1, 0.1, 1.5, -2)
# Where to look for a point of an op's domain when random numbers keep missing it.
_PROBES = (0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.1, -0.1, 5.0, -5.0, 10.0, -10.0, 50.0, -50.0)


class Expression:
    """A drawn graph: its ``output`` Value, its ``inputs`` (leaves), and a readable repr.

    ``expr(*numbers)`` recomputes the output at other input values (a float);
    ``expr(*values)`` rebuilds the graph on new Values. Hypothesis prints a failing
    expression as its formula and input values.
    """

    def __init__(self, output: Value, inputs: Sequence[Value], description: str | None = None):
        self.output = output
        self.inputs = tuple(inputs)
        self.description = description
        self.model: Any = None  # the nn model, for expressions drawn by networks()

    @property
    def data(self) -> tuple[float, ...]:
        """The input values."""
        return tuple(x.data for x in self.inputs)

    def formula(self) -> str:
        return self.output.formula()

    @functools.cached_property
    def _replay(self) -> Callable[..., Any]:
        return graph_function(self.output, self.inputs)

    def __call__(self, *args: Any) -> Any:
        return self._replay(*args)

    def __repr__(self) -> str:
        if self.description:
            return self.description
        where = ", ".join(f"{x.label or f'x{i}'}={x.data!r}" for i, x in enumerate(self.inputs))
        return f"{self.formula()}  at {where}"


# ----- values -----------------------------------------------------------------------------
def _floats(min_value: float, max_value: float) -> st.SearchStrategy[float]:
    return st.floats(
        min_value, max_value, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


def values(
    min_value: float = -3.0,
    max_value: float = 3.0,
    *,
    label: str = "",
    min_magnitude: float = 0.0,
) -> st.SearchStrategy[Value]:
    """Leaf Values with finite data in ``[min_value, max_value]``, ``|data| >= min_magnitude``."""
    if not min_value <= max_value:
        raise ValueError(f"values: min_value {min_value} is above max_value {max_value}")
    numbers = _floats(min_value, max_value)
    if min_magnitude > 0:
        numbers = numbers.filter(lambda x: abs(x) >= min_magnitude)
    return numbers.map(lambda x: Value(x, label=label))


# ----- is an op safe to differentiate numerically at these operands? ----------------------
def _local(op: Op, xs: Sequence[float]) -> list[float] | None:
    """The op's local derivatives at xs as finite floats, or None if undefined there."""
    try:
        out = op.evaluate(xs)
        grads = [float(g) for g in op.local_grads(list(xs), out)]
    except (ArithmeticError, ValueError, TypeError):
        return None
    if not math.isfinite(out) or not all(math.isfinite(g) for g in grads):
        return None
    return grads


def well_posed(op: Op, xs: Sequence[float]) -> bool:
    """True when ``op`` is defined, moderate and smooth in a neighbourhood of ``xs``.

    Read from the table: the op's domain predicate must hold a margin away on every
    side, and its derivative rules must agree with linear interpolation there (a
    kink, such as relu's at 0, makes them jump).
    """
    xs = [float(x) for x in xs]
    if not op.check_domain(xs):
        return False
    try:
        out = op.evaluate(xs)
    except DomainError:
        return False
    if not abs(out) <= VALUE_BOUND:
        return False
    center = _local(op, xs)
    if center is None or not all(abs(g) <= VALUE_BOUND for g in center):
        return False
    for j, x in enumerate(xs):
        # the derivatives at five points across the margin: a jump between any two
        # neighbours (a kink) breaks the smoothness of some three in a row
        step = MARGIN * max(1.0, abs(x)) / 2
        samples = []
        for k in (-2, -1, 1, 2):
            ys = list(xs)
            ys[j] = x + k * step
            grads = _local(op, ys) if op.check_domain(ys) else None
            if grads is None:
                return False
            samples.append(grads)
        samples.insert(2, center)
        for a, b, c in zip(samples, samples[1:], samples[2:]):
            for da, db, dc in zip(a, b, c):
                if abs(da - 2 * db + dc) > KINK_TOLERANCE * (1 + abs(db)):
                    return False
    return True


def _sensitivity(op: Op, parents: Sequence[float], tangents: Sequence[Sequence[float]]):
    """Forward-mode: d node / d inputs from the parents' derivatives (or None if too large)."""
    local = _local(op, parents)
    if local is None:
        return None
    n = len(tangents[0])
    tangent = [sum(d * t[i] for d, t in zip(local, tangents)) for i in range(n)]
    if not all(abs(t) <= SENSITIVITY_BOUND for t in tangent):
        return None
    return tangent


def graph_is_well_posed(output: Value, inputs: Sequence[Value]) -> bool:
    """True when every node of the graph is :func:`well_posed` and no node reacts to an
    input more strongly than finite differences can follow."""
    position = {id(x): i for i, x in enumerate(inputs)}
    tangents: dict[int, list[float]] = {}
    for node in graph.topological_order(output):
        if id(node) in position:
            tangent = [0.0] * len(inputs)
            tangent[position[id(node)]] = 1.0
        elif not node._prev:
            tangent = [0.0] * len(inputs)
        else:
            args = [p.data for p in node._prev]
            if not graph.has_table_op(node) or not well_posed(node.op, args):
                return False
            found = _sensitivity(node.op, args, [tangents[id(p)] for p in node._prev])
            if found is None:
                return False
            tangent = found
        tangents[id(node)] = tangent
    return True


# ----- which ops ----------------------------------------------------------------------------
def _resolve(ops: Iterable[Op | str] | None, default: Callable[[], list[Op]]) -> list[Op]:
    if ops is None:
        return default()
    if isinstance(ops, (str, Op)):
        ops = [ops]
    resolved = []
    for entry in ops:
        if isinstance(entry, Op):
            resolved.append(entry)
        elif isinstance(entry, str) and entry in REGISTRY:
            resolved.append(REGISTRY[entry])
        else:
            known = ", ".join(REGISTRY)
            raise ValueError(f"no op named {entry!r} in the table; known ops: {known}")
    return resolved


def _arity(draw: Callable[..., Any], op: Op) -> int:
    return op.arity if op.arity is not None else draw(st.integers(1, 3))


def _bound(draw: Callable[..., Any], op: Op) -> Op:
    if not op.needs_params:
        return op
    return op.bind(*(draw(st.sampled_from(PARAMETERS)) for _ in op.param_names))


def _acceptable(op: Op, args: Sequence[float], tangents: Sequence[Sequence[float]]) -> bool:
    return well_posed(op, args) and _sensitivity(op, args, tangents) is not None


def _unit_tangents(pattern: tuple[int, ...]) -> list[list[float]]:
    n = max(pattern) + 1
    return [[1.0 if i == j else 0.0 for j in range(n)] for i in pattern]


# (id of op, pattern) -> (op, points); the op is kept to tell a re-registered name apart
_DOMAIN_POINTS: dict[tuple[int, tuple[int, ...]], tuple[Op, list[tuple[float, ...]]]] = {}


def _domain_points(op: Op, pattern: tuple[int, ...]) -> list[tuple[float, ...]]:
    """Points of the probe grid where ``op`` is well posed; ``pattern`` maps each operand
    to one of the distinct inputs (so ``x0 / x0`` needs one number, not two)."""
    cached = _DOMAIN_POINTS.get((id(op), pattern))
    if cached is not None and cached[0] is op:
        return cached[1]
    tangents = _unit_tangents(pattern)
    found = [
        combo
        for combo in itertools.product(_PROBES, repeat=max(pattern) + 1)
        if _acceptable(op, [combo[i] for i in pattern], tangents)
    ]
    # points nearest the origin first, so shrinking prefers them
    found.sort(key=lambda combo: max(abs(x) for x in combo))
    if len(_DOMAIN_POINTS) > 512:
        _DOMAIN_POINTS.clear()
    _DOMAIN_POINTS[(id(op), pattern)] = (op, found)
    return found


def _operand_values(
    draw: Callable[..., Any], op: Op, pattern: tuple[int, ...], numbers: st.SearchStrategy[float]
) -> list[float]:
    """Distinct input values at which ``op`` is well posed: random ones when they fit,
    else a point of the op's domain found by probing (for narrow domains)."""
    n = max(pattern) + 1
    drawn = [draw(numbers) for _ in range(n)]
    if _acceptable(op, [drawn[i] for i in pattern], _unit_tangents(pattern)):
        return drawn
    points = _domain_points(op, pattern)
    if not points:
        raise ValueError(
            f"expressions: found no point where {op.name} is defined and smooth "
            f"(domain: {op.domain.text if op.domain else 'everywhere'}) among "
            f"{len(_PROBES) ** n} probes between -50 and 50"
        )
    anchor = draw(st.sampled_from(points))
    # spread around the probe point when that stays well posed
    spread = [x * (1 + draw(_floats(-0.25, 0.25))) for x in anchor]
    if _acceptable(op, [spread[i] for i in pattern], _unit_tangents(pattern)):
        return spread
    return list(anchor)


# ----- expressions --------------------------------------------------------------------------
def _builtin_ops() -> list[Op]:
    return [op for op in REGISTRY.values() if op.builtin]


def _all_ops() -> list[Op]:
    return list(REGISTRY.values())


def expressions(
    n_inputs: int | tuple[int, int] = (1, 3),
    ops: Iterable[Op | str] | None = None,
    max_depth: int = 4,
    shared: bool = True,
    *,
    mix: Iterable[Op | str] | None = None,
    max_nodes: int = 8,
    min_value: float = -3.0,
    max_value: float = 3.0,
) -> st.SearchStrategy[Expression]:
    """Random expression graphs over inputs ``x0, x1, ...``, as :class:`Expression`.

    * ``n_inputs``: how many inputs, an int or a ``(min, max)`` range.
    * ``ops``: the ops under test, by name or Op; every graph applies at least one of
      them. Default: every registered op, yours included.
    * ``mix``: other ops the graph may combine them with. Default: the built-in ops
      (when ``ops`` is given), so a failure points at the ops under test; ``mix=()``
      for graphs made of ``ops`` alone.
    * ``max_depth``: the longest chain of ops from an input to the output;
      ``max_nodes``: how many op nodes are drawn.
    * ``shared=True`` lets later nodes reuse earlier results (``a*a``, ``a + log(a)``),
      where gradient-accumulation bugs hide; ``shared=False`` draws trees (each
      intermediate result is used once; inputs may repeat).
    * inputs are drawn from ``[min_value, max_value]``; an op with a narrow domain
      gets inputs inside it anyway.

    Every node is kept away from its op's domain edges and kinks (see
    :func:`well_posed`), so the graph is safe for finite differences with eps up to
    about 1e-5.
    """
    low, high = (n_inputs, n_inputs) if isinstance(n_inputs, int) else n_inputs
    if not 1 <= low <= high:
        raise ValueError(f"expressions: n_inputs must be at least 1, got {n_inputs!r}")
    if max_depth < 1 or max_nodes < 1:
        raise ValueError("expressions: max_depth and max_nodes must be at least 1")
    if not min_value <= max_value:
        raise ValueError(f"expressions: min_value {min_value} is above max_value {max_value}")
    # explicit lists are checked now (a typo fails at once); defaults read the table per draw
    chosen = None if ops is None else _resolve(ops, _all_ops)
    if chosen is not None and not chosen:
        raise ValueError("expressions: ops is empty")
    mixed = None if mix is None else _resolve(mix, _all_ops)
    return _expressions(
        (low, high), chosen, mixed, max_depth, shared, max_nodes, min_value, max_value
    )


@st.composite
def _expressions(
    draw: Callable[..., Any],
    n_range: tuple[int, int],
    chosen: list[Op] | None,
    mixed: list[Op] | None,
    max_depth: int,
    shared: bool,
    max_nodes: int,
    min_value: float,
    max_value: float,
) -> Expression:
    required = chosen if chosen is not None else _all_ops()
    if mixed is not None:
        others = mixed
    else:
        others = _builtin_ops() if chosen is not None else required
    choices = required + [op for op in others if not any(op is r for r in required)]
    numbers = _floats(min_value, max_value)
    n_inputs = draw(st.integers(*n_range))

    # The first node applies an op under test directly to inputs chosen to suit its domain.
    first = _bound(draw, draw(st.sampled_from(required)))
    pattern = tuple(i % n_inputs for i in range(_arity(draw, first)))
    data = _operand_values(draw, first, pattern, numbers)
    data += [draw(numbers) for _ in range(n_inputs - len(data))]
    inputs = [Value(x, label=f"x{i}") for i, x in enumerate(data)]
    out = apply(first, tuple(inputs[i] for i in pattern))
    units = [[1.0 if i == j else 0.0 for j in range(n_inputs)] for i in range(n_inputs)]
    first_tangent = _sensitivity(first, [data[i] for i in pattern], [units[i] for i in pattern])
    assert first_tangent is not None  # _operand_values made sure
    # pool entries: (node, depth, d node / d inputs, whether it applies an op under test)
    pool: list[tuple[Value, int, list[float], bool]] = [
        (x, 0, t, False) for x, t in zip(inputs, units)
    ]
    current = (out, 1, first_tangent, True)  # the output so far
    pool.append(current)
    used: set[int] = set()

    for _ in range(draw(st.integers(0, max_nodes - 1))):
        # one node in four applies an op under test again, on results of other nodes
        pool_of_ops = choices if draw(st.integers(0, 3)) else required
        op = _bound(draw, draw(st.sampled_from(pool_of_ops)))
        k = _arity(draw, op)
        candidates = [
            entry
            for entry in reversed(pool)
            if entry[1] < max_depth and (shared or not entry[0]._prev or id(entry[0]) not in used)
        ]
        picks = [candidates[draw(st.integers(0, len(candidates) - 1))] for _ in range(k)]
        if any(entry is current for entry in candidates) and draw(st.integers(0, 3)):
            picks[0] = current  # grow the graph from its output (else nodes often dangle)
        intermediates = [id(p[0]) for p in picks if p[0]._prev]
        if not shared and len(set(intermediates)) < len(intermediates):
            continue
        args = [p[0].data for p in picks]
        if not well_posed(op, args):
            continue  # this node would sit too close to a domain edge or a kink
        tangent = _sensitivity(op, args, [p[2] for p in picks])
        if tangent is None:
            continue
        node = apply(op, tuple(p[0] for p in picks))
        used.update(intermediates)
        tested = any(p[3] for p in picks) or any(op is r or op.name == r.name for r in required)
        entry = (node, 1 + max(p[1] for p in picks), tangent, tested)
        pool.append(entry)
        if tested:
            current = entry  # the output is the last node that exercises an op under test
    return Expression(current[0], inputs)
