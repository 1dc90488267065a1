"""How the pictures read: modules in index order, bundled edges, layers left to right,
operands in order, slide-sized pictures, collapsed animations, roles and op names.

Positions come from ``dot -Tjson`` (y grows downward here, as on the page), so every
check is about the layout dot really makes, not about the DOT text alone.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

import autograd
import viz
from autograd import Value, ops
from viz.draw import BUNDLE_EDGES, collapsed_groups, implicit_constants, op_text
from viz.render import render_bytes
from viz.style import ROLE_COLORS

from .test_viz_draw import name_fill, neuron, png_size, svg

nn = pytest.importorskip("nn")


# ----- helpers ---------------------------------------------------------------------------
def layout(graph) -> dict:
    """``dot -Tjson`` of a digraph (or DOT text)."""
    source = graph if isinstance(graph, str) else graph.source
    out = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True, check=True)
    return json.loads(out.stdout)


def node_positions(data: dict) -> dict[str, tuple[float, float]]:
    """Node id -> centre (x, y), y downward."""
    height = float(data["bb"].split(",")[3])
    positions = {}
    for obj in data["objects"]:
        if "pos" in obj and not obj.get("nodes"):
            x, y = map(float, obj["pos"].split(","))
            positions[obj["name"]] = (x, height - y)
    return positions


def cluster_boxes(data: dict) -> dict[str, tuple[float, float, float, float]]:
    """Cluster label -> (left, top, right, bottom), y downward."""
    height = float(data["bb"].split(",")[3])
    boxes = {}
    for obj in data["objects"]:
        if obj["name"].startswith("cluster") and "bb" in obj:
            left, bottom, right, top = map(float, obj["bb"].split(","))
            label = re.sub(r"<[^>]*>", "", obj.get("label", ""))
            boxes[label] = (left, height - top, right, height - bottom)
    return boxes


def names_by_id(source: str) -> dict[str, str]:
    """Node id -> the name in its name cell (value nodes) from DOT text."""
    found = {}
    for line in source.splitlines():
        match = re.match(r'\s*(n\d+) \[label=<<TABLE[^>]*><TR><TD BGCOLOR="#\w+">([^<]*)<', line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def mlp_loss(sizes: list[int], seed: int = 1):
    model = nn.MLP(2, sizes, activation="tanh", seed=seed)
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    loss = (model(x) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return loss, model, x


def visible_edges(source: str) -> list[tuple[str, str, str]]:
    """(tail, head, attributes) of every edge drawn (invisible ones left out)."""
    edges = []
    for line in source.splitlines():
        match = re.match(r"\s*(\w+) -> (\w+)(.*)$", line)
        if match and "style=invis" not in match.group(3):
            edges.append(match.groups())
    return edges


# ----- 1. collapsed modules in index order -----------------------------------------------
@pytest.mark.parametrize("width", [12, 16, 32])
def test_collapsed_neurons_are_drawn_in_index_order(width):
    loss, model, _ = mlp_loss([width, width, 1])
    graph = viz.draw_graph(loss, model=model, collapse="layers.*.neurons.*")
    positions = node_positions(layout(graph))
    for layer in range(2):  # g0..g{w-1} are layers.0's neurons, then layers.1's
        ids = [f"g{layer * width + k}" for k in range(width)]
        tops = [positions[i][1] for i in ids]
        assert tops == sorted(tops), f"layers.{layer}: neuron k must be above neuron k+1"
        lefts = {round(positions[i][0]) for i in ids}
        assert len(lefts) == 1  # one column per layer


# ----- 2. bundled edges ------------------------------------------------------------------
def test_many_edges_between_two_collapsed_layers_are_one_labelled_bundle():
    loss, model, _ = mlp_loss([16, 16, 1])
    source = viz.draw_graph(loss, model=model, collapse="layers.*.neurons.*").source
    edges = visible_edges(source)
    layer0 = {f"g{k}" for k in range(16)}
    layer1 = {f"g{16 + k}" for k in range(16)}
    between = [e for e in edges if e[0] in layer0 and e[1] in layer1]
    assert len(between) == 1  # not 256
    tail, head, attrs = between[0]
    assert "256 edges" in attrs and "each of 16 to each of 16" in attrs
    assert "ltail=cluster_0" in attrs and "lhead=cluster_1" in attrs and "compound=true" in source
    # few edges stay one per pair: 16 from each input, 16 into the output neuron
    assert sum(1 for e in edges if e[0] == "n6" or e[0] == "n9") == 32  # x1 and x2
    assert sum(1 for e in edges if e[0] in layer1 and e[1] == "g32") == 16
    # the SVG has one edge element for the bundle, with its own id
    svg_text = render_bytes(source, ["svg"])["svg"].decode()
    assert svg_text.count('id="bundle') == 1
    assert len(re.findall(r"<title>g\d+&#45;&gt;g\d+</title>", svg_text)) == 1 + 16


def test_a_few_edges_between_collapsed_layers_stay_one_per_pair():
    loss, model, _ = mlp_loss([4, 4, 1])
    source = viz.draw_graph(loss, model=model, collapse="layers.*.neurons.*").source
    between = [e for e in visible_edges(source) if e[0] < "g4" and "g4" <= e[1] < "g8"]
    assert 4 * 4 <= BUNDLE_EDGES and len(between) == 16
    assert "edges" not in source and "compound" not in source


# ----- 3. layers left to right, no staircase ---------------------------------------------
def test_layers_run_left_to_right_without_a_staircase():
    loss, model, _ = mlp_loss([4, 4, 1])
    graph = viz.draw_graph(loss, model=model, max_size=None)
    data = layout(graph)
    boxes = cluster_boxes(data)
    layers = [boxes[f"layers.{i}"] for i in range(3)]
    for this, following in zip(layers, layers[1:]):
        assert this[2] < following[0]  # the next layer starts right of this one
        assert following[1] < this[3] and this[1] < following[3]  # they overlap vertically
    # the picture is about as tall as its tallest layer, not the layers stacked
    # (before: 2105 px tall for layers 300-800 px tall, 4111 x 2105 px in all)
    tallest = max(bottom - top for _, top, _, bottom in layers)
    height = float(data["bb"].split(",")[3])
    assert height < 1.35 * tallest
    width, png_height = png_size(render_bytes(graph, ["png"])["png"])
    assert width * png_height < 6_500_000 and png_height < 1400  # was 8.65 Mpx, 2105 px tall


def test_weights_sit_just_before_their_neurons_cluster():
    loss, model, _ = mlp_loss([4, 4, 1])
    data = layout(viz.draw_graph(loss, model=model))
    boxes = cluster_boxes(data)
    positions = node_positions(data)
    names = names_by_id(viz.draw_graph(loss, model=model).source)
    left1 = boxes["layers.1"][0]
    right0 = boxes["layers.0"][2]
    weights = model.layers[1].neurons[0].w
    order = loss.topological_order()
    for w in weights:
        nid = f"n{order.index(w)}"
        assert names[nid] == f"w.{weights.index(w)}"
        assert right0 < positions[nid][0] < left1  # between layers.0 and layers.1


# ----- 4. operands in order --------------------------------------------------------------
def operands_top_down(root: Value, **options) -> list[list[float]]:
    """For each op node of the drawing, the heights of its operands in operand order."""
    graph = viz.draw_graph(root, **options)
    positions = node_positions(layout(graph))
    order = root.topological_order()
    index = {id(node): i for i, node in enumerate(order)}
    return [
        [positions[f"n{index[id(p)]}"][1] for p in node._prev]
        for node in order
        if len(node._prev) > 1 and len({id(p) for p in node._prev}) == len(node._prev)
    ]


def test_operands_are_drawn_first_above_second():
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    for root in (a * b, b * a, a + b + c, a + (b + c)):
        heights = operands_top_down(root)
        assert heights and all(h == sorted(h) and len(set(h)) == len(h) for h in heights)
    o, _ = neuron()  # x1*w1 + x2*w2 + b
    assert all(h == sorted(h) for h in operands_top_down(o))
    # the leaves, which share a column, read x1, w1, x2, w2 from the top
    graph = viz.draw_graph(o)
    positions = node_positions(layout(graph))
    names = {name: nid for nid, name in names_by_id(graph.source).items()}
    columns, heights = zip(*(positions[names[n]] for n in ("x1", "w1", "x2", "w2")))
    assert len(set(columns)) == 1 and list(heights) == sorted(heights)


def test_an_nn_neurons_sum_is_drawn_in_term_order():
    unit = nn.Neuron(3, activation="linear", seed=0)
    x = [Value(v, label=f"x{i}") for i, v in enumerate([0.5, -1.0, 2.0])]
    out = unit(x)  # w0*x0 + w1*x1 + w2*x2 + b, as one sum
    heights = operands_top_down(out)
    assert len(heights) == 4  # three products and the sum of four terms
    assert all(h == sorted(h) for h in heights)


def test_an_mlps_weights_read_in_order_without_a_model():
    model = nn.MLP(2, [4, 4, 1], seed=0)
    out = model([Value(0.5, label="x0"), Value(-1.0, label="x1")])
    graph = viz.draw_graph(out)
    positions = node_positions(layout(graph))
    order = out.topological_order()
    for layer in model.layers:  # before: w3, w3, w1, w0, w0, w1, w2, ... in layers.1
        height = [[positions[f"n{order.index(w)}"][1] for w in n.w] for n in layer.neurons]
        for weights in height:  # each neuron's w0, w1, ... top to bottom
            assert weights == sorted(weights)
        for column in zip(*height):  # each input's weights in neuron order
            assert list(column) == sorted(column)


# ----- 5. slide-sized pictures -----------------------------------------------------------
def test_big_pictures_are_scaled_to_a_slide_and_the_neuron_stays_readable():
    loss, model, _ = mlp_loss([4, 4, 1])
    unscaled = viz.draw_graph(loss, model=model, max_size=None)
    natural = png_size(render_bytes(unscaled, ["png"])["png"])
    fitted = png_size(render_bytes(viz.draw_graph(loss, model=model), ["png"])["png"])
    assert natural[0] > 3000 and fitted[0] <= 1536 and fitted[1] <= 864
    o, (x1, x2, *_) = neuron()
    o.backward()
    small = png_size(render_bytes(viz.draw_graph(o, inputs=[x1, x2]), ["png"])["png"])
    assert 1300 <= small[0] <= 1536  # scaled by at most ~0.85: text stays readable
    assert not re.search(r"[ \[]size=", viz.draw_graph(o, max_size=None).source)
    assert 'size="8,4.5"' in viz.draw_graph(o, max_size=(8, 4.5)).source
    with pytest.raises(ValueError, match="max_size"):
        viz.draw_graph(o, max_size=(0, 9))


def test_backprop_gif_frames_fit_a_slide(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    o, (x1, x2, *_) = neuron()  # its frames were 1,809 px wide
    path = viz.animate_backward(o, tmp_path / "backprop.gif", inputs=[x1, x2])
    with Image.open(path) as gif:
        assert gif.width <= 1600 and gif.height <= 864


# ----- 6. collapsed animation ------------------------------------------------------------
def test_animation_makes_one_frame_per_run_of_steps_in_a_collapsed_module(tmp_path):
    loss, model, _ = mlp_loss([8, 8, 1])
    with pytest.raises(ValueError, match=r"needs 125 frames.*collapse="):
        viz.backward_frames(loss, model=model)
    groups = collapsed_groups(loss.topological_order(), model, "layers.*.neurons.*")
    keys = [groups.get(id(s.node), id(s.node)) for s in loss.backward_steps()]
    runs = 1 + sum(1 for a, b in zip(keys, keys[1:]) if a != b)
    assert len(keys) == 123 and runs < 40
    frames = viz.backward_frames(loss, model=model, collapse="layers.*.neurons.*")
    assert len(frames) == runs + 2  # the seed, one per run, the end
    captions = [" ".join(svg(f)) for f in frames[1:-1]]
    assert sum("backprop through layers.1.neurons." in c for c in captions) == 8
    assert sum("backprop through layers.0.neurons." in c for c in captions) == 8
    assert "step 1/123" in captions[0]  # the loss's steps are their own frames
    reference, reference_model, _ = mlp_loss([8, 8, 1])
    assert [p.grad for p in model.parameters()] == pytest.approx(
        [p.grad for p in reference_model.parameters()], rel=1e-12
    )
    pytest.importorskip("PIL.Image")
    from PIL import Image

    path = viz.animate_backward(
        loss, tmp_path / "mlp.gif", model=model, collapse="layers.*.neurons.*"
    )
    with Image.open(path) as gif:
        assert gif.n_frames == runs + 2 and gif.width <= 1600


def test_a_collapsed_frame_highlights_the_module():
    loss, model, _ = mlp_loss([3, 1])
    frames = viz.backward_frames(loss, model=model, collapse="layers.*.neurons.*")
    highlighted = [re.findall(r'BGCOLOR="#ff9f1c"><B>([^<]*)</B>', f.source) for f in frames]
    assert ["neurons.0"] in highlighted and highlighted[0] == [] and highlighted[-1] == []


# ----- 7. roles --------------------------------------------------------------------------
def test_an_unlabelled_value_you_made_is_a_leaf_not_a_constant():
    x = Value(1.0)  # micrograd style: no label
    y = (x * 2).tanh() + 1
    y.backward()
    source = viz.draw_graph(y).source
    assert x.grad != 0
    # x (data 1) and the constant 1 (data 1) are both named "1": x is the input
    fills_of_ones = re.findall(r'<TD BGCOLOR="(#\w+)">1</TD><TD>data 1</TD>', source)
    assert sorted(fills_of_ones) == sorted([ROLE_COLORS["input"], ROLE_COLORS["constant"]])
    assert name_fill(source, "2") == ROLE_COLORS["constant"]
    assert f"grad {viz.format_number(x.grad)}" in source
    constants = implicit_constants(y.topological_order())
    assert id(x) not in constants and len(constants) == 2  # the 2 and the 1
    # a list of inputs you keep holds them: not constants, even unlabelled and used once
    xs = [Value(0.5), Value(-1.0)]
    z = xs[0] * 3 + xs[1]
    assert implicit_constants(z.topological_order()) == {id(z._prev[0]._prev[1])}


def test_default_roles_read_the_names_and_the_legend_says_so():
    o, (x1, x2, w1, w2, b) = neuron()
    source = viz.draw_graph(o).source
    assert name_fill(source, "x1") == ROLE_COLORS["input"]
    assert name_fill(source, "w1") == ROLE_COLORS["parameter"]
    assert name_fill(source, "b") == ROLE_COLORS["parameter"]
    texts = " ".join(svg(viz.draw_graph(o)))
    assert "roles guessed from names" in texts and "pass inputs=, params= or model=" in texts
    texts = " ".join(svg(viz.draw_graph(o, inputs=[x1, x2])))
    assert "roles from inputs=" in texts and "other leaves are parameters" in texts
    loss, model, x = mlp_loss([2, 1])
    texts = " ".join(svg(viz.draw_graph(loss, model=model, inputs=x)))
    assert "roles from inputs= and model=" in texts


# ----- 8. op names agree with formula() ----------------------------------------------------
def test_op_names_are_the_formulas():
    x = Value(-0.5, label="x")
    y = Value(2.0, label="y")
    cases = {
        "relu": x.relu(), "tanh": x.tanh(), "+": x + y, "*": x * y, "-": -x, "**2": x**2,
        "/": x / y, "**": y**x,
    }  # fmt: skip
    texts = svg(viz.draw_graph(x.relu()))
    assert "relu" in texts and "ReLU" not in texts  # as formula() says: relu(x)
    assert x.relu().formula() == "relu(x)"
    for text, node in cases.items():
        assert op_text(node) == text
        assert text in node.formula()
    assert op_text(Value.sum([x, y, x * y])) == "+"
    leaky = x.leaky_relu(0.1)
    assert op_text(leaky) == "leaky_relu(\u00b7, 0.1)"  # the formula, operand left out
    assert op_text(leaky).replace("\u00b7", "x") == leaky.formula()


def test_every_table_op_draws_text_found_in_its_formula():
    x, y = Value(0.7, label="x"), Value(1.3, label="y")
    checked = 0
    for name in ops.__all__:
        op = getattr(ops, name)
        if not isinstance(op, autograd.operation.Op) or op.param_names:
            continue
        args = [x] if op.arity == 1 else [x, y]
        try:
            node = op(*args)
        except (ArithmeticError, ValueError, TypeError):  # outside its domain, or arity
            continue
        assert op_text(node).replace("\u00b7", "x") in node.formula(), name
        checked += 1
    assert checked >= 15
