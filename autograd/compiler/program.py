"""A compiled program: the groups in order, the stores, and how a batch runs.

:meth:`Program.run` fills the batch store with the inputs (one row per input, one
column per sample), runs every group forward, seeds the outputs' gradients and runs the
groups backward in reverse order. Float errors in numpy (log of 0, overflow) raise, as
in the scalar engine.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from ..mode import nonfinite_allowed
from ..operation import DomainError
from .layout import BATCH, as_slice
from .steps import Group, LinearGroup, add_rows

if TYPE_CHECKING:
    from ..engine import Value

__all__ = ["Program", "float_errors_raise"]

_data_of = operator.attrgetter("data")


def float_errors_raise() -> np.errstate:
    """Float errors in numpy (log of 0, overflow) raise, as in the scalar engine (inside
    :func:`~autograd.allow_nonfinite` they make nan and inf, as IEEE floats do)."""
    if nonfinite_allowed():
        return np.errstate(all="ignore")
    return np.errstate(divide="raise", invalid="raise", over="raise", under="ignore")


@contextmanager
def _named_float_errors() -> Iterator[None]:
    """numpy's bare FloatingPointError (an overflow in a matrix product, say) as a
    DomainError that says where it happened; errors of one op already name it."""
    try:
        yield
    except FloatingPointError as exc:
        raise DomainError(
            f"a compiled batch made a non-finite number ({exc}); the scalar engine on the "
            "same numbers would raise too (autograd.allow_nonfinite() gives IEEE semantics)"
        ) from None


def _real_numbers(array: np.ndarray, expected: str) -> np.ndarray:
    """An object or string array checked element by element: real numbers only."""
    if array.dtype.kind in "US":
        raise TypeError(
            f"{expected}: the batch holds text ({str(array.flat[0])!r:.40}), not numbers"
        )
    if array.dtype.kind == "c":
        raise TypeError(f"{expected}: the batch holds complex numbers, not real ones")
    for index, item in np.ndenumerate(array):
        if not isinstance(item, (numbers.Real, np.bool_)):
            raise TypeError(
                f"{expected}: the batch holds {type(item).__name__} {item!r:.40} at "
                f"{index}, not a real number"
            )
    try:
        return array.astype(float)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged rows; an int > 1.8e308
        raise ValueError(f"{expected}: {exc}") from None


class Program:
    """A compiled per-sample graph that runs forward and backward for a batch.

    ``program(X)`` evaluates the outputs for every row of ``X`` (one column per
    input Value), backpropagates the batch mean of the outputs (or ``seed``) and
    adds the gradients to the ``.grad`` of every non-input leaf (the parameters).
    ``program.forward(X)`` evaluates only. A program reuses its work arrays from call to
    call: run one program from one thread at a time.
    """

    def __init__(
        self,
        outputs: list[Value],
        inputs: list[Value],
        params: list[Value],
        param_slots: np.ndarray,
        static_template: np.ndarray,
        groups: list[Group],
        output_slots: list[tuple[str, int]],
        n_batch: int,
        n_nodes: int,
    ) -> None:
        self.outputs = outputs
        self.inputs = inputs
        self.params = params
        self.groups = groups
        self._static_template = static_template
        self._param_slots = as_slice(param_slots) if len(param_slots) else param_slots
        self._output_slots = output_slots
        stores = np.array([store == BATCH for store, _ in output_slots])
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
        self._store_cache: dict[int, tuple] = {}

    def __repr__(self) -> str:
        linear = sum(isinstance(g, LinearGroup) for g in self.groups)
        return (
            f"Program({self.n_nodes} nodes -> {len(self.groups)} batched steps "
            f"({linear} matrix products), {len(self.inputs)} inputs, {len(self.outputs)} "
            f"outputs, {len(self.params)} parameters, "
            f"compiled in {self.compile_seconds * 1e3:.1f} ms)"
        )

    def _check_batch(self, batch: Any) -> np.ndarray:
        """The batch as an (n, inputs) float array, or one clear error: real numbers
        only (no None, strings or complex numbers), finite unless
        :func:`~autograd.allow_nonfinite` is on, rows of one length."""
        n_inputs = len(self.inputs)
        expected = f"a batch of shape (n, {n_inputs}) (one column per input)"
        try:
            array = np.asarray(batch)
        except ValueError:  # ragged rows
            raise ValueError(f"{expected}: the rows have different lengths") from None
        if array.dtype.kind not in "biuf":
            array = _real_numbers(array, expected)
        array = array.astype(float, copy=False)
        if array.ndim == 1 and n_inputs == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] != n_inputs:
            raise ValueError(f"shape mismatch: this program takes {expected}, got {array.shape}")
        if array.shape[0] == 0:
            raise ValueError("empty batch: need at least one row")
        if not nonfinite_allowed() and not np.isfinite(array).all():
            row, column = np.argwhere(~np.isfinite(array))[0]
            raise ValueError(
                f"the batch holds {array[row, column]} at row {row}, column {column}: "
                "chainrule computes with finite numbers only "
                "(autograd.allow_nonfinite() gives IEEE semantics)"
            )
        return array

    def _stores(self, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The batch, static and gradient stores for batches of ``width`` samples: made
        once and reused (a training loop's batches have one or two widths)."""
        stores = self._store_cache.get(width)
        if stores is None:
            if len(self._store_cache) > 4:
                self._store_cache.clear()
            n_static = len(self._static_template)
            stores = (
                np.empty((self._n_batch, width)), np.empty(n_static),
                np.empty((self._n_batch, width)), np.empty(n_static),
            )  # fmt: skip
            self._store_cache[width] = stores
        return stores

    def _run_forward(self, columns: np.ndarray, params: np.ndarray) -> tuple:
        width = columns.shape[1]
        batch, static, _, _ = self._stores(width)
        batch[: len(self.inputs)] = columns
        np.copyto(static, self._static_template)
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
        columns = self._check_batch(batch).T
        with float_errors_raise(), _named_float_errors():
            return self._run_forward(columns, self.parameter_values())[3]

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
        columns = self._check_batch(batch).T
        width = columns.shape[1]
        if seed is None:
            if reduction not in ("mean", "sum"):
                raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
            seed = np.full((width, len(self.outputs)), 1.0 / width if reduction == "mean" else 1.0)
        seed = np.broadcast_to(np.asarray(seed, float), (width, len(self.outputs)))
        return self.run_columns(columns, params, seed, input_grads=input_grads)

    def run_columns(
        self, columns: np.ndarray, params: np.ndarray, seed: np.ndarray, *, input_grads: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """:meth:`run` on a batch laid out as the program holds it, unchecked: ``columns``
        has one row per input and one column per sample, ``seed`` the shape of the outputs.
        For training loops that lay out their data once."""
        width = columns.shape[1]
        with float_errors_raise(), _named_float_errors():
            _, static, saved, outputs = self._run_forward(columns, params)
            _, _, gbatch, gstatic = self._stores(width)
            gbatch.fill(0.0)
            gstatic.fill(0.0)
            add_rows(gbatch, self._out_batch_rows, seed[:, self._out_batch_cols].T,
                      self._out_unique)  # fmt: skip
            if len(self._out_static_slots):
                np.add.at(gstatic, self._out_static_slots, seed[:, self._out_static_cols].sum(0))
            for group, state in zip(reversed(self.groups), reversed(saved)):
                group.backward(state, gbatch, gstatic, width, input_grads)
        inputs = gbatch[: len(self.inputs)].T.copy() if input_grads else None
        return outputs, gstatic[self._param_slots].copy(), inputs

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
