"""viz.draw_network: the neural-network diagram of a model.

Positions are read back from ``dot -Tjson`` (points, y growing upwards), edges and
labels from the DOT text, pictures from the files ``viz.render`` writes.
"""

from __future__ import annotations

import json
import math
import random
import re
import xml.etree.ElementTree as ET

import graphviz
import pytest

import nn
import viz
from autograd import Value, no_grad
from viz.network import DEFAULT_MAX_EDGES, edge_width
from viz.style import gradient_color

from .test_viz_draw import png_size, svg_texts

_EDGE = re.compile(r'^\s*("[^"]*"|[\w.]+) -> ("[^"]*"|[\w.]+) \[(.*)\]$')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


# ----- reading a drawing back ---------------------------------------------------------------
def edges(graph: graphviz.Digraph) -> dict[tuple[str, str], dict[str, str]]:
    """The visible edges of the DOT text: (tail, head) -> attributes."""
    found = {}
    for line in graph.source.splitlines():
        match = _EDGE.match(line)
        if not match:
            continue
        attrs = {k: v.strip('"') for k, v in _ATTR.findall(match[3])}
        if attrs.get("style") == "invis":
            continue
        key = (match[1].strip('"'), match[2].strip('"'))
        assert key not in found, f"edge {key} drawn twice"
        found[key] = attrs
    return found


def node_line(graph: graphviz.Digraph, node_id: str) -> str:
    quoted = f'"{node_id}"' if "." in node_id else node_id
    lines = [ln for ln in graph.source.splitlines() if ln.strip().startswith(quoted + " [")]
    assert len(lines) == 1, f"node {node_id} defined {len(lines)} times"
    return lines[0]


def shown(graph: graphviz.Digraph, node_id: str, key: str) -> float | None:
    """The number shown in a circle after ``a=`` or ``g=`` (None: not shown)."""
    match = re.search(rf">{key}=([^<]+)<", node_line(graph, node_id))
    return float(match[1]) if match else None


def positions(graph: graphviz.Digraph) -> dict[str, tuple[float, float]]:
    """Where ``dot`` puts every node, from ``dot -Tjson``."""
    laid_out = json.loads(graph.pipe(format="json"))
    return {
        o["name"]: tuple(map(float, o["pos"].split(","))) for o in laid_out["objects"] if "pos" in o
    }


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def columns_of(model: nn.MLP) -> list[list[str]]:
    ids = [[f"x{i}" for i in range(model.nin)]]
    for k, layer in enumerate(model.layers):
        ids.append([f"layers.{k}.neurons.{j}" for j in range(layer.nout)])
    return ids


def set_weights(model: nn.Module, weights: dict[str, float]) -> None:
    state = model.state_dict()
    state.update(weights)
    model.load_state_dict(state)


def small_model() -> nn.MLP:
    """MLP(2, [2, 1]) with tanh hidden units and weights set by hand."""
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    set_weights(
        model,
        {
            "layers.0.neurons.0.w.0": 0.5,
            "layers.0.neurons.0.w.1": -2.0,
            "layers.0.neurons.0.b": 0.1,
            "layers.0.neurons.1.w.0": 1.0,
            "layers.0.neurons.1.w.1": -0.25,
            "layers.0.neurons.1.b": -0.3,
            "layers.1.neurons.0.w.0": -1.5,
            "layers.1.neurons.0.w.1": 0.75,
            "layers.1.neurons.0.b": 0.2,
        },
    )
    return model


def snapshot(model: nn.Module) -> list[tuple[str, object, object]]:
    return [(name, p.data, p.grad) for name, p in model.named_parameters()]


# ----- layout -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("nin", "sizes"),
    [(3, [4, 5, 2]), (64, [32, 10])],  # the second one defeats invisible flat edges
)
def test_columns_go_left_to_right_and_neurons_top_to_bottom_in_index_order(nin, sizes):
    model = nn.MLP(nin, sizes, seed=1)
    pos = positions(viz.draw_network(model))
    column_x = []
    for c, column in enumerate(columns_of(model)):
        xs = {pos[node][0] for node in column}
        assert len(xs) == 1, f"column {c} is not one column: x = {sorted(xs)}"
        column_x.append(xs.pop())
        ys = [pos[node][1] for node in column]
        # -Tjson's y grows upwards: index order is top to bottom when y falls
        assert all(a > b for a, b in zip(ys, ys[1:])), f"column {c} out of order: {ys}"
        header = pos[f"column{c}"]
        assert header[0] == pytest.approx(column_x[-1]) and header[1] > ys[0]
    assert all(a < b for a, b in zip(column_x, column_x[1:])), column_x


