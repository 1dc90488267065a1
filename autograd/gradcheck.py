"""Check gradients against finite differences: ``numerical_grad``, ``gradcheck``.

``numerical_grad`` nudges each input a little and watches the output move, the
argument every introduction to backpropagation starts from. ``gradcheck`` compares
what ``backward`` says with that measurement (and, with ``order=2``, does the same
for second derivatives, which go through ``create_graph``), as PyTorch's
``gradcheck`` and JAX's ``check_grads`` do.

``assert_gradients_close`` is the same check for whatever a property test has at
hand: a function and its inputs, a finished graph (its output Value), or an
expression drawn from :mod:`autograd.strategies`.
"""

from __future__ import annotations

import inspect
import math
import numbers
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import graph
from .engine import Value
from .functional import gradients
from .operation import DomainError
from .probe import Kink, Probe

__all__ = [
    "GradcheckError",
    "GradientRow",
    "assert_gradients_close",
    "compare_gradients",
    "gradcheck",
    "graph_function",
    "numerical_grad",
]

Number = int | float


class GradcheckError(AssertionError):
    """Backward's gradients disagree with finite differences.

    The message is a table (input, analytic, numeric, absolute and relative error)
    followed by the formula of the function's graph. ``rows`` holds the table.
    """

    def __init__(self, message: str, rows: Sequence[GradientRow] = ()):
        super().__init__(message)
        self.rows = list(rows)


@dataclass(frozen=True)
class GradientRow:
    """One derivative, as backward computed it and as finite differences measured it."""

    name: str  # "x" for df/dx; "x, w" for d2f/(dx dw); "x [create_graph]" for df/dx as a Value
    analytic: float
    numeric: float
    abs_error: float
    rel_error: float  # abs_error / max(|analytic|, |numeric|); 0 when both are 0
    ok: bool
    note: str = ""  # e.g. "at a kink of relu (v3 = x*w): left 0, right 1, analytic 0"


# ----- finite differences -----------------------------------------------------------------
def numerical_grad(
    f: Callable[..., Any],
    inputs: Value | Number | Sequence[Value | Number],
    eps: float = 1e-6,
    method: str = "central",
) -> float | list[float]:
    """Finite-difference gradient of ``f`` at ``inputs``: nudge each input by ``eps``.

    ``f`` takes the inputs as positional arguments and returns a Value or a number.
    Inputs given as Values are passed as new Values (same label, nudged data; yours
    are not touched); numbers are passed as floats. ``method="central"`` uses
    ``(f(x + eps) - f(x - eps)) / 2eps``, ``"forward"`` uses ``(f(x + eps) - f(x)) / eps``.
    One input gives one float; a sequence gives a list, one derivative per input.
    The squared error of w*x against y = 4x on x = 0..4 has slope -120 at w = 2::

        numerical_grad(lambda w: sum((w * x - 4 * x) ** 2 for x in range(5)), 2.0)  # -120.00000001
    """
    if not callable(f):
        raise TypeError(f"numerical_grad: f must be a function, not {type(f).__name__}")
    _check_eps(eps)
    if method not in ("central", "forward"):
        raise ValueError(f"numerical_grad: method must be 'central' or 'forward', not {method!r}")
    single = _is_scalar(inputs)
    points = [inputs] if single else _as_list(inputs)
    base = [_number(x, i) for i, x in enumerate(points)]
    names = _names(f, points)
    kinds = [isinstance(x, Value) for x in points]

    def call(xs: list[float], i: int | None = None) -> float:
        args = [Value(x, label=n) if k else x for x, n, k in zip(xs, names, kinds)]
        try:
            out = f(*args)
        except DomainError as exc:
            if i is None:
                raise
            raise DomainError(
                f"numerical_grad: f is not defined at {names[i]} = {base[i]!r} ± {eps:g} "
                f"({exc}); move the point away from the edge of the domain, use a smaller "
                f"eps, or method='forward'",
                exc.op,
                exc.operands,
            ) from None
        return _output_number(out, "numerical_grad")

    grads = []
    center = call(base) if method == "forward" else 0.0
    for i, x in enumerate(base):
        hi = list(base)
        hi[i] = x + eps
        if hi[i] == x:
            raise ValueError(
                f"numerical_grad: eps={eps:g} is too small to change {names[i]} = {x!r} "
                "in floating point; use a larger eps"
            )
        if method == "forward":
            grads.append((call(hi, i) - center) / (hi[i] - x))
        else:
            lo = list(base)
            lo[i] = x - eps
            grads.append((call(hi, i) - call(lo, i)) / (hi[i] - lo[i]))
    return grads[0] if single else grads


