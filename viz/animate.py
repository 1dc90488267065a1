"""Backprop as pictures: one frame per step of the engine's stepper.

Frame 0 shows the seed (d root / d root = 1); frame k highlights the node the
chain rule is processing, its input edges and the gradients it just added to;
gradients not reached yet show ``?``. The last frame shows every gradient, equal
to what ``backward()`` gives. Each frame is captioned with the step's chain rule
and numbers, as ``print(step)`` shows them, and all frames share one layout
(fixed-width gradient cells and caption), so nothing jumps between frames.

With ``model=`` and ``collapse=`` (see :func:`viz.draw_graph`), consecutive steps
inside one collapsed module are one frame: an ``nn.MLP(2, [8, 8, 1])`` collapsed per
neuron takes about 30 frames instead of 125 steps.

Frames are drawn like :func:`viz.draw_graph`, so they are scaled down to fit
``max_size`` (16 x 9 inches: at most 1536 pixels wide at Graphviz's 96 dpi).
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

from .draw import Frame, collapsed_groups, draw_frame, frame_options
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
    True here). With ``model=`` and ``collapse=``, the consecutive steps inside one
    collapsed module make one frame.
    """
    if not isinstance(root, Value):
        raise TypeError(f"animate a Value, not {type(root).__name__}")
    draw_options.setdefault("local_grads", True)
    frame_options(draw_options)  # unknown or bad options fail before the pass runs
    groups = collapsed_groups(
        root.topological_order(), draw_options.get("model"), draw_options.get("collapse")
    )
    needed = _frame_count(root, groups)
    if max_frames is not None and needed > max_frames:
        hint = (
            "collapse fewer steps into one frame with a coarser collapse= pattern"
            if groups
            else "pass model=your_model, collapse='layers.*.neurons.*' for one frame per neuron"
        )
        raise ValueError(
            f"this graph needs {needed} frames (one per op node or collapsed module, plus "
            f"the seed and the end), more than max_frames={max_frames}; {hint}, animate a "
            "smaller expression, or raise max_frames"
        )
    if zero_grad:
        root.zero_grad()
    precision = draw_options.get("precision", 4)
    states = list(_states(root, gradient, groups, draw_options.get("model")))
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


def _runs(keys: list[Any]) -> list[int]:
    """Lengths of the runs of equal consecutive keys (None is never equal: its own run)."""
    runs: list[int] = []
    previous: Any = None
    for key in keys:
        if runs and key is not None and key == previous:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = key
    return runs


def _frame_count(root: Value, groups: dict[int, str]) -> int:
    """Frames of the animation: the seed, one per step or run of steps in a module, the end."""
    # the backward steps are these nodes in reverse: the same runs, in reverse order
    steps = [groups.get(id(n)) for n in root.topological_order() if n.op is not None]
    return len(_runs(steps)) + 2


def _states(
    root: Value, gradient: float, groups: dict[int, str], model: Any = None
) -> Iterator[tuple[dict[int, float | None], set[int], set[int], str]]:
    """(grads shown, nodes processed, nodes just updated, caption) for each frame.

    Only ids, numbers and text: the caller draws after this.
    """
    shown: dict[int, float | None] = {id(node): None for node in root.topological_order()}
    steps = root.backward_steps(gradient, model=model)
    first = next(steps, None)  # the stepper seeds the root when it starts
    shown[id(root)] = float(root.grad)
    name = first.root_name if first is not None else (root.label or "y")
    seed = f"seed: d{name}/d{name} = {format_number(float(root.grad))}"
    total = first.total if first is not None else 0
    yield dict(shown), set(), {id(root)}, f"{seed}\nthen {total} steps of the chain rule"
    step = first
    run: list[str] = []  # the captions of the steps of one module so far
    current: set[int] = set()
    updated: set[int] = set()
    inside: set[int] = set()  # the module's own nodes the run updated
    start = upstream = ""
    while step is not None:
        group = groups.get(id(step.node))
        for c in step.contributions:
            shown[id(c.parent)] = float(c.grad_after)
            updated.add(id(c.parent))
            if group is not None and groups.get(id(c.parent)) == group:
                inside.add(id(c.parent))
        current.add(id(step.node))
        if not run:
            start = f"{step.index}"
            upstream = f"d{step.root_name}/d{step.name} = {step.upstream:.6g}"
        run.append(f"step {step.index}/{step.total}\n{step}")
        following = next(steps, None)
        if group is None or following is None or groups.get(id(following.node)) != group:
            if len(run) == 1:
                caption = run[0]
            else:
                outside = len(updated - inside)
                caption = (
                    f"steps {start}-{step.index}/{step.total}: backprop through {group} "
                    f"({len(run)} steps of the chain rule, one frame)\n"
                    f"starts from {upstream}, fills in the grads of {len(inside)} values "
                    f"inside it\nand adds to the grads of {outside} values outside it"
                )
            yield dict(shown), current, updated, caption
            run, current, updated, inside = [], set(), set(), set()
        step = following
    yield dict(shown), set(), set(), "done: every gradient is filled in (as backward() gives)"


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

    Size: frames fit ``max_size`` (16 x 9 inches by default), so at Graphviz's 96 dpi
    a GIF is at most 1536 x 864 pixels (``dpi=72``: 1152 x 648); ``max_size=None``
    keeps the natural size. An MLP animates with ``model=`` and ``collapse=``: one
    frame per run of steps inside a collapsed module (``collapse="layers.*.neurons.*"``
    turns the 123 steps of an ``MLP(2, [8, 8, 1])`` and its loss into 35 frames).
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
