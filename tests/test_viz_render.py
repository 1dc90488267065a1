"""Rendering: formats from the suffix, one layout for several files, atomic writes, and
a friendly error when Graphviz's ``dot`` is missing."""

from __future__ import annotations

import os
import shutil
import time
import xml.etree.ElementTree as ET

import graphviz
import pytest

import viz
from viz.render import (
    GraphvizNotFoundError,
    RenderError,
    RenderTimeoutError,
    RenderWarning,
    find_dot,
    render_bytes,
)

from .test_viz_draw import neuron, png_size, svg_texts


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH on which there is no ``dot``."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_format_comes_from_the_suffix(tmp_path):
    o, _ = neuron()
    o.backward()
    png = viz.render(o, tmp_path / "g.png")
    assert png == tmp_path / "g.png"
    width, height = png_size(png.read_bytes())
    assert width > 500 and height > 100
    svg = viz.render(o, str(tmp_path / "g.svg"))
    assert "grad -1.5" in svg_texts(svg.read_bytes())
    assert viz.render(o, tmp_path / "g.pdf").read_bytes()[:5] == b"%PDF-"
    dot = viz.render(o, tmp_path / "g.dot")
    assert dot.read_text(encoding="utf-8") == viz.draw_graph(o).source


def test_drawing_options_pass_through_render(tmp_path):
    o, _ = neuron()
    path = viz.render(o, tmp_path / "g.svg", local_grads=True, title="one neuron")
    texts = svg_texts(path.read_bytes())
    assert "one neuron" in texts and "∂o/∂n = 0.5" in texts
    with pytest.raises(TypeError, match="already drawn"):
        viz.render(viz.draw_graph(o), tmp_path / "h.svg", local_grads=True)


def test_png_and_svg_share_one_layout(tmp_path):
    o, _ = neuron()
    png, svg = viz.render(o, [tmp_path / "g.png", tmp_path / "g.svg"])
    width_px, height_px = png_size(png.read_bytes())
    root = ET.fromstring(svg.read_bytes())
    width_pt = float(root.get("width").removesuffix("pt"))
    height_pt = float(root.get("height").removesuffix("pt"))
    assert abs(width_px - width_pt * 96 / 72) <= 2  # Graphviz bitmaps are 96 dpi
    assert abs(height_px - height_pt * 96 / 72) <= 2


def test_dpi_scales_bitmaps(tmp_path):
    o, _ = neuron()
    normal = png_size(viz.render(o, tmp_path / "a.png").read_bytes())
    double = png_size(viz.render(o, tmp_path / "b.png", dpi=192).read_bytes())
    assert abs(double[0] - 2 * normal[0]) <= 4 and abs(double[1] - 2 * normal[1]) <= 4


def test_bad_paths_are_refused_before_drawing(tmp_path):
    o, _ = neuron()
    with pytest.raises(ValueError, match="unknown picture format 'bmp'"):
        viz.render(o, tmp_path / "g.bmp")
    with pytest.raises(ValueError, match="no suffix"):
        viz.render(o, tmp_path / "graph")
    with pytest.raises(ValueError, match="at least one"):
        viz.render(o, [])


def test_a_failed_render_leaves_the_old_file_whole(tmp_path):
    target = tmp_path / "g.png"
    target.write_bytes(b"the old picture")
    broken = graphviz.Digraph(body=["\tx -> {"])  # a DOT syntax error
    with pytest.raises(RenderError, match="syntax error"):
        viz.render(broken, target)
    assert target.read_bytes() == b"the old picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png"]  # no temporary files left


@pytest.mark.skipif(os.name == "nt", reason="the slow dot is a POSIX shell script")
def test_a_render_that_runs_too_long_is_stopped(monkeypatch, tmp_path):
    # a `dot` that notes it was started, then sleeps 5 s: first on PATH, where
    # render_bytes looks dot up (viz.digraph.find_dot, shutil.which)
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir()
    started = tmp_path / "dot-started"
    slow_dot = bin_dir / "dot"
    slow_dot.write_text(
        f"#!/bin/sh\necho started > '{started}'\nexec '{shutil.which('sleep')}' 5\n"
    )
    slow_dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert find_dot() == str(slow_dot)
    o, _ = neuron()
    begin = time.monotonic()
    with pytest.raises(RenderTimeoutError, match=r"dot did not finish within 0\.5 s") as info:
        viz.render(o, tmp_path / "g.png", timeout=0.5)
    elapsed = time.monotonic() - begin
    assert info.value.timeout == 0.5
    assert started.read_text() == "started\n"  # it was the slow dot that ran
    assert elapsed < 3, f"the render was stopped after {elapsed:.1f} s, not 0.5 s"
    assert not (tmp_path / "g.png").exists()


def test_warnings_from_dot_reach_the_caller(tmp_path):
    odd = graphviz.Digraph(body=["\ta [shape=no_such_shape]"])
    with pytest.warns(RenderWarning, match="no_such_shape"):
        path = viz.render(odd, tmp_path / "odd.svg")
    assert "<svg" in path.read_text(encoding="utf-8")


def test_missing_dot_gives_install_instructions(no_dot, tmp_path):
    o, _ = neuron()
    with pytest.raises(GraphvizNotFoundError) as info:
        viz.render(o, tmp_path / "g.png")
    message = str(info.value)
    assert "apt-get install graphviz" in message and "brew install graphviz" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__ is False
    assert info.value.__context__ is None  # raised directly, not from inside subprocess
    assert not (tmp_path / "g.png").exists()
    # the DOT text needs no Graphviz
    assert viz.render(o, tmp_path / "g.dot").exists()
    with pytest.raises(GraphvizNotFoundError):
        render_bytes(viz.draw_graph(o), ["svg"])