# ----- gradcheck ----------------------------------------------------------------------------
def gradcheck(
    f: Callable[..., Value],
    inputs: Value | Number | Sequence[Value | Number],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    *,
    raise_exception: bool = True,
    mode: str = "inputs",
    directions: int = 8,
    seed: int = 0,
    reuse_graph: bool | None = None,
) -> bool:
    """Check ``f``'s gradients from ``backward`` against central differences.

    ``f`` takes the inputs as Values and returns a Value. A derivative passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``. ``order=2`` also checks every
    second derivative, computed through ``create_graph``, against finite differences
    of the first derivatives. Returns True when everything agrees; otherwise raises
    :class:`GradcheckError` (or returns False with ``raise_exception=False``). Your
    Values and their ``grad`` are not touched.

    * **Kinks.** Where a nudge crosses a kink of some node (a relu at 0; each op of the
      table declares its kinks), the central difference straddles the kink and means
      nothing: the derivative passes when it lies between the two one-sided
      differences (the subgradient interval, with the same tolerances), and its row
      says so. A wrong derivative at a kink still fails.
    * ``mode="directional"`` compares ``directions`` directional derivatives along
      random unit directions (seeded by ``seed``) instead of one derivative per input:
      two evaluations per direction, for functions of hundreds of inputs.
    * ``reuse_graph``: the nudged points are evaluated by replaying the graph built at
      ``inputs`` on floats when ``f``'s graph does not change with its inputs (None:
      decided by building one more graph; True, False: always, never).
    """
    rows, output, point = _check(
        f, inputs, eps, atol, rtol, order, "gradcheck", mode, directions, seed, reuse_graph
    )
    if all(row.ok for row in rows):
        return True
    if not raise_exception:
        return False
    message = _failure_message(rows, _bounded_formula(output), point, eps, atol, rtol)
    raise GradcheckError(message, rows)


def compare_gradients(
    f: Callable[..., Value],
    inputs: Value | Number | Sequence[Value | Number],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
    *,
    mode: str = "inputs",
    directions: int = 8,
    seed: int = 0,
    reuse_graph: bool | None = None,
) -> list[GradientRow]:
    """The rows :func:`gradcheck` judges, one per derivative, without raising on mismatch."""
    return _check(
        f, inputs, eps, atol, rtol, order, "compare_gradients", mode, directions, seed, reuse_graph
    )[0]


