"""A model's compiled per-sample programs, and its outputs for a whole batch.

A model has one forward: its ``__call__`` on Values. To run it on a batch, the graph of
one sample is built from placeholder Values, checked on a second sample to be the same
graph, and compiled by :func:`autograd.compile` into batched numpy. The program is cached
with the model (keyed by the graph's shape, so a changed model is compiled again) and
shared by training (:mod:`nn.compiled`) and inference (:func:`batch_outputs`, behind
``Module.predict``).

A graph that changes from sample to sample cannot be compiled: dropout masks in training
mode, Python control flow on the data, constants taken from the data, outputs that are
not Values, or nodes built by hand outside the op table. :class:`NotCompilable` says why,
and the scalar engine runs instead, one graph per sample. Both give the same numbers.

This module imports nothing from the rest of nn (a model is used only through its
methods), so :mod:`nn.module` can use it.
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from autograd import Value, compile, cycle_collector_paused, enable_grad, no_grad
from autograd.compiler import Program
from autograd.graph import check_table_ops, graph_signature, topological_order

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "ENGINES",
    "NotCompilable",
    "batch_outputs",
    "check_engine",
    "compile_per_sample",
    "is_nn_own",
    "output_values",
    "outputs_to_array",
]

ENGINES: tuple[str, ...] = ("auto", "compiled", "scalar")
"""How a batch runs: 'compiled' (one program for the batch), 'scalar' (one graph per
sample) or 'auto' (compiled where the model allows, else scalar)."""

SampleGraph = Callable[[np.ndarray], tuple[list[Value], list[Value]]]
"""Builds the graph of one sample from one row: ``row -> (outputs, input Values)``."""


class NotCompilable(ValueError):
    """The model's graph cannot be compiled once for every sample (the message says why)."""


# One cache per model: a key (the structure of a model of nn's own parts, else the graph's
# signature) -> program. Reused across calls, epochs and fits.
_PROGRAMS: weakref.WeakKeyDictionary[Module, dict[tuple, Program]] = weakref.WeakKeyDictionary()


# Whether an inference program's model returns one Value per sample (not a list of them).
_RETURNS_ONE_VALUE: weakref.WeakKeyDictionary[Program, bool] = weakref.WeakKeyDictionary()


def check_engine(engine: Any) -> str:
    """``engine`` if it is one of :data:`ENGINES`, else a ValueError listing them."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    return engine


def output_values(outputs: Any) -> list[Value]:
    """A model's outputs for one sample as a list of Values (NotCompilable if they are not)."""
    if isinstance(outputs, Value):
        return [outputs]
    if isinstance(outputs, Sequence) and not isinstance(outputs, str):
        values = list(outputs)
        if values and all(isinstance(v, Value) for v in values):
            return values
    raise NotCompilable(
        f"the model returns {type(outputs).__name__}, not a Value or a list of Values"
    )


def outputs_to_array(outputs: Sequence[Any]) -> np.ndarray:
    """Model outputs for a batch (Values, or lists of Values) as floats: (n,) or (n, k)."""
    rows = []
    for out in outputs:
        if isinstance(out, Value):
            rows.append(out.data)
        elif isinstance(out, numbers.Real):
            rows.append(float(out))
        else:
            rows.append([v.data if isinstance(v, Value) else float(v) for v in out])
    return np.array(rows, dtype=float)


def _varying_part(modules: list[tuple[str, Module]]) -> str | None:
    """Why some module (of a model's ``named_modules()``) builds a new graph for every
    sample, or None."""
    for name, module in modules:
        reason = module.why_graph_varies()
        if reason is not None:
            return f"{reason} ({name or 'the model'})"
    return None


