"""The scalar engine: ``Value`` and reverse-mode backpropagation.

Every operation on Values records a node: its result, the op (an entry of the op
table in :mod:`autograd.ops`) and its parents as an ordered tuple. Nodes hold no
closures, so a graph has no reference cycles and is freed by reference counting
the moment it is dropped. ``backward()`` is the reverse walk of
:mod:`autograd.graph`, which asks each node's op for its local derivatives.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from . import explain, graph, ops
from . import mode as _mode
from .graph import cycle_collector_paused
from .operation import DomainError, Op

__all__ = ["Constant", "DomainError", "Value", "cycle_collector_paused"]

Number = int | float

_get_mode = _mode._MODE.get
_new = object.__new__
_isfinite = math.isfinite
_POW, _SUM = ops.pow, ops.sum


def _to_float(data: Any) -> float:
    if type(data) is float:
        number = data
    elif isinstance(data, (numbers.Real, np.bool_)) and not isinstance(data, Value):
        try:
            number = float(data)
        except OverflowError:
            raise ValueError(f"{data!r:.60} is too large for a float (|x| > 1.8e308)") from None
    else:
        _refuse(data)
    if not _isfinite(number) and not _mode.nonfinite_allowed():
        raise ValueError(
            f"a Value holds a finite number, not {number}; chainrule never computes with a "
            "silent nan or inf (autograd.allow_nonfinite() gives IEEE semantics)"
        )
    return number


def _seed_gradient(gradient: Any) -> float:
    """The seed of ``backward(gradient)`` as a float, or a clear error."""
    if isinstance(gradient, (numbers.Real, np.bool_)):
        try:
            return _to_float(gradient)
        except ValueError as exc:
            raise ValueError(f"backward(gradient): {exc}") from None
    raise TypeError(
        "backward(gradient): the seed is one number, d(this)/d(this) (1.0 by default), "
        f"or a Value; got {type(gradient).__name__}: {gradient!r:.60}"
    )


def _refuse(data: Any) -> None:
    if isinstance(data, Value):
        raise TypeError(
            "Value(...) takes a number, not another Value; use value.data for its number "
            "or value.detach() for a copy cut from the graph"
        )
    raise TypeError(
        f"Value holds one real number (int, float, bool or numpy scalar), "
        f"not {type(data).__name__}: {data!r:.60}"
    )


# Mutation testing cannot switch on a change in _binary or _unary: they run while this
# module is imported, to make the operator methods (every test exercises those).
# pragma: no mutate start
def _binary(op: Op, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method for a binary operator: one Python frame from ``a * b`` to the new node.

    It is :func:`_apply1` and :func:`_record` written out in one body: ``*`` and ``+``
    build most nodes of a network, and a second frame would cost them about 10%.
    """
    forward, isfinite = op.forward, math.isfinite

    def method(self: Value, other: Any) -> Value:
        if other.__class__ is not Value and not isinstance(other, Value):
            other = _const(other)
        a, b = (other, self) if reflected else (self, other)
        try:
            data = forward(a.data, b.data)
        except (ArithmeticError, ValueError) as exc:
            raise op.domain_error((a.data, b.data), exc) from None
        if not isfinite(data) and not _mode.nonfinite_allowed():
            raise op.nonfinite_error((a.data, b.data), data)
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        if _get_mode() is None:
            out._prev = (a, b)
            out.op = op
            return out
        return _record_special(out, op, (a, b))

    method.__name__ = f"__r{op.name}__" if reflected else f"__{op.name}__"
    method.__doc__ = f"Apply op {op.name!r} of the table ({op.formula})."
    return method