def _check(
    f: Callable[..., Value],
    inputs: Any,
    eps: float,
    atol: float,
    rtol: float,
    order: int,
    who: str,
    mode: str = "inputs",
    directions: int = 8,
    seed: int = 0,
    reuse_graph: bool | None = None,
) -> tuple[list[GradientRow], Value, str]:
    if not callable(f):
        raise TypeError(f"{who}: f must be a function, not {type(f).__name__}")
    _check_eps(eps, who)
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"{who}: {name} must be a number >= 0, got {tol!r}")
    if order not in (1, 2):
        raise ValueError(f"{who}: order must be 1 or 2, got {order!r}")
    if mode not in ("inputs", "directional"):
        raise ValueError(f"{who}: mode must be 'inputs' or 'directional', got {mode!r}")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"{who}: directions must be a whole number >= 1, got {directions!r}")
    points = [inputs] if _is_scalar(inputs) else _as_list(inputs, who)
    if not points:
        raise ValueError(f"{who}: needs at least one input")
    data = [_number(x, i, who) for i, x in enumerate(points)]
    names = _names(f, points)
    leaves = [Value(x, label=n) for x, n in zip(data, names)]
    output = f(*leaves)
    if not isinstance(output, Value):
        raise TypeError(
            f"{who}: f must return a Value computed from its inputs, got "
            f"{type(output).__name__}; build the result with Value operations"
        )
    point = ", ".join(f"{n}={x!r}" for n, x in zip(names, data))

    def judge(name: str, analytic: Any, numeric: float) -> GradientRow:
        a = float(analytic.data if isinstance(analytic, Value) else analytic)
        err = abs(a - numeric)
        scale = max(abs(a), abs(numeric))
        rel = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
        if math.isnan(err):
            rel = err
        ok = err <= atol + rtol * abs(numeric)  # False for nan and inf
        return GradientRow(name, a, numeric, err, rel, ok)

    def judge_at_kink(name: str, a: float, left: float, right: float, kink: Kink) -> GradientRow:
        """Between the one-sided differences (the subgradient interval), with tolerance."""
        lo, hi = min(left, right), max(left, right)
        slack = atol + rtol * max(abs(lo), abs(hi))
        err = max(lo - a, a - hi, 0.0)
        scale = max(abs(a), abs(lo), abs(hi))
        rel = err / scale if scale > 0 else 0.0
        note = f"at {kink}: left {left:.6g}, right {right:.6g}, analytic {a:.6g}"
        return GradientRow(name, a, (left + right) / 2, err, rel, err <= slack, note)

    def first_derivatives(*args: Value) -> list[float]:
        out = f(*args)
        return [float(_data(g)) for g in gradients(out, list(args))]

    analytic = [float(_data(g)) for g in gradients(output, leaves)]
    probe = Probe(f, leaves, output, reuse_graph)
    if mode == "inputs":
        steps = [[eps if j == i else 0.0 for j in range(len(data))] for i in range(len(data))]
        labels, slopes = list(names), list(analytic)
    else:
        units = _unit_directions(len(data), directions, seed)
        steps = [[eps * c for c in v] for v in units]
        labels = [f"direction {k + 1}" for k in range(directions)]
        slopes = [sum(g * c for g, c in zip(analytic, v)) for v in units]
    rows, numeric = [], []
    for label, step, a in zip(labels, steps, slopes):
        hi_point = [x + d for x, d in zip(data, step)]
        lo_point = [x - d for x, d in zip(data, step)]
        width = _step_length(hi_point, lo_point, data, step, names, eps, mode)
        try:
            hi, lo = probe.at(hi_point), probe.at(lo_point)
        except DomainError as exc:
            raise DomainError(
                f"{who}: f is not defined at {point} ± {eps:g} along {label} ({exc}); move "
                "the point away from the edge of the domain or use a smaller eps",
                exc.op,
                exc.operands,
            ) from None
        central = (hi.output - lo.output) / width
        numeric.append(central)
        kink = probe.crossed_kink(lo, hi)
        if kink is None:
            rows.append(judge(label, a, central))
        else:
            left, right = _one_sided(probe, data, step, lo, hi, width / 2)
            rows.append(judge_at_kink(label, a, left, right, kink))
    if order == 2:
        symbolic = gradients(output, leaves, create_graph=True)
        rows += [judge(f"{n} [create_graph]", a, m) for n, a, m in zip(names, symbolic, numeric)]
        for i, g in enumerate(symbolic):
            second = gradients(g, leaves) if isinstance(g, Value) else [0.0] * len(leaves)
            row_i = lambda *args, i=i: first_derivatives(*args)[i]
            measured = numerical_grad(row_i, leaves, eps)
            rows += [
                judge(f"{names[i]}, {names[j]}", second[j], measured[j]) for j in range(len(leaves))
            ]
    return rows, output, point


MESSAGE_FORMULA_CHARS = 2_000  # a failure's formula is cut to this many characters


def _bounded_formula(output: Value) -> str:
    """The graph's formula for a failure message, at most a few lines long."""
    text = output.formula()
    if len(text) > MESSAGE_FORMULA_CHARS:
        cut = len(text) - MESSAGE_FORMULA_CHARS
        text = text[:MESSAGE_FORMULA_CHARS] + f" ... ({cut:,} more characters)"
    return text


