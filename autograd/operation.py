"""What an operation is: one entry of chainrule's op table.

An :class:`Op` holds everything the rest of chainrule needs to know about an
operation, written once:

* ``forward``: the rule on plain floats (``math.tanh``),
* ``derivatives``: one local derivative per input, as a number or as a function
  of the inputs and the output (``lambda x, out: 1 - out * out``),
* ``domain``: where the forward rule is defined (``x > 0`` for log),
* ``vectorized``: the forward rule on numpy arrays (for the compiled path); an
  n-ary op's form takes its inputs stacked on axis 0 and reduces that axis,
* ``formula``: how it prints (``"tanh({0})"``; for an n-ary op, the separator
  ``" + "`` or a call ``"logsumexp({*})"``), how tightly it binds, and whether it is
  associative (``a + (b + c)`` prints as ``a + b + c``, ``a - (b - c)`` keeps its
  parentheses).

Derivative rules are written with ordinary operators and with ops from the
table (``cos(x)``), so the same rule evaluates on floats (``backward``), on
Values (``backward(create_graph=True)``) and on numpy arrays (the compiled
path). That is why an op's derivative is never written twice.

An ``Op`` is a value: two ops are equal exactly when they are the same entry of
the table with the same parameters (``leaky_relu`` with slope 0.1 is not
``leaky_relu`` with slope 0.5), whatever they print as. ``str(op)`` is its display
symbol (``"+"``, ``"tanh"``, ``"**2"``); that text is what micrograd code reads
from ``node._op``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .mode import nonfinite_allowed

__all__ = ["REGISTRY", "CompiledForm", "Domain", "DomainError", "Op", "Precedence", "RuleShape"]

Rule = Callable[..., Any] | float


class Precedence:
    """Binding strength used when printing formulas (higher binds tighter)."""

    SUM = 1
    PRODUCT = 2
    UNARY = 3
    POWER = 4
    CALL = 5
    ATOM = 6


class DomainError(ValueError):
    """An op was applied outside its domain (log of 0, division by zero, overflow, ...).

    ``op`` names the operation and ``operands`` holds the input numbers.
    """

    def __init__(self, message: str, op: Op | None = None, operands: Sequence[float] = ()):
        super().__init__(message)
        self.op = op
        self.operands = tuple(operands)


@dataclass(frozen=True)
class Domain:
    """Where an op's forward rule is defined.

    ``text`` reads like maths (``"x > 0"``); ``check(*args, *params)`` returns
    True inside the domain. Hypothesis strategies and error messages read both.
    """

    text: str
    check: Callable[..., bool]

    def __contains__(self, args: Sequence[float]) -> bool:
        try:
            return bool(self.check(*args))
        except (ArithmeticError, ValueError):
            return False


REGISTRY: dict[str, Op] = {}


class RuleShape:
    """What an op's derivative rules look like, read from the rules themselves.

    The scalar engine's reverse walk applies the three common shapes without
    calling the rules: every rule is 1 (``add``, ``sum``); two inputs whose rules
    pick the other input (``mul``: d/da = b, d/db = a); one input whose rule is the
    output (``exp``: d/dx = out). A one-input rule without parameters (``tanh``) is
    called directly; any other op goes through :meth:`Op.local`.
    """

    GENERAL, UNIT, PRODUCT, OUTPUT, UNARY = 0, 1, 2, 3, 4


def float_of(x: Any) -> float:
    """The number in a plain number or in a Value (numpy scalars have an unrelated .data)."""
    if x.__class__ is float or isinstance(x, numbers.Real):
        return x
    return x.data


def _format_number(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


class Op:
    """One entry of the op table, possibly with its parameters bound. See the module docstring."""

    __slots__ = (
        "_bound", "arity", "associative", "builtin", "derivatives", "domain", "entry",
        "formula", "forward", "kinks", "local", "name", "param_names", "params",
        "precedence", "rule_shape", "symbol", "symbol_template", "unit_derivatives", "vectorized",
    )  # fmt: skip

    name: str
    symbol: str
    entry: Op
    kinks: tuple[Callable[..., float], ...]
    symbol_template: str
    arity: int | None
    forward: Callable[..., float]
    derivatives: tuple[Rule, ...]
    domain: Domain | None
    vectorized: Callable[..., Any] | None
    formula: str
    precedence: int
    associative: bool
    param_names: tuple[str, ...]
    params: tuple[Any, ...]
    unit_derivatives: bool
    builtin: bool

    def __init__(
        self,
        name: str,
        *,
        arity: int | None,
        forward: Callable[..., float],
        derivatives: Sequence[Rule],
        symbol: str | None = None,
        formula: str | None = None,
        precedence: int = Precedence.CALL,
        associative: bool = False,
        domain: Domain | None = None,
        vectorized: Callable[..., Any] | None = None,
        param_names: Sequence[str] = (),
        params: Sequence[Any] = (),
        builtin: bool = False,
        entry: Op | None = None,
        kinks: Kinks = (),
    ) -> None:
        template = name if symbol is None else symbol
        symbol = template
        if params:
            symbol = template.format(**dict(zip(param_names, map(_format_number, params))))
        self.symbol = symbol
        self.entry = self if entry is None else entry
        self.symbol_template = template
        self.name = name
        self.arity = arity
        self.forward = forward
        self.derivatives = tuple(derivatives)
        if arity is None and len(self.derivatives) != 1:
            raise ValueError(f"op {name!r}: an n-ary op takes one derivative rule for every input")
        if arity is not None and len(self.derivatives) != arity:
            raise ValueError(
                f"op {name!r}: {arity} inputs need {arity} derivative rules, "
                f"got {len(self.derivatives)}"
            )
        self.domain = domain
        self.vectorized = vectorized
        if formula is None:
            formula = name + "(" + ", ".join(f"{{{i}}}" for i in range(arity or 0)) + ")"
        self.formula = formula
        self.precedence = precedence
        self.associative = associative
        self.param_names = tuple(param_names)
        self.params = tuple(params)
        self.unit_derivatives = all(not callable(rule) and rule == 1.0 for rule in self.derivatives)
        self.builtin = builtin
        self.kinks = _switches(kinks, name)
        self._bound: dict[tuple[Any, ...], Op] = {}
        self.local = self._compile_local()
        self.rule_shape = self._rule_shape()

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not Op:
            return False
        return self.entry is other.entry and self.params == other.params

    def __hash__(self) -> int:
        return hash((id(self.entry), self.params))

    def __str__(self) -> str:
        return self.symbol

    def __reduce__(self):  # ops are not meant to be pickled; refer to them by name
        raise TypeError(f"op {self.name!r} cannot be pickled; store its name instead")

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in zip(self.param_names, self.params))
        return f"Op({self.name!r}{params})"

    @property
    def needs_params(self) -> bool:
        return bool(self.param_names) and not self.params

    def bind(self, *params: Any) -> Op:
        """This op with its parameters fixed (``pow.bind(2)`` is ``x**2``)."""
        if not self.param_names:
            raise TypeError(f"op {self.name!r} takes no parameters")
        if len(params) != len(self.param_names):
            raise TypeError(f"op {self.name!r} takes parameters {self.param_names}, got {params}")
        key = tuple((type(p), p) for p in params)
        cache = self.entry._bound
        bound = cache.get(key)
        if bound is None:
            bound = Op(
                self.name,
                arity=self.arity,
                forward=self.forward,
                derivatives=self.derivatives,
                symbol=self.symbol_template,
                formula=self.formula,
                precedence=self.precedence,
                associative=self.associative,
                domain=self.domain,
                vectorized=self.vectorized,
                param_names=self.param_names,
                params=params,
                builtin=self.builtin,
                kinks=self.kinks,
                entry=self.entry,
            )
            if len(cache) < 4096:
                cache[key] = bound
        return bound

    # ----- evaluating the rules -----------------------------------------------------
    def local_grads(self, args: Sequence[Any], out: Any) -> list[Any]:
        """The local derivatives d out / d args[i], on floats, Values or arrays alike."""
        params = self.params
        if self.arity is None:
            rule = self.derivatives[0]
            if callable(rule):
                return [rule(x, out, *params) for x in args]
            return [rule] * len(args)
        return [rule(*args, out, *params) if callable(rule) else rule for rule in self.derivatives]

    def _rule_shape(self) -> int:
        if self.unit_derivatives:
            return RuleShape.UNIT
        if self.arity is None or self.params:
            return RuleShape.GENERAL
        picks = [_projection(rule, self.arity) for rule in self.derivatives]
        if self.arity == 2 and picks == [1, 0]:
            return RuleShape.PRODUCT
        if self.arity == 1 and picks == [1]:
            return RuleShape.OUTPUT
        if self.arity == 1 and callable(self.derivatives[0]):
            return RuleShape.UNARY
        return RuleShape.GENERAL

    def _compile_local(self) -> Callable[[tuple, Any], Any]:
        """A fast ``local(parents, out_data)`` for the scalar engine's backward loop.

        Same rules, fewer calls: constant rules are precomputed, and a rule that just
        returns one of its arguments (mul's ``b``, exp's ``out``) is read directly.
        """
        rules, params, arity = self.derivatives, self.params, self.arity
        if not any(callable(r) for r in rules):
            if arity is None:
                (constant,) = rules
                return lambda parents, out: [constant] * len(parents)
            constants = tuple(rules)
            return lambda parents, out: constants
        if arity is not None and not params:
            picks = [_projection(rule, arity) for rule in rules]
            if arity == 2 and picks == [1, 0]:
                return lambda parents, out: (parents[1].data, parents[0].data)
            if arity == 1 and picks == [1]:
                return lambda parents, out: (out,)
            if arity == 1:
                (rule,) = rules
                return lambda parents, out: (rule(parents[0].data, out),)
            if arity == 2:
                r0, r1 = rules
                return lambda parents, out: (
                    r0(parents[0].data, parents[1].data, out),
                    r1(parents[0].data, parents[1].data, out),
                )
        return lambda parents, out: self.local_grads([p.data for p in parents], out)

    def kink_sides(self, args: Sequence[float]) -> tuple[float, ...]:
        """Where ``args`` lie against each kink of the op: one number per kink, 0 on it,
        its sign telling the side. Empty for an op that is smooth everywhere."""
        return tuple(switch(*args) for switch in self.kinks)

    def check_domain(self, args: Sequence[float]) -> bool:
        """True when ``args`` (with this op's parameters) lie in the op's domain."""
        return self.domain is None or (*args, *self.params) in self.domain

    # ----- applying the op ----------------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        """Apply the op: to Values it records a node, to numbers it computes a float,
        to numpy arrays it computes elementwise."""
        if self.needs_params:
            raise TypeError(f"op {self.name!r} needs parameters {self.param_names}; use .bind(...)")
        if self.arity is not None and len(args) != self.arity:
            raise TypeError(f"{self.name} takes {self.arity} argument(s), got {len(args)}")
        if len(args) == 1 and args[0].__class__ is np.ndarray and self.vectorized is not None:
            return self.vectorized(*args, *self.params)  # the compiled path's common case
        kinds = [_kind(a) for a in args]
        if "value" in kinds:  # the node class records the node (it knows how)
            node_class = type(args[kinds.index("value")])
            return node_class.apply(self, args)
        if "array" in kinds:
            if self.vectorized is None:
                return np.vectorize(lambda *xs: self.evaluate(xs), otypes=[float])(*args)
            if self.arity is None:
                return self.vectorized(np.stack(np.broadcast_arrays(*args)), *self.params)
            return self.vectorized(*args, *self.params)
        return self.evaluate(args)

    def evaluate(self, args: Sequence[float]) -> float:
        """The forward rule on floats, raising :class:`DomainError` outside the domain."""
        try:
            result = self.forward(*args, *self.params)
        except (ArithmeticError, ValueError) as exc:
            raise self.domain_error(args, exc) from None
        if isinstance(result, complex):
            raise self.domain_error(args, ValueError("complex result"))
        result = float(result)
        if not math.isfinite(result) and not nonfinite_allowed():
            raise self.nonfinite_error(args, result)
        return result

    def nonfinite_error(self, args: Sequence[Any], result: float) -> DomainError:
        """The error for an op whose result is nan or an infinity (outside
        :func:`~autograd.allow_nonfinite`)."""
        operands = ", ".join(_format_number(float(a)) for a in args)
        if math.isnan(result):
            why = "the result is not a number (nan)"
        else:
            why = f"the result overflows a float (|result| > 1.8e308): {result}"
        return DomainError(
            f"{self.name}({operands}): {why}; chainrule never returns a silent nan or inf "
            "(autograd.allow_nonfinite() gives IEEE semantics)",
            self,
            args,
        )

    def domain_error(self, args: Sequence[float], exc: BaseException) -> DomainError:
        operands = ", ".join(f"{_format_number(float(a))}" for a in args)
        if isinstance(exc, OverflowError) or (
            not isinstance(exc, ZeroDivisionError) and self.check_domain(args)
        ):
            why = "the result overflows a float (|result| > 1.8e308)"
        elif self.domain is not None:
            why = f"it is defined only for {self.domain.text}"
        else:
            why = str(exc)
        return DomainError(f"{self.name}({operands}): math domain error: {why}", self, args)


Kinks = Sequence[float] | Callable[..., float] | Sequence[Callable[..., float]]


def _switches(kinks: Kinks, name: str) -> tuple[Callable[..., float], ...]:
    """An op's kinks as switch functions ``s(*inputs)``: zero on the kink, the sign giving
    the side. Numbers are points of a one-input op (``relu``: ``(0.0,)``); a callable is a
    switch of its own (``max(a, b)``: ``lambda a, b: a - b``)."""
    if callable(kinks):
        kinks = (kinks,)
    switches = []
    for kink in kinks:
        if callable(kink):
            switches.append(kink)
        elif isinstance(kink, numbers.Real) and not isinstance(kink, bool) and math.isfinite(kink):
            switches.append(lambda x, *params, at=float(kink): x - at)
        else:
            raise TypeError(
                f"op {name!r}: a kink is a point (a finite number, for a one-input op) or a "
                f"function of the inputs that is 0 on the kink, not {kink!r}"
            )
    return tuple(switches)


def _projection(rule: Rule, arity: int) -> int | None:
    """Which argument ``rule`` returns unchanged (arity means ``out``), if any.

    Probed with placeholder objects: a pure rule that computes anything with them
    fails, so only a rule like ``lambda a, b, out: b`` is recognised.
    """
    if not callable(rule):
        return None
    probes = [object() for _ in range(arity + 1)]
    try:
        result = rule(*probes)
    except Exception:  # noqa: BLE001 - any failure means "not a projection"
        return None
    return next((i for i, p in enumerate(probes) if result is p), None)


def _kind(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return "array"
    if isinstance(x, (int, float, np.number, np.bool_)):
        return "number"
    if hasattr(x, "_prev") and hasattr(type(x), "apply"):
        return "value"
    raise TypeError(f"chainrule ops take Values, numbers or numpy arrays, not {type(x).__name__}")


@dataclass(frozen=True)
class CompiledForm:
    """A fused operation of the compiled path: a table entry that works on arrays.

    The compiler rewrites a pattern of scalar nodes (a neuron's sum of products) into
    one of these. ``forward(*inputs)`` computes it; ``vjps[i](g, *inputs, out)`` is
    the gradient that input ``i`` receives when ``g`` flows into the output (a
    vector-Jacobian product, as HIPS autograd writes its rules): a matrix product's
    derivative is not elementwise, so it is written this way, once, here.
    """

    name: str
    formula: str
    forward: Callable[..., Any]
    vjps: tuple[Callable[..., Any], ...]

    def __str__(self) -> str:
        return self.name


def defop(name: str, **spec: Any) -> Op:
    """Create an op and enter it in the registry (used by the built-in table)."""
    if name in REGISTRY:
        raise ValueError(f"an op named {name!r} is already registered")
    op = Op(name, **spec)
    REGISTRY[name] = op
    return op
