"""Drawing graphs: labels, data and grads on every node, roles, colours, local derivatives.

Pictures are rendered with the real ``dot``; PNGs are checked by their signature and
IHDR dimensions, SVGs by the text they contain (no golden images: layouts differ
between Graphviz versions). The helpers here are shared by the other viz tests.
"""

from __future__ import annotations

import math
import random
import re
import struct
import xml.etree.ElementTree as ET

import graphviz
import pytest

import autograd
import viz
from autograd import Value
from viz.demo import classic_neuron as neuron
from viz.render import render_bytes
from viz.style import ROLE_COLORS, format_number, gradient_color

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----- helpers shared by the viz tests ---------------------------------------------------
def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def svg_texts(data: bytes) -> list[str]:
    """Every text element of an SVG, with no-break spaces as spaces, stripped."""
    root = ET.fromstring(data)
    texts = ["".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")]
    return [t.replace("\u00a0", " ").strip() for t in texts]


def svg(graph: graphviz.Digraph) -> list[str]:
    return svg_texts(render_bytes(graph, ["svg"])["svg"])


def name_fill(source: str, name: str) -> str:
    """The fill of the name cell of the value node called ``name`` in DOT text."""
    match = re.search(
        r'<TD BGCOLOR="(#[0-9a-f]{6})">(?:<B>)?' + re.escape(name) + "(?:</B>)?</TD>", source
    )
    assert match, f"no node named {name!r}"
    return match.group(1)


class FakeNeuron:
    def __init__(self, nin: int, rng: random.Random, act: bool, chained: bool = False):
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(rng.uniform(-0.5, 0.5))
        self.act, self.chained = act, chained

    def __call__(self, x):
        if self.chained:  # micrograd's form: a chain of + starting from the bias
            s = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        else:
            s = Value.sum([wi * xi for wi, xi in zip(self.w, x)] + [self.b])
        return s.tanh() if self.act else s


class FakeMLP:
    """Stands in for nn.MLP: only ``named_parameters()`` matters to viz."""

    def __init__(self, nin: int, nouts: list[int], seed: int = 0, chained: bool = False):
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [
            [FakeNeuron(sizes[i], rng, i < len(nouts) - 1, chained) for _ in range(sizes[i + 1])]
            for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0] if len(x) == 1 else x

    def named_parameters(self):
        for i, layer in enumerate(self.layers):
            for j, n in enumerate(layer):
                for k, w in enumerate(n.w):
                    yield f"layers.{i}.neurons.{j}.w.{k}", w
                yield f"layers.{i}.neurons.{j}.b", n.b


# ----- the picture -----------------------------------------------------------------------
def test_every_value_shows_label_data_and_grad_in_the_svg():
    o, (x1, x2, w1, w2, b) = neuron()
    o.backward()
    texts = svg(viz.draw_graph(o))
    for name, data, grad in [
        ("x1", "2", "-1.5"), ("w1", "-3", "1"), ("x2", "0", "0.5"), ("w2", "1", "0"),
        ("b", "6.881", "0.5"), ("n", "0.8814", "0.5"), ("o", "0.7071", "1"),
    ]:  # fmt: skip
        assert name in texts
        assert f"data {data}" in texts
        assert f"grad {grad}" in texts
    # the closed form: do/dx1 = (1 - tanh(n)^2) * w1
    expected = (1 - math.tanh(0.8813735870195432) ** 2) * -3
    assert format_number(expected) == "-1.5" and math.isclose(x1.grad, expected)
    for symbol in ("*", "+", "tanh"):
        assert symbol in texts
    assert texts.count("*") == 2 and texts.count("+") == 2


def test_png_has_the_signature_and_a_layout_shaped_size():
    o, _ = neuron()
    o.backward()
    wide = png_size(render_bytes(viz.draw_graph(o, legend=False), ["png"])["png"])
    tall = png_size(render_bytes(viz.draw_graph(o, rankdir="TB", legend=False), ["png"])["png"])
    assert wide[0] > 2 * wide[1]  # left to right: a wide picture
    assert tall[1] > 2 * wide[1] and tall[0] < wide[0] / 2  # top to bottom: a taller one


def test_the_same_graph_gives_the_same_dot_text():
    first = viz.draw_graph(neuron()[0], local_grads=True).source
    second = viz.draw_graph(neuron()[0], local_grads=True).source
    assert first == second
    assert "0x" not in first  # no memory addresses in ids


def test_draw_dot_keeps_micrograds_signature():
    o, _ = neuron()
    dot = viz.draw_dot(o, format="png", rankdir="TB")
    assert isinstance(dot, graphviz.Digraph)
    assert dot.format == "png"
    assert "rankdir=TB" in dot.source
    assert viz.draw_dot(o).format == "svg"


def test_digraph_displays_inline_in_jupyter():
    o, _ = neuron()
    bundle = viz.draw_graph(o)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_local_derivatives_label_the_edges():
    x = Value(3.0, label="x")
    w = Value(-2.0, label="w")
    y = (x * w).exp() + x * x
    y.label = "y"
    texts = svg(viz.draw_graph(y, local_grads=True))
    assert "∂v1/∂x = -2" in texts and "∂v1/∂w = 3" in texts  # d(xw)/dx = w, d(xw)/dw = x
    assert f"∂v2/∂v1 = {format_number(math.exp(-6.0))}" in texts  # exp' = exp
    assert texts.count("∂v3/∂x = 3") == 2  # x*x: one edge per input, each d/dx = x
    assert "∂y/∂v2 = 1" in texts and "∂y/∂v3 = 1" in texts


def test_an_undefined_local_derivative_is_labelled_not_raised():
    x = Value(0.0, label="x")
    y = x.sqrt()
    assert "∂v1/∂x = undefined" in svg(viz.draw_graph(y, local_grads=True))


def test_roles_default_rule():
    x = Value(2.0, label="x")
    w = Value(0.5, label="w1")
    y = 3 * x * w + 1  # 3 and 1 are constants; without inputs=/params= names guess
    source = viz.draw_graph(y).source
    assert name_fill(source, "x") == ROLE_COLORS["input"]
    assert name_fill(source, "w1") == ROLE_COLORS["parameter"]  # reads as a weight
    assert name_fill(source, "3") == ROLE_COLORS["constant"]
    assert name_fill(source, "1") == ROLE_COLORS["constant"]
    assert name_fill(source, "v3") == ROLE_COLORS["output"]
    assert name_fill(source, "v1") == ROLE_COLORS["intermediate"]


def test_roles_from_inputs_and_params():
    o, (x1, x2, w1, w2, b) = neuron()
    source = viz.draw_graph(o, inputs=[x1, x2]).source
    assert name_fill(source, "x1") == ROLE_COLORS["input"]
    assert name_fill(source, "w1") == ROLE_COLORS["parameter"]
    # naming the parameters makes the other labelled leaves inputs
    source = viz.draw_graph(o, params=[w1, w2, b]).source
    assert name_fill(source, "x2") == ROLE_COLORS["input"]
    assert name_fill(source, "b") == ROLE_COLORS["parameter"]
    legend = source[source.index("legend [") :]
    assert all(role in legend for role in ("input", "parameter", "output"))
    assert "constant" not in legend  # only the roles the picture uses


def test_roles_off_leaves_names_white():
    o, _ = neuron()
    source = viz.draw_graph(o, roles=False, grad_colors=False).source
    assert name_fill(source, "x1") == "#ffffff"
    assert "legend" not in source


def test_gradient_colours_diverge_by_sign_and_grow_with_magnitude():
    assert gradient_color(0.0, 2.0) == "#ffffff"
    red, blue = gradient_color(2.0, 2.0), gradient_color(-2.0, 2.0)
    assert red == "#b2182b" and blue == "#2166ac"
    faint, strong = gradient_color(0.1, 2.0), gradient_color(1.0, 2.0)

    def redness(colour: str) -> int:  # how far green has dropped from white
        return 255 - int(colour[3:5], 16)

    assert 0 < redness(faint) < redness(strong) < redness(red)
    o, _ = neuron()
    o.backward()  # grads: x1 -1.5 (the largest), w2 0, o 1
    source = viz.draw_graph(o).source
    assert '<TD BGCOLOR="#2166ac"><FONT COLOR="#ffffff">grad -1.5<' in source
    assert '<TD BGCOLOR="#ffffff"><FONT COLOR="#000000">grad 0<' in source


def test_before_backward_the_legend_says_grads_are_zero():
    o, _ = neuron()
    assert "grad: all 0 so far (call backward())" in svg(viz.draw_graph(o))


def test_second_order_grads_show_their_number():
    x = Value(3.0, label="x")
    y = x * x * x
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    assert "grad 27" in svg(viz.draw_graph(y))


def test_several_roots_are_all_outputs():
    x = Value(1.0, label="x")
    a, b = x.exp(), x.sin()
    a.label, b.label = "a", "b"
    source = viz.draw_graph([a, b]).source
    assert name_fill(source, "a") == ROLE_COLORS["output"]
    assert name_fill(source, "b") == ROLE_COLORS["output"]
    assert source.count("data 1<") == 1  # the shared x is drawn once


def test_a_custom_op_with_awkward_symbol_draws():
    op = autograd.register_op(
        "viz_test_op", lambda x: 2 * x, lambda x, out: 2.0, formula="f<|{{x}}|>&({0})"
    )
    try:
        y = op(Value(1.5, label="x"))
        y.backward()
        texts = svg(viz.draw_graph(y, local_grads=True))
        assert "f<|{x}|>&" in texts  # the op as its formula writes it: f<|{x}|>&(x)
        assert "∂v1/∂x = 2" in texts
    finally:
        autograd.unregister_op("viz_test_op")


def test_bad_arguments_get_clear_errors():
    o, _ = neuron()
    with pytest.raises(TypeError, match="draw a Value"):
        viz.draw_graph("o")
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_graph(o, rankdir="XY")
    with pytest.raises(ValueError, match="collapse= needs model"):
        viz.draw_graph(o, collapse="layers.*")
    with pytest.raises(TypeError, match="inputs= takes Values"):
        viz.draw_graph(o, inputs=[1.0])
    with pytest.raises(ValueError, match="precision"):
        viz.draw_graph(o, precision=0)
    with pytest.raises(ValueError, match="empty"):
        viz.draw_graph([])
    with pytest.raises(TypeError, match="model= takes"):
        viz.draw_graph(o, model=object())
