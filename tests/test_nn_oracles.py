"""One compiled training step of nn's MLPs against references that share no code with nn.

For every activation of ``nn.ACTIVATIONS`` and every loss (with outputs and targets
that suit it: one output or several, labels or probabilities), ``nn.fit(engine=
"compiled")`` runs one full-batch SGD step; its gradients (left in the parameters'
``.grad``), its loss and its update are compared with

* the same network and loss written in plain numpy in this file: the loss directly, the
  gradients by central differences;
* PyTorch in float64, with the same weights (``oracle``).

Each combination also carries a penalty (none, ``nn.L2`` or ``nn.L1``, in turn), whose
gradient the compiled program computes apart from the batch (a static subgraph).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import nn
from autograd import Value

N_SAMPLES = 6
N_INPUTS = 3
HIDDEN = [4, 3]
LR = 0.5
PENALTIES: list[tuple[str, Callable[[], Any] | None, float]] = [
    ("none", None, 0.0),
    ("L2", lambda: nn.L2(0.05), 0.05),
    ("L1", lambda: nn.L1(0.05), 0.05),
]


# ----- losses with suitable outputs and targets ---------------------------------------------
# name -> (loss, number of outputs, output activation, targets for a random generator)
def _normal(width: int, scale: float = 1.0):
    def targets(rng: np.random.Generator):
        return rng.normal(scale=scale, size=(N_SAMPLES, width) if width > 1 else N_SAMPLES)

    return targets


def _labels(k: int):
    def targets(rng: np.random.Generator):
        y = rng.integers(0, k, size=N_SAMPLES)
        y[:k] = np.arange(k)  # every class present
        return rng.permutation(y)

    return targets


def _probabilities(k: int):
    def targets(rng: np.random.Generator):
        return rng.dirichlet(np.ones(k), size=N_SAMPLES)

    return targets


CASES: dict[str, tuple[str, int, str, Callable[[np.random.Generator], np.ndarray]]] = {
    "mse/1": ("mse", 1, "linear", _normal(1)),
    "mse/2": ("mse", 2, "linear", _normal(2)),
    "sse/2": ("sse", 2, "linear", _normal(2)),
    "mae/1": ("mae", 1, "linear", _normal(1)),
    "mae/2": ("mae", 2, "linear", _normal(2)),
    "huber/2": ("huber", 2, "linear", _normal(2, scale=2.0)),  # residuals on both sides of 1
    "bce/soft": ("bce", 1, "sigmoid", lambda rng: rng.uniform(0, 1, size=N_SAMPLES)),
    "bce_with_logits/labels": ("bce_with_logits", 1, "linear", _labels(2)),
    "cross_entropy/labels": ("cross_entropy", 3, "linear", _labels(3)),
    "cross_entropy/probabilities": ("cross_entropy", 3, "linear", _probabilities(3)),
    "nll/labels": ("nll", 3, "linear", _labels(3)),
    "hinge/signs": ("hinge", 1, "linear", lambda rng: rng.choice([-1.0, 1.0], size=N_SAMPLES)),
    "hinge/classes": ("hinge", 3, "linear", _labels(3)),
}


def test_every_loss_has_a_case():
    assert {loss for loss, *_ in CASES.values()} == set(nn.losses.LOSSES)


def _setup(case: str, activation: str, floor: bool = False):
    """The model (its weights before the step), the data and the penalty of a
    combination; ``floor``: a :class:`SoftFloor` after the first hidden layer."""
    i, j = list(CASES).index(case), nn.ACTIVATIONS.index(activation)
    loss, width, last, targets = CASES[case]
    rng = np.random.default_rng(100 * i + j)
    X = rng.normal(size=(N_SAMPLES, N_INPUTS))
    y = targets(rng)
    seed = 10 * i + j
    hidden = [activation] * len(HIDDEN)
    if floor:
        first = nn.MLP(N_INPUTS, HIDDEN[:1], output_activation=activation, seed=seed)
        rest = nn.MLP(HIDDEN[0], [*HIDDEN[1:], width], activation=[*hidden[1:], last], seed=seed)
        model = nn.Sequential(first, SoftFloor(HIDDEN[0]), rest)
    else:
        model = nn.MLP(N_INPUTS, [*HIDDEN, width], activation=[*hidden, last], seed=seed)
    for p in model.parameters():  # biases start at 0: move them off the kinks of relu and abs
        if p.label == "b":
            p.data = float(rng.uniform(-0.5, 0.5))
    penalty = PENALTIES[(i + j) % len(PENALTIES)]
    return model, X, y, penalty


class SoftFloor(nn.Module):
    """A learnable floor per unit: logsumexp(z_j, floor_j), a smooth max(z_j, floor_j).

    Its logsumexp nodes read a batch value and a parameter in one operand, which nn's own
    layers never do: the parameters' share of that operand's gradient is checked too."""

    def __init__(self, width: int) -> None:
        self.floor = [Value(-0.4 + 0.3 * j, label=f"floor{j}") for j in range(width)]

    def __call__(self, x: Any) -> list[Value]:
        return [Value.logsumexp([z, f]) for z, f in zip(x, self.floor)]


@dataclass
class Block:
    """A dense layer (arrays W and b, an activation) or a SoftFloor (one array), in
    numpy, with the Values each number of the arrays comes from."""

    kind: str
    arrays: list[np.ndarray]
    values: list[list]  # nested like the arrays
    activation: str = "linear"


def _blocks(model) -> list[Block]:
    blocks = []
    for part in model.layers if isinstance(model, nn.Sequential) else [model]:
        if isinstance(part, SoftFloor):
            blocks.append(Block("floor", [np.array([f.data for f in part.floor])], [part.floor]))
            continue
        for layer in part.layers:
            W = [list(n.w) for n in layer.neurons]
            b = [n.b for n in layer.neurons]
            arrays = [np.array([[w.data for w in row] for row in W]), np.array([v.data for v in b])]
            blocks.append(Block("dense", arrays, [W, b], layer.activation))
    return blocks


def _in_parameter_order(model, blocks: list[Block], grads: list[list[np.ndarray]]) -> np.ndarray:
    """Gradients given array by array (as the blocks hold them) in the order of
    ``model.parameters()``."""
    by_id = {}
    for block, per_array in zip(blocks, grads):
        for values, g in zip(block.values, per_array):
            for index in np.ndindex(g.shape):
                value = values
                for i in index:
                    value = value[i]
                by_id[id(value)] = g[index]
    return np.array([by_id[id(p)] for p in model.parameters()])


def compiled_step(model, X, y, loss, penalty) -> tuple[float, np.ndarray, np.ndarray]:
    """(loss, gradients, update) of one full-batch compiled SGD step by nn.fit."""
    params = model.parameters()
    before = np.array([p.data for p in params])
    history = nn.fit(
        model, X, y, loss=loss, optimizer=nn.SGD(params, lr=LR), epochs=1, shuffle=False,
        quiet=True, engine="compiled", penalty=None if penalty[1] is None else penalty[1](),
    )  # fmt: skip
    assert history.engine == "compiled"
    after = np.array([p.data for p in params])
    grads = np.array([p.grad for p in params])  # fit leaves the last step's gradients
    return history["loss"][0], grads, before - after


# ----- plain numpy ----------------------------------------------------------------------------
def _np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


NP_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": _np_sigmoid,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "softplus": lambda z: np.log1p(np.exp(z)),
    "gaussian": lambda z: np.exp(-z * z),
    "sin": np.sin,
}


def _np_lse(z):
    return np.log(np.exp(z).sum(axis=1))


def _one_hot(y, k):
    return np.eye(k)[np.asarray(y, int)]


def np_loss(case: str, out: np.ndarray, y: np.ndarray) -> float:
    """The batch loss from the outputs (n, width), as the formulas define it."""
    loss, width, _, _ = CASES[case]
    o = out[:, 0] if width == 1 else out
    if loss == "mse":
        return float(np.mean((o - y) ** 2))
    if loss == "sse":
        return float(np.sum((o - y) ** 2))
    if loss == "mae":
        return float(np.mean(np.abs(o - y)))
    if loss == "huber":
        d = np.abs(o - y)
        return float(np.mean(np.where(d <= 1.0, 0.5 * d * d, d - 0.5)))
    if loss == "bce":
        return float(-np.mean(y * np.log(o) + (1 - y) * np.log(1 - o)))
    if loss == "bce_with_logits":
        p = _np_sigmoid(o)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    if loss == "cross_entropy":
        t = y if y.ndim == 2 else _one_hot(y, width)
        return float(np.mean((t * (_np_lse(o)[:, None] - o)).sum(axis=1)))
    if loss == "nll":
        return float(-np.mean(o[np.arange(len(y)), y]))
    if loss == "hinge" and width == 1:
        return float(np.mean(np.maximum(0.0, 1.0 - y * o)))
    if loss == "hinge":
        correct = o[np.arange(len(y)), y][:, None]
        margins = np.maximum(0.0, 1.0 - correct + o) * (1 - _one_hot(y, width))
        return float(np.mean(margins.sum(axis=1) / width))
    raise AssertionError(f"no numpy form for {loss}")


def np_total(case: str, blocks: list[Block], X, y, penalty) -> float:
    a = X
    for block in blocks:
        if block.kind == "floor":
            a = np.logaddexp(a, block.arrays[0])
        else:
            W, b = block.arrays
            a = NP_ACTIVATIONS[block.activation](a @ W.T + b)
    total = np_loss(case, a, y)
    name, _, alpha = penalty
    flat = np.concatenate([array.ravel() for block in blocks for array in block.arrays])
    if name == "L2":
        total += alpha * float(np.sum(flat * flat))
    elif name == "L1":
        total += alpha * float(np.sum(np.abs(flat)))
    return total


def np_gradients(case: str, blocks: list[Block], X, y, penalty) -> list[list[np.ndarray]]:
    """Central differences of :func:`np_total`, number by number."""
    grads = []
    for block in blocks:
        per_array = []
        for array in block.arrays:
            g = np.empty(array.shape)
            for index in np.ndindex(array.shape):
                saved = array[index]
                h = 1e-6 * max(1.0, abs(saved))
                array[index] = saved + h
                up = np_total(case, blocks, X, y, penalty)
                array[index] = saved - h
                down = np_total(case, blocks, X, y, penalty)
                array[index] = saved
                g[index] = (up - down) / (2 * h)
            per_array.append(g)
        grads.append(per_array)
    return grads


COMBINATIONS = [(case, act) for case in CASES for act in nn.ACTIVATIONS]
# the SoftFloor models: every loss, the activations in turn
FLOORED = [(case, nn.ACTIVATIONS[i % len(nn.ACTIVATIONS)]) for i, case in enumerate(CASES)]


COMBINATION_IDS = [f"{case}-{activation}" for case, activation in COMBINATIONS]
FLOORED_IDS = [f"{case}-{activation}" for case, activation in FLOORED]


def check_against_numpy(case, activation, floor):
    model, X, y, penalty = _setup(case, activation, floor)
    blocks = _blocks(model)
    expected_loss = np_total(case, blocks, X, y, penalty)
    expected = _in_parameter_order(model, blocks, np_gradients(case, blocks, X, y, penalty))
    loss, grads, update = compiled_step(model, X, y, CASES[case][0], penalty)
    where = f"{case} loss, {activation} hidden layers, penalty {penalty[0]}, floor {floor}"
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, err_msg=where)
    np.testing.assert_allclose(grads, expected, rtol=1e-6, atol=1e-8, err_msg=where)
    np.testing.assert_allclose(update, LR * grads, rtol=1e-12, atol=1e-15, err_msg=where)


@pytest.mark.parametrize(("case", "activation"), COMBINATIONS, ids=COMBINATION_IDS)
def test_compiled_step_against_numpy_central_differences(case, activation):
    check_against_numpy(case, activation, floor=False)


@pytest.mark.parametrize(("case", "activation"), FLOORED, ids=FLOORED_IDS)
def test_compiled_step_with_a_learned_floor_against_numpy_central_differences(case, activation):
    check_against_numpy(case, activation, floor=True)


# ----- PyTorch ----------------------------------------------------------------------------------
def torch_step(torch, case: str, blocks: list[Block], X, y, penalty):
    """The loss and the gradients, array by array as the blocks hold them, by PyTorch
    in float64."""
    F = torch.nn.functional
    f64 = torch.float64
    activations = {
        "linear": lambda z: z,
        "relu": torch.relu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "softplus": F.softplus,
        "gaussian": lambda z: torch.exp(-z * z),
        "sin": torch.sin,
    }
    tensors = [
        [torch.tensor(array, dtype=f64, requires_grad=True) for array in block.arrays]
        for block in blocks
    ]
    a = torch.tensor(X, dtype=f64)
    for block, arrays in zip(blocks, tensors):
        if block.kind == "floor":
            a = torch.logaddexp(a, arrays[0])
        else:
            W, b = arrays
            a = activations[block.activation](a @ W.T + b)
    loss, width, _, _ = CASES[case]
    out = a[:, 0] if width == 1 else a
    target = torch.tensor(y, dtype=torch.long if y.dtype.kind == "i" else f64)
    if loss == "mse":
        total = F.mse_loss(out, target)
    elif loss == "sse":
        total = F.mse_loss(out, target, reduction="sum")
    elif loss == "mae":
        total = F.l1_loss(out, target)
    elif loss == "huber":
        total = F.huber_loss(out, target, delta=1.0)
    elif loss == "bce":
        total = F.binary_cross_entropy(out, target)
    elif loss == "bce_with_logits":
        total = F.binary_cross_entropy_with_logits(out, target.to(f64))
    elif loss == "cross_entropy":
        total = F.cross_entropy(out, target)  # labels or class probabilities
    elif loss == "nll":
        total = F.nll_loss(out, target)
    elif loss == "hinge" and width == 1:
        total = torch.clamp(1 - target * out, min=0).mean()
    elif loss == "hinge":
        total = F.multi_margin_loss(out, target)
    else:
        raise AssertionError(f"no torch form for {loss}")
    name, _, alpha = penalty
    flat = torch.cat([t.reshape(-1) for arrays in tensors for t in arrays])
    if name == "L2":
        total = total + alpha * (flat * flat).sum()
    elif name == "L1":
        total = total + alpha * flat.abs().sum()
    total.backward()
    return total.item(), [[t.grad.numpy() for t in arrays] for arrays in tensors]


def check_against_pytorch(case, activation, floor):
    torch = pytest.importorskip("torch")
    model, X, y, penalty = _setup(case, activation, floor)
    blocks = _blocks(model)
    expected_loss, per_array = torch_step(torch, case, blocks, X, y, penalty)
    expected = _in_parameter_order(model, blocks, per_array)
    loss, grads, update = compiled_step(model, X, y, CASES[case][0], penalty)
    where = f"{case} loss, {activation} hidden layers, penalty {penalty[0]}, floor {floor}"
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-10, err_msg=where)
    np.testing.assert_allclose(grads, expected, rtol=1e-9, atol=1e-12, err_msg=where)
    np.testing.assert_allclose(update, LR * grads, rtol=1e-12, atol=1e-15, err_msg=where)


@pytest.mark.oracle
@pytest.mark.parametrize(("case", "activation"), COMBINATIONS, ids=COMBINATION_IDS)
def test_compiled_step_against_pytorch(case, activation):
    check_against_pytorch(case, activation, floor=False)


@pytest.mark.oracle
@pytest.mark.parametrize(("case", "activation"), FLOORED, ids=FLOORED_IDS)
def test_compiled_step_with_a_learned_floor_against_pytorch(case, activation):
    check_against_pytorch(case, activation, floor=True)
