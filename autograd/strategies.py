"""Hypothesis strategies for gradient checks: random values, expression graphs and networks.

>>> from hypothesis import given
>>> from autograd.strategies import expressions, assert_gradients_close
>>> @given(expressions(ops=["tanh"]))
... def test_tanh_gradients(expr):
...     assert_gradients_close(expr)

Everything reads the op table: which ops exist (your registered ops included), how
many inputs each takes, its parameters, its domain and its kinks. A drawn graph keeps
every node a safe distance from where its op is undefined (log near 0, division near
0) and from its kinks (relu and abs at 0: the kinks the op declares, else measured
numerically from its derivative rules), so finite differences are accurate on it and
a failure means a wrong derivative. ``expressions(at_kinks=True)`` instead puts one
node exactly on a kink, for the kink-aware ``gradcheck``. Shrinking removes nodes and
simplifies numbers, so a failure prints a small graph as a readable formula.

This module needs Hypothesis (``pip install chainrule[test]``); ``import autograd``
does not import it.
"""

from __future__ import annotations

import functools
import itertools
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from hypothesis import reject
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
    ``expr(*values)`` rebuilds the graph on new Values. ``kink_nodes`` holds the nodes
    drawn exactly on a kink of their op (``expressions(at_kinks=True)``). Hypothesis
    prints a failing expression as its formula and input values.
    """

    def __init__(
        self,
        output: Value,
        inputs: Sequence[Value],
        description: str | None = None,
        *,
        kink_nodes: Sequence[Value] = (),
    ):
        self.output = output
        self.inputs = tuple(inputs)
        self.description = description
        self.kink_nodes = tuple(kink_nodes)  # nodes placed exactly on a kink of their op
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
        kinks = ", ".join(node.formula() for node in self.kink_nodes)
        return f"{self.formula()}  at {where}" + (f"  (on a kink: {kinks})" if kinks else "")


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


def _neighbours(xs: Sequence[float]) -> list[list[list[float]]]:
    """For each operand, ``xs`` with that operand moved by -2, -1, 1 and 2 half-margins."""
    rows = []
    for j, x in enumerate(xs):
        step = MARGIN * max(1.0, abs(x)) / 2
        row = []
        for k in (-2, -1, 1, 2):
            ys = list(xs)
            ys[j] = x + k * step
            row.append(ys)
        rows.append(row)
    return rows


def _around(op: Op, xs: list[float]) -> list[list[list[float]]] | None:
    """The op's derivatives at five points across the margin along each operand (the
    centre in the middle), or None where the op is undefined or immoderate near ``xs``."""
    if not op.check_domain(xs):
        return None
    try:
        out = op.evaluate(xs)
    except DomainError:
        return None
    if not abs(out) <= VALUE_BOUND:
        return None
    center = _local(op, xs)
    if center is None or not all(abs(g) <= VALUE_BOUND for g in center):
        return None
    rows = []
    for points in _neighbours(xs):
        samples = [_local(op, ys) if op.check_domain(ys) else None for ys in points]
        if any(grads is None for grads in samples):
            return None
        rows.append([*samples[:2], center, *samples[2:]])
    return rows


def _smooth(rows: list[list[list[float]]]) -> bool:
    """No kink measured: a jump between two neighbouring samples of the derivatives
    breaks the smoothness of some three in a row."""
    return all(
        abs(da - 2 * db + dc) <= KINK_TOLERANCE * (1 + abs(db))
        for samples in rows
        for a, b, c in zip(samples, samples[1:], samples[2:])
        for da, db, dc in zip(a, b, c)
    )


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)  # 0 for 0 and nan


def _clear_of_kinks(op: Op, xs: list[float], skip: int | None = None) -> bool:
    """True when every declared kink of ``op`` (but number ``skip``) keeps ``xs`` strictly
    on one side across the margin."""
    points = [xs] + [ys for row in _neighbours(xs) for ys in row]
    try:
        sides = [op.kink_sides(ys) for ys in points]
    except (ArithmeticError, ValueError, TypeError):
        return False
    return all(
        _sign(side[k]) == _sign(sides[0][k]) != 0
        for k in range(len(op.kinks))
        if k != skip
        for side in sides
    )


def well_posed(op: Op, xs: Sequence[float]) -> bool:
    """True when ``op`` is defined, moderate and smooth in a neighbourhood of ``xs``.

    Read from the table: the op's domain predicate must hold a margin away on every
    side, and ``xs`` must stay a margin away from the kinks the op declares (relu's at
    0). An op that declares none is measured: its derivative rules must agree with
    linear interpolation across the margin (a kink it did not declare makes them jump).
    """
    xs = [float(x) for x in xs]
    rows = _around(op, xs)
    if rows is None:
        return False
    return _clear_of_kinks(op, xs) if op.kinks else _smooth(rows)


def _on_kink(op: Op, xs: Sequence[float], kink: int) -> bool:
    """True when ``xs`` sit exactly on the op's kink number ``kink`` (its side is 0.0),
    the op is defined and moderate around them, and its other kinks are a margin away."""
    xs = [float(x) for x in xs]
    try:
        side = op.kink_sides(xs)[kink]
    except (ArithmeticError, ValueError, TypeError):
        return False
    return side == 0 and _around(op, xs) is not None and _clear_of_kinks(op, xs, skip=kink)


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


def _kink_sensitivity(
    op: Op, parents: list[float], tangents: Sequence[Sequence[float]]
) -> list[float] | None:
    """:func:`_sensitivity` for a node on a kink: the steepest of the one-sided
    derivatives sampled across the margin (or None if any is too large)."""
    points = [parents] + [ys for row in _neighbours(parents) for ys in row]
    found = [_sensitivity(op, ys, tangents) for ys in points]
    if any(t is None for t in found):
        return None
    return max(found, key=lambda t: max(map(abs, t)))


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


# ----- placing a node exactly on a kink -----------------------------------------------------
def _ordered(x: float) -> int:
    """The rank of ``x`` among floats: adjacent floats differ by 1 (-0.0 and 0.0 share 0)."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", x))
    return bits if bits < 1 << 63 else (1 << 63) - bits