def _unary(op: Op) -> Callable[[Value], Value]:
    """The method for a one-input op, e.g. ``x.tanh()``: :func:`_record` written out, as
    in :func:`_binary`."""
    forward, isfinite = op.forward, math.isfinite

    def method(self: Value) -> Value:
        try:
            data = forward(self.data)
        except (ArithmeticError, ValueError) as exc:
            raise op.domain_error((self.data,), exc) from None
        if not isfinite(data) and not _mode.nonfinite_allowed():
            raise op.nonfinite_error((self.data,), data)
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        if _get_mode() is None:
            out._prev = (self,)
            out.op = op
            return out
        return _record_special(out, op, (self,))

    method.__name__ = op.name
    method.__doc__ = f"Apply op {op.name!r} of the table ({op.formula.format('x')})."
    return method


# pragma: no mutate end


class Value:
    """One number in a computation graph, with the gradient backward() gives it.

    ``Value(data, _children=(), _op='', label='')`` as in micrograd. ``data`` and
    ``grad`` are plain floats you may assign; ``_prev`` is the ordered tuple of
    parents and ``op`` the :class:`~autograd.operation.Op` that made this node
    (``None`` for a leaf). ``_op`` is micrograd's field: the op's text (``'+'``,
    ``'tanh'``), ``''`` for a leaf.
    """

    __slots__ = ("_prev", "data", "grad", "label", "op")
    __array_ufunc__ = None  # numpy defers to our reflected operators: 2.0 * value is a Value

    def __init__(
        self, data: Any, _children: Iterable[Value] = (), _op: Op | str = "", label: str = ""
    ) -> None:
        self.data = _to_float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self.op = _op or None  # a str here is a node built by hand, micrograd-style
        if label is not None and not isinstance(label, str):
            raise TypeError(
                f"a Value's label must be a str, not {type(label).__name__}: {label!r:.60}"
            )
        self.label = label

    @property
    def _op(self) -> str:
        """The op's text, as micrograd's ``Value._op``: ``'*'``, ``'tanh'``, ``''`` for a leaf."""
        op = self.op
        return "" if op is None else str(op)

    @_op.setter
    def _op(self, text: Op | str) -> None:
        self.op = text or None

    # ----- printing -------------------------------------------------------------------
    def __repr__(self) -> str:
        extra = f", op={self._op!r}" if self.op is not None else ""
        if self.label:
            extra += f", label={self.label!r}"
        return f"Value(data={self.data:.6g}, grad={_show(self.grad)}{extra})"

    # ----- operators and functions: each one applies one entry of the op table ---------
    __add__ = _binary(ops.add)
    __radd__ = _binary(ops.add, reflected=True)
    __sub__ = _binary(ops.sub)
    __rsub__ = _binary(ops.sub, reflected=True)
    __mul__ = _binary(ops.mul)
    __rmul__ = _binary(ops.mul, reflected=True)
    __truediv__ = _binary(ops.truediv)
    __rtruediv__ = _binary(ops.truediv, reflected=True)
    __rpow__ = _binary(ops.pow_value, reflected=True)
    __neg__ = _unary(ops.neg)
    __abs__ = _unary(ops.abs)

    def __pow__(self, other: Value | Number) -> Value:
        """``x ** 2`` (a number exponent: op ``pow``) or ``x ** y`` (op ``pow_value``)."""
        if isinstance(other, Value):
            return _POW_VALUE_METHOD(self, other)
        if not isinstance(other, (numbers.Real, np.bool_)):
            raise TypeError(f"exponent must be a number or a Value, not {type(other).__name__}")
        exponent = _to_float(other)  # too large for a float, nan or inf: a clear error
        if exponent.is_integer():
            exponent = int(exponent)
        return _apply1(_POW.bind(exponent), self)

    def __pos__(self) -> Value:
        return self

    exp = _unary(ops.exp)
    log = _unary(ops.log)
    sqrt = _unary(ops.sqrt)
    abs = _unary(ops.abs)
    tanh = _unary(ops.tanh)
    sigmoid = _unary(ops.sigmoid)
    relu = _unary(ops.relu)
    softplus = _unary(ops.softplus)
    sin = _unary(ops.sin)
    cos = _unary(ops.cos)
    gaussian = _unary(ops.gaussian)  # the radial basis function exp(-x**2)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        return _apply1(ops.leaky_relu.bind(float(slope)), self)

    @staticmethod
    def sum(values: Iterable[Value | Number]) -> Value:
        """One n-ary node adding all ``values`` (a 100-input neuron is one node)."""
        return apply(_SUM, tuple(values))

    @staticmethod
    def logsumexp(values: Iterable[Value | Number]) -> Value:
        """log(sum(exp(v))) as one stable node; its derivative is the softmax."""
        return apply(ops.logsumexp, tuple(values))

    @staticmethod
    def mean(values: Iterable[Value | Number]) -> Value:
        values = tuple(values)
        if not values:
            raise ValueError("mean of no values")
        return apply(_SUM, values) / len(values)

    # ----- comparisons compare data; == and hash stay by identity, as in micrograd -----
    def __lt__(self, other: Value | Number) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Value | Number) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Value | Number) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Value | Number) -> bool:
        return self.data >= _data(other)

    # ----- a Value in places a Python number goes: all read data ------------------------
    def __float__(self) -> float:
        return self.data

    def __int__(self) -> int:
        return int(self.data)

    def __round__(self, ndigits: int | None = None) -> float | int:
        """``round(v, 2)`` rounds the data, as ``round(2.345, 2)`` does (a number, no node)."""
        return round(self.data, ndigits)

    def __trunc__(self) -> int:
        return math.trunc(self.data)

    def __floor__(self) -> int:
        return math.floor(self.data)

    def __ceil__(self) -> int:
        return math.ceil(self.data)

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the data; an empty spec gives the repr."""
        return format(self.data, spec) if spec else repr(self)

    def item(self) -> float:
        """The number, as PyTorch's ``tensor.item()``."""
        return self.data

    # ----- graph ----------------------------------------------------------------------
    @classmethod
    def apply(cls, op: Op, args: tuple[Any, ...]) -> Value:
        """Apply any op of the table to Values and numbers, recording a node.

        ``op(value, ...)`` comes here, so an op applied to Values records a node.
        """
        return apply(op, args)

    @property
    def is_leaf(self) -> bool:
        return not self._prev

    def detach(self) -> Value:
        """A new leaf with the same data, cut from the graph (as ``tensor.detach()``)."""
        return Value(self.data, label=self.label)

    def topological_order(self) -> list[Value]:
        """Every node this one depends on, parents before children, ending with self."""
        return graph.topological_order(self)

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of this graph, leaves included."""
        for node in graph.topological_order(self):
            node.grad = 0.0

    def backward(self, gradient: float | Value = 1.0, *, create_graph: bool = False) -> None:
        """Backpropagate from this node: fill ``grad`` of every node it depends on.

        * The output is seeded with ``gradient`` (1.0 by default).
        * Leaves (inputs, parameters) **accumulate**: a second ``backward()`` adds to
          their ``grad`` until you zero it, as in PyTorch and micrograd.
        * Intermediate nodes hold the gradient of this pass only, so calling backward
          twice never double-counts through them.
        * ``create_graph=True`` records the backward pass itself as Values, so every
          ``grad`` becomes a Value you can differentiate again (second derivatives).

        The walk is iterative: a chain of a million nodes works. It pauses Python's
        cyclic garbage collector while it runs: the walk makes no reference cycles,
        and on a large heap the collector's passes would cost more than the walk.
        """
        if gradient.__class__ is not float or not _isfinite(gradient):
            gradient = gradient if isinstance(gradient, Value) else _seed_gradient(gradient)
        mode = _get_mode()
        check = mode.anomaly.check_backward if mode is not None and mode.anomaly else None
        with cycle_collector_paused():
            order = graph.topological_order(self, leaves=False)
            graph.backpropagate(order, self, gradient, create_graph=create_graph, check=check)

    def backward_steps(
        self, gradient: float = 1.0, *, model: Any = None
    ) -> Iterator[explain.BackwardStep]:
        """Backward, one node at a time: yields an :class:`~autograd.explain.BackwardStep`.

        ``print(step)`` explains the chain rule with the actual numbers. Consuming
        every step leaves exactly the gradients ``backward()`` gives. ``model=`` (such
        as an ``nn.MLP``) names its parameters ``layers.0.neurons.3.w.1``.
        """
        return explain.backward_steps(self, gradient, model=model)

    def formula(self) -> str:
        """A readable expression for this node, e.g. ``tanh(x*w + b)``."""
        return explain.formula(self)

    def tree(self, *, max_depth: int = 40, model: Any = None) -> explain.TextTree:
        """A text tree with data and grad on every node (no Graphviz needed); branches
        deeper than ``max_depth`` end in a visible ``...`` line; ``model=`` names the
        model's parameters. It prints as a tree also as a cell's last expression."""
        return explain.tree(self, max_depth=max_depth, model=model)


def _show(x: Any) -> str:
    return f"{x:.6g}" if isinstance(x, float) else repr(x)


def _data(x: Value | Number) -> float:
    return x.data if isinstance(x, Value) else _to_float(x)


class Constant(Value):
    """A number an op turned into a leaf: the ``2`` of ``2 * x``, as micrograd does.

    It is a Value in every way (it even gets a ``grad``, which nobody can read); the
    class only tells pictures and text that you did not make this leaf yourself.
    """

    __slots__ = ()


def _const(x: Any) -> Value:
    """A number used in an op becomes a constant leaf, as in micrograd."""
    out = _new(Constant)
    out.data = _to_float(x)
    out.grad = 0.0
    out._prev = ()
    out.op = None
    out.label = ""
    return out


# ----- recording nodes ----------------------------------------------------------------
def _apply1(op: Op, x: Value) -> Value:
    """A one-input op with parameters (``x**2``, ``leaky_relu``): forward, then record."""
    return _record(op, (x,), op.evaluate((x.data,)))


def _record(op: Op, parents: tuple[Value, ...], data: float) -> Value:
    """The new node holding ``data``, made by ``op`` from ``parents``."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _get_mode() is None:
        out._prev = parents
        out.op = op
        return out
    return _record_special(out, op, parents)


