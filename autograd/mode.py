"""Recording modes: ``no_grad`` and ``detect_anomaly``.

The mode lives in a ``contextvars.ContextVar``, so it is private to each thread
and each asyncio task. The default (record everything, check nothing) is
``None``, which the engine tests with one cheap lookup per op.
"""

from __future__ import annotations

import contextvars
import functools
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

__all__ = [
    "AnomalyError",
    "allow_nonfinite",
    "detect_anomaly",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "nonfinite_allowed",
]

F = TypeVar("F", bound=Callable[..., Any])


class AnomalyError(FloatingPointError):
    """Raised inside ``detect_anomaly()`` at the first op that makes a NaN or an inf."""


@dataclass(frozen=True)
class Mode:
    grad_enabled: bool = True
    anomaly: AnomalyLog | None = None
    nonfinite: bool = False  # IEEE semantics: nan and inf flow through instead of raising


@dataclass
class AnomalyLog:
    """Where each node recorded under ``detect_anomaly`` was created."""

    sites: dict[int, tuple[Any, str]] = field(default_factory=dict)

    def remember(self, node: Any) -> None:
        self.sites[id(node)] = (node, user_source_line())

    def site_of(self, node: Any) -> str:
        entry = self.sites.get(id(node))
        return entry[1] if entry and entry[0] is node else "(created outside detect_anomaly)"

    def check_backward(self, node: Any, upstream: Any, local: Any) -> None:
        """Raise :class:`AnomalyError` if ``node`` would pass on a non-finite gradient."""
        g = getattr(upstream, "data", upstream)  # a Value under create_graph
        for d in local:
            d = getattr(d, "data", d)
            contribution = g * d
            if not math.isfinite(contribution):
                inputs = ", ".join(f"{p.data!r}" for p in node._prev)
                raise AnomalyError(
                    f"backward: {node.op.name}({inputs}) gave a non-finite gradient "
                    f"{contribution!r} (upstream {g!r} * local {d!r})\n"
                    f"  node created at {self.site_of(node)}"
                )


_MODE: contextvars.ContextVar[Mode | None] = contextvars.ContextVar("chainrule_mode", default=None)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_source_line() -> str:
    """'file:line: code' of the innermost frame outside the autograd package."""
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(
        os.path.abspath(frame.f_code.co_filename)
    ).startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "(unknown source line)"
    import linecache

    code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno}: {code}"


class _ModeContext:
    """A context manager that is also a decorator, like ``torch.no_grad``."""

    def __init__(self, change: Callable[[Mode], Mode]):
        self._change = change
        self._tokens: list[contextvars.Token] = []

    def __enter__(self) -> _ModeContext:
        mode = _MODE.get() or Mode()
        new = self._change(mode)
        self._tokens.append(_MODE.set(None if new == Mode() else new))
        return self

    def __exit__(self, *exc: object) -> None:
        _MODE.reset(self._tokens.pop())

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _ModeContext(self._change):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _ModeContext:
    """Context manager (or decorator): ops inside record no graph.

    Results are leaves with no parents, as in PyTorch; use it for evaluation and for
    parameter updates.
    """
    return _ModeContext(lambda mode: replace(mode, grad_enabled=False))


def enable_grad() -> _ModeContext:
    """Context manager (or decorator): record the graph again inside ``no_grad``."""
    return _ModeContext(lambda mode: replace(mode, grad_enabled=True))


def allow_nonfinite() -> _ModeContext:
    """Context manager (or decorator): IEEE float semantics, as in PyTorch and numpy.

    By default chainrule never makes a nan or an infinity silently: an op whose result
    is not finite raises :class:`~autograd.DomainError`, ``Value(nan)`` is refused and
    ``backward`` raises on a non-finite gradient. Inside this block nan and inf are
    accepted and flow through ops, backward and compiled batches like any number.
    """
    return _ModeContext(lambda mode: replace(mode, nonfinite=True))


def nonfinite_allowed() -> bool:
    """True inside :func:`allow_nonfinite`."""
    mode = _MODE.get()
    return mode is not None and mode.nonfinite


def is_grad_enabled() -> bool:
    mode = _MODE.get()
    return mode is None or mode.grad_enabled


@contextmanager
def detect_anomaly() -> Iterator[AnomalyLog]:
    """Raise :class:`AnomalyError` at the first op that makes a NaN or an inf.

    Forward: names the op, its inputs and your source line. Backward: names the
    op whose local derivative went non-finite and the line that created its node.
    Slower than normal mode; use it to find where a NaN starts.
    """
    log = AnomalyLog()
    token = _MODE.set(replace(_MODE.get() or Mode(), anomaly=log))
    try:
        yield log
    finally:
        _MODE.reset(token)
