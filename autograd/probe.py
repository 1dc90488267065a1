"""A function's value at nudged inputs, and whether a nudge crosses a kink.

:class:`Probe` is what :func:`~autograd.gradcheck.gradcheck` measures finite differences
with. It evaluates ``f`` at points near the checked one, either by calling ``f`` (which
builds a new graph each time) or, when ``f``'s graph does not change with its inputs,
by replaying the graph built at the checked point on plain floats (every op of the
table applied in order: several times faster, and the same numbers). Either way it
keeps every node's value, so it can tell when the two sides of a central difference
lie on different sides of a kink of some node (a relu at 0): there the central
difference straddles the kink and means nothing, and gradcheck judges the derivative
against the one-sided differences instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import graph
from .engine import Value
from .explain import formula

__all__ = ["Kink", "Probe", "Sample"]


@dataclass(frozen=True)
class Sample:
    """``f`` at one point: its output and, where known, every node's value."""

    output: float
    values: list[float] | None  # aligned with the checked graph's order; None if unknown


@dataclass(frozen=True)
class Kink:
    """A node whose kink lies between two nudged points (or at the checked point)."""

    op_name: str
    where: str  # the node's formula: "relu(x*w)"

    def __str__(self) -> str:
        return f"a kink of {self.op_name}, in {self.where}"


class Probe:
    """Evaluates ``f`` near the point its graph ``output`` was built at (from ``leaves``).

    ``reuse_graph``: True replays the graph, False calls ``f`` every time, None decides
    by building ``f``'s graph at one nudged point and comparing its shape.
    """

    def __init__(
        self,
        f: Callable[..., Any],
        leaves: Sequence[Value],
        output: Value,
        reuse_graph: bool | None = None,
    ) -> None:
        self.f = f
        self.leaves = list(leaves)
        self.order = graph.topological_order(output)
        position = {node: i for i, node in enumerate(self.order)}
        self.parents = [[position[p] for p in node._prev] for node in self.order]
        self.input_of = {position[x]: i for i, x in enumerate(self.leaves) if x in position}
        self.signature = graph.graph_signature(output, self.leaves, order=self.order)
        self.center = Sample(output.data, [node.data for node in self.order])
        self.reuse_graph = reuse_graph

    def at(self, point: Sequence[float]) -> Sample:
        """``f`` at ``point`` (one number per input)."""
        if self.reuse_graph is None:  # one real call decides whether replaying is exact
            sample, same_graph = self._call(point)
            self.reuse_graph = same_graph
            return sample
        if self.reuse_graph:
            return self._replay(point)
        return self._call(point)[0]

    def _replay(self, point: Sequence[float]) -> Sample:
        values: list[float] = []
        for i, node in enumerate(self.order):
            k = self.input_of.get(i)
            if k is not None:
                values.append(float(point[k]))
            elif node.op is None:
                values.append(node.data)
            else:
                values.append(node.op.evaluate([values[j] for j in self.parents[i]]))
        return Sample(values[-1], values)

    def _call(self, point: Sequence[float]) -> tuple[Sample, bool]:
        args = [Value(x, label=leaf.label) for x, leaf in zip(point, self.leaves)]
        out = self.f(*args)
        if not isinstance(out, Value):
            raise TypeError(f"f must return a Value computed from its inputs, got {out!r:.40}")
        order = graph.topological_order(out)
        same = graph.graph_signature(out, args, order=order) == self.signature
        return Sample(out.data, [node.data for node in order] if same else None), same

    def crossed_kink(self, lo: Sample, hi: Sample) -> Kink | None:
        """The first node whose kink lies between ``lo`` and ``hi`` or at the checked
        point, or None (also when the samples' graphs are not the checked one's)."""
        if lo.values is None or hi.values is None:
            return None
        center = self.center.values
        assert center is not None
        for i, node in enumerate(self.order):
            op = node.op
            if op is None or not op.kinks:
                continue
            parents = self.parents[i]
            sides = zip(
                op.kink_sides([lo.values[j] for j in parents]),
                op.kink_sides([hi.values[j] for j in parents]),
                op.kink_sides([center[j] for j in parents]),
            )
            if any(a * b <= 0 or c == 0 for a, b, c in sides):
                text = formula(node)
                text = text if len(text) <= 60 else text[:57] + "..."
                return Kink(op.name, text)
        return None
