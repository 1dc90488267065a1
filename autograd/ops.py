"""The op table: every built-in operation, defined once.

Each entry gives the forward rule on floats, the local derivative of the output
with respect to each input, the domain, the numpy form and how it prints. Read a
derivative rule as calculus: ``out`` is the op's result, so ``tanh' = 1 - out**2``.

Rules use ordinary operators and the ops of this table (``cos(x)``), so each rule
evaluates on floats, on Values (second derivatives) and on numpy arrays (the
compiled path) without being written again. ``step`` and ``sign`` are piecewise
constants: their derivative is zero wherever it exists, so they return plain
numbers even for Values.

Kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) = slope. Each op
declares its kinks (``kinks=(0.0,)``), where it is not differentiable: ``gradcheck``
reads them to judge a derivative there against one-sided differences.
Domains follow Python's ``math`` module: outside them an op raises
:class:`~autograd.operation.DomainError` rather than returning nan.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any

import numpy as np

from .operation import CompiledForm, Domain, Op, Precedence, defop, float_of

__all__ = [
    "COMPILED_FORMS",
    "abs",
    "add",
    "cos",
    "dot_terms",
    "exp",
    "gaussian",
    "leaky_relu",
    "linear_rows",
    "log",
    "logsumexp",
    "mul",
    "neg",
    "pow",
    "pow_value",
    "relu",
    "sigmoid",
    "sign",
    "sin",
    "softplus",
    "sqrt",
    "step",
    "sub",
    "sum",
    "table",
    "tanh",
    "truediv",
    "xlogy",
]  # fmt: skip


# ----- piecewise constants used by derivative rules -------------------------------------
def step(x: Any) -> Any:
    """1 where x > 0, else 0 (so relu'(0) = 0). A plain number for Values."""
    if x.__class__ is float:
        return 1.0 if x > 0 else 0.0
    if isinstance(x, np.ndarray):
        return (x > 0).astype(float)
    return 1.0 if float_of(x) > 0 else 0.0


def sign(x: Any) -> Any:
    """-1, 0 or 1 (so abs'(0) = 0). A plain number for Values."""
    if x.__class__ is float:
        return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
    if isinstance(x, np.ndarray):
        return np.sign(x)
    data = float_of(x)
    return 1.0 if data > 0 else (-1.0 if data < 0 else 0.0)


def xlogy(x: Any, y: Any) -> Any:
    """x * log(y), taken as 0 where x == 0 (the limit of 0**b * log 0 as used by pow)."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        safe = np.where(x == 0, 1.0, y)
        return np.where(x == 0, 0.0, x * np.log(safe))
    if float_of(x) == 0:
        return 0.0
    return x * log(y)


# ----- forward rules that need a line or two on floats ----------------------------------
def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-builtins.abs(x)))


def _relu(x: float) -> float:
    return 0.0 if x <= 0.0 else x  # nan stays nan


def _leaky_relu(x: float, slope: float) -> float:
    return x if x > 0.0 else slope * x


def _logsumexp(xs: tuple[float, ...]) -> float:
    top = max(xs)
    if math.isinf(top):
        return top
    return top + math.log(builtins.sum(math.exp(x - top) for x in xs))


def _pow_domain(x: float, n: float) -> bool:
    if x > 0:
        return True
    if x == 0:
        return n >= 0
    return float(n).is_integer()


# ----- the table ------------------------------------------------------------------------
_S, _P, _U, _W = Precedence.SUM, Precedence.PRODUCT, Precedence.UNARY, Precedence.POWER

add = defop(
    "add", arity=2, symbol="+", formula="{0} + {1}", precedence=_S, associative=True,
    forward=operator.add,
    derivatives=(1.0, 1.0),
    vectorized=np.add, builtin=True,
)  # fmt: skip
sub = defop(
    "sub", arity=2, symbol="-", formula="{0} - {1}", precedence=_S,
    forward=operator.sub,
    derivatives=(1.0, -1.0),
    vectorized=np.subtract, builtin=True,
)  # fmt: skip
mul = defop(
    "mul", arity=2, symbol="*", formula="{0}*{1}", precedence=_P, associative=True,
    forward=operator.mul,
    derivatives=(lambda a, b, out: b, lambda a, b, out: a),
    vectorized=np.multiply, builtin=True,
)  # fmt: skip
truediv = defop(
    "truediv", arity=2, symbol="/", formula="{0}/{1}", precedence=_P,
    forward=operator.truediv,
    derivatives=(lambda a, b, out: 1 / b, lambda a, b, out: -out / b),
    domain=Domain("b != 0", lambda a, b: b != 0),
    vectorized=np.divide, builtin=True,
)  # fmt: skip
neg = defop(
    "neg", arity=1, symbol="neg", formula="-{0}", precedence=_U,
    forward=operator.neg,
    derivatives=(-1.0,),
    vectorized=np.negative, builtin=True,
)  # fmt: skip
pow = defop(
    "pow", arity=1, symbol="**{n}", formula="{0}**{n}", precedence=_W, param_names=("n",),
    forward=math.pow,
    derivatives=(lambda x, out, n: n * x ** (n - 1) if n != 0 else 0.0,),  # d/dx x**0 = 0
    domain=Domain("x > 0, or x = 0 with n >= 0, or x < 0 with integer n", _pow_domain),
    vectorized=np.power, builtin=True,
)  # fmt: skip
pow_value = defop(
    "pow_value", arity=2, symbol="**", formula="{0}**{1}", precedence=_W,
    forward=math.pow,
    derivatives=(lambda a, b, out: b * a ** (b - 1), lambda a, b, out: xlogy(out, a)),
    domain=Domain("a > 0, or a = 0 with b >= 0, or a < 0 with integer b", _pow_domain),
    vectorized=np.power, builtin=True,
)  # fmt: skip
exp = defop(
    "exp", arity=1,
    forward=math.exp,
    derivatives=(lambda x, out: out,),
    vectorized=np.exp, builtin=True,
)  # fmt: skip
log = defop(
    "log", arity=1,
    forward=math.log,
    derivatives=(lambda x, out: 1 / x,),
    domain=Domain("x > 0", lambda x: x > 0),
    vectorized=np.log, builtin=True,
)  # fmt: skip
sqrt = defop(
    "sqrt", arity=1,
    forward=math.sqrt,
    derivatives=(lambda x, out: 0.5 / out,),
    domain=Domain("x >= 0", lambda x: x >= 0),
    vectorized=np.sqrt, builtin=True,
)  # fmt: skip
abs = defop(
    "abs", arity=1,
    forward=operator.abs,
    derivatives=(lambda x, out: sign(x),),
    vectorized=np.abs, builtin=True, kinks=(0.0,),
)  # fmt: skip
tanh = defop(
    "tanh", arity=1,
    forward=math.tanh,
    derivatives=(lambda x, out: 1 - out * out,),
    vectorized=np.tanh, builtin=True,
)  # fmt: skip
sigmoid = defop(
    "sigmoid", arity=1,
    forward=_sigmoid,
    derivatives=(lambda x, out: out * (1 - out),),
    vectorized=lambda x: np.exp(-np.logaddexp(0.0, -x)), builtin=True,
)  # fmt: skip
relu = defop(
    "relu", arity=1, symbol="ReLU",
    forward=_relu,
    derivatives=(lambda x, out: step(x),),
    vectorized=lambda x: np.maximum(x, 0.0), builtin=True, kinks=(0.0,),
)  # fmt: skip
leaky_relu = defop(
    "leaky_relu", arity=1, symbol="leaky_relu", formula="leaky_relu({0}, {slope})",
    param_names=("slope",),
    forward=_leaky_relu,
    derivatives=(lambda x, out, slope: slope + (1 - slope) * step(x),),
    vectorized=lambda x, slope: np.where(x > 0, x, slope * x), builtin=True, kinks=(0.0,),
)  # fmt: skip
softplus = defop(
    "softplus", arity=1,
    forward=_softplus,
    derivatives=(lambda x, out: sigmoid(x),),
    vectorized=lambda x: np.logaddexp(0.0, x), builtin=True,
)  # fmt: skip
sin = defop(
    "sin", arity=1,
    forward=math.sin,
    derivatives=(lambda x, out: cos(x),),
    vectorized=np.sin, builtin=True,
)  # fmt: skip
cos = defop(
    "cos", arity=1,
    forward=math.cos,
    derivatives=(lambda x, out: -sin(x),),
    vectorized=np.cos, builtin=True,
)  # fmt: skip
gaussian = defop(  # the radial basis function exp(-x**2)
    "gaussian", arity=1,
    forward=lambda x: math.exp(-x * x),
    derivatives=(lambda x, out: -2 * x * out,),
    vectorized=lambda x: np.exp(-x * x), builtin=True,
)  # fmt: skip
sum = defop(
    "sum", arity=None, symbol="sum", formula=" + ", precedence=_S, associative=True,
    forward=lambda *xs: builtins.sum(xs),
    derivatives=(1.0,),
    vectorized=lambda stacked: np.sum(stacked, axis=0), builtin=True,
)  # fmt: skip


logsumexp = defop(  # n-ary, stable: log(sum(exp(x_i))); softmax_i = exp(x_i - out)
    "logsumexp", arity=None, formula="logsumexp({*})",
    forward=lambda *xs: _logsumexp(xs),
    derivatives=(lambda x, out: exp(x - out),),
    vectorized=lambda stacked: np.logaddexp.reduce(stacked, axis=0), builtin=True,
)  # fmt: skip


# ----- compiled forms: what the compiler fuses scalar nodes into -------------------------
linear_rows = CompiledForm(  # k sums of coefficient * value: out = C @ A
    "linear_rows", formula="C @ A",
    forward=np.matmul,
    vjps=(lambda g, c, a, out: g @ a.T, lambda g, c, a, out: c.T @ g),
)  # fmt: skip
dot_terms = CompiledForm(  # k sums of m products of two batch values: out = sum_t a_t * b_t
    "dot_terms", formula="sum_t a_t*b_t",
    forward=lambda a, b: np.einsum("tkw,tkw->kw", a, b),
    vjps=(lambda g, a, b, out: g[None] * b, lambda g, a, b, out: g[None] * a),
)  # fmt: skip
COMPILED_FORMS = (linear_rows, dot_terms)


def table() -> list[Op]:
    """Every registered op, built-in and user-defined, in registration order."""
    from .operation import REGISTRY

    return list(REGISTRY.values())
