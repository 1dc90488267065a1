"""Argument checks shared across nn: one clear error per problem, naming the argument.

A wrong kind of value raises TypeError; a value of the right kind out of range (NaN and
infinity included, where a finite number is needed) raises ValueError.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["finite_real", "flag", "int_at_least"]


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


def _interval(
    minimum: float | None, above: float | None, below: float | None, maximum: float | None
) -> str:
    """The allowed range in words: '> 0', '>= 0', 'in [0, 1)', '' for any number."""
    low = f"[{minimum:g}" if minimum is not None else f"({above:g}" if above is not None else ""
    high = f"{maximum:g}]" if maximum is not None else f"{below:g})" if below is not None else ""
    if low and high:
        return f" in {low}, {high}"
    if low:
        return (" >= " if low[0] == "[" else " > ") + low[1:]
    if high:
        return (" <= " if high[-1] == "]" else " < ") + high[:-1]
    return ""


def finite_real(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    maximum: float | None = None,
) -> float:
    """``value`` as a float, checked to be a finite real number in range.

    ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` exclusive ones.
    Bools, strings and other non-numbers raise TypeError; NaN, infinity and numbers
    out of range raise ValueError. The message names the argument and the range.

    >>> finite_real("lr", 0.1, above=0)
    0.1
    >>> finite_real("momentum", float("nan"), minimum=0, below=1)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be a finite number in [0, 1), got nan
    """
    wanted = "a finite number" + _interval(minimum, above, below, maximum)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {wanted}, not {type(value).__name__}: {value!r:.40}")
    number = float(value)
    if not (
        math.isfinite(number)
        and (minimum is None or number >= minimum)
        and (above is None or number > above)
        and (below is None or number < below)
        and (maximum is None or number <= maximum)
    ):
        raise ValueError(f"{name} must be {wanted}, got {number!r}")
    return number


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool: True or False (numpy bools too); anything else is a TypeError.

    >>> flag("shuffle", "no")
    Traceback (most recent call last):
    ...
    TypeError: shuffle must be True or False, not str: 'no'
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, not {type(value).__name__}: {value!r:.40}")


def named_choice(
    argument: str,
    value: Any,
    choices: Sequence[str],
    kind: str,
    aliases: Mapping[str, str] | None = None,
) -> str:
    """``value`` as one of ``choices`` (any case, or an alias); else a clear error naming
    ``argument``: a TypeError for a value that is not a name, a ValueError for an unknown one."""
    listed = ", ".join(choices)
    if not isinstance(value, str):
        raise TypeError(
            f"{argument} must be a name, one of {listed}, not {type(value).__name__}: {value!r:.40}"
        )
    key = (aliases or {}).get(value.lower(), value.lower())
    if key not in choices:
        raise ValueError(f"unknown {kind} {value!r}: {argument} must be one of {listed}")
    return key