def _failure_message(
    rows: Sequence[GradientRow], formula: str, point: str, eps: float, atol: float, rtol: float
) -> str:
    bad = sum(not row.ok for row in rows)
    head = ("input", "analytic", "numeric", "abs error", "rel error", "")
    table = [head] + [
        (
            row.name,
            f"{row.analytic:.9g}",
            f"{row.numeric:.9g}",
            f"{row.abs_error:.3g}",
            f"{row.rel_error:.3g}",
            "" if row.ok else "<- mismatch",
        )
        for row in rows
    ]
    widths = [max(len(line[c]) for line in table) for c in range(len(head))]
    lines = [
        "  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in
                  enumerate(zip(line[:-1], widths[:-1]))) + ("  " + line[-1] if line[-1] else "")
        for line in table
    ]  # fmt: skip
    lines += [f"  {row.name}: {row.note}" for row in rows if row.note]
    legend = ""
    if any(", " in row.name for row in rows):
        legend = (
            "\n  (row 'a, b' is the second derivative d2f/da db; rows marked [create_graph] are"
            " first derivatives from backward(create_graph=True))"
        )
    return (
        f"{bad} of {len(rows)} derivatives disagree with central differences "
        "(or, at a kink, lie outside the one-sided differences) "
        f"(eps={eps:g}, atol={atol:g}, rtol={rtol:g})\n"
        f"  f = {formula}\n  at {point}\n"
        + "\n".join("  " + line.rstrip() for line in lines)
        + legend
    )


# ----- graphs as functions ------------------------------------------------------------------
def graph_function(output: Value, inputs: Sequence[Value]) -> Callable[..., Any]:
    """A recorded graph as a function of its inputs: replay the same ops on new numbers.

    ``graph_function(y, [x, w])(1.0, 2.0)`` is ``y``'s value with x = 1 and w = 2, a
    float; called with Values it builds a new graph (so it can be differentiated).
    Other leaves keep their values. Each node is recomputed by its op in the table.
    """
    if not isinstance(output, Value):
        raise TypeError(f"graph_function needs the output Value, got {type(output).__name__}")
    topo = graph.topological_order(output)
    graph.check_table_ops(topo, why="it cannot be recomputed")
    index = {id(x): i for i, x in enumerate(inputs)}
    n = len(inputs)

    def replay(*args: Any) -> Any:
        if len(args) != n:
            raise TypeError(f"this graph takes {n} input(s), got {len(args)}")
        as_values = any(isinstance(a, Value) for a in args)
        env: dict[int, Any] = {}
        for node in topo:
            i = index.get(id(node))
            if i is not None:
                env[id(node)] = args[i]
            elif not node._prev:
                env[id(node)] = node if as_values else node.data
            else:
                env[id(node)] = node.op(*[env[id(p)] for p in node._prev])
        return env[id(output)]

    return replay


def assert_gradients_close(
    target: Any,
    inputs: Sequence[Value | Number] | None = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    order: int = 1,
) -> None:
    """Assert that backward agrees with finite differences; the one line of a property test.

    ``target`` is one of:

    * an expression or network drawn from :mod:`autograd.strategies` (checked with
      respect to its inputs),
    * a Value: the output of a graph you built, checked with respect to ``inputs``
      (default: every leaf of the graph, constants included),
    * a function, checked at ``inputs`` exactly as :func:`gradcheck` does.

    Raises :class:`GradcheckError` with the table and the graph's formula.
    """
    if isinstance(target, Value) or (hasattr(target, "output") and hasattr(target, "inputs")):
        output = target if isinstance(target, Value) else target.output
        if not isinstance(output, Value):
            raise TypeError(f"expected a Value output, got {type(output).__name__}")
        if inputs is None:
            inputs = (
                [node for node in graph.topological_order(output) if not node._prev]
                if isinstance(target, Value)
                else list(target.inputs)
            )
        leaves = list(inputs)
        if not all(isinstance(x, Value) for x in leaves):
            raise TypeError("the inputs of a graph must be Values of that graph")
        function = graph_function(output, leaves)
        labelled = [Value(x.data, label=x.label or f"x{i}") for i, x in enumerate(leaves)]
        gradcheck(function, labelled, eps, atol, rtol, order)
        return
    if callable(target):
        if inputs is None:
            raise TypeError("assert_gradients_close(f, inputs): give the inputs to check f at")
        gradcheck(target, inputs, eps, atol, rtol, order)
        return
    raise TypeError(
        "assert_gradients_close takes an expression, a Value or a function, "
        f"not {type(target).__name__}"
    )