def test_every_weight_is_one_edge_from_its_input_to_its_neuron():
    model = nn.MLP(3, [4, 2], seed=2)
    drawn = edges(viz.draw_network(model, max_edges=None))
    expected = {}
    for k, layer in enumerate(model.layers):
        tails = columns_of(model)[k]
        for j, neuron in enumerate(layer.neurons):
            for i in range(neuron.nin):
                expected[(tails[i], f"layers.{k}.neurons.{j}")] = f"layers.{k}.neurons.{j}.w.{i}"
    assert set(drawn) == set(expected)
    for key, name in expected.items():
        assert drawn[key]["tooltip"].startswith(f"{name} = ")


# ----- colour and width ---------------------------------------------------------------------
def test_edge_colour_is_the_sign_of_the_weight():
    model = small_model()
    drawn = edges(viz.draw_network(model))
    weights = {
        ("x0", "layers.0.neurons.0"): 0.5,
        ("x1", "layers.0.neurons.0"): -2.0,
        ("x0", "layers.0.neurons.1"): 1.0,
        ("x1", "layers.0.neurons.1"): -0.25,
        ("layers.0.neurons.0", "layers.1.neurons.0"): -1.5,
        ("layers.0.neurons.1", "layers.1.neurons.0"): 0.75,
    }
    assert set(drawn) == set(weights)
    for key, w in weights.items():
        r, _, b = rgb(drawn[key]["color"])
        assert (b > r) if w < 0 else (r > b), f"{key}: w = {w}, colour {drawn[key]['color']}"
    # the colours are viz.style's gradient scale: the largest |w| gets its end colour
    assert drawn[("x1", "layers.0.neurons.0")]["color"] == gradient_color(-2.0, 2.0)
    assert drawn[("x0", "layers.0.neurons.1")]["color"] == gradient_color(1.0, 2.0)


def test_pen_width_grows_with_abs_weight_by_the_documented_rule():
    model = nn.MLP(7, [1], seed=0)
    ws = [-3.0, 2.0, -1.0, 0.5, 0.0, 2.5, -0.1]
    set_weights(model, {f"layers.0.neurons.0.w.{i}": w for i, w in enumerate(ws)})
    drawn = edges(viz.draw_network(model))
    widths = {i: float(drawn[(f"x{i}", "layers.0.neurons.0")]["penwidth"]) for i in range(7)}
    for i, w in enumerate(ws):
        assert widths[i] == pytest.approx(0.5 + 3 * abs(w) / 3.0, rel=1e-2)
        assert widths[i] == pytest.approx(edge_width(w, 3.0), rel=1e-2)
    by_size = sorted(range(7), key=lambda i: abs(ws[i]))
    ordered = [widths[i] for i in by_size]
    assert all(a < b for a, b in zip(ordered, ordered[1:])), ordered
    assert drawn[("x4", "layers.0.neurons.0")]["color"] == "#b0b0b0"  # w = 0: grey, no sign


def test_color_by_grad_uses_each_weights_grad():
    model = small_model()
    model.zero_grad()
    w_pos = model.layers[0].neurons[0].w[0]  # w = 0.5
    w_neg = model.layers[0].neurons[0].w[1]  # w = -2
    w_pos.grad, w_neg.grad = -4.0, 1.0
    drawn = edges(viz.draw_network(model, color_by="grad"))
    r, _, b = rgb(drawn[("x0", "layers.0.neurons.0")]["color"])
    assert b > r  # negative grad on a positive weight: blue
    r, _, b = rgb(drawn[("x1", "layers.0.neurons.0")]["color"])
    assert r > b
    assert float(drawn[("x0", "layers.0.neurons.0")]["penwidth"]) == pytest.approx(3.5)
    assert float(drawn[("x1", "layers.0.neurons.0")]["penwidth"]) == pytest.approx(1.25)
    assert drawn[("x0", "layers.0.neurons.1")]["color"] == "#b0b0b0"  # grad 0