def _unordered(rank: int) -> float:
    bits = rank if rank >= 0 else (1 << 63) - rank
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _root(g: Callable[[float], float | None], start: float) -> float | None:
    """A float ``v`` with ``g(v) == 0.0`` exactly: ``start``, a probe point, or one found
    by bisecting the floats between ``start`` and the nearest probe of the other sign."""
    g_start = g(start)
    if g_start is None:
        return None
    if g_start == 0:
        return start
    for probe in sorted((0.0, *_PROBES), key=lambda p: abs(p - start)):
        g_probe = g(probe)
        if g_probe == 0:
            return probe
        if g_probe is not None and (g_probe > 0) != (g_start > 0):
            return _bisect(g, start, probe, g_start > 0)
    return None


def _bisect(
    g: Callable[[float], float | None], a: float, b: float, a_positive: bool
) -> float | None:
    """Bisect the floats between ``a`` and ``b`` (where ``g`` has opposite signs) for a
    ``v`` with ``g(v) == 0.0``: at most 64 halvings; None if the zero falls between two
    adjacent floats."""
    lo, hi = _ordered(a), _ordered(b)
    while abs(hi - lo) > 1:
        mid = (lo + hi) // 2
        g_mid = g(_unordered(mid))
        if g_mid is None:
            return None
        if g_mid == 0:
            return _unordered(mid)
        if (g_mid > 0) == a_positive:
            lo = mid
        else:
            hi = mid
    return None


def _kink_point(
    op: Op, pattern: tuple[int, ...], data: list[float | None], solved: int, kink: int
) -> list[float | None] | None:
    """``data`` with input ``solved`` moved so that ``op`` applied to the inputs of
    ``pattern`` sits exactly on its kink number ``kink``, or None if no float does."""

    def side(v: float) -> float | None:
        ys = list(data)
        ys[solved] = v
        try:
            s = float(op.kink_sides([ys[i] for i in pattern])[kink])
        except (ArithmeticError, ValueError, TypeError):
            return None
        return s if math.isfinite(s) else None

    root = _root(side, data[solved])
    if root is None:
        return None
    placed = list(data)
    placed[solved] = root + 0.0  # never -0.0
    return placed if _on_kink(op, [placed[i] for i in pattern], kink) else None


