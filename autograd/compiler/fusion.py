"""Fusion: patterns of scalar nodes that run as one compiled form of the op table.

Each entry of :data:`PATTERNS` names a compiled form (:data:`autograd.ops.COMPILED_FORMS`)
and a matcher. The first pattern that matches a node replaces it, and the product nodes
it absorbs are never computed on their own:

* a ``sum`` of products of two batch values, each product used only there (the
  cross-entropy term ``sum(t_i * log p_i)``), becomes one ``dot_terms`` step;
* a ``sum`` of terms, where a product with a static factor used only there becomes a
  (coefficient, value) pair and any other term a (1, term) pair (a neuron), becomes a
  row of a ``linear_rows`` step: a layer is one matrix product.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import ops
from ..graph import use_counts
from ..operation import CompiledForm, Op

Node = Any


@dataclass
class GraphFacts:
    """What the patterns need to know: which nodes depend on the sample, and how often
    each node is used (by other nodes, and as an output)."""

    is_batch: dict[Node, bool]
    uses: dict[Node, int]
    needs_grad: dict[Node, bool]  # an input or a parameter, or computed from one

    @classmethod
    def of(
        cls, order: list[Node], inputs: set[Node], params: set[Node], outputs: list[Node]
    ) -> GraphFacts:
        is_batch: dict[Node, bool] = {}
        needs_grad: dict[Node, bool] = {}
        batch_of, grad_of = is_batch.__getitem__, needs_grad.__getitem__
        for node in order:
            parents = node._prev
            if parents:
                is_batch[node] = any(map(batch_of, parents))
                needs_grad[node] = any(map(grad_of, parents))
            else:
                is_batch[node] = node in inputs
                needs_grad[node] = is_batch[node] or node in params
        uses = use_counts(order)
        uses.update(outputs)
        return cls(is_batch, uses, needs_grad)


def _dot_terms(node: Node, facts: GraphFacts) -> list[tuple[Node, Node]] | None:
    """(a, b) for each term of a batch sum made only of products of two batch values."""
    if node.op is not ops.sum or not facts.is_batch[node]:
        return None
    pairs = []
    for term in node._prev:
        if term.op is not ops.mul or facts.uses[term] != 1:
            return None
        a, b = term._prev
        if not (facts.is_batch[a] and facts.is_batch[b]):
            return None
        pairs.append((a, b))
    return pairs


def _linear_terms(node: Node, facts: GraphFacts) -> list[tuple[Node | None, Node]] | None:
    """(coefficient, value) terms of a sum: a product with a static factor used only by
    this sum becomes (factor, other factor); any other term (None for 1, term)."""
    if node.op is not ops.sum:
        return None
    terms: list[tuple[Node | None, Node]] = []
    for term in node._prev:
        if term.op is ops.mul and facts.uses[term] == 1:
            a, b = term._prev
            if not facts.is_batch[a]:
                terms.append((a, b))
                continue
            if not facts.is_batch[b]:
                terms.append((b, a))
                continue
        terms.append((None, term))
    return terms


@dataclass(frozen=True)
class Pattern:
    """A rewrite: a node made by ``root`` that ``match`` accepts runs as the compiled form
    ``form``; ``absorbs(node, match)`` names the nodes it computes on the way."""

    root: Op
    form: CompiledForm
    match: Callable[[Node, GraphFacts], Any]
    absorbs: Callable[[Node, Any], list[Node]]
    parents: Callable[[Any], list[Node]]  # what the fused node reads


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        ops.sum,
        ops.dot_terms,
        _dot_terms,
        absorbs=lambda node, pairs: list(node._prev),
        parents=lambda pairs: [x for pair in pairs for x in pair],
    ),
    Pattern(
        ops.sum,
        ops.linear_rows,
        _linear_terms,
        absorbs=lambda node, terms: [t for t, (c, _) in zip(node._prev, terms) if c is not None],
        parents=lambda terms: [s for _, s in terms] + [c for c, _ in terms if c is not None],
    ),
)


@dataclass
class Fused:
    """A node rewritten by a pattern: its compiled form and the pattern's match."""

    pattern: Pattern
    match: Any


def fuse(order: list[Node], facts: GraphFacts) -> tuple[dict[Node, Fused], set[Node]]:
    """The fused nodes, and the nodes they absorb (not computed on their own)."""
    fused: dict[Node, Fused] = {}
    absorbed: set[Node] = set()
    roots = {id(pattern.root) for pattern in PATTERNS}  # by identity: no Python-level hash
    for node in order:
        if id(node.op) not in roots:
            continue
        for pattern in PATTERNS:
            if node.op is not pattern.root:
                continue
            found = pattern.match(node, facts)
            if found is not None:
                fused[node] = Fused(pattern, found)
                absorbed.update(pattern.absorbs(node, found))
                break
    return fused, absorbed
