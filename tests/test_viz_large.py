"""Large graphs: clusters per module, collapsed modules, focus on a neighbourhood, the node
limit, and how long a 1,000-node graph takes to render."""

from __future__ import annotations

import re

import pytest

import nn
import viz
from autograd import Value
from viz.large import GraphTooLargeError, assign_modules, module_levels, module_of
from viz.render import render_bytes

from .test_viz_draw import FakeMLP, png_size, svg


def clusters_of(source: str) -> dict[str, list[str]]:
    """``node text -> labels of the clusters around it`` from DOT text (names and ops)."""
    where: dict[str, list[str]] = {}
    stack: list[str] = []
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster"):
            stack.append("?")
        elif stack and stack[-1] == "?" and "[" not in line and "label=<" in line:
            stack[-1] = re.search(r"label=<([^<>]*)>", line).group(1)
        elif line == "}" and stack:
            stack.pop()
        elif re.match(r"\w+ \[label=", line):  # a node, not an edge
            shown = re.search(r'<TD BGCOLOR="#[0-9a-f]{6}">(?:<B>)?([^<]*)<', line)
            text = shown.group(1) if shown else re.search(r"label=<([^<>]*)>", line).group(1)
            where.setdefault(text, []).append("/".join(stack))
    return where


def mlp_loss(chained: bool = False):
    model = FakeMLP(2, [3, 2, 1], seed=1, chained=chained)
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    out = model(x)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return model, x, loss


def test_module_names():
    assert module_of("layers.0.neurons.3.w.1") == "layers.0.neurons.3"
    assert module_of("layers.0.neurons.3.b") == "layers.0.neurons.3"
    assert module_of("fc1.weight") == "fc1"
    assert module_of("w") == "" and module_of("w.0") == ""
    assert module_levels("layers.0.neurons.3") == ["layers.0", "layers.0.neurons.3"]
    assert module_levels("encoder.layers.2") == ["encoder", "encoder.layers.2"]
    assert module_levels("") == []


@pytest.mark.parametrize("chained", [False, True])
def test_each_neuron_is_a_cluster_inside_its_layer(chained):
    model, x, loss = mlp_loss(chained)
    source = viz.draw_graph(loss, model=model, inputs=x).source
    assert source.count("subgraph cluster") == 3 + 6  # 3 layers, 3 + 2 + 1 neurons
    where = clusters_of(source)
    # parameters are named by the part after their module; the bias sits in its neuron's
    # cluster, the weights just before it (so that layers do not share a rank)
    assert where["w.0"] == [""] * 6 and len(where["w.2"]) == 2
    assert where["b"] == [
        "layers.0/layers.0.neurons.0", "layers.0/layers.0.neurons.1",
        "layers.0/layers.0.neurons.2", "layers.1/layers.1.neurons.0",
        "layers.1/layers.1.neurons.1", "layers.2/layers.2.neurons.0",
    ]  # fmt: skip
    # every activation belongs to its neuron; the loss and the inputs to no module
    assert len(where["tanh"]) == 5 and all("neurons" in c for c in where["tanh"])
    assert where["loss"] == [""] and where["x1"] == [""]
    assert where["-"] == [""] and where["**2"] == [""]


def test_modules_follow_parameter_use():
    model, _, loss = mlp_loss()
    topo = loss.topological_order()
    names = dict(((id(p), n) for n, p in model.named_parameters()))
    modules = assign_modules(topo, {k: module_of(n) for k, n in names.items()})
    neuron = model.layers[1][0]
    assert {modules[id(w)] for w in neuron.w} == {"layers.1.neurons.0"}
    # 3 weights, the bias, 3 products, the sum and the activation
    assert sum(1 for m in modules.values() if m == "layers.1.neurons.0") == 3 + 1 + 3 + 1 + 1
    assert id(loss) not in modules and id(loss._prev[0]) not in modules  # loss terms stay out


def test_collapse_draws_each_layer_as_one_node():
    model, x, loss = mlp_loss()
    graph = viz.draw_graph(loss, model=model, inputs=x, collapse="layers.*")
    texts = svg(graph)
    for i, (values, params) in enumerate([(21, 9), (18, 8), (6, 3)]):
        assert f"layers.{i}" in texts
        assert f"{values} values, {params} parameters" in texts
    assert "w.0" not in texts and "b" not in texts  # parameters are inside the summaries
    assert "g0 -> g1" in graph.source and "g1 -> g2" in graph.source
    assert graph.source.count("g0 -> g1") == 1  # one edge between two modules
    # the last layer has one output: its data and grad are shown
    out = loss._prev[0]._prev[0]
    assert f"data {viz.format_number(out.data)}" in texts
    assert f"grad {viz.format_number(out.grad)}" in texts


