"""The groups of a compiled program, and the one protocol they run by.

A group computes k nodes of one kind at once, for the whole batch. Every group has

* ``forward(batch, static, width) -> saved``: read its operands from the stores, write
  its results into its slots, and return what backward needs;
* ``backward(saved, gbatch, gstatic, width, inputs)``: read the upstream gradient of
  its results and add each operand's share into the gradient stores (``inputs=False``:
  the caller needs no gradients for the program's inputs).

Derivatives come from the op table only: an :class:`OpGroup` evaluates its op's
derivative rules on arrays, a :class:`LinearGroup` and a :class:`DotGroup` the
vector-Jacobian products of their compiled forms (``ops.linear_rows``, ``ops.dot_terms``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ops
from ..operation import DomainError, Op
from .layout import BATCH, SLOT_OF_ONE, SLOT_OF_ZERO, STATIC, as_slice, view

Node = Any

_MATMUL = ops.linear_rows.forward
_VJP_COEFFICIENTS, _VJP_VALUES = ops.linear_rows.vjps

__all__ = [
    "DotGroup",
    "Gather",
    "Group",
    "LinearGroup",
    "OpGroup",
    "add_rows",
    "domain_error",
    "gather",
]


@dataclass
class Gather:
    """Where one operand of a group comes from: batch rows, static values, or both."""

    batch_idx: np.ndarray | slice | None = None  # rows of the batch store
    static_idx: np.ndarray | None = None  # entries of the static store
    batch_pos: np.ndarray | None = None  # positions in the group, when mixed
    static_pos: np.ndarray | None = None
    batch_unique: bool = True
    static_unique: bool = True
    repeated: bool = False  # every position reads the same batch row (kept 1 x width)
    inputs_only: bool = False  # reads only the program's inputs (their grads may be skipped)
    needs_grad: bool = True  # False: only constants, nobody wants their gradient

    def wanted(self, inputs: bool) -> bool:
        """Whether backward must pass gradients to these values."""
        return self.needs_grad and (inputs or not self.inputs_only)

    def read(self, batch: np.ndarray, static: np.ndarray, k: int, width: int) -> np.ndarray:
        if self.static_idx is None:  # a repeated row stays (1, width): numpy broadcasts it
            return batch[self.batch_idx]
        if self.batch_idx is None:
            values = static[self.static_idx]
            return values[:, None] if width else values
        out = np.empty((k, width))
        out[self.batch_pos] = batch[self.batch_idx]
        out[self.static_pos] = static[self.static_idx][:, None]
        return out

    def read_all(self, batch: np.ndarray, static: np.ndarray, k: int, width: int) -> np.ndarray:
        """Like :meth:`read`, with a repeated row spelled out to all k positions."""
        rows = self.read(batch, static, k, width)
        return np.broadcast_to(rows, (k, *rows.shape[1:])) if self.repeated else rows

    def scatter(
        self, contrib: Any, gbatch: np.ndarray, gstatic: np.ndarray, k: int, width: int
    ) -> None:
        # contrib = upstream * local has the group's full shape: upstream is (k, width)
        if self.repeated:
            gbatch[self.batch_idx] += contrib.sum(axis=0)
        elif self.static_idx is None:
            add_rows(gbatch, self.batch_idx, contrib, self.batch_unique)
        elif self.batch_idx is None:
            add_rows(gstatic, self.static_idx, contrib.sum(axis=1) if width else contrib,
                      self.static_unique)  # fmt: skip
        else:
            add_rows(gbatch, self.batch_idx, contrib[self.batch_pos], self.batch_unique)
            np.add.at(gstatic, self.static_idx, contrib[self.static_pos].sum(axis=1))


def add_rows(store: np.ndarray, idx: Any, rows: np.ndarray, unique: bool) -> None:
    if unique:
        store[idx] += rows
    else:
        np.add.at(store, idx, rows)


@dataclass
class OpGroup:
    """k nodes applying the same op at the same depth: one vectorised call."""

    op: Op
    store: str
    out: slice
    operands: list[Gather]
    nodes: list[Node] = field(repr=False)
    stacked: int = 0  # for an n-ary op: its arity m, with one gather of all m*k operands

    def __post_init__(self) -> None:
        op = self.op
        self._k = self.out.stop - self.out.start
        self._batch = self.store == BATCH
        if op.vectorized is not None:
            vectorized, params = op.vectorized, op.params
            self._run = (lambda *args: vectorized(*args, *params)) if params else vectorized
        else:  # a user op without a numpy form: element by element
            self._run = np.vectorize(lambda *xs: op.evaluate(xs), otypes=[float])

    def forward(self, batch: np.ndarray, static: np.ndarray, width: int) -> tuple:
        k = self._k
        w = width if self._batch else 0
        if self.stacked:
            rows = self.operands[0].read_all(batch, static, k * self.stacked, w)
            args = [rows.reshape((self.stacked, k) + rows.shape[1:])]
        else:
            args = [g.read(batch, static, k, w) for g in self.operands]
        try:
            result = self._run(*args)
        except FloatingPointError as exc:
            raise domain_error(self.op, args, exc) from None
        target = batch if self._batch else static
        target[self.out] = result
        return args, target[self.out]

    def _local_grads(self, args: list, out: np.ndarray) -> list:
        try:
            return self.op.local_grads(args, out)
        except TypeError:  # a rule written for floats only: element by element
            shape = np.shape(out)
            columns = [np.broadcast_to(a, shape).ravel() for a in args]
            rows = [
                self.op.local_grads([c[i] for c in columns], o) for i, o in enumerate(np.ravel(out))
            ]
            return [np.array(col, float).reshape(shape) for col in zip(*rows)]

    def backward(
        self, saved: tuple, gbatch: np.ndarray, gstatic: np.ndarray, width: int, inputs: bool
    ) -> None:
        args, out = saved
        k = self._k
        w = width if self._batch else 0
        upstream = (gbatch if self._batch else gstatic)[self.out]
        try:
            if self.stacked:  # the one n-ary rule, evaluated once on all m inputs
                local = self._local_grads(args, out[None])[0]
            else:
                local = self._local_grads(args, out)
        except FloatingPointError as exc:
            raise domain_error(self.op, args, exc, derivative=True) from None
        if self.stacked:
            if not self.operands[0].wanted(inputs):
                return
            contrib = upstream[None] * local
            if contrib.shape[0] != self.stacked:  # a constant rule, such as sum's 1
                contrib = np.broadcast_to(contrib, (self.stacked, *upstream.shape))
            self.operands[0].scatter(
                contrib.reshape((-1, *upstream.shape[1:])), gbatch, gstatic, k * self.stacked, w
            )
            return
        for gather, d in zip(self.operands, local):
            if gather.wanted(inputs):
                gather.scatter(upstream * d, gbatch, gstatic, k, w)


@dataclass
class LinearGroup:
    """k n-ary sums of (coefficient * source) terms: out = C @ A + c0.

    Coefficients are static (parameters, or 1 for a plain term); sources are batch
    rows. Terms whose source is static too add up to the constant vector c0; a
    group of static sums (a penalty such as sum(w*w)) has only those.
    """

    store: str
    out: slice
    src: np.ndarray | slice  # batch rows forming A, one per column of C
    n_src: int
    flat: np.ndarray  # position in C (row * n_src + column) of every batch term
    coef: np.ndarray  # static index of each batch term's coefficient (SLOT_OF_ONE for a plain term)
    const_rows: np.ndarray  # row of each static-source term
    const_coef: np.ndarray  # its coefficient (static index)
    const_src: np.ndarray  # its static source
    nodes: list[Node] = field(repr=False)
    reads_inputs: bool = False  # every source is an input of the program

    def __post_init__(self) -> None:
        self._views: dict[int, tuple] = {}
        self._learned = self.coef != SLOT_OF_ONE
        self._const_learned = self.const_coef != SLOT_OF_ONE
        k = self.out.stop - self.out.start
        self._dense: np.ndarray | None = None  # C as one gather, when no term repeats
        if len(np.unique(self.flat)) == len(self.flat):
            dense = np.full(k * self.n_src, SLOT_OF_ZERO, dtype=np.intp)
            dense[self.flat] = self.coef
            self._dense = dense.reshape(k, self.n_src)
        # A dense layer whose parameters lie in the store row by row (nn's order: each
        # neuron's weights, then its bias): C and the biases are strided views of it.
        self._weights: tuple | None = None  # for _view: (slice, (k, stride), n_src)
        self._bias: tuple | None = None
        if self._dense is not None and self._dense.size and self._learned.all():
            first = int(self._dense[0, 0])
            stride = int(self._dense[1, 0]) - first if k > 1 else self.n_src
            expected = first + stride * np.arange(k)[:, None] + np.arange(self.n_src)
            if stride >= self.n_src and np.array_equal(self._dense, expected):
                self._weights = (slice(first, first + k * stride), (k, stride), self.n_src)
        if (
            self._weights is not None
            and len(self.const_rows) == k
            and np.array_equal(self.const_rows, np.arange(k))
            and (self.const_coef == SLOT_OF_ONE).all()
        ):
            start = int(self.const_src[0])
            step = int(self.const_src[1]) - start if k > 1 else 1
            if step > 0 and np.array_equal(self.const_src, start + step * np.arange(k)):
                self._bias = (slice(start, start + k * step, step), (k,), None)
        learned = self.coef[self._learned]
        self._learned_unique = len(np.unique(learned)) == len(learned)
        self._learned_flat = self.flat[self._learned]
        self._learned_coef = learned

    def _dense_views(self, store: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The weight matrix and bias vector as views of a static store (made once per
        store: a program reuses its stores)."""
        views = self._views.get(id(store))
        if views is None or views[0] is not store:
            bias = None if self._bias is None else view(store, self._bias)
            views = self._views[id(store)] = (store, view(store, self._weights), bias)
        return views[1], views[2]

    def forward(self, batch: np.ndarray, static: np.ndarray, width: int) -> tuple:
        k = self.out.stop - self.out.start
        if self._weights is not None:  # a dense layer: out = W @ A (+ b)
            c, bias = self._dense_views(static)
            a = batch[self.src]
            result = _MATMUL(c, a)
            if bias is not None:
                result += bias[:, None]
            elif len(self.const_rows):
                weights = static[self.const_coef] * static[self.const_src]
                result += np.bincount(self.const_rows, weights=weights, minlength=k)[:, None]
            batch[self.out] = result
            return c, a, static
        c0 = None
        if len(self.const_rows):
            weights = static[self.const_coef] * static[self.const_src]
            c0 = np.bincount(self.const_rows, weights=weights, minlength=k)
        if self.store == STATIC:
            static[self.out] = 0.0 if c0 is None else c0
            return None, None, static
        if self._dense is not None:
            c = static[self._dense]
        else:
            c = np.bincount(self.flat, weights=static[self.coef], minlength=k * self.n_src)
            c = c.reshape(k, self.n_src)
        a = batch[self.src]
        result = _MATMUL(c, a)
        if c0 is not None:
            result += c0[:, None]
        batch[self.out] = result
        return c, a, static

    def backward(
        self, saved: tuple, gbatch: np.ndarray, gstatic: np.ndarray, width: int, inputs: bool
    ) -> None:
        """``inputs=False``: the caller needs no gradients for the program's inputs."""
        c, a, static = saved
        n = len(gstatic)
        if self._bias is not None:  # a dense layer with biases: all views
            upstream = gbatch[self.out]
            if inputs or not self.reads_inputs:
                gbatch[self.src] += _VJP_VALUES(upstream, c, a, None)
            g_weights, g_bias = self._dense_views(gstatic)
            g_weights += _VJP_COEFFICIENTS(upstream, c, a, None)
            g_bias += upstream.sum(axis=1)  # a plain term: d/db = 1
            return
        if self.store == STATIC:
            per_row = gstatic[self.out]
        else:
            upstream = gbatch[self.out]
            gbatch[self.src] += _VJP_VALUES(upstream, c, a, None)
            if len(self._learned_coef):
                dc = _VJP_COEFFICIENTS(upstream, c, a, None).ravel()[self._learned_flat]
                if self._learned_unique:
                    gstatic[self._learned_coef] += dc
                else:
                    gstatic += np.bincount(self._learned_coef, weights=dc, minlength=n)
            per_row = upstream.sum(axis=1)
        if len(self.const_rows):  # static terms coef * src: mul's rule from the table
            total = per_row[self.const_rows]
            coef, src = static[self.const_coef], static[self.const_src]
            d_coef, d_src = ops.mul.local_grads((coef, src), None)
            gstatic += np.bincount(self.const_src, weights=total * d_src, minlength=n)
            learned = self._const_learned
            if learned.any():
                gstatic += np.bincount(
                    self.const_coef[learned], weights=(total * d_coef)[learned], minlength=n
                )


