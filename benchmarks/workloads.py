"""The benchmark workloads: data, initial weights, and each engine's training loop.

W1 moons: make_moons(100, noise=0.1, seed=0), labels ±1, MLP(2,[16,16,1]) (relu hidden,
    linear output), weights U(-1, 1), zero biases; loss = mean(relu(1 - y*score)) +
    1e-4 * sum(p*p) over every parameter; full-batch SGD, lr 0.5 constant, 100 epochs.
W2 random graph: a seeded random DAG of N scalar nodes (100 leaves; add, mul, tanh, exp,
    relu; parents drawn from earlier nodes), build + backward, µs per node.
W3 deep chain: x -> tanh(0.5*x + 0.1) repeated D times; backward must succeed.
W4 digits: 8x8 digits (1,797 samples, features / 16), MLP(64,[32,10]), softmax
    cross-entropy (batch mean), SGD lr 0.1 on batches of 32 in data order (the last has
    5 samples), weights U(-1, 1)/sqrt(fan_in), zero biases; 5 epochs.

``benchmarks/run.py`` trains W1 and W4 with ``nn.fit`` beside PyTorch and numpy loops that
do the same updates from the same weights on the same batches; ``benchmarks/scalar.py``
runs the pure-Python engines on all four, one process each.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from nn.datasets import load_digits, make_moons

MOONS_SIZES = [2, 16, 16, 1]
MOONS_EPOCHS, MOONS_LR, MOONS_L2 = 100, 0.5, 1e-4
DIGITS_SIZES = [64, 32, 10]
DIGITS_BATCH = 32
DIGITS_EPOCHS, DIGITS_LR = 5, 0.1

Weights = list[tuple[np.ndarray, np.ndarray]]  # [(W (nout, nin), b (nout,))] per layer


def moons_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    return X, np.where(y == 1, 1.0, -1.0)


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    return X / 16.0, y.astype(int)


def initial_weights(sizes: list[int], seed: int, scale_by_fan_in: bool) -> Weights:
    """[(W (nout, nin), b (nout,))] per layer: U(-1, 1), optionally / sqrt(fan_in)."""
    rng = np.random.default_rng(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        scale = 1 / math.sqrt(nin) if scale_by_fan_in else 1.0
        layers.append((rng.uniform(-1, 1, size=(nout, nin)) * scale, np.zeros(nout)))
    return layers


def moons_weights() -> Weights:
    return initial_weights(MOONS_SIZES, seed=0, scale_by_fan_in=False)


def digits_weights() -> Weights:
    return initial_weights(DIGITS_SIZES, seed=0, scale_by_fan_in=True)


def _set_weights(model: Any, weights: Weights) -> Any:
    """Give a micrograd-shaped MLP (layers.neurons.w/b, as both libraries have) these weights."""
    for layer, (w, b) in zip(model.layers, weights):
        for neuron, row, bias in zip(layer.neurons, w, b):
            for p, value in zip(neuron.w, row):
                p.data = float(value)
            neuron.b.data = float(bias)
    return model


def digits_batches(n: int) -> list[slice]:
    """W4's batches: in data order, DIGITS_BATCH rows each (the last one shorter)."""
    return [slice(i, min(i + DIGITS_BATCH, n)) for i in range(0, n, DIGITS_BATCH)]


def epoch_loss(batch_losses: list[float], sizes: list[int]) -> float:
    """An epoch's loss as nn.fit reports it: batch losses weighted by batch size."""
    return sum(loss * size for loss, size in zip(batch_losses, sizes)) / sum(sizes)


# ----- nn.fit, as users train --------------------------------------------------------------
def nn_mlp(weights: Weights) -> Any:
    """An nn.MLP (relu hidden layers, linear output) holding these weights."""
    import nn

    sizes = [weights[0][0].shape[1]] + [w.shape[0] for w, _ in weights]
    return _set_weights(nn.MLP(sizes[0], sizes[1:]), weights)


