"""The fast path: compile a per-sample scalar graph into batched numpy.

Build the graph once from Values for one sample, mark which leaves are the
sample's inputs, and :func:`compile` turns it into a :class:`Program` that runs
forward and backward for a whole batch with a handful of numpy calls:

* nodes applying the same op at the same depth become one vectorised call
  (level scheduling), with index arrays to gather operands and contiguous slices
  to store results;
* every n-ary ``sum`` of ``w * x`` products (a neuron) becomes a row of a matrix
  product, so a layer is one ``C @ A``, with C a view of the parameter store when the
  parameters lie in it row by row (nn's order); a sum of products of two batch values
  (cross-entropy's) is one dot step, and an n-ary op one call on stacked inputs;
* forward uses each op's ``vectorized`` form and backward its ``derivatives``
  from the op table, evaluated on arrays: no derivative is written twice.

Leaves that are not inputs (parameters, constants) are read from their Values at
every call and receive their gradients, summed over the batch, in ``.grad``,
exactly as the scalar engine would after a backward pass per sample.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import graph, ops
from .engine import Value
from .operation import DomainError, Op

__all__ = ["Program", "compile", "graph_signature"]

_BATCH, _STATIC = "batch", "static"


def _view(store: np.ndarray, spec: tuple[slice, tuple[int, ...], int | None]) -> np.ndarray:
    """A view of the store by plain slicing: (rows slice, shape, columns kept)."""
    rows, shape, columns = spec
    view = store[rows].reshape(shape)
    return view if columns is None else view[:, :columns]


def _float_errors_raise() -> np.errstate:
    """Float errors in numpy (log of 0, overflow) raise, as in the scalar engine."""
    return np.errstate(divide="raise", invalid="raise", over="raise", under="ignore")


SLOT_OF_ONE, SLOT_OF_ZERO = 0, 1  # static slots holding 1.0 (a plain term's coefficient), 0.0
_RESERVED = 2


@dataclass
class _Gather:
    """Where one operand of a group comes from: batch rows, static values, or both."""

    batch_idx: np.ndarray | slice | None = None  # rows of the batch store
    static_idx: np.ndarray | None = None  # entries of the static store
    batch_pos: np.ndarray | None = None  # positions in the group, when mixed
    static_pos: np.ndarray | None = None
    batch_unique: bool = True
    static_unique: bool = True
    repeated: bool = False  # every position reads the same batch row (kept 1 x width)
    inputs_only: bool = False  # reads only the program's inputs (their grads may be skipped)

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
            _add_rows(gbatch, self.batch_idx, contrib, self.batch_unique)
        elif self.batch_idx is None:
            _add_rows(gstatic, self.static_idx, contrib.sum(axis=1) if width else contrib,
                      self.static_unique)  # fmt: skip
        else:
            _add_rows(gbatch, self.batch_idx, contrib[self.batch_pos], self.batch_unique)
            np.add.at(gstatic, self.static_idx, contrib[self.static_pos].sum(axis=1))


def _add_rows(store: np.ndarray, idx: Any, rows: np.ndarray, unique: bool) -> None:
    if unique:
        store[idx] += rows
    else:
        np.add.at(store, idx, rows)


@dataclass
class _OpGroup:
    """k nodes applying the same op at the same depth: one vectorised call."""

    op: Op
    store: str
    out: slice
    operands: list[_Gather]
    nodes: list[Value] = field(repr=False)
    stacked: int = 0  # for an n-ary op: its arity m, with one gather of all m*k operands

    def __post_init__(self) -> None:
        op = self.op
        self._k = self.out.stop - self.out.start
        self._batch = self.store == _BATCH
        if op.vectorized is not None:
            vectorized, params = op.vectorized, op.params
            self._run = lambda *args: vectorized(*args, *params)
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
            raise _domain_error(self.op, args, exc) from None
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
            raise _domain_error(self.op, args, exc, derivative=True) from None
        if self.stacked:
            contrib = upstream[None] * local
            if contrib.shape[0] != self.stacked:  # a constant rule, such as sum's 1
                contrib = np.broadcast_to(contrib, (self.stacked, *upstream.shape))
            self.operands[0].scatter(
                contrib.reshape((-1, *upstream.shape[1:])), gbatch, gstatic, k * self.stacked, w
            )
            return
        for gather, d in zip(self.operands, local):
            if inputs or not gather.inputs_only:
                gather.scatter(upstream * d, gbatch, gstatic, k, w)


@dataclass
class _LinearGroup:
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
    nodes: list[Value] = field(repr=False)
    reads_inputs: bool = False  # every source is an input of the program

    def __post_init__(self) -> None:
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

    def forward(self, batch: np.ndarray, static: np.ndarray, width: int) -> tuple:
        k = self.out.stop - self.out.start
        if self._weights is not None:  # a dense layer: out = W @ A (+ b)
            c = _view(static, self._weights)
            a = batch[self.src]
            result = c @ a
            if self._bias is not None:
                result += _view(static, self._bias)[:, None]
            elif len(self.const_rows):
                weights = static[self.const_coef] * static[self.const_src]
                result += np.bincount(self.const_rows, weights=weights, minlength=k)[:, None]
            batch[self.out] = result
            return c, a, static
        c0 = None
        if len(self.const_rows):
            weights = static[self.const_coef] * static[self.const_src]
            c0 = np.bincount(self.const_rows, weights=weights, minlength=k)
        if self.store == _STATIC:
            static[self.out] = 0.0 if c0 is None else c0
            return None, None, static
        if self._dense is not None:
            c = static[self._dense]
        else:
            c = np.bincount(self.flat, weights=static[self.coef], minlength=k * self.n_src)
            c = c.reshape(k, self.n_src)
        a = batch[self.src]
        result = c @ a
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
                gbatch[self.src] += c.T @ upstream
            _view(gstatic, self._weights)[...] += upstream @ a.T
            _view(gstatic, self._bias)[...] += upstream.sum(axis=1)
            return
        if self.store == _STATIC:
            per_row = gstatic[self.out]
        else:
            upstream = gbatch[self.out]
            gbatch[self.src] += c.T @ upstream
            if len(self._learned_coef):
                dc = (upstream @ a.T).ravel()[self._learned_flat]
                if self._learned_unique:
                    gstatic[self._learned_coef] += dc
                else:
                    gstatic += np.bincount(self._learned_coef, weights=dc, minlength=n)
            per_row = upstream.sum(axis=1)
        if len(self.const_rows):
            total = per_row[self.const_rows]
            coef = static[self.const_coef]
            gstatic += np.bincount(self.const_src, weights=total * coef, minlength=n)
            learned = self._const_learned
            if learned.any():
                src_values = static[self.const_src[learned]]
                gstatic += np.bincount(
                    self.const_coef[learned], weights=total[learned] * src_values, minlength=n
                )


@dataclass
class _DotGroup:
    """k sums of m products of two batch values each: out = sum over t of a_t * b_t.

    The products are not stored: the cross-entropy term sum(t_i * log p_i) is one step.
    """

    out: slice
    left: _Gather  # the m*k first factors, term by term
    right: _Gather  # the m*k second factors
    m: int
    nodes: list[Value] = field(repr=False)

    def forward(self, batch: np.ndarray, static: np.ndarray, width: int) -> tuple:
        k = self.out.stop - self.out.start
        a = self.left.read_all(batch, static, self.m * k, width).reshape(self.m, k, width)
        b = self.right.read_all(batch, static, self.m * k, width).reshape(self.m, k, width)
        batch[self.out] = np.einsum("tkw,tkw->kw", a, b)
        return a, b

    def backward(
        self, saved: tuple, gbatch: np.ndarray, gstatic: np.ndarray, width: int, inputs: bool
    ) -> None:
        a, b = saved
        k = self.out.stop - self.out.start
        upstream = gbatch[self.out][None]
        for gather, other in ((self.left, b), (self.right, a)):
            if inputs or not gather.inputs_only:
                contrib = (upstream * other).reshape(self.m * k, width)
                gather.scatter(contrib, gbatch, gstatic, self.m * k, width)


def _domain_error(op: Op, args: list, exc: BaseException, derivative: bool = False) -> DomainError:
    """The scalar engine's error for the first row of the batch that fails."""
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    columns = [np.broadcast_to(a, shape).ravel().tolist() for a in args]
    for point in zip(*columns):
        try:
            out = op.evaluate(point)
            if derivative:
                op.local_grads(point, out)
        except DomainError as err:
            return DomainError(f"{err} (in a compiled batch)", op, err.operands)
        except (ArithmeticError, ValueError) as err:
            shown = ", ".join(f"{x:g}" for x in point)
            return DomainError(
                f"{op.name}({shown}): the derivative is undefined or infinite there ({err}) "
                "(in a compiled batch)", op, point,
            )  # fmt: skip
    return DomainError(f"{op.name}: {exc} (in a compiled batch)", op, ())