@dataclass
class DotGroup:
    """k sums of m products of two batch values each: out = sum over t of a_t * b_t.

    The products are not stored: the cross-entropy term sum(t_i * log p_i) is one step.
    """

    out: slice
    left: Gather  # the m*k first factors, term by term
    right: Gather  # the m*k second factors
    m: int
    nodes: list[Node] = field(repr=False)

    def forward(self, batch: np.ndarray, static: np.ndarray, width: int) -> tuple:
        k = self.out.stop - self.out.start
        a = self.left.read_all(batch, static, self.m * k, width).reshape(self.m, k, width)
        b = self.right.read_all(batch, static, self.m * k, width).reshape(self.m, k, width)
        batch[self.out] = ops.dot_terms.forward(a, b)
        return a, b

    def backward(
        self, saved: tuple, gbatch: np.ndarray, gstatic: np.ndarray, width: int, inputs: bool
    ) -> None:
        a, b = saved
        k = self.out.stop - self.out.start
        upstream = gbatch[self.out]
        for gather, vjp in zip((self.left, self.right), ops.dot_terms.vjps):
            if gather.wanted(inputs):
                contrib = vjp(upstream, a, b, None).reshape(self.m * k, width)
                gather.scatter(contrib, gbatch, gstatic, self.m * k, width)


