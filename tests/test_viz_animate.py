"""Backprop as pictures: frames from the stepper, a GIF, PNG frames."""

from __future__ import annotations

import math
import re
import sys

import pytest

import viz
from autograd import Value
from viz.render import render_bytes
from viz.style import HIGHLIGHT, format_number

from .test_viz_draw import neuron, png_size, svg


def grads_shown(texts: list[str]) -> list[str]:
    return [" ".join(t.split()) for t in texts if t.startswith("grad ")]


def test_frames_follow_the_stepper_and_end_with_backwards_grads():
    o, (x1, x2, w1, w2, b) = neuron()
    frames = viz.backward_frames(o)
    steps = list(neuron()[0].backward_steps())
    assert len(frames) == len(steps) + 2  # the seed, one per step, the end
    # frame 0: only the output's gradient is known
    first = svg(frames[0])
    assert "seed: do/do = 1" in first
    assert grads_shown(first).count("grad ?") == 9 and "grad 1" in grads_shown(first)
    # frame k highlights the node the step processes, and its caption is the step
    for k, step in enumerate(steps, 1):
        source = frames[k].source
        assert f"step {k}/{len(steps)}" in " ".join(svg(frames[k]))
        highlighted = re.findall(rf'<TD BGCOLOR="{HIGHLIGHT}">([^<]*)</TD>', source)
        assert highlighted == [step.name]
    # the last frame shows backward()'s gradients
    reference, leaves = neuron()
    reference.backward()
    last = grads_shown(svg(frames[-1]))
    assert "grad ?" not in last
    for mine, theirs in zip((x1, x2, w1, w2, b), leaves):
        assert mine.grad == pytest.approx(theirs.grad, rel=1e-12)
        assert f"grad {format_number(theirs.grad)}" in last
    assert math.isclose(x1.grad, -1.5, rel_tol=1e-9)


def test_frames_fill_gradients_in_as_the_steps_go():
    o, _ = neuron()
    counts = [grads_shown(svg(f)).count("grad ?") for f in viz.backward_frames(o)]
    assert counts == sorted(counts, reverse=True) and counts[0] == 9 and counts[-1] == 0


def test_every_frame_has_the_same_size(tmp_path):
    o, _ = neuron()
    paths = viz.animate_backward(o, tmp_path / "frames")
    assert [p.name for p in paths] == [f"frame-{i:03d}.png" for i in range(7)]
    sizes = {png_size(p.read_bytes()) for p in paths}
    assert len(sizes) == 1
    width, height = sizes.pop()
    assert width > 800 and height > 150


def test_gif_has_one_image_per_frame(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    x = Value(0.5, label="x")
    y = (x * x).exp()
    y.label = "y"
    path = viz.animate_backward(y, tmp_path / "backprop.gif", seconds_per_frame=0.5)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4  # seed, exp, *, end
        frame_size = png_size(render_bytes(viz.backward_frames(y)[0], ["png"])["png"])
        assert gif.size == frame_size
        assert gif.info["duration"] == 1000  # the first frame lingers
        gif.seek(1)
        assert gif.info["duration"] == 500
    assert x.grad == pytest.approx(2 * 0.5 * math.exp(0.25) * 1, rel=1e-12)  # reset, then one pass


def test_zero_grad_false_accumulates_like_backward():
    x = Value(2.0, label="x")
    y = x * 3
    y.backward()
    viz.backward_frames(y, zero_grad=False)
    assert x.grad == 6.0
    viz.backward_frames(y)
    assert x.grad == 3.0


def test_a_leaf_root_gives_the_seed_and_the_end():
    x = Value(2.0, label="x")
    frames = viz.backward_frames(x)
    assert len(frames) == 2 and x.grad == 1.0


def test_animation_errors(tmp_path, monkeypatch):
    o, _ = neuron()
    with pytest.raises(ValueError, match=r"\.gif, or PNG frames"):
        viz.animate_backward(o, tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="max_frames=5"):
        viz.backward_frames(o, max_frames=5)
    with pytest.raises(TypeError, match="animate a Value"):
        viz.backward_frames([o])
    with pytest.raises(TypeError, match="unknown drawing option"):
        viz.backward_frames(o, colour=True)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'pip install "chainrule\[gif\]"'):
        viz.animate_backward(o, tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()