def _probe_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two samples to build the graph from: the first two rows, or the only row and a
    random one (the graph must not depend on the values)."""
    second = rows[1] if len(rows) > 1 else np.random.default_rng(0).normal(size=rows.shape[1])
    return rows[0], second


def compile_per_sample(
    model: Module, sample_graph: SampleGraph, rows: np.ndarray, *, builders: Sequence[Any] = ()
) -> Program:
    """The program of ``sample_graph``, compiled once per model and graph shape.

    ``rows`` (one or more samples, one row each) are what the program will be fed. The
    graph of the first row is looked up in the model's cache; a new graph is compiled
    once the graph of a second sample proved the same (else :class:`NotCompilable`).
    That proof is skipped when the model and every other ``builders`` (a loss, a
    penalty) are nn's own, whose graphs never depend on the data. The model's
    parameters are the program's parameters, read at every run.
    """
    modules = list(model.named_modules())
    reason = _varying_part(modules)
    if reason is not None:
        raise NotCompilable(reason)
    params = model.parameters()
    cache = _PROGRAMS.setdefault(model, {})
    fixed = _fixed_graphs(modules, builders)
    # nn's own parts: a key from the structure, no graph needed to find the program
    key = _quick_key(modules, params, builders, rows.shape[1]) if fixed else None
    if key is not None and key in cache:
        return cache[key]
    first, second = _probe_rows(rows)
    # the graph is the point, even inside no_grad(); it makes no reference cycles, so the
    # cyclic collector would only rescan it while it is built and compiled
    with enable_grad(), cycle_collector_paused():
        outputs, inputs = sample_graph(first)
        order = topological_order(outputs)
        if key is None:  # a part of the user's: the graph's shape is the key
            key = graph_signature(outputs, inputs, params, order=order)
            program = cache.get(key)
            if program is not None and program.params == params:
                return program
        try:
            check_table_ops(order, why="it cannot be compiled")
        except TypeError as exc:
            raise NotCompilable(str(exc)) from None
        if not fixed and graph_signature(*sample_graph(second), params) != key:
            raise NotCompilable(
                "the graph differs between two samples (Python control flow on the data, "
                "or constants taken from the data)"
            )
        program = cache[key] = compile(outputs, inputs, params=params, order=order)
    return program


_OWN_CODE = ("nn.module", "nn.losses", "nn.regularization")


def _quick_key(
    modules: list[tuple[str, Module]],
    params: list[Value],
    builders: Sequence[Any],
    n_columns: int,
) -> tuple:
    """A key that names the graph without building it, for models and builders that are
    all nn's own: the architecture (each module's type, mode and
    configuration), the parameters themselves (a program holds them, so their ids stay
    theirs) and the builders' settings."""
    architecture = tuple((name, type(m), m.training, repr(m.get_config())) for name, m in modules)
    parts = tuple((type(b), repr(vars(b))) for b in builders if b is not None)
    return ("nn", n_columns, architecture, parts, tuple(map(id, params)))


def _fixed_graphs(modules: list[tuple[str, Module]], builders: Sequence[Any]) -> bool:
    """True when every module of ``model`` and every builder is an instance of one of nn's
    own classes (not a subclass from elsewhere): their code builds the same graph for
    every sample, so a second sample need not prove it."""
    parts = [module for _, module in modules] + list(builders)
    return all(is_nn_own(part) for part in parts if part is not None)


def is_nn_own(part: Any) -> bool:
    """Whether ``part`` is an instance of one of nn's own classes (a model part, a loss or
    a penalty), not of a subclass defined elsewhere: its code is known."""
    return type(part).__module__ in _OWN_CODE


def batch_outputs(
    model: Module,
    X: np.ndarray,
    *,
    engine: str = "auto",
    forward: Callable[[list[Value]], Any] | None = None,
) -> np.ndarray:
    """``forward`` (by default the model itself) on every row of ``X``, recording no graph.

    Returns shape (n,) when a sample's output is one Value, else (n, k). ``engine``:
    'compiled' runs the model's compiled program on the whole batch (NotCompilable if
    the graph does not allow it), 'scalar' builds one graph per row, and 'auto' compiles
    for two rows or more where the graph allows it, else runs the scalar engine.
    ``X`` must already be checked (a 2-D float array).
    """
    check_engine(engine)
    forward = model if forward is None else forward
    if engine == "compiled" or (engine == "auto" and len(X) > 1):
        try:
            program, one_value = _inference_program(model, forward, X)
        except NotCompilable as exc:
            if engine == "compiled":
                raise NotCompilable(f"engine='compiled' cannot be used: {exc}") from None
        else:
            outputs = program.forward(X)
            return outputs[:, 0] if one_value else outputs
    with no_grad():
        return outputs_to_array([forward(row) for row in X.tolist()])


def _inference_program(
    model: Module, forward: Callable[[list[Value]], Any], X: np.ndarray
) -> tuple[Program, bool]:
    """The compiled forward of one sample, and whether a sample's output is one Value."""
    returned_one_value: list[bool] = []

    def sample_graph(row: np.ndarray) -> tuple[list[Value], list[Value]]:
        inputs = [Value(x) for x in row.tolist()]
        outputs = forward(list(inputs))
        returned_one_value.append(isinstance(outputs, Value))
        return output_values(outputs), inputs

    program = compile_per_sample(
        model, sample_graph, X, builders=() if forward is model else [forward]
    )
    if returned_one_value:
        _RETURNS_ONE_VALUE[program] = returned_one_value[0]
    return program, _RETURNS_ONE_VALUE[program]
