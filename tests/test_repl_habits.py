"""A Value where a Python number goes (format specs, round, int, floor, ceil), text output
that reads well in a REPL or notebook (tree, BackwardStep), and model names in the text tools."""

from __future__ import annotations

import math

import pytest

import nn
from autograd import Value
from autograd.explain import BackwardStep, TextTree


@pytest.mark.parametrize("data", [2.345, -2.345, 0.5, -0.5, 7.0, -1e-9, 123456.789])
def test_a_value_behaves_like_its_number(data):
    v = Value(data, label="v")
    assert f"{v:.2f}" == f"{data:.2f}"
    assert f"{v:>12.3e}" == f"{data:>12.3e}"
    assert f"{v:+g}" == f"{data:+g}"
    assert round(v, 2) == round(data, 2) and round(v) == round(data)
    assert type(round(v)) is int and type(round(v, 1)) is float
    assert int(v) == int(data) and math.trunc(v) == math.trunc(data)
    assert math.floor(v) == math.floor(data) and math.ceil(v) == math.ceil(data)
    assert f"{v}" == repr(v)  # no spec: the Value itself, as print(v)
    assert v.grad == 0.0 and v._prev == ()  # reading the number records nothing


def test_a_bad_format_spec_is_the_number_s_error():
    with pytest.raises(ValueError, match="Unknown format code"):
        f"{Value(1.5):d}"


def _neuron_loss():
    model = nn.MLP(2, [3, 1], seed=0)
    x = [Value(1.0, label="x0"), Value(-2.0, label="x1")]
    loss = (model(x) - 1.0) ** 2
    return model, loss


def test_tree_is_text_that_shows_as_a_tree():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    y.backward()
    t = y.tree()
    assert isinstance(t, TextTree) and isinstance(t, str)
    assert repr(t) == str(t) and "\n" in repr(t) and "\\n" not in repr(t)
    lines = str(t).splitlines()
    assert lines[0].startswith("v2 = tanh(v1)") and "x   data=2 grad=" in str(t)

    class Printer:  # IPython's pretty printer protocol
        text_out = ""

        def text(self, s):
            self.text_out += s

    printer = Printer()
    t._repr_pretty_(printer, False)
    assert printer.text_out == str(t)


def test_tree_and_steps_name_a_model_s_parameters():
    model, loss = _neuron_loss()
    loss.backward()
    plain = loss.tree()
    assert plain.count("w0 ") >= 2  # micrograd's labels: every neuron has a w0
    named = loss.tree(model=model)
    names = [name for name, _ in model.named_parameters()]
    for name in names:
        assert f"{name}   data=" in named, name
    model.zero_grad()
    steps = list(loss.backward_steps(model=model))
    text = "\n".join(str(s) for s in steps)
    assert "layers.0.neurons.2.w.1" in text and "layers.1.neurons.0.b" in text
    for name, _ in model.named_parameters():
        assert f"d{steps[0].root_name}/d{name} +=" in text, name
    stepped = [p.grad for p in model.parameters()]  # naming changes no number
    model.zero_grad()
    loss.backward()
    assert stepped == [p.grad for p in model.parameters()] and any(stepped)


def test_tree_with_model_refuses_what_has_no_parameters():
    _, loss = _neuron_loss()
    with pytest.raises(TypeError, match="named_parameters"):
        loss.tree(model=object())


def test_a_backward_step_reads_as_its_arithmetic():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = x * w
    y.label = "y"
    (step,) = list(y.backward_steps())
    assert isinstance(step, BackwardStep)
    assert repr(step) == (
        "<BackwardStep 1/1\n"
        "y = x*w:  dy/dx += dy/dy * dy/dx = 1 * (-3) = -3\n"
        "          dy/dw += dy/dy * dy/dw = 1 * 2 = 2>"
    )
