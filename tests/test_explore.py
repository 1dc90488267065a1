"""viz.explore's data and page, checked in Python (the page in a browser: test_explorer_browser)."""

from __future__ import annotations

import json
import re

import pytest

import nn
import viz
from autograd import Value
from autograd.explain import forward_steps
from viz.cli import main


def neuron():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    b = Value(6.8813735870195432, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    return y, x, w, b


def page_data(page: str) -> dict:
    found = re.search(
        r'<script type="application/json" id="chainrule-data">(.*?)</script>', page, re.S
    )
    return json.loads(found[1].replace("<\\/", "</"))


def test_steps_are_the_texts_of_the_python_steppers():
    y, x, w, b = neuron()
    data = viz.explore(y, inputs=[x]).data
    assert [s["text"] for s in data["forward"]] == [str(s) for s in forward_steps(y)]
    assert data["forward"][0]["text"] == "v1 = x*w = 2*(-3) = -6"
    twin, *_ = neuron()
    assert [s["text"] for s in data["backward"]] == [str(s) for s in twin.backward_steps()]
    names = [n["name"] for n in data["nodes"]]
    assert data["seed"] == [names.index("y"), 1.0, "1"]
    # the last update of each node is its gradient, and equals backward()'s
    last = {}
    for step in data["backward"]:
        for i, g, text in step["updates"]:
            last[i] = (g, text)
    for i, node in enumerate(data["nodes"]):
        if i != data["root"]:
            assert last[i] == (node["g"], node["grad"]), node["name"]
    assert {n["name"]: n["grad"] for n in data["nodes"]}["x"] == "-1.5"
    assert data["nodes"][names.index("v1")]["local"] == ["∂v1/∂x = -3", "∂v1/∂w = 2"]
    assert data["nodes"][names.index("v1")]["formula"] == "v1 = x*w"


def test_the_graph_s_own_gradients_are_left_as_they_were():
    y, x, w, b = neuron()
    x.grad, w.grad = 10.0, 20.0  # as after an earlier backward of something else
    viz.explore(y)
    assert (x.grad, w.grad, b.grad, y.grad) == (10.0, 20.0, 0.0, 0.0)


def test_the_page_is_one_file_that_loads_nothing(tmp_path):
    y, x, *_ = neuron()
    path = viz.explore(y, inputs=[x], title="a </script> title").save(tmp_path / "g.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)
    assert "@import" not in page and "fetch(" not in page
    data = page_data(page)
    assert data["title"] == "a </script> title"
    (view,) = data["views"]
    for i in range(len(data["nodes"])):
        assert f"<title>n{i}</title>" in view["svg"]
    assert view["svg"].startswith("<svg") and "<!--" not in view["svg"]


def test_in_a_notebook_it_is_an_iframe_of_the_page():
    y, *_ = neuron()
    explorer = viz.explore(y)
    frame = explorer._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    assert repr(explorer) == (
        "Explorer(6 values, 3 forward and 3 backward steps, 1 view(s), 0 training snapshot(s))"
    )


def mlp_loss(sizes):
    model = nn.MLP(2, sizes, seed=0)
    xs = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    return model, xs, (model(xs) - 1.0) ** 2


def test_a_model_gets_one_drawing_per_level_and_big_graphs_start_collapsed():
    model, xs, loss = mlp_loss([16, 16, 1])
    data = viz.explore(loss, model=model, inputs=xs).data
    assert [v["collapse"] for v in data["views"]] == [
        ["layers.*"], ["layers.*.neurons.*"], None,
    ]  # fmt: skip
    assert data["start_view"] == 1  # per neuron
    layers, neurons, _ = data["views"]
    assert sorted(g["name"] for g in layers["groups"].values()) == [
        "layers.0", "layers.1", "layers.2",
    ]  # fmt: skip
    assert len(neurons["groups"]) == 33
    members = [i for g in neurons["groups"].values() for i in g["members"]]
    assert len(members) == len(set(members))
    for gid, group in neurons["groups"].items():
        assert f"<title>{gid}</title>" in neurons["svg"]
        exit_node = data["nodes"][group["exit"]]
        assert exit_node["op"] in ("relu", "+"), group  # a neuron's output
    names = {n["param"] for n in data["nodes"] if n["param"]}
    assert names == {name for name, _ in model.named_parameters()}


def test_small_graphs_start_whole_and_collapse_can_be_chosen():
    model, xs, loss = mlp_loss([2, 1])
    assert viz.explore(loss, model=model).data["start_view"] == 2
    data = viz.explore(loss, model=model, collapse="layers.*").data
    assert data["views"][data["start_view"]]["collapse"] == ["layers.*"]


def chain(n):
    y = Value(0.5, label="x")
    for _ in range(n):
        y = (y * y + y).tanh()  # each level used twice: shared nodes, a deep chain
    return y


def test_the_page_grows_linearly_with_the_graph():
    sizes = {n: len(viz.explore(chain(n)).page()) for n in (60, 120, 240)}
    assert sizes[240] / sizes[120] < 2.2 and sizes[120] / sizes[60] < 2.2


def test_a_recording_of_another_graph_is_refused():
    y, *_ = neuron()

    class Snap:
        step, epoch, loss, data, grad = 0, 0, 1.0, [1.0, 2.0], [0.0, 0.0]

    class Rec:
        snapshots, output, model = [Snap()], y, None

    with pytest.raises(ValueError, match="has 2 nodes but the graph explored has 6"):
        viz.explore(y, training=Rec())
    with pytest.raises(TypeError, match=r"training= takes an nn\.Recorder"):
        viz.explore(y, training=object())
    with pytest.raises(TypeError, match="explore a Value"):
        viz.explore([1, 2])


def test_chainrule_explore_writes_the_page(tmp_path, capsys):
    out = tmp_path / "g.html"
    args = ["explore", "tanh(x*w + b)", "--at", "x=2", "w=-3", "b=6.8813735870195432"]
    assert main([*args, "-o", str(out)]) == 0
    assert "dy/dx = -1.5" in capsys.readouterr().out
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["forward"][-1]["text"] == "y = tanh(v2) = tanh(0.881374) = 0.707107"
    assert main([*args, "-o", str(tmp_path / "g.png")]) == 2
    assert "name it *.html" in capsys.readouterr().err


def test_a_training_recording_gives_the_slider_its_snapshots():
    X, y = nn.datasets.make_moons(30, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    recorder = nn.Recorder(X[3], y[3], every=2, max_snapshots=6)
    nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model.parameters(), lr=0.1),
           epochs=20, quiet=True, seed=0, explore=recorder)  # fmt: skip
    data = viz.explore(recorder).data
    snaps = data["training"]["snapshots"]
    assert len(snaps) == len(recorder.snapshots) <= 6
    for row, snap in zip(snaps, recorder.snapshots):
        assert row["step"] == snap.step and row["loss"] == snap.loss
        assert row["data"] == [viz.format_number(v, 4) for v in snap.data]
        assert row["grad"] == [viz.format_number(g, 4) for g in snap.grad]
        assert row["scale"] == max(abs(g) for g in snap.grad)
    assert [n["data"] for n in data["nodes"]] == snaps[-1]["data"]  # the final graph
    widths = data["widths"]["data"]
    assert all(len(t) <= w for row in snaps for t, w in zip(row["data"], widths))
