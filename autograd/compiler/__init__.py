"""The fast path: compile a per-sample scalar graph into batched numpy.

Build the graph once from Values for one sample, mark which leaves are the sample's
inputs, and :func:`compile` turns it into a :class:`Program` that runs forward and
backward for a whole batch with a handful of numpy calls. Compiling is a few passes,
each in a module with one job:

1. :mod:`~autograd.compiler.fusion`: patterns of scalar nodes become compiled forms of
   the op table (a neuron's sum of products is a row of a matrix product, a sum of
   products of two batch values one dot step);
2. :mod:`~autograd.compiler.schedule`: nodes of one kind at one depth form one group
   (an op is a value: ops with other parameters never share a group);
3. :mod:`~autograd.compiler.layout`: every value gets its slot in the batch or static
   store, once;
4. :mod:`~autograd.compiler.steps`: each group runs forward and backward by one
   protocol, with the derivatives of the op table evaluated on arrays;
5. :mod:`~autograd.compiler.program`: the program runs the groups on a batch.

Leaves that are not inputs (parameters, constants) are read from their Values at every
call and receive their gradients, summed over the batch, in ``.grad``, exactly as the
scalar engine would after a backward pass per sample.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from .. import graph
from ..engine import Value
from ..graph import graph_signature
from .fusion import Fused, GraphFacts, fuse
from .layout import SLOT_OF_ONE, Layout, as_slice
from .program import Program
from .schedule import schedule
from .steps import DotGroup, Gather, Group, LinearGroup, OpGroup, gather

__all__ = ["Program", "compile", "graph_signature"]  # graph_signature: from autograd.graph

Node = Value


def compile(  # noqa: A001 - the verb is the point
    outputs: Value | Sequence[Value],
    inputs: Sequence[Value],
    params: Sequence[Value] | None = None,
    *,
    order: list[Value] | None = None,
) -> Program:
    """Compile the graph behind ``outputs`` for batches of ``inputs``.

    ``inputs`` are leaf Values standing for one sample's features (and targets).
    ``params`` are the leaves whose data is read at every call and whose ``.grad``
    receives gradients; by default every other leaf. Leaves in neither list are
    constants, frozen at compile time. The graph must not depend on the sample's
    values through Python control flow: build it once for a representative sample.
    ``order``: the graph's topological order (:func:`autograd.graph.topological_order`
    of ``outputs``), when the caller has it already.
    """
    start = time.perf_counter()
    if isinstance(outputs, Value):
        outs = [outputs]
    elif isinstance(outputs, Iterable) and not isinstance(outputs, (str, bytes)):
        outs = list(outputs)
    else:
        outs = []
    if not outs or not all(isinstance(o, Value) for o in outs):
        raise TypeError("compile() needs a Value or a list of Values as outputs")
    inputs = list(inputs)
    if len({id(x) for x in inputs}) != len(inputs):
        raise ValueError("compile(): the same input Value is listed twice")
    for x in inputs:
        if not isinstance(x, Value) or not x.is_leaf:
            raise TypeError(f"compile(): inputs must be leaf Values, got {x!r}")
    if order is None:
        order = graph.topological_order(outs)
    graph.check_table_ops(order, why="it cannot be compiled")
    program = _build(order, inputs, outs, None if params is None else list(params))
    program.compile_seconds = time.perf_counter() - start
    return program


# ----- the passes, in order --------------------------------------------------------------
def _build(
    order: list[Node], inputs: list[Node], outputs: list[Node], params: list[Node] | None
) -> Program:
    input_set = set(inputs)
    leaves = [n for n in order if not n._prev and n not in input_set]
    if params is None:
        params, constants = leaves, []
    else:
        if not all(isinstance(p, Value) for p in params) or any(p._prev for p in params):
            raise TypeError("compile(): params must be leaf Values")
        if input_set & set(params):
            raise ValueError("compile(): a Value cannot be both an input and a parameter")
        param_set = set(params)
        constants = [n for n in leaves if n not in param_set]
    facts = GraphFacts.of(order, input_set, set(params), outputs)
    fused, absorbed = fuse(order, facts)
    layout = Layout(inputs, params + constants)
    groups = [
        _group(kind, nodes, store, layout.place(nodes, store), facts, fused, layout)
        for store, kind, nodes in schedule(order, facts, fused, absorbed)
    ]
    n_static = layout.n_static
    for group in groups:  # a strided view of the parameters must lie inside the store
        if isinstance(group, LinearGroup) and group._weights is not None:
            ends = [group._weights[0].stop]
            if group._bias is not None:
                bias = group._bias[0]
                ends.append(bias.start + (group._bias[1][0] - 1) * bias.step + 1)
            if max(ends) > n_static:
                group._weights = group._bias = None
    param_slots = np.array([layout.static_slot[p] for p in params], dtype=np.intp)
    output_slots = [layout.slot(o, facts.is_batch[o]) for o in outputs]
    return Program(
        outputs, inputs, params, param_slots, layout.static_template(constants), groups,
        output_slots, layout.n_batch, len(order),
    )  # fmt: skip


def _group(
    kind: tuple,
    nodes: list[Node],
    store: str,
    out: slice,
    facts: GraphFacts,
    fused: dict[Node, Fused],
    layout: Layout,
) -> Group:
    """The group that computes ``nodes`` (of one kind) into the slots ``out``."""
    n_inputs = len(layout.inputs)

    def read(parents: list[Node]) -> Gather:
        return gather(parents, facts, layout, n_inputs)

    if kind[0] == "op":
        op, arity = kind[1], kind[2]
        if op.arity is None:  # n-ary: all inputs in one gather, position by position
            parents = [n._prev[j] for j in range(arity) for n in nodes]
            return OpGroup(op, store, out, [read(parents)], nodes, stacked=arity)
        operands = [read([n._prev[j] for n in nodes]) for j in range(arity)]
        return OpGroup(op, store, out, operands, nodes)
    if kind[1].name == "dot_terms":
        m = kind[2]
        terms = [[fused[n].match[t][side] for t in range(m) for n in nodes] for side in (0, 1)]
        return DotGroup(out, read(terms[0]), read(terms[1]), m, nodes)
    return _linear_group([fused[n].match for n in nodes], nodes, store, out, facts, layout)


def _linear_group(
    rows: list[list[tuple[Node | None, Node]]],
    nodes: list[Node],
    store: str,
    out: slice,
    facts: GraphFacts,
    layout: Layout,
) -> LinearGroup:
    """Rows of (coefficient, value) terms as C @ A + c0: batch values are A's rows,
    static terms add up to c0."""
    sources: list[Node] = []
    column: dict[Node, int] = {}
    flat, coef, const_rows, const_coef, const_src = [], [], [], [], []
    for row, terms in enumerate(rows):
        for c, s in terms:
            c_index = SLOT_OF_ONE if c is None else layout.static_slot[c]
            if facts.is_batch[s]:
                if s not in column:
                    column[s] = len(sources)
                    sources.append(s)
                flat.append((row, column[s]))
                coef.append(c_index)
            else:
                const_rows.append(row)
                const_coef.append(c_index)
                const_src.append(layout.static_slot[s])
    n_src = len(sources)
    src_rows = np.array([layout.batch_slot[s] for s in sources], dtype=np.intp)
    intp = np.intp
    return LinearGroup(
        reads_inputs=bool(sources) and bool((src_rows < len(layout.inputs)).all()),
        store=store,
        out=out,
        src=as_slice(src_rows),
        n_src=n_src,
        flat=np.array([r * n_src + c for r, c in flat], dtype=intp),
        coef=np.array(coef, dtype=intp),
        const_rows=np.array(const_rows, dtype=intp),
        const_coef=np.array(const_coef, dtype=intp),
        const_src=np.array(const_src, dtype=intp),
        nodes=nodes,
    )
