"""Large graphs: modules as clusters, collapsing modules, focusing on one neighbourhood,
and the node limit.

An MLP's graph has thousands of nodes; ``dot`` lays out 1,000 in about 2 s but
5,000 take half a minute, and a picture is readable as a whole only up to a few
hundred. These helpers decide *what* to draw; :mod:`viz.draw` draws it.

Modules come from a model's ``named_parameters()`` (duck-typed: any object with
that method, such as ``nn.MLP``). A parameter named ``layers.0.neurons.3.w.1``
belongs to the module ``layers.0.neurons.3`` (trailing list indices and then the
attribute name are dropped), which sits inside ``layers.0``.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Iterable, Sequence

from autograd import Value
from autograd.explain import parameter_names

from .labels import shorten

__all__ = [
    "GraphTooLargeError",
    "assign_modules",
    "collapse_groups",
    "module_levels",
    "module_of",
    "parameter_names",
    "select_focus",
]

DEFAULT_MAX_NODES = 1000


class GraphTooLargeError(ValueError):
    """The graph has more nodes than ``max_nodes``; draw part of it instead."""


# ----- module names ----------------------------------------------------------------------
def module_of(parameter_name: str) -> str:
    """The module a parameter belongs to: ``layers.0.neurons.3.w.1`` -> ``layers.0.neurons.3``.

    Trailing numeric parts (list indices) are dropped, then the attribute name.
    A top-level parameter (``w``, ``b.0``) belongs to the root module ``""``.
    """
    parts = parameter_name.split(".")
    while parts and parts[-1].isdigit():
        parts.pop()
    return ".".join(parts[:-1])


def module_levels(module: str) -> list[str]:
    """The module and the modules containing it, outermost first.

    A prefix is a module when an attribute name follows it (``layers.0`` in
    ``layers.0.neurons.3``); a prefix followed by an index is a list (``layers``).

    >>> module_levels("layers.0.neurons.3")
    ['layers.0', 'layers.0.neurons.3']
    """
    if not module:
        return []
    parts = module.split(".")
    levels = [".".join(parts[: i + 1]) for i in range(len(parts) - 1) if not parts[i + 1].isdigit()]
    return [*levels, module]


def assign_modules(topo: Sequence[Value], param_modules: dict[int, str]) -> dict[int, str]:
    """The module each node belongs to, for nodes that belong to one.

    A node joins module M when it uses M's parameters directly (``w*x``, the
    weighted sum with the bias), when it combines only values that joined M that
    way (micrograd's chain of ``+``), or when it is a one-input function (the
    activation) of such a value. Loss terms and everything else stay outside.
    """
    modules: dict[int, str] = {}
    core: set[int] = set()  # joined by using M's parameters or combining M's core values
    for node in topo:
        key = id(node)
        parents = node._prev
        if not parents:
            if key in param_modules:
                modules[key] = param_modules[key]
                core.add(key)
            continue
        used = {param_modules[id(p)] for p in parents if id(p) in param_modules}
        if used:
            if len(used) == 1:
                modules[key] = used.pop()
                core.add(key)
            continue
        parent_modules = {modules.get(id(p)) for p in parents}
        if len(parent_modules) != 1 or None in parent_modules:
            continue
        (module,) = parent_modules
        if len(parents) > 1 and all(id(p) in core for p in parents):
            modules[key] = module
            core.add(key)
        elif len(parents) == 1 and id(parents[0]) in core:
            modules[key] = module  # the activation: in the module, but nothing builds on it
    return modules


def collapse_groups(modules: dict[int, str], patterns: str | Iterable[str]) -> dict[int, str]:
    """``id(node) -> group`` for nodes whose module matches one of ``patterns``.

    Patterns are shell-style (``fnmatch``) and match module names: ``"layers.*"``
    collapses each layer, ``"layers.*.neurons.*"`` each neuron, ``"layers.1"`` one
    layer. A node goes to the outermost matching module containing it.
    """
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    cache: dict[str, str | None] = {}
    groups: dict[int, str] = {}
    for key, module in modules.items():
        if module not in cache:
            cache[module] = next(
                (
                    level
                    for level in module_levels(module)
                    if any(fnmatch.fnmatchcase(level, p) for p in patterns)
                ),
                None,
            )
        group = cache[module]
        if group is not None:
            groups[key] = group
    return groups


def known_modules(modules: dict[int, str]) -> list[str]:
    """Every module and containing module, in first-seen order (for error messages)."""
    seen: dict[str, None] = {}
    for module in modules.values():
        for level in module_levels(module):
            seen.setdefault(level)
    return list(seen)


# ----- focus -----------------------------------------------------------------------------
def select_focus(
    topo: Sequence[Value],
    names: dict[int, str],
    focus: Value | str,
    depth: int,
    consumers: dict[Value, list[Value]],
) -> tuple[Value, set[int]]:
    """The focus node and the ids of the nodes within ``depth`` steps of it.

    A step goes from a value to a parent or to a value computed from it.
    ``focus`` is a Value of the graph or a node's name (its label, or ``v3``).
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a whole number >= 0, got {depth!r}")
    center = _find_node(topo, names, focus)
    visible = {id(center)}
    frontier = deque([(center, 0)])
    while frontier:
        node, distance = frontier.popleft()
        if distance == depth:
            continue
        for neighbour in (*node._prev, *consumers[node]):
            if id(neighbour) not in visible:
                visible.add(id(neighbour))
                frontier.append((neighbour, distance + 1))
    return center, visible


def _find_node(topo: Sequence[Value], names: dict[int, str], focus: Value | str) -> Value:
    if isinstance(focus, Value):
        if id(focus) not in names:
            raise ValueError(f"focus={focus!r} is not a node of this graph")
        return focus
    if not isinstance(focus, str):
        raise TypeError(f"focus= takes a Value or a node name, not {type(focus).__name__}")
    matches = [node for node in topo if names[id(node)] == focus]
    if not matches:
        sample = ", ".join(repr(shorten(names[id(n)])) for n in topo[-8:])
        raise ValueError(f"focus={focus!r}: no node has that name (some names: {sample})")
    if len(matches) > 1:
        raise ValueError(f"focus={focus!r}: {len(matches)} nodes have that name; pass the Value")
    return matches[0]


# ----- the limit -------------------------------------------------------------------------
def too_large_message(count: int, values: int, max_nodes: int, has_model: bool) -> str:
    collapse_hint = (
        "collapse='layers.*' draws each layer as one node (module names come from model=...)"
        if has_model
        else "collapse='layers.*' (with model=your_model) draws each layer as one node"
    )
    return (
        f"this graph has {count:,} nodes to draw ({values:,} values and their ops), more than "
        f"max_nodes={max_nodes:,}: dot would take long and the picture cannot be read as a "
        f"whole. Draw part of it: focus=node, depth=2 draws one neighbourhood; "
        f"{collapse_hint}; or pass max_nodes=None to draw everything anyway."
    )