# ----- small helpers ------------------------------------------------------------------------
def _one_sided(
    probe: Probe, data: list[float], step: list[float], lo: Any, hi: Any, h: float
) -> tuple[float, float]:
    """The slopes left and right of the checked point: three-point one-sided differences
    (error ~h**2, like the central one), or two-point ones where a point two steps out
    cannot be evaluated."""
    f0 = probe.center.output
    try:
        far_hi = probe.at([x + 2 * d for x, d in zip(data, step)]).output
        far_lo = probe.at([x - 2 * d for x, d in zip(data, step)]).output
    except DomainError:
        return (f0 - lo.output) / h, (hi.output - f0) / h
    right = (-3 * f0 + 4 * hi.output - far_hi) / (2 * h)
    left = (3 * f0 - 4 * lo.output + far_lo) / (2 * h)
    return left, right


def _unit_directions(n: int, k: int, seed: int) -> list[list[float]]:
    """``k`` random directions in ``n`` dimensions, each of length 1 (seeded)."""
    rng = random.Random(seed)
    directions = []
    while len(directions) < k:
        v = [rng.gauss(0.0, 1.0) for _ in range(n)]
        norm = math.sqrt(sum(c * c for c in v))
        if norm > 0:
            directions.append([c / norm for c in v])
    return directions


def _step_length(
    hi: list[float], lo: list[float], data: list[float], step: list[float], names: list[str],
    eps: float, mode: str,
) -> float:  # fmt: skip
    """The distance between the two nudged points: exact in floating point for one input."""
    if mode == "inputs":
        i = next(j for j, d in enumerate(step) if d)
        if hi[i] == data[i]:
            raise ValueError(
                f"gradcheck: eps={eps:g} is too small to change {names[i]} = {data[i]!r} "
                "in floating point; use a larger eps"
            )
        return hi[i] - lo[i]
    return 2 * eps


def _check_eps(eps: Any, who: str = "numerical_grad") -> None:
    if (
        not isinstance(eps, numbers.Real)
        or isinstance(eps, bool)
        or not math.isfinite(eps)
        or eps <= 0
    ):
        raise ValueError(f"{who}: eps must be a positive finite number, got {eps!r}")


def _is_scalar(inputs: Any) -> bool:
    return isinstance(inputs, (Value, numbers.Number))


def _as_list(inputs: Any, who: str = "numerical_grad") -> list[Any]:
    if not isinstance(inputs, (str, bytes, dict)):
        try:
            return list(inputs)
        except TypeError:
            pass
    raise TypeError(
        f"{who}: inputs must be a number, a Value, or a sequence of them, "
        f"not {type(inputs).__name__}"
    )


def _number(x: Any, i: int, who: str = "numerical_grad") -> float:
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        value = float(x)
        if not math.isfinite(value):
            raise ValueError(f"{who}: input {i} is {value!r}; inputs must be finite numbers")
        return value
    raise TypeError(
        f"{who}: input {i} is a {type(x).__name__} ({x!r:.40}); inputs must be numbers or Values"
    )


def _output_number(out: Any, who: str) -> float:
    if isinstance(out, Value):
        return out.data
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out)
    raise TypeError(f"{who}: f must return a Value or a number, got {type(out).__name__}")


def _data(x: Any) -> float:
    return x.data if isinstance(x, Value) else x


def _names(f: Callable[..., Any], points: Sequence[Any]) -> list[str]:
    """Labels of Value inputs, else f's parameter names, else x0, x1, ..."""
    try:
        params = [
            p.name
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) < len(points):
        params = [f"x{i}" for i in range(len(points))]
    return [
        x.label if isinstance(x, Value) and x.label else params[i] for i, x in enumerate(points)
    ]
