"""Where every value of a compiled program lives, decided once at compile time.

Two stores hold a program's numbers while it runs:

* the **batch store**, one row per node that depends on the sample (the inputs first,
  then each group's results), one column per sample of the batch;
* the **static store**, one slot per value that is the same for every sample: two
  reserved slots (1.0 and 0.0), the parameters in the order they were given (so a
  layer's weights are a strided view of it), the constants, then the results of the
  groups that compute on static values only (a penalty such as ``sum(w*w)``).

Gradients live in stores of the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

BATCH, STATIC = "batch", "static"
SLOT_OF_ONE, SLOT_OF_ZERO = 0, 1  # static slots holding 1.0 (a plain term's coefficient), 0.0
RESERVED = 2

ViewSpec = tuple[slice, tuple[int, ...], "int | None"]


def view(store: np.ndarray, spec: ViewSpec) -> np.ndarray:
    """A view of a store by plain slicing: (rows slice, shape, columns kept)."""
    rows, shape, columns = spec
    out = store[rows].reshape(shape)
    return out if columns is None else out[:, :columns]


def as_slice(rows: np.ndarray) -> np.ndarray | slice:
    """Contiguous rows read as a slice: a view instead of a copy."""
    if len(rows) and np.array_equal(rows, np.arange(rows[0], rows[0] + len(rows))):
        return slice(int(rows[0]), int(rows[0]) + len(rows))
    return rows


@dataclass
class Layout:
    """Slots of the batch and static stores, filled in as groups are laid out."""

    inputs: list[Any]
    fixed: list[Any]  # parameters, then constants
    batch_slot: dict[Any, int] = field(default_factory=dict)
    static_slot: dict[Any, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.batch_slot = {x: i for i, x in enumerate(self.inputs)}
        self.static_slot = {leaf: RESERVED + i for i, leaf in enumerate(self.fixed)}
        self.n_batch = len(self.inputs)
        self.n_static = RESERVED + len(self.fixed)

    def place(self, nodes: list[Any], store: str) -> slice:
        """Give ``nodes`` consecutive slots of ``store``; returns them as a slice."""
        if store == BATCH:
            out = slice(self.n_batch, self.n_batch + len(nodes))
            self.n_batch = out.stop
            slots = self.batch_slot
        else:
            out = slice(self.n_static, self.n_static + len(nodes))
            self.n_static = out.stop
            slots = self.static_slot
        for i, node in enumerate(nodes):
            slots[node] = out.start + i
        return out

    def slot(self, node: Any, is_batch: bool) -> tuple[str, int]:
        return (BATCH, self.batch_slot[node]) if is_batch else (STATIC, self.static_slot[node])

    def static_template(self, constants: list[Any]) -> np.ndarray:
        """The static store before a run: 1.0, 0.0 and the constants' values."""
        template = np.zeros(self.n_static)
        template[SLOT_OF_ONE], template[SLOT_OF_ZERO] = 1.0, 0.0
        for leaf in constants:
            template[self.static_slot[leaf]] = leaf.data
        return template