def domain_error(op: Op, args: list, exc: BaseException, derivative: bool = False) -> DomainError:
    """The scalar engine's error for the first sample of the batch that fails."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    width = shape[-1] if len(shape) > 1 else 1
    columns = [np.broadcast_to(a, shape).ravel().tolist() for a in args]
    for i, point in enumerate(zip(*columns)):
        where = f"(in a compiled batch, sample {i % width})"
        try:
            out = op.evaluate(point)
            if derivative:
                op.local_grads(point, out)
        except DomainError as err:
            return DomainError(f"{err} {where}", op, err.operands)
        except (ArithmeticError, ValueError) as err:
            shown = ", ".join(f"{x:g}" for x in point)
            return DomainError(
                f"{op.name}({shown}): the derivative is undefined or infinite there ({err}) "
                f"{where}", op, point,
            )  # fmt: skip
    return DomainError(f"{op.name}: {exc} (in a compiled batch)", op, ())


def gather(parents: list[Node], facts: Any, layout: Any, n_inputs: int = 0) -> Gather:
    """How a group reads the values ``parents`` (one per position) from the stores."""
    is_batch, batch_slot, static_slot = facts.is_batch, layout.batch_slot, layout.static_slot
    needs_grad = any(facts.needs_grad[p] for p in parents)
    flags = [is_batch[p] for p in parents]
    if all(flags):
        rows = np.array([batch_slot[p] for p in parents], dtype=np.intp)
        inputs_only = bool((rows < n_inputs).all())
        if len(rows) > 1 and (rows == rows[0]).all():
            row = slice(int(rows[0]), int(rows[0]) + 1)
            return Gather(
                batch_idx=row, repeated=True, inputs_only=inputs_only, needs_grad=needs_grad
            )
        return Gather(
            batch_idx=as_slice(rows),
            batch_unique=len(set(rows.tolist())) == len(rows),
            inputs_only=inputs_only,
            needs_grad=needs_grad,
        )
    if not any(flags):
        slots = np.array([static_slot[p] for p in parents], dtype=np.intp)
        return Gather(
            static_idx=slots,
            static_unique=len(set(slots.tolist())) == len(slots),
            needs_grad=needs_grad,
        )
    batch_pos = np.array([i for i, f in enumerate(flags) if f], dtype=np.intp)
    static_pos = np.array([i for i, f in enumerate(flags) if not f], dtype=np.intp)
    rows = np.array([batch_slot[parents[i]] for i in batch_pos], dtype=np.intp)
    return Gather(
        batch_idx=rows,
        static_idx=np.array([static_slot[parents[i]] for i in static_pos], dtype=np.intp),
        batch_pos=batch_pos,
        static_pos=static_pos,
        batch_unique=len(set(rows.tolist())) == len(rows),
        needs_grad=needs_grad,
    )


Group = OpGroup | LinearGroup | DotGroup
