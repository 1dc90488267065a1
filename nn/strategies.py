"""Hypothesis strategies for networks: small MLPs with a loss, for gradient property tests.

Built on :mod:`autograd.strategies` (expressions of single ops live there; nn builds on
autograd, never the other way round). Needs Hypothesis (``pip install -e ".[test]"``).

>>> from hypothesis import given
>>> from nn.strategies import networks
>>> from autograd.strategies import assert_gradients_close
>>> @given(networks())
... def test_mlp_gradients(net):
...     assert_gradients_close(net)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from autograd import Value
from autograd.strategies import Expression, graph_is_well_posed

from .checks import int_at_least
from .functional import ACTIVATIONS
from .module import MLP

__all__ = ["networks"]


def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


_LOSSES = {
    "squared error": lambda outs, ys: Value.sum((o - y) ** 2 for o, y in zip(outs, ys)),
    "hinge": lambda outs, ys: Value.sum((1 - y * o).relu() for o, y in zip(outs, ys)),
}


# hidden-layer activations by name, relu (micrograd's) first so shrinking prefers it
_ACTIVATIONS = sorted((a for a in ACTIVATIONS if a != "linear"), key=lambda a: a != "relu")


def networks(
    max_inputs: int = 3,
    max_width: int = 3,
    max_layers: int = 2,
    max_points: int = 3,
) -> st.SearchStrategy[Expression]:
    """Small ``nn.MLP(nin, nouts)`` models with a loss over a few data points.

    Up to ``max_inputs`` inputs, ``max_layers`` layers of up to ``max_width`` neurons
    (the last layer has one), ``max_points`` data points, and a squared-error or
    hinge loss. The expression's output is the loss and its inputs are the model's
    parameters (weights drawn by Hypothesis in [-1, 1]), so
    ``assert_gradients_close(net)`` checks the gradients training uses;
    ``net.model`` is the MLP.
    """
    limits = {"max_inputs": max_inputs, "max_width": max_width,
              "max_layers": max_layers, "max_points": max_points}  # fmt: skip
    return _networks(*(int_at_least(f"networks: {name}", n) for name, n in limits.items()))


@st.composite
def _networks(
    draw: Callable[..., Any], max_inputs: int, max_width: int, max_layers: int, max_points: int
) -> Expression:
    nin = draw(st.integers(1, max_inputs))
    hidden = draw(st.lists(st.integers(1, max_width), min_size=0, max_size=max_layers - 1))
    nouts = [*hidden, 1]
    activation = draw(st.sampled_from(_ACTIVATIONS))
    # seeded, so the strategy uses no global random state (weights are redrawn below)
    model = MLP(nin, nouts, activation=activation, seed=0)
    parameters = list(model.parameters())
    for p in parameters:
        p.data = draw(_floats(-1.0, 1.0))
    n_points = draw(st.integers(1, max_points))
    xs = [[draw(_floats(-2.0, 2.0)) for _ in range(nin)] for _ in range(n_points)]
    loss_name = draw(st.sampled_from(sorted(_LOSSES)))
    ys = [draw(st.sampled_from([-1.0, 1.0])) for _ in range(n_points)]
    outs = []
    for x in xs:
        out = model(x)
        if isinstance(out, (list, tuple)):
            (out,) = out
        outs.append(out)
    loss = _LOSSES[loss_name](outs, ys)
    assume(graph_is_well_posed(loss, parameters))
    shown = f", activation={activation!r}"
    description = (
        f"MLP({nin}, {nouts}{shown}) with {loss_name} loss on x={xs}, y={ys}, "
        f"parameters={[p.data for p in parameters]}"
    )
    expression = Expression(loss, parameters, description)
    expression.model = model
    return expression