def _kink_inputs(
    draw: Callable[..., Any],
    op: Op,
    data: list[float | None],
    numbers: st.SearchStrategy[float],
    joined: bool,
) -> tuple[tuple[int, ...], list[float | None]]:
    """Which inputs ``op`` takes and their values, so that it sits exactly on one of its
    kinks: drawn numbers, then one input solved for. When the node is ``joined`` to a node
    under test, that input is the last one (the others may be shared)."""
    n = len(data)
    if joined:
        pattern = tuple((n - 1 + i) % n for i in range(_arity(draw, op)))
        solved = n - 1
    else:
        pattern = tuple(i % n for i in range(_arity(draw, op)))
        solved = draw(st.sampled_from(sorted(set(pattern))))
    data = [draw(numbers) if x is None and i in pattern else x for i, x in enumerate(data)]
    placed = _kink_point(op, pattern, data, solved, draw(st.integers(0, len(op.kinks) - 1)))
    if placed is None:
        reject()  # no float puts these operands on the kink; Hypothesis draws again
    return pattern, placed


# ----- expressions --------------------------------------------------------------------------
def _builtin_ops() -> list[Op]:
    return [op for op in REGISTRY.values() if op.builtin]


def _all_ops() -> list[Op]:
    return list(REGISTRY.values())


def _op_pools(chosen: list[Op] | None, mixed: list[Op] | None) -> tuple[list[Op], list[Op]]:
    """The ops under test, and every op a graph may apply (those under test first)."""
    required = chosen if chosen is not None else _all_ops()
    if mixed is not None:
        others = mixed
    else:
        others = _builtin_ops() if chosen is not None else required
    return required, required + [op for op in others if not any(op is r for r in required)]


def _kink_ops(
    required: list[Op], choices: list[Op], max_inputs: int, max_depth: int
) -> tuple[list[Op], list[Op]]:
    """For ``at_kinks=True``: the ops a node on a kink may apply (the ops under test that
    declare kinks, else the other ops that do) and, in that second case, the two-input
    ops that join it to a node under test."""
    kinked = [op for op in required if op.kinks]
    if kinked:
        return kinked, []
    kinked = [op for op in choices if op.kinks]
    joins = [op for op in choices if op.arity in (2, None)]
    names = ", ".join(op.name for op in required)
    if not kinked or not joins:
        raise ValueError(
            f"expressions(at_kinks=True): none of the ops under test ({names}) declares a "
            "kink, so the graph needs an op that does (relu, abs, or yours with kinks=...) "
            "and a two-input op (add) among the ops of mix"
        )
    if max_inputs < 2 or max_depth < 2:
        raise ValueError(
            f"expressions(at_kinks=True): ops without kinks ({names}) are joined to a node "
            "on a kink of another op: that needs n_inputs and max_depth of at least 2"
        )
    return kinked, joins


class _Entry(NamedTuple):
    """A node of the pool a graph grows from."""

    node: Value
    depth: int
    tangent: list[float]  # d node / d inputs
    tested: bool  # it applies an op under test, or depends on a node that does
    kinked: bool = False  # it depends on the node placed on a kink


