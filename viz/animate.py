"""Backprop as pictures: one frame per step of the engine's stepper.

Frame 0 shows the seed (d root / d root = 1); frame k highlights the node the
chain rule is processing, its input edges and the gradients it just added to;
gradients not reached yet show ``?``. The last frame shows every gradient, equal
to what ``backward()`` gives. Each frame is captioned with the step's chain rule
and numbers, as ``print(step)`` shows them, and all frames share one layout
(fixed-width gradient cells and caption), so nothing jumps between frames.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphviz

from autograd import Value

from .draw import Frame, draw_frame
from .render import _write_atomically, render_bytes
from .style import format_number

__all__ = ["animate_backward", "backward_frames"]

NBSP = "\u00a0"
GIF_HINT = (
    'writing a GIF needs Pillow, an optional extra: pip install "chainrule[gif]"; '
    'or write the frames as PNG files: animate_backward(root, "frames/")'
)


def backward_frames(
    root: Value,
    *,
    gradient: float = 1.0,
    zero_grad: bool = True,
    max_frames: int | None = 100,
    **draw_options: Any,
) -> list[graphviz.Digraph]:
    """The frames of one backward pass through ``root``, as digraphs.

    Running it performs the pass: afterwards the grads are those of
    ``root.backward(gradient)``. ``zero_grad=True`` (the default) first sets every
    grad of the graph to 0, so the pictures show one clean pass; with
    ``zero_grad=False`` leaf gradients accumulate as ``backward()`` makes them.
    ``draw_options`` go to :func:`viz.draw_graph` (``local_grads`` defaults to
    True here).
    """
    if not isinstance(root, Value):
        raise TypeError(f"animate a Value, not {type(root).__name__}")
    inner = sum(1 for node in root.topological_order() if node._prev)
    if max_frames is not None and inner + 2 > max_frames:
        raise ValueError(
            f"this graph needs {inner + 2} frames (one per op node, plus the seed and the "
            f"end), more than max_frames={max_frames}; animate a smaller expression or "
            "raise max_frames"
        )
    if zero_grad:
        root.zero_grad()
    precision = draw_options.get("precision", 4)
    draw_options.setdefault("local_grads", True)
    states = list(_states(root, gradient))
    texts = [
        {key: "?" if g is None else format_number(g, precision) for key, g in grads.items()}
        for grads, *_ in states
    ]
    widths: dict[int, int] = {}
    for shown in texts:
        for key, text in shown.items():
            widths[key] = max(widths.get(key, 0), len(text))
    shown = [g for grads, *_ in states for g in grads.values() if g is not None]
    scale = max((abs(g) for g in shown if math.isfinite(g)), default=0.0)
    captions = _same_size([caption for *_, caption in states])
    return [
        draw_frame(root, Frame(grads, current, updated, caption, scale, widths), **draw_options)
        for (grads, current, updated, _), caption in zip(states, captions)
    ]


def _states(
    root: Value, gradient: float
) -> Iterator[tuple[dict[int, float | None], int | None, set[int], str]]:
    """(grads shown, node processed, nodes just updated, caption) for each frame."""
    shown: dict[int, float | None] = {id(node): None for node in root.topological_order()}
    steps = root.backward_steps(gradient)
    first = next(steps, None)  # the stepper seeds the root when it starts
    shown[id(root)] = float(root.grad)
    name = first.root_name if first is not None else (root.label or "y")
    seed = f"seed: d{name}/d{name} = {format_number(float(root.grad))}"
    total = first.total if first is not None else 0
    yield dict(shown), None, {id(root)}, f"{seed}\nthen {total} steps of the chain rule"
    step = first
    while step is not None:
        updated = set()
        for c in step.contributions:
            shown[id(c.parent)] = float(c.grad_after)
            updated.add(id(c.parent))
        caption = f"step {step.index}/{step.total}\n{step}"
        yield dict(shown), id(step.node), updated, caption
        step = next(steps, None)
    yield dict(shown), None, set(), "done: every gradient is filled in (as backward() gives)"


def _same_size(captions: list[str]) -> list[str]:
    """Pad captions to the same lines and width, so every frame has the same layout."""
    lines = [c.split("\n") for c in captions]
    height = max(len(ls) for ls in lines)
    width = max(len(line) for ls in lines for line in ls)
    return [
        "\n".join(line.ljust(width, NBSP) for line in ls + [""] * (height - len(ls)))
        for ls in lines
    ]


def animate_backward(
    root: Value,
    path: str | os.PathLike[str] = "backprop.gif",
    *,
    seconds_per_frame: float = 1.5,
    gradient: float = 1.0,
    zero_grad: bool = True,
    max_frames: int | None = 100,
    dpi: float | None = None,
    **draw_options: Any,
) -> Path | list[Path]:
    """Backprop through ``root`` as an animated GIF, or as numbered PNG frames.

    ``path`` ending in ``.gif`` writes one animated GIF (needs Pillow: the extra
    ``chainrule[gif]``) and returns its path; a path without a suffix is a folder
    that receives ``frame-000.png``, ``frame-001.png``, ... and the list of them is
    returned. The pass really runs: afterwards grads equal ``backward()``'s (see
    :func:`backward_frames` for ``zero_grad`` and ``gradient``).
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".gif", ""):
        raise ValueError(
            f"{target}: animate_backward writes a .gif, or PNG frames into a folder "
            "(a path without a suffix)"
        )
    if seconds_per_frame <= 0:
        raise ValueError(f"seconds_per_frame must be > 0, got {seconds_per_frame!r}")
    if suffix == ".gif":
        image_module = _pillow()
    frames = backward_frames(
        root, gradient=gradient, zero_grad=zero_grad, max_frames=max_frames, **draw_options
    )
    pngs = [render_bytes(frame, ["png"], dpi=dpi)["png"] for frame in frames]
    if suffix == "":
        target.mkdir(parents=True, exist_ok=True)
        paths = [target / f"frame-{i:03d}.png" for i in range(len(pngs))]
        for p, data in zip(paths, pngs):
            _write_atomically(p, data)
        return paths
    _write_gif(image_module, pngs, target, seconds_per_frame)
    return target


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(GIF_HINT) from None
    return Image


def _write_gif(image_module: Any, pngs: list[bytes], target: Path, seconds: float) -> None:
    images = [image_module.open(io.BytesIO(data)).convert("RGB") for data in pngs]
    width = max(im.width for im in images)
    height = max(im.height for im in images)
    frames = []
    for im in images:  # frames share one layout; pad in case a Graphviz version differs
        canvas = image_module.new("RGB", (width, height), "white")
        canvas.paste(im, (0, 0))
        frames.append(canvas)
    durations = [round(seconds * 1000)] * len(frames)
    durations[0] = durations[-1] = round(seconds * 2000)  # linger on the seed and the result
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
        loop=0, disposal=1,
    )  # fmt: skip
    _write_atomically(target, buffer.getvalue())