def fit_moons(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """W1 as one nn.fit call; returns its History."""
    import nn

    return nn.fit(
        model, X, y, loss="hinge", penalty=nn.L2(MOONS_L2),
        optimizer=nn.SGD(model.parameters(), lr=MOONS_LR), epochs=MOONS_EPOCHS,
        shuffle=False, quiet=True, engine="auto",
    )  # fmt: skip


def fit_digits(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """W4 as one nn.fit call; returns its History."""
    import nn

    return nn.fit(
        model, X, y, loss="cross_entropy", optimizer=nn.SGD(model.parameters(), lr=DIGITS_LR),
        epochs=DIGITS_EPOCHS, batch_size=DIGITS_BATCH, shuffle=False, quiet=True, engine="auto",
    )  # fmt: skip


def compiled_step(model: Any, X: np.ndarray, y: np.ndarray, moons: bool) -> Callable:
    """nn's internal compiled training step for W1 or W4, compiled and ready:
    ``step(X_batch, targets_batch) -> (loss, outputs)``, and the encoded targets."""
    import nn
    from nn.compiled import CompiledStep

    loss = nn.HingeLoss() if moons else nn.CrossEntropyLoss()
    lr, penalty = (MOONS_LR, nn.L2(MOONS_L2)) if moons else (DIGITS_LR, None)
    width = 1 if moons else 10
    step = CompiledStep(model, loss, nn.SGD(model.parameters(), lr=lr), penalty)
    targets = loss.check_targets(y, width)
    step.prepare(X, targets, width)
    return step, step.encode(targets)


# ----- hand-written numpy ------------------------------------------------------------------
def _relu_mlp_forward(layers: list, x: np.ndarray) -> tuple[list, np.ndarray]:
    """Pre-activations of the hidden layers (for backward) and the linear output."""
    pre, h = [], x
    for w, b in layers[:-1]:
        pre.append(h @ w.T + b)
        h = np.maximum(pre[-1], 0)
    w, b = layers[-1]
    return pre, h @ w.T + b


def _relu_mlp_backward(layers: list, x: np.ndarray, pre: list, dout: np.ndarray) -> list:
    """Gradients [(dW, db)] per layer, given d loss / d output."""
    grads = []
    for i in range(len(layers) - 1, -1, -1):
        h = np.maximum(pre[i - 1], 0) if i else x
        grads.append((dout.T @ h, dout.sum(0)))
        if i:
            dout = (dout @ layers[i][0]) * (pre[i - 1] > 0)
    return grads[::-1]


def numpy_moons(weights: Weights, X: np.ndarray, y: np.ndarray) -> list[float]:
    """W1 by hand in numpy; the loss of every epoch (before its update)."""
    layers = [(w.copy(), b.copy()) for w, b in weights]
    n, losses = len(X), []
    for _ in range(MOONS_EPOCHS):
        pre, out = _relu_mlp_forward(layers, X)
        margin = 1 - y * out[:, 0]
        penalty = MOONS_L2 * sum((w * w).sum() + (b * b).sum() for w, b in layers)
        losses.append(float(np.maximum(margin, 0).mean() + penalty))
        dout = np.where(margin > 0, -y, 0.0)[:, None] / n
        for (w, b), (gw, gb) in zip(layers, _relu_mlp_backward(layers, X, pre, dout)):
            w -= MOONS_LR * (gw + 2 * MOONS_L2 * w)
            b -= MOONS_LR * (gb + 2 * MOONS_L2 * b)
    return losses


def digits_epochs(n: int, step: Callable[[slice], float]) -> list[float]:
    """W4's epochs: ``step(rows)`` trains on one batch and returns its loss; the loss of
    every epoch, weighted by batch size as nn.fit reports it."""
    batches = digits_batches(n)
    sizes = [b.stop - b.start for b in batches]
    return [epoch_loss([step(rows) for rows in batches], sizes) for _ in range(DIGITS_EPOCHS)]


def numpy_digits(weights: Weights, X: np.ndarray, y: np.ndarray) -> list[float]:
    """W4 by hand in numpy; the loss of every epoch (as nn.fit reports it)."""
    layers = [(w.copy(), b.copy()) for w, b in weights]
    onehot = np.eye(DIGITS_SIZES[-1])[y]

    def step(rows: slice) -> float:
        xb, tb = X[rows], onehot[rows]
        pre, logits = _relu_mlp_forward(layers, xb)
        shifted = logits - logits.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        dout = (np.exp(logp) - tb) / len(xb)
        for (w, b), (gw, gb) in zip(layers, _relu_mlp_backward(layers, xb, pre, dout)):
            w -= DIGITS_LR * gw
            b -= DIGITS_LR * gb
        return float(-(tb * logp).sum(axis=1).mean())

    return digits_epochs(len(X), step)


# ----- PyTorch tensors (eager) -------------------------------------------------------------
def _torch_params(weights: Weights) -> list:
    import torch

    return [torch.tensor(a, requires_grad=True) for w, b in weights for a in (w, b)]


def _torch_mlp(params: list, x: Any) -> Any:
    import torch

    for i in range(0, len(params), 2):
        x = x @ params[i].T + params[i + 1]
        if i < len(params) - 2:
            x = torch.relu(x)
    return x


def _torch_sgd(params: list, lr: float) -> None:
    import torch

    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None


def torch_moons(weights: Weights, X: np.ndarray, y: np.ndarray) -> list[float]:
    """W1 with PyTorch eager tensors (float64); the loss of every epoch."""
    import torch

    params = _torch_params(weights)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for _ in range(MOONS_EPOCHS):
        score = _torch_mlp(params, xt)[:, 0]
        penalty = MOONS_L2 * sum((p * p).sum() for p in params)
        loss = torch.relu(1 - yt * score).mean() + penalty
        loss.backward()
        _torch_sgd(params, MOONS_LR)
        losses.append(loss.item())
    return losses


def torch_digits(weights: Weights, X: np.ndarray, y: np.ndarray) -> list[float]:
    """W4 with PyTorch eager tensors (float64); the loss of every epoch."""
    import torch

    params = _torch_params(weights)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step(rows: slice) -> float:
        loss = torch.nn.functional.cross_entropy(_torch_mlp(params, xt[rows]), yt[rows])
        loss.backward()
        _torch_sgd(params, DIGITS_LR)
        return loss.item()

    return digits_epochs(len(X), step)


# ----- W2, W3: graphs for the pure-Python engines (benchmarks/scalar.py) ---------------------
def random_recipe(n: int, seed: int = 0) -> tuple[list[float], list[tuple[int, int]]]:
    """W2's graph as a recipe, drawn once so the timed part is only the engine's work.

    Each step applies op ``kind`` (add, mul, tanh, exp, relu) to the previous node and,
    for add and mul, to the earlier node ``j``. The numbers are followed with plain
    floats so that exp is only taken where it stays finite (else tanh).
    """
    rng = random.Random(seed)
    leaves = [rng.uniform(-1, 1) for _ in range(100)]
    data = list(leaves)
    recipe = []
    while len(data) < n:
        kind, j = rng.randrange(5), rng.randrange(len(data))
        a = data[-1]
        if abs(a) > 5:
            kind = 2
        rules = (operator.add, operator.mul, lambda x, _: math.tanh(x),
                 lambda x, _: math.exp(x), lambda x, _: max(x, 0.0))  # fmt: skip
        data.append(rules[kind](a, data[j]))
        recipe.append((kind, j))
    return leaves, recipe


def random_graph(value_cls: type, leaves: list[float], recipe: list[tuple[int, int]]) -> Any:
    """W2: build the graph from the recipe; returns its output (the last node)."""
    nodes = [value_cls(x) for x in leaves]
    append = nodes.append
    for kind, j in recipe:
        a = nodes[-1]
        if kind == 0:
            append(a + nodes[j])
        elif kind == 1:
            append(a * nodes[j])
        elif kind == 2:
            append(a.tanh())
        elif kind == 3:
            append(a.exp())
        else:
            append(a.relu())
    return nodes[-1]


def deep_chain(value_cls: type, depth: int) -> Any:
    x = value_cls(0.3)
    y = x
    for _ in range(depth):
        y = (y * 0.5 + 0.1).tanh()
    return x, y


# ----- micrograd 0.1.0 -----------------------------------------------------------------------
def micrograd_value() -> type:
    """micrograd's Value, given tanh and exp in micrograd's own style (0.1.0 lacks them)."""
    from micrograd.engine import Value

    if not hasattr(Value, "tanh"):

        def tanh(self: Any) -> Any:
            t = math.tanh(self.data)
            out = Value(t, (self,), "tanh")

            def _backward() -> None:
                self.grad += (1 - t * t) * out.grad

            out._backward = _backward
            return out

        def exp(self: Any) -> Any:
            e = math.exp(self.data)
            out = Value(e, (self,), "exp")

            def _backward() -> None:
                self.grad += e * out.grad

            out._backward = _backward
            return out

        Value.tanh, Value.exp = tanh, exp
    return Value


def _micrograd_log(x: Any) -> Any:
    """log in micrograd's style (0.1.0 has none)."""
    from micrograd.engine import Value

    out = Value(math.log(x.data), (x,), "log")

    def _backward() -> None:
        x.grad += out.grad / x.data

    out._backward = _backward
    return out
