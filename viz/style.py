"""How the pictures look: numbers, role colours and the diverging gradient scale."""

from __future__ import annotations

import math

__all__ = [
    "MAX_SIZE",
    "ROLE_COLORS",
    "ROLE_NAMES",
    "format_number",
    "gradient_color",
    "text_color",
]

FONT = "Helvetica"
MONO = "Courier"

# The default largest picture, in inches: a 16:9 slide, 1536 x 864 pixels at Graphviz's
# 96 dpi. Larger drawings are scaled down to fit (dot's graph attribute ``size``).
MAX_SIZE = (16.0, 9.0)

# Roles a value node can play; the colour fills the node's name cell.
ROLE_COLORS = {
    "input": "#cde4ff",
    "parameter": "#c9f0c9",
    "constant": "#e6e6e6",
    "output": "#ffd9a0",
    "intermediate": "#ffffff",
}
ROLE_NAMES = {
    "input": "input",
    "parameter": "parameter",
    "constant": "constant",
    "output": "output",
    "intermediate": "intermediate",
}
OP_FILL = "#f7f7f7"
BUNDLE_COLOR = "#555555"  # an edge standing for many edges between two clusters
HIGHLIGHT = "#ff9f1c"  # the node being processed in a backprop frame
JUST_UPDATED = "#fff3b0"  # grad cells that just received a contribution
EDGE_HIGHLIGHT = "#d62728"

# ColorBrewer RdBu end points: blue for negative gradients, red for positive ones.
_NEGATIVE = (33, 102, 172)
_POSITIVE = (178, 24, 43)
_WHITE = (255, 255, 255)


def format_number(x: object, precision: int = 4) -> str:
    """A number as the pictures show it: ``precision`` significant digits.

    Values (a grad recorded with ``create_graph=True``) show their data.

    >>> format_number(0.70710678), format_number(-1.5), format_number(1e-12)
    ('0.7071', '-1.5', '1e-12')
    """
    x = getattr(x, "data", x)
    if not isinstance(x, (int, float)):
        return str(x)
    x = float(x)
    if x == 0:
        return "0"  # also for -0.0
    return f"{x:.{precision}g}"


def gradient_strength(grad: float, scale: float) -> float:
    """Where ``grad`` sits on the diverging scale: -1 (most negative) .. 1.

    The square root spreads small gradients out, so they stay visible next to
    one large gradient.
    """
    if scale <= 0 or not math.isfinite(grad):
        return 0.0 if not math.isinf(grad) else math.copysign(1.0, grad)
    t = min(1.0, abs(grad) / scale)
    return math.copysign(math.sqrt(t), grad)


def gradient_color(grad: float, scale: float) -> str:
    """The fill for a gradient: white at 0, blue for negative, red for positive."""
    t = gradient_strength(grad, scale)
    end = _POSITIVE if t > 0 else _NEGATIVE
    return _mix(_WHITE, end, abs(t))


def text_color(grad: float, scale: float) -> str:
    """Black on light fills, white on dark ones."""
    return "#ffffff" if abs(gradient_strength(grad, scale)) > 0.65 else "#000000"


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> str:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b))
    return f"#{r:02x}{g:02x}{bl:02x}"