def test_collapse_neurons_nests_them_in_layer_clusters():
    model, x, loss = mlp_loss()
    graph = viz.draw_graph(loss, model=model, collapse="layers.*.neurons.*")
    assert graph.source.count("subgraph cluster") == 3  # the layers; neurons are nodes
    texts = svg(graph)
    assert texts.count("7 values, 3 parameters") == 3  # w.0 w.1 b, 2 products, sum, tanh
    assert texts.count("9 values, 4 parameters") == 2
    assert texts.count("neurons.0") == 3  # inside the clusters layers.0, layers.1, layers.2
    assert {"layers.0", "layers.1", "layers.2"} <= set(texts)
    with pytest.raises(ValueError, match=r"matches no module.*layers\.0"):
        viz.draw_graph(loss, model=model, collapse="encoder.*")


def test_focus_draws_one_neighbourhood():
    x = Value(1.0, label="x")
    a = x * 2
    a.label = "a"
    b = a.exp()
    b.label = "b"
    c = b + x
    c.label = "c"
    d = c.tanh()
    d.label = "d"
    texts = svg(viz.draw_graph(d, focus=b, depth=1))
    assert "a" in texts and "b" in texts and "c" in texts
    assert "d" not in texts and "x" not in texts
    assert "2 more" in texts  # a's hidden inputs: x and the constant 2
    assert texts.count("1 more") == 2  # c's hidden input x, and d, which uses c
    only_b = svg(viz.draw_graph(d, focus="b", depth=0))
    assert "b" in only_b and "a" not in only_b


def test_focus_errors():
    x = Value(1.0, label="x")
    y = x * x
    with pytest.raises(ValueError, match="no node has that name"):
        viz.draw_graph(y, focus="nope")
    with pytest.raises(ValueError, match="not a node of this graph"):
        viz.draw_graph(y, focus=Value(3.0))
    with pytest.raises(ValueError, match="depth"):
        viz.draw_graph(y, focus=x, depth=-1)
    twins = Value(1.0, label="t") + Value(2.0, label="t")
    with pytest.raises(ValueError, match="2 nodes have that name"):
        viz.draw_graph(twins, focus="t")


def test_focus_by_a_models_parameter_name():
    model, x, loss = mlp_loss()
    texts = svg(viz.draw_graph(loss, model=model, focus="layers.2.neurons.0.w.1", depth=1))
    w = model.layers[2][0].w[1]
    assert f"data {viz.format_number(w.data)}" in texts and "*" in texts
    assert "loss" not in texts


def wide_graph(values: int) -> Value:
    """A sum of products: about ``values`` value nodes and half as many op nodes."""
    xs = [Value(0.01 * i, label=f"x{i}") for i in range(values // 2)]
    return Value.sum([x * 1.5 for x in xs])


def test_the_node_limit_suggests_collapse_or_focus():
    y = wide_graph(700)  # ~1,400 values and ops
    with pytest.raises(GraphTooLargeError) as info:
        viz.draw_graph(y)
    message = str(info.value)
    assert "max_nodes=1,000" in message and "focus=" in message and "collapse=" in message
    assert re.search(r"has 1,\d{3} nodes", message)
    with pytest.raises(GraphTooLargeError):
        viz.draw_graph(y, max_nodes=100)
    assert viz.draw_graph(y, max_nodes=None).source.count("->") > 1000
    assert viz.draw_graph(y, focus="x3", depth=2).source.count("->") < 20


def test_a_1000_node_graph_renders_as_png():
    """Renders and is checked; its speed is measured by benchmarks/render.py, not here."""
    model = FakeMLP(2, [16, 16, 1], seed=0)
    out = model([Value(1.0, label="x1"), Value(-2.0, label="x2")])
    out.backward()
    graph = viz.draw_graph(out, max_nodes=1100, max_size=None)
    nodes = sum(1 for line in graph.source.splitlines() if re.match(r"\s*\w+ \[label=", line))
    assert 1000 <= nodes <= 1100
    png = render_bytes(graph, ["png"])["png"]
    width, height = png_size(png)
    assert width > 2000 and height > 5000  # natural size; by default it fits 16 x 9 in


def test_a_large_graph_is_drawn_at_72_dpi_unless_asked(tmp_path):
    model = FakeMLP(2, [16, 16, 1], seed=0)
    out = model([Value(1.0, label="x1"), Value(-2.0, label="x2")])
    graph = viz.draw_graph(out, max_nodes=1100)
    default = png_size(viz.render(graph, tmp_path / "a.png").read_bytes())
    asked = png_size(viz.render(graph, tmp_path / "b.png", dpi=96).read_bytes())
    assert abs(default[0] / asked[0] - 0.75) < 0.02


def test_a_real_nn_mlp_clusters_by_its_parameter_names():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([1.0, -2.0])
    out.backward()
    source = viz.draw_graph(out, model=model).source
    assert source.count("subgraph cluster") == 2 + 4
    where = clusters_of(source)
    assert where["b"].count("layers.1/layers.1.neurons.0") == 1 and where["w.1"] == [""] * 4
    assert len(where["tanh"]) == 3 and all("layers.0/" in c for c in where["tanh"])
    texts = svg(viz.draw_graph(out, model=model, collapse="layers.*"))
    assert "layers.0" in texts and "layers.1" in texts