class Program:
    """A compiled per-sample graph that runs forward and backward for a batch.

    ``program(X)`` evaluates the outputs for every row of ``X`` (one column per
    input Value), backpropagates the batch mean of the outputs (or ``seed``) and
    adds the gradients to the ``.grad`` of every non-input leaf (the parameters).
    ``program.forward(X)`` evaluates only.
    """

    def __init__(
        self,
        outputs: list[Value],
        inputs: list[Value],
        params: list[Value],
        param_slots: np.ndarray,
        static_template: np.ndarray,
        groups: list[_OpGroup | _LinearGroup],
        output_slots: list[tuple[str, int]],
        n_batch: int,
        n_nodes: int,
    ) -> None:
        self.outputs = outputs
        self.inputs = inputs
        self.params = params
        self.groups = groups
        self._static_template = static_template
        self._param_slots = _as_slice(param_slots) if len(param_slots) else param_slots
        self._output_slots = output_slots
        stores = np.array([store == _BATCH for store, _ in output_slots])
        slots = np.array([i for _, i in output_slots], dtype=np.intp)
        self._out_batch_cols = np.flatnonzero(stores)
        self._out_batch_rows = slots[stores]
        self._out_static_cols = np.flatnonzero(~stores)
        self._out_static_slots = slots[~stores]
        self._out_unique = len(set(self._out_batch_rows.tolist())) == len(self._out_batch_rows)
        self._n_batch = n_batch
        self.n_nodes = n_nodes
        self.compile_seconds = 0.0
        self.input_grads: np.ndarray | None = None

    def __repr__(self) -> str:
        linear = sum(isinstance(g, _LinearGroup) for g in self.groups)
        return (
            f"Program({self.n_nodes} nodes -> {len(self.groups)} batched steps "
            f"({linear} matrix products), {len(self.inputs)} inputs, {len(self.outputs)} "
            f"outputs, {len(self.params)} parameters, "
            f"compiled in {self.compile_seconds * 1e3:.1f} ms)"
        )

    def _check_batch(self, batch: Any) -> np.ndarray:
        array = np.asarray(batch, dtype=float)
        if array.ndim == 1 and len(self.inputs) == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != len(self.inputs):
            raise ValueError(
                f"shape mismatch: this program takes a batch of shape (n, {len(self.inputs)}) "
                f"(one column per input), got {array.shape}"
            )
        if array.shape[0] == 0:
            raise ValueError("empty batch: need at least one row")
        return array

    def _run_forward(self, array: np.ndarray, params: np.ndarray) -> tuple:
        width = array.shape[0]
        batch = np.empty((self._n_batch, width))
        batch[: len(self.inputs)] = array.T
        static = self._static_template.copy()
        static[self._param_slots] = params
        saved = [group.forward(batch, static, width) for group in self.groups]
        outputs = np.empty((width, len(self.outputs)))
        outputs[:, self._out_batch_cols] = batch[self._out_batch_rows].T
        outputs[:, self._out_static_cols] = static[self._out_static_slots]
        return batch, static, saved, outputs

    def parameter_values(self) -> np.ndarray:
        """The parameters' current data, in the order of ``self.params``."""
        return np.array(list(map(_data_of, self.params)), dtype=float)

    def forward(self, batch: Any) -> np.ndarray:
        """Outputs for every row: an array of shape (n, number of outputs)."""
        with _float_errors_raise():
            return self._run_forward(self._check_batch(batch), self.parameter_values())[3]

    def run(
        self,
        batch: Any,
        params: np.ndarray,
        seed: Any = None,
        *,
        reduction: str = "mean",
        input_grads: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Forward and backward on arrays only: ``(outputs, param_grads, input_grads)``.

        ``params`` holds the parameter values (as :meth:`parameter_values`); no Value
        is read or written, which is what a training loop over many batches wants.
        ``input_grads=False`` skips the inputs' gradients (returned as None).
        """
        array = self._check_batch(batch)
        width = array.shape[0]
        with _float_errors_raise():
            batch_store, static, saved, outputs = self._run_forward(array, params)
            if seed is None:
                if reduction not in ("mean", "sum"):
                    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
                seed = np.full(outputs.shape, 1.0 / width if reduction == "mean" else 1.0)
            seed = np.broadcast_to(np.asarray(seed, float), outputs.shape)
            gbatch = np.zeros_like(batch_store)
            gstatic = np.zeros(len(static))
            _add_rows(gbatch, self._out_batch_rows, seed[:, self._out_batch_cols].T,
                      self._out_unique)  # fmt: skip
            if len(self._out_static_slots):
                np.add.at(gstatic, self._out_static_slots, seed[:, self._out_static_cols].sum(0))
            for group, state in zip(reversed(self.groups), reversed(saved)):
                group.backward(state, gbatch, gstatic, width, input_grads)
        inputs = gbatch[: len(self.inputs)].T if input_grads else None
        return outputs, gstatic[self._param_slots], inputs

    def __call__(self, batch: Any, seed: Any = None, *, reduction: str = "mean") -> np.ndarray:
        """Forward and backward for a batch; returns the outputs, shape (n, outputs).

        Backpropagates ``seed`` (shape (n, outputs)); by default the batch mean
        (``reduction="mean"``) or sum (``"sum"``) of the outputs. Gradients are
        added to the parameters' ``.grad``; input gradients land in ``self.input_grads``.
        """
        outputs, param_grads, input_grads = self.run(
            batch, self.parameter_values(), seed, reduction=reduction
        )
        for param, g in zip(self.params, param_grads.tolist()):
            param.grad += g
        self.input_grads = input_grads
        return outputs


def compile(  # noqa: A001 - the verb is the point
    outputs: Value | Sequence[Value],
    inputs: Sequence[Value],
    params: Sequence[Value] | None = None,
) -> Program:
    """Compile the graph behind ``outputs`` for batches of ``inputs``.

    ``inputs`` are leaf Values standing for one sample's features (and targets).
    ``params`` are the leaves whose data is read at every call and whose ``.grad``
    receives gradients; by default every other leaf. Leaves in neither list are
    constants, frozen at compile time. The graph must not depend on the sample's
    values through Python control flow: build it once for a representative sample.
    """
    start = time.perf_counter()
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    if not outs or not all(isinstance(o, Value) for o in outs):
        raise TypeError("compile() needs a Value or a list of Values as outputs")
    inputs = list(inputs)
    input_ids = {id(x) for x in inputs}
    if len(input_ids) != len(inputs):
        raise ValueError("compile(): the same input Value is listed twice")
    for x in inputs:
        if not isinstance(x, Value) or not x.is_leaf:
            raise TypeError(f"compile(): inputs must be leaf Values, got {x!r}")
    topo = graph.topological_order(outs)
    compiler = _Compiler(topo, inputs, outs, None if params is None else list(params))
    program = compiler.build()
    program.compile_seconds = time.perf_counter() - start
    return program


def graph_signature(
    outputs: Value | Sequence[Value], inputs: Sequence[Value], params: Sequence[Value] = ()
) -> tuple:
    """The shape of a graph: its ops, wiring and constants, with inputs and params by place.

    Two graphs built for two samples have the same signature exactly when one
    compiled program serves both; a difference means the graph depends on the
    sample (dropout masks, ``if x.data > 0`` in Python, a constant taken from data).
    """
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    roles = {x: ("input", i) for i, x in enumerate(inputs)}
    roles.update({p: ("param", i) for i, p in enumerate(params)})
    index: dict[Value, int] = {}
    shape = []
    for i, node in enumerate(graph.topological_order(outs)):
        index[node] = i
        if node._prev:
            shape.append((node.op, tuple(index[p] for p in node._prev)))
        else:
            shape.append(roles.get(node, ("constant", node.data)))
    shape.append(tuple(index[o] for o in outs))
    return tuple(shape)


def _data_of(value: Value) -> float:
    return value.data


class _Compiler:
    def __init__(
        self,
        topo: list[Value],
        inputs: list[Value],
        outputs: list[Value],
        params: list[Value] | None,
    ):
        self.topo = topo
        self.inputs = inputs
        self.outputs = outputs
        input_set = set(inputs)
        leaves = [n for n in topo if n.is_leaf and n not in input_set]
        if params is None:
            self.params, self.constants = leaves, []
        else:
            if not all(isinstance(p, Value) and p.is_leaf for p in params):
                raise TypeError("compile(): params must be leaf Values")
            if input_set & set(params):
                raise ValueError("compile(): a Value cannot be both an input and a parameter")
            param_set = set(params)
            self.params = list(params)
            self.constants = [n for n in leaves if n not in param_set]
        graph.check_table_ops(topo, why="it cannot be compiled")
        # Which nodes depend on the sample (batch) and which do not (static).
        self.is_batch: dict[Value, bool] = {}
        for node in topo:
            if node.is_leaf:
                self.is_batch[node] = node in input_set
            else:
                self.is_batch[node] = any(self.is_batch[p] for p in node._prev)
        self.uses: dict[Value, int] = dict.fromkeys(topo, 0)
        for node in topo:
            for p in node._prev:
                self.uses[p] += 1
        for out in outputs:
            self.uses[out] += 1

    # ---- fusing neurons into linear rows ------------------------------------------------
    def _dot_terms(self, node: Value) -> list[tuple[Value, Value]] | None:
        """(a, b) for each term of a batch sum made only of products of two batch values."""
        if node.op is not ops.sum or not self.is_batch[node]:
            return None
        pairs = []
        for term in node._prev:
            if term.op is not ops.mul or self.uses[term] != 1:
                return None
            a, b = term._prev
            if not (self.is_batch[a] and self.is_batch[b]):
                return None
            pairs.append((a, b))
        return pairs

    def _linear_terms(self, node: Value) -> list[tuple[Value | None, Value]] | None:
        """(coefficient, source) terms of a sum node: a product with a static factor
        used only by this sum becomes (factor, other factor); any other term (1, term)."""
        if node.op is not ops.sum:
            return None
        terms: list[tuple[Value | None, Value]] = []
        for term in node._prev:
            if term.op is ops.mul and self.uses[term] == 1:
                a, b = term._prev
                if not self.is_batch[a]:
                    terms.append((a, b))
                    continue
                if not self.is_batch[b]:
                    terms.append((b, a))
                    continue
            terms.append((None, term))
        return terms

    def build(self) -> Program:
        linear: dict[Value, list[tuple[Value | None, Value]]] = {}
        dots: dict[Value, list[tuple[Value, Value]]] = {}
        fused: set[Value] = set()
        for node in self.topo:
            pairs = self._dot_terms(node)
            if pairs is not None:
                dots[node] = pairs
                fused.update(node._prev)
                continue
            terms = self._linear_terms(node)
            if terms is not None:
                linear[node] = terms
                for term, (coef, _src) in zip(node._prev, terms):
                    if coef is not None:
                        fused.add(term)
        # Levels: depth over the graph that remains after fusion.
        level: dict[Value, int] = {}
        for node in self.topo:
            if node.is_leaf:
                level[node] = 0
            elif node in fused:
                continue
            else:
                if node in linear:
                    terms = linear[node]
                    parents = [s for _, s in terms] + [c for c, _ in terms if c is not None]
                elif node in dots:
                    parents = [x for pair in dots[node] for x in pair]
                else:
                    parents = list(node._prev)
                level[node] = 1 + max(level[p] for p in parents)
        buckets: dict[tuple, list[Value]] = {}
        for node in self.topo:
            if node.is_leaf or node in fused:
                continue
            store = _BATCH if self.is_batch[node] else _STATIC
            if node in linear:
                kind: tuple = (_LinearGroup,)
            elif node in dots:
                kind = (_DotGroup, len(node._prev))
            else:
                kind = (_OpGroup, node.op, len(node._prev))
            buckets.setdefault((level[node], store, *kind), []).append(node)
        # Slots: inputs then batch groups in order; parameters (in their given order, so a
        # layer's weights are a strided view), constants, then static groups in order.
        batch_slot = {x: i for i, x in enumerate(self.inputs)}
        fixed = self.params + self.constants
        static_slot = {leaf: _RESERVED + i for i, leaf in enumerate(fixed)}
        n_batch, n_static = len(self.inputs), _RESERVED + len(fixed)
        groups: list[_OpGroup | _LinearGroup | _DotGroup] = []
        for key in sorted(buckets, key=lambda k: (k[0], k[1] != _STATIC)):
            nodes = buckets[key]
            store = key[1]
            if store == _BATCH:
                out = slice(n_batch, n_batch + len(nodes))
                n_batch = out.stop
                for i, node in enumerate(nodes):
                    batch_slot[node] = out.start + i
            else:
                out = slice(n_static, n_static + len(nodes))
                n_static = out.stop
                for i, node in enumerate(nodes):
                    static_slot[node] = out.start + i
            if key[2] is _LinearGroup:
                groups.append(
                    self._linear_group(nodes, store, out, linear, batch_slot, static_slot)
                )
            elif key[2] is _DotGroup:
                m = key[3]
                sides = [
                    _gather(
                        [dots[n][t][side] for t in range(m) for n in nodes],
                        self.is_batch, batch_slot, static_slot, len(self.inputs),
                    )
                    for side in (0, 1)
                ]  # fmt: skip
                groups.append(_DotGroup(out, sides[0], sides[1], m, nodes))
            else:
                groups.append(self._op_group(nodes, store, out, batch_slot, static_slot))
        output_slots = [
            (_BATCH, batch_slot[o]) if self.is_batch[o] else (_STATIC, static_slot[o])
            for o in self.outputs
        ]
        for group in groups:  # a view must lie inside the store
            if isinstance(group, _LinearGroup) and group._weights is not None:
                ends = [group._weights[0].stop]
                if group._bias is not None:
                    bias = group._bias[0]
                    ends.append(bias.start + (group._bias[1][0] - 1) * bias.step + 1)
                if max(ends) > n_static:
                    group._weights = group._bias = None
        template = np.zeros(n_static)
        template[SLOT_OF_ONE], template[SLOT_OF_ZERO] = 1.0, 0.0
        for leaf in self.constants:
            template[static_slot[leaf]] = leaf.data
        param_slots = np.array([static_slot[p] for p in self.params], dtype=np.intp)
        return Program(
            self.outputs, self.inputs, self.params, param_slots, template, groups,
            output_slots, n_batch, len(self.topo),
        )  # fmt: skip

    def _op_group(self, nodes, store, out, batch_slot, static_slot) -> _OpGroup:
        op: Op = nodes[0].op
        arity = len(nodes[0]._prev)
        if op.arity is None:  # n-ary: all inputs in one gather, position by position
            parents = [n._prev[j] for j in range(arity) for n in nodes]
            gather = _gather(parents, self.is_batch, batch_slot, static_slot)
            return _OpGroup(op, store, out, [gather], nodes, stacked=arity)
        n_inputs = len(self.inputs)
        operands = [
            _gather([n._prev[j] for n in nodes], self.is_batch, batch_slot, static_slot, n_inputs)
            for j in range(arity)
        ]
        return _OpGroup(op, store, out, operands, nodes)

    def _linear_group(self, nodes, store, out, linear, batch_slot, static_slot) -> _LinearGroup:
        sources: list[Value] = []
        column: dict[Value, int] = {}
        flat, coef, const_rows, const_coef, const_src = [], [], [], [], []
        for row, node in enumerate(nodes):
            for c, s in linear[node]:
                c_index = SLOT_OF_ONE if c is None else static_slot[c]
                if self.is_batch[s]:
                    if s not in column:
                        column[s] = len(sources)
                        sources.append(s)
                    flat.append((row, column[s]))
                    coef.append(c_index)
                else:
                    const_rows.append(row)
                    const_coef.append(c_index)
                    const_src.append(static_slot[s])
        n_src = len(sources)
        src_rows = np.array([batch_slot[s] for s in sources], dtype=np.intp)
        return _LinearGroup(
            reads_inputs=bool(sources) and all(batch_slot[x] < len(self.inputs) for x in sources),
            store=store,
            out=out,
            src=_as_slice(src_rows),
            n_src=n_src,
            flat=np.array([r * n_src + c for r, c in flat], dtype=np.intp),
            coef=np.array(coef, dtype=np.intp),
            const_rows=np.array(const_rows, dtype=np.intp),
            const_coef=np.array(const_coef, dtype=np.intp),
            const_src=np.array(const_src, dtype=np.intp),
            nodes=nodes,
        )


def _gather(parents, is_batch, batch_slot, static_slot, n_inputs: int = 0) -> _Gather:
    flags = [is_batch[p] for p in parents]
    if all(flags):
        rows = np.array([batch_slot[p] for p in parents], dtype=np.intp)
        inputs_only = bool((rows < n_inputs).all())
        if len(rows) > 1 and (rows == rows[0]).all():
            row = slice(int(rows[0]), int(rows[0]) + 1)
            return _Gather(batch_idx=row, repeated=True, inputs_only=inputs_only)
        return _Gather(
            batch_idx=_as_slice(rows),
            batch_unique=len(set(rows.tolist())) == len(rows),
            inputs_only=inputs_only,
        )
    if not any(flags):
        slots = np.array([static_slot[p] for p in parents], dtype=np.intp)
        return _Gather(static_idx=slots, static_unique=len(set(slots.tolist())) == len(slots))
    batch_pos = np.array([i for i, f in enumerate(flags) if f], dtype=np.intp)
    static_pos = np.array([i for i, f in enumerate(flags) if not f], dtype=np.intp)
    rows = np.array([batch_slot[parents[i]] for i in batch_pos], dtype=np.intp)
    return _Gather(
        batch_idx=rows,
        static_idx=np.array([static_slot[parents[i]] for i in static_pos], dtype=np.intp),
        batch_pos=batch_pos,
        static_pos=static_pos,
        batch_unique=len(set(rows.tolist())) == len(rows),
    )


def _as_slice(rows: np.ndarray) -> np.ndarray | slice:
    """Contiguous rows read as a slice: a view instead of a copy."""
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows
