"""Argument checks shared across nn: one clear error per problem, naming the argument.

A wrong kind of value raises TypeError; a value of the right kind out of range raises
ValueError.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["int_at_least"]


def int_at_least(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, checked to be a whole number >= ``minimum``.

    Integral numbers (including numpy integers) are accepted; bools, floats (even 3.0)
    and anything else raise TypeError; an int below ``minimum`` raises ValueError.

    >>> int_at_least("epochs", 10)
    10
    >>> int_at_least("epochs", 0)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be a positive int, got 0
    """
    wanted = {1: "a positive int", 0: "a non-negative int"}.get(minimum, f"an int >= {minimum}")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, not {type(value).__name__}: {value!r:.40}")
    if value < minimum:
        raise ValueError(f"{name} must be {wanted}, got {value}")
    return int(value)