# ----- thinning -----------------------------------------------------------------------------
def test_thinning_keeps_exactly_the_strongest_edges_of_each_layer_pair():
    model = nn.MLP(64, [32, 10], seed=3)
    graph = viz.draw_network(model)
    drawn = edges(graph)
    assert DEFAULT_MAX_EDGES == 200
    tails = columns_of(model)
    for k, layer in enumerate(model.layers):
        every = {
            (tails[k][i], f"layers.{k}.neurons.{j}"): abs(w.data)
            for j, neuron in enumerate(layer.neurons)
            for i, w in enumerate(neuron.w)
        }
        strongest = set(sorted(every, key=every.get, reverse=True)[:200])
        kept = {key for key in drawn if key in every}
        assert kept == strongest
        assert min(every[e] for e in kept) >= max(every[e] for e in set(every) - kept)
    texts = " ".join(svg_texts(graph.pipe(format="svg")))
    assert "layers.0 (hidden): showing 200 strongest of 2048 edges" in texts
    assert "layers.1 (output): showing 200 strongest of 320 edges" in texts


def test_thinning_limit_is_per_layer_pair_and_can_be_turned_off():
    model = nn.MLP(64, [32, 10], seed=3)
    assert len(edges(viz.draw_network(model, max_edges=50))) == 100
    graph = viz.draw_network(model, max_edges=None)
    assert len(edges(graph)) == 64 * 32 + 32 * 10
    assert "strongest" not in graph.source
    small = viz.draw_network(nn.MLP(2, [8, 8, 1], seed=0))  # 16 + 64 + 8 edges: no thinning
    assert len(edges(small)) == 88 and "strongest" not in small.source


# ----- one sample ---------------------------------------------------------------------------
def test_sample_shows_each_neurons_value_and_grad_as_computed_by_hand():
    model = small_model()
    x = [0.5, -1.0]
    graph = viz.draw_network(model, sample=x, precision=10)
    h0 = math.tanh(0.5 * 0.5 + -2.0 * -1.0 + 0.1)
    h1 = math.tanh(1.0 * 0.5 + -0.25 * -1.0 - 0.3)
    out = -1.5 * h0 + 0.75 * h1 + 0.2
    g_h0, g_h1 = -1.5, 0.75
    g_x0 = g_h0 * (1 - h0**2) * 0.5 + g_h1 * (1 - h1**2) * 1.0
    g_x1 = g_h0 * (1 - h0**2) * -2.0 + g_h1 * (1 - h1**2) * -0.25
    expected = {
        "x0": (0.5, g_x0),
        "x1": (-1.0, g_x1),
        "layers.0.neurons.0": (h0, g_h0),
        "layers.0.neurons.1": (h1, g_h1),
        "layers.1.neurons.0": (out, 1.0),
    }
    for node, (a, g) in expected.items():
        assert shown(graph, node, "a") == pytest.approx(a, rel=1e-8), node
        assert shown(graph, node, "g") == pytest.approx(g, rel=1e-8), node
    assert out == pytest.approx(model(x).data)
    assert "b=0.1<" in node_line(graph, "layers.0.neurons.0")
    assert ">tanh<" in node_line(graph, "layers.0.neurons.0")


def test_several_outputs_backpropagate_their_sum_with_the_scalar_engine():
    model = nn.MLP(3, [4, 2], activation="tanh", seed=5)
    x = [0.3, -0.7, 1.1]
    graph = viz.draw_network(model, sample=x, precision=12)
    xs = [Value(v) for v in x]
    hidden = model.layers[0](xs)
    outs = model.layers[1](hidden)
    for p in model.parameters():
        p.grad = 0.0
    Value.sum(outs).backward()
    for i, v in enumerate(xs):
        assert shown(graph, f"x{i}", "g") == pytest.approx(v.grad, rel=1e-9)
    for j, v in enumerate(hidden):
        assert shown(graph, f"layers.0.neurons.{j}", "a") == pytest.approx(v.data, rel=1e-9)
        assert shown(graph, f"layers.0.neurons.{j}", "g") == pytest.approx(v.grad, rel=1e-9)
    for j, v in enumerate(outs):
        assert shown(graph, f"layers.1.neurons.{j}", "a") == pytest.approx(v.data, rel=1e-9)
        assert shown(graph, f"layers.1.neurons.{j}", "g") == 1.0