def _record_special(out: Value, op: Op, parents: tuple[Value, ...]) -> Value:
    """Recording under no_grad or detect_anomaly."""
    mode = _get_mode()
    assert mode is not None
    if mode.anomaly is not None and not math.isfinite(out.data):
        inputs = ", ".join(f"{p.data!r}" for p in parents)
        raise _mode.AnomalyError(
            f"forward: {op.name}({inputs}) produced {out.data!r}\n  at {_mode.user_source_line()}"
        )
    if mode.grad_enabled:
        out._prev = parents
        out.op = op
        if mode.anomaly is not None:
            mode.anomaly.remember(out)
    else:
        out._prev = ()
        out.op = None
    return out


def apply(op: Op, args: tuple[Any, ...]) -> Value:
    """Apply any op of the table to Values and numbers, recording a node."""
    if op.needs_params:
        raise TypeError(f"op {op.name!r} needs parameters {op.param_names}; use .bind(...)")
    if op.arity is not None and len(args) != op.arity:
        raise TypeError(f"{op.name} takes {op.arity} argument(s), got {len(args)}")
    if op.arity is None and not args:
        raise ValueError(f"{op.name} of no values")
    for a in args:
        if a.__class__ is not Value:  # numbers (or Value subclasses) among them
            args = tuple(a if isinstance(a, Value) else _const(a) for a in args)
            break
    data = op.evaluate(list(map(_data_of, args)))
    return _record(op, args, data)


_data_of = operator.attrgetter("data")


_POW_VALUE_METHOD = _binary(ops.pow_value)
