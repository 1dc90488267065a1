"""The README's main job: ``chainrule demo``."""

from __future__ import annotations

import struct

from viz.cli import main


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_demo_trains_explains_and_draws(tmp_path, capsys):
    assert main(["demo", "--quick", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dx1 += do/dv1 * dv1/dx1 = 0.5 * (-3) = -1.5" in out
    assert "x1   data=2 grad=-1.5" in out
    assert "train accuracy" in out and "test accuracy" in out and "f1-score" in out
    for name in ("neuron.png", "model.png", "network.png"):
        width, height = png_size(tmp_path / name)
        assert 100 < width <= 1920 and 50 < height <= 1920  # fits a slide
    assert (tmp_path / "backprop.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    for name in ("explorer-neuron.html", "explorer-moons.html"):
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>") and f"wrote {tmp_path / name}" in out
        assert len(page) < 4_000_000  # the README promises pages of a few MB at most
    assert "training snapshots" in out