def _join(draw: Callable[..., Any], joins: list[Op], a: _Entry, b: _Entry) -> _Entry:
    """A well posed node applying one of ``joins`` to ``a`` and ``b`` (in either order)."""
    start = draw(st.integers(0, len(joins) - 1))
    for op in joins[start:] + joins[:start]:
        op = _bound(draw, op)
        for x, y in ((a, b), (b, a)):
            args = [x.node.data, y.node.data]
            tangent = _sensitivity(op, args, [x.tangent, y.tangent])
            if tangent is not None and well_posed(op, args):
                node = apply(op, (x.node, y.node))
                return _Entry(node, 1 + max(a.depth, b.depth), tangent, True, True)
    reject()


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
    at_kinks: bool = False,
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

    ``at_kinks=True`` puts one node exactly on a kink its op declares (``relu(x0)`` at
    ``x0 = 0.0``), listed in ``expr.kink_nodes``; the output depends on it and every
    other node stays well posed. That node applies an op under test that declares
    kinks, else one of ``mix`` that does, joined to an op under test by a two-input op.
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
    if at_kinks and chosen is not None:
        _kink_ops(*_op_pools(chosen, mixed), high, max_depth)
    return _expressions(
        (low, high), chosen, mixed, max_depth, shared, max_nodes, min_value, max_value, at_kinks
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
    at_kinks: bool,
) -> Expression:
    required, choices = _op_pools(chosen, mixed)
    numbers = _floats(min_value, max_value)
    kink_op, joins = None, []
    if at_kinks:
        kinked, joins = _kink_ops(required, choices, n_range[1], max_depth)
        kink_op = _bound(draw, draw(st.sampled_from(kinked)))
    n_inputs = draw(st.integers(max(n_range[0], 2) if joins else n_range[0], n_range[1]))
    data: list[float | None] = [None] * n_inputs

    # The first node applies an op under test directly to inputs chosen to suit its domain
    # (the node on a kink does, when its op is under test; else it takes the last input).
    first: Op | None = None
    pattern: tuple[int, ...] = ()
    if kink_op is None or joins:
        first = _bound(draw, draw(st.sampled_from(required)))
        span = n_inputs - 1 if joins else n_inputs
        pattern = tuple(i % span for i in range(_arity(draw, first)))
        found = _operand_values(draw, first, pattern, numbers)
        data[: len(found)] = found
    if kink_op is not None:
        kink_pattern, data = _kink_inputs(draw, kink_op, data, numbers, joined=bool(joins))
    values = [draw(numbers) if x is None else x for x in data]
    inputs = [Value(x, label=f"x{i}") for i, x in enumerate(values)]
    units = [[1.0 if i == j else 0.0 for j in range(n_inputs)] for i in range(n_inputs)]
    pool = [_Entry(x, 0, t, False) for x, t in zip(inputs, units)]
    if first is not None:
        tangent = _sensitivity(first, [values[i] for i in pattern], [units[i] for i in pattern])
        assert tangent is not None  # _operand_values made sure
        pool.append(_Entry(apply(first, tuple(inputs[i] for i in pattern)), 1, tangent, True))
    kink_nodes: tuple[Value, ...] = ()
    if kink_op is not None:
        args = [values[i] for i in kink_pattern]
        tangent = _kink_sensitivity(kink_op, args, [units[i] for i in kink_pattern])
        if tangent is None:
            reject()  # the node reacts too strongly to its inputs for finite differences
        kink_nodes = (apply(kink_op, tuple(inputs[i] for i in kink_pattern)),)
        pool.append(_Entry(kink_nodes[0], 1, tangent, not joins, True))
    used: set[int] = set()
    if joins:  # the output must depend on the node under test and on the node on a kink
        pool.append(_join(draw, joins, pool[-2], pool[-1]))
        used.update(id(entry.node) for entry in pool[-3:-1])
    current = pool[-1]  # the output so far

    for _ in range(draw(st.integers(0, max_nodes - 1))):
        # one node in four applies an op under test again, on results of other nodes
        pool_of_ops = choices if draw(st.integers(0, 3)) else required
        op = _bound(draw, draw(st.sampled_from(pool_of_ops)))
        k = _arity(draw, op)
        candidates = [
            entry
            for entry in reversed(pool)
            if entry.depth < max_depth
            and (shared or not entry.node._prev or id(entry.node) not in used)
        ]
        picks = [candidates[draw(st.integers(0, len(candidates) - 1))] for _ in range(k)]
        if any(entry is current for entry in candidates) and draw(st.integers(0, 3)):
            picks[0] = current  # grow the graph from its output (else nodes often dangle)
        intermediates = [id(p.node) for p in picks if p.node._prev]
        if not shared and len(set(intermediates)) < len(intermediates):
            continue
        args = [p.node.data for p in picks]
        if not well_posed(op, args):
            continue  # this node would sit too close to a domain edge or a kink
        tangent = _sensitivity(op, args, [p.tangent for p in picks])
        if tangent is None:
            continue
        node = apply(op, tuple(p.node for p in picks))
        used.update(intermediates)
        tested = any(p.tested for p in picks) or any(op is r or op.name == r.name for r in required)
        entry = _Entry(
            node, 1 + max(p.depth for p in picks), tangent, tested, any(p.kinked for p in picks)
        )
        pool.append(entry)
        if tested and (entry.kinked or kink_op is None):
            current = entry  # the output: the last node that exercises what is under test
    return Expression(current.node, inputs, kink_nodes=kink_nodes)