def test_without_a_sample_no_data_or_grad_is_shown():
    graph = viz.draw_network(small_model())
    for node in ["x0", "x1", "layers.0.neurons.0", "layers.0.neurons.1", "layers.1.neurons.0"]:
        assert shown(graph, node, "a") is None and shown(graph, node, "g") is None
    assert "sample" not in graph.source


def test_drawing_with_a_sample_never_changes_the_model():
    model = nn.MLP(3, [5, 4, 2], activation="tanh", dropout=0.5, seed=7)
    loss = sum((o - 1.0) ** 2 for o in model([0.1, 0.2, 0.3]))
    loss.backward()  # grads a user has after a step's backward
    model.layers[0].neurons[0].w[0].grad = Value(0.25)  # even a grad that is a Value
    before = snapshot(model)
    dropout_state = model.dropout._rng.getstate()
    assert any(g != 0 for _, _, g in before)
    with no_grad():  # and inside no_grad the sample is still backpropagated
        graph = viz.draw_network(model, sample=[1.0, -2.0, 0.5], color_by="grad")
    after = snapshot(model)
    assert [(n, d) for n, d, _ in after] == [(n, d) for n, d, _ in before]
    for (name, _, g_before), (_, _, g_after) in zip(before, after):
        assert g_after is g_before or g_after == g_before, name
    assert model.dropout._rng.getstate() == dropout_state
    assert model.training is True and model.layers[0].training is True
    assert shown(graph, "layers.2.neurons.1", "g") == 1.0


def test_tall_columns_shorten_their_circles_and_keep_numbers_in_tooltips():
    model = nn.MLP(64, [32, 10], seed=3)
    graph = viz.draw_network(model, sample=[0.25] * 64)
    x5 = node_line(graph, "x5")
    assert shown(graph, "x5", "a") is None and ">x5<" in x5  # 64 inputs: names only
    assert 'tooltip="input x5: a=0.25, g=' in x5
    hidden = node_line(graph, "layers.0.neurons.4")  # 32 neurons: no activation, bias
    assert shown(graph, "layers.0.neurons.4", "a") is not None and ">relu<" not in hidden
    assert 'tooltip="layers.0.neurons.4: relu, b=0, a=' in hidden
    assert ">relu<" not in hidden and ">linear<" in node_line(graph, "layers.1.neurons.9")
    texts = " ".join(svg_texts(graph.pipe(format="svg")))
    assert "input: numbers left out of the circles" in texts
    assert "layers.0 (hidden): activation and bias left out of the circles" in texts
    small = viz.draw_network(small_model(), sample=[1.0, 2.0])
    assert "left out" not in small.source


# ----- other models -------------------------------------------------------------------------
def test_sequential_layer_and_neuron_are_drawn():
    seq = nn.Sequential(
        nn.Layer(2, 3, activation="tanh", seed=0), nn.Dropout(0.5), nn.Layer(3, 1, seed=1)
    )
    drawn = edges(viz.draw_network(seq, sample=[1.0, 2.0]))
    assert len(drawn) == 2 * 3 + 3 * 1
    assert ("layers.0.neurons.2", "layers.2.neurons.0") in drawn  # names as named_parameters
    assert drawn[("layers.0.neurons.2", "layers.2.neurons.0")]["tooltip"].startswith(
        "layers.2.neurons.0.w.2 ="
    )
    layer = nn.Layer(3, 2, activation="sigmoid", seed=0)
    assert set(edges(viz.draw_network(layer))) == {
        (f"x{i}", f"neurons.{j}") for i in range(3) for j in range(2)
    }
    neuron = nn.Neuron(2, activation="tanh", seed=0)
    graph = viz.draw_network(neuron, sample=[0.5, 0.5], precision=10)
    assert set(edges(graph)) == {("x0", "neuron"), ("x1", "neuron")}
    assert shown(graph, "neuron", "a") == pytest.approx(neuron([0.5, 0.5]).data)


# ----- render -------------------------------------------------------------------------------
def test_render_view_network_writes_png_and_svg(tmp_path):
    model = nn.MLP(64, [32, 10], seed=3)
    png, svg = viz.render(
        model, [tmp_path / "net.png", tmp_path / "net.svg"], view="network", title="digits"
    )
    width, height = png_size(png.read_bytes())
    assert 300 < width <= 2000 and 1000 < height <= 2000  # scaled down to a slide's size
    texts = svg_texts(svg.read_bytes())
    assert "digits" in texts
    assert any("showing 200 strongest of 2048 edges" in t for t in texts)
    root = ET.fromstring(svg.read_bytes())
    titles = {"".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}title")}
    assert "layers.0.neurons.31" in titles and "x63" in titles
    assert (
        viz.render(model, tmp_path / "n.dot", view="network", max_edges=10).read_text(
            encoding="utf-8"
        )
        == viz.draw_network(model, max_edges=10).source
    )


