"""Small numeric helpers shared by the tests (finite differences written independently
of the library, so the library is checked against something it did not compute)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def central_difference(
    f: Callable[..., float], xs: Sequence[float], i: int, h: float = 1e-6
) -> float:
    hi = list(xs)
    lo = list(xs)
    step = h * max(1.0, abs(xs[i]))
    hi[i] += step
    lo[i] -= step
    return (f(*hi) - f(*lo)) / (2 * step)


def close(a: float, b: float, rel: float = 1e-5, abs_: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
