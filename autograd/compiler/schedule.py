"""Level scheduling: nodes that do the same thing at the same depth run as one group.

The depth of a node is one more than its deepest parent's, counted over the graph that
remains after fusion. Nodes of one depth, one store (batch or static) and one kind (the
same op with the same parameters and arity, or the same compiled form with the same
shape) form one group; groups run in order of depth, static before batch.
"""

from __future__ import annotations

from typing import Any

from .fusion import Fused, GraphFacts
from .layout import BATCH, STATIC

Node = Any


def group_kind(node: Node, fused: dict[Node, Fused]) -> tuple:
    """What must be equal for two nodes of one depth to run as one vectorised call.

    An op compares as a value (its table entry and its parameters), so
    ``leaky_relu(0.1)`` and ``leaky_relu(0.5)`` never share a group.
    """
    entry = fused.get(node)
    if entry is None:
        return ("op", node.op, len(node._prev))
    if entry.pattern.form.name == "dot_terms":
        return ("form", entry.pattern.form, len(node._prev))
    return ("form", entry.pattern.form)


def schedule(
    order: list[Node], facts: GraphFacts, fused: dict[Node, Fused], absorbed: set[Node]
) -> list[tuple[str, tuple, list[Node]]]:
    """The groups in the order they run: ``(store, kind, nodes)``."""
    level: dict[Node, int] = {}
    buckets: dict[tuple, list[Node]] = {}
    for node in order:
        if not node._prev:
            level[node] = 0
            continue
        if node in absorbed:
            continue
        entry = fused.get(node)
        parents = node._prev if entry is None else entry.pattern.parents(entry.match)
        depth = level[node] = 1 + max(map(level.__getitem__, parents))
        store = BATCH if facts.is_batch[node] else STATIC
        buckets.setdefault((depth, store, group_kind(node, fused)), []).append(node)
    ordered = sorted(buckets, key=lambda key: (key[0], key[1] != STATIC))
    return [(key[1], key[2], buckets[key]) for key in ordered]