def test_render_small_network_is_not_shrunk(tmp_path):
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=0)
    png = viz.render(model, tmp_path / "net.png", view="network", sample=[0.5, -1.0])
    width, height = png_size(png.read_bytes())
    assert 700 < width <= 1600 and 600 < height <= 1400


def test_render_views_and_their_errors(tmp_path):
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    assert viz.render(y, tmp_path / "g.dot").read_text(encoding="utf-8") == viz.draw_graph(y).source
    assert viz.render(y, tmp_path / "h.dot", view="graph").read_text(encoding="utf-8") == (
        viz.draw_graph(y).source
    )
    with pytest.raises(ValueError, match=r"view must be one of 'graph', 'network'; got 'nn'"):
        viz.render(y, tmp_path / "g.png", view="nn")
    with pytest.raises(TypeError, match=r"draw_network draws nn\.MLP"):
        viz.render(y, tmp_path / "g.png", view="network")
    assert not (tmp_path / "g.png").exists()


# ----- errors -------------------------------------------------------------------------------
def test_models_that_cannot_be_drawn():
    for thing in [Value(1.0), "MLP", nn.Perceptron(2), [nn.Layer(2, 2)]]:
        with pytest.raises(TypeError, match=r"draws nn\.MLP, nn\.Sequential of nn\.Layer"):
            viz.draw_network(thing)
    with pytest.raises(TypeError, match="item 0 of this Sequential is a MLP"):
        viz.draw_network(nn.Sequential(nn.MLP(2, [2])))
    empty = nn.MLP(2, [3], seed=0)
    empty.layers = []
    with pytest.raises(ValueError, match="has no layers"):
        viz.draw_network(empty)
    with pytest.raises(ValueError, match="has no layers"):
        viz.draw_network(nn.Sequential(nn.Dropout(0.1)))
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0 takes 4 inputs"):
        viz.draw_network(nn.Sequential(nn.Layer(2, 3), nn.Layer(4, 1)))


def test_bad_samples():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="the model takes 2, got 3"):
        viz.draw_network(model, sample=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="the model takes 2, got 1"):
        viz.draw_network(model, sample=[1.0])
    for bad in [math.nan, math.inf, -math.inf]:
        with pytest.raises(ValueError, match=r"sample\[1\] is .*must be finite"):
            viz.draw_network(model, sample=[1.0, bad])
    with pytest.raises(TypeError, match=r"sample\[0\] must be a number"):
        viz.draw_network(model, sample=["1", 2.0])
    with pytest.raises(TypeError, match="sample must be a list of 2 numbers"):
        viz.draw_network(model, sample=1.0)


def test_bad_options():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="color_by must be one of 'weight', 'grad'; got 'sign'"):
        viz.draw_network(model, color_by="sign")
    with pytest.raises(ValueError, match="max_edges"):
        viz.draw_network(model, max_edges=0)
    with pytest.raises(TypeError, match="max_edges"):
        viz.draw_network(model, max_edges=2.5)
    with pytest.raises(ValueError, match="precision"):
        viz.draw_network(model, precision=0)


def test_ties_and_odd_numbers_are_drawn_deterministically():
    model = nn.MLP(4, [3], seed=0)
    set_weights(model, {name: 1.0 for name in model.state_dict()})  # every |w| ties
    graph = viz.draw_network(model, max_edges=5)
    kept = set(edges(graph))
    # ties: lower neuron first, then lower input
    expected = [(f"x{i}", f"layers.0.neurons.{j}") for j in range(3) for i in range(4)][:5]
    assert kept == set(expected)
    assert viz.draw_network(model, max_edges=5).source == graph.source
    rng = random.Random(0)
    zeros = nn.MLP(3, [2], init="zeros", seed=rng)
    source = viz.draw_network(zeros).source
    assert "every w is 0" in source
    assert all(e["color"] == "#b0b0b0" for e in edges(viz.draw_network(zeros)).values())
