"""The benchmark workloads, one function per engine, as defined in the anchor figures.

W1 moons step: micrograd's demo. make_moons(100, noise=0.1), labels ±1, MLP(2,[16,16,1]),
    loss = mean(relu(1 - y*score)) + 1e-4 * sum(p*p), full batch, SGD with
    lr = 1.0 - 0.9*k/100; one step = forward + backward + update.
W2 random graph: a seeded random DAG of N scalar nodes (100 leaves; add, mul, tanh, exp,
    relu; parents drawn from earlier nodes), build + backward, µs per node.
W3 deep chain: x -> tanh(0.5*x + 0.1) repeated D times; backward must succeed.
W4 digits epoch: 8x8 digits (1,797 samples, features / 16), MLP(64,[32,10]), softmax
    cross-entropy, mini-batch SGD with batch 32, lr 0.1, weights U(-1,1)/sqrt(fan_in).

Every engine gets the same data, the same initial weights and the same updates.
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
DIGITS_SIZES = [64, 32, 10]
DIGITS_BATCH = 32


def moons_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(n_samples=100, noise=0.1, seed=0)
    return X, np.where(y == 1, 1.0, -1.0)


def digits_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits()
    return X / 16.0, y.astype(int)


def initial_weights(sizes: list[int], seed: int, scale_by_fan_in: bool) -> list[tuple]:
    """[(W (nout, nin), b (nout,))] per layer: U(-1, 1), optionally / sqrt(fan_in)."""
    rng = np.random.default_rng(seed)
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):
        scale = 1 / math.sqrt(nin) if scale_by_fan_in else 1.0
        layers.append((rng.uniform(-1, 1, size=(nout, nin)) * scale, np.zeros(nout)))
    return layers


def digits_batches(n: int, epoch_seed: int = 0) -> list[np.ndarray]:
    order = np.random.default_rng(epoch_seed).permutation(n)
    return [order[i : i + DIGITS_BATCH] for i in range(0, n, DIGITS_BATCH)]


def _set_weights(model: Any, weights: list[tuple]) -> Any:
    """Give a micrograd-shaped MLP (layers.neurons.w/b, as both libraries have) these weights."""
    for layer, (w, b) in zip(model.layers, weights):
        for neuron, row, bias in zip(layer.neurons, w, b):
            for p, value in zip(neuron.w, row):
                p.data = float(value)
            neuron.b.data = float(bias)
    return model


# ----- chainrule ---------------------------------------------------------------------------
def chainrule_mlp(weights: list[tuple], activation: str = "relu") -> Any:
    from nn import MLP

    sizes = [weights[0][0].shape[1]] + [w.shape[0] for w, _ in weights]
    model = MLP(sizes[0], sizes[1:], activation=activation)
    return _set_weights(model, weights)


def _nn_step(engine: str, model: Any, loss: Any, lr: float, penalty: Any, X, y) -> Any:
    """nn.fit's own step function for ``engine`` ('scalar' or 'compiled')."""
    import nn
    from nn.compiled import CompiledStep
    from nn.training import ScalarStep

    optimizer = nn.SGD(model.parameters(), lr=lr)
    if engine == "scalar":
        step = ScalarStep(model, loss, optimizer, penalty)
    else:
        step = CompiledStep(model, loss, optimizer, penalty)
        width = 1 if loss.task != "classification" or isinstance(loss, nn.HingeLoss) else 10
        step.prepare(X, loss.check_targets(y, width), width)
    return step, optimizer


def chainrule_moons_step(engine: str, model: Any, X: np.ndarray, y: np.ndarray) -> Callable:
    """W1 through nn.fit's step: hinge loss (mean of relu(1 - y*score)) + L2(1e-4), SGD."""
    import nn
    from nn.training import _run_step

    loss = nn.HingeLoss()
    step, optimizer = _nn_step(engine, model, loss, 1.0, nn.L2(1e-4), X, y)
    targets = step.encode(loss.check_targets(y, 1))

    def run(k: int) -> float:
        optimizer.lr = 1.0 - 0.9 * k / 100
        return _run_step(step, X, targets)[0]

    return run


def chainrule_digits_epoch(engine: str, model: Any, X: np.ndarray, y: np.ndarray) -> Callable:
    """W4 through nn.fit's step: softmax cross-entropy, SGD lr 0.1, batches of 32."""
    import nn
    from nn.training import _run_step

    loss_fn = nn.CrossEntropyLoss()
    step, _ = _nn_step(engine, model, loss_fn, 0.1, None, X, y)
    targets = step.encode(loss_fn.check_targets(y, 10))

    def epoch(max_batches: int | None = None) -> float:
        loss = 0.0
        for i, idx in enumerate(digits_batches(len(X))):
            if max_batches is not None and i >= max_batches:
                break
            loss = _run_step(step, X[idx], targets[idx])[0]
        return loss

    return epoch


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


def micrograd_mlp(weights: list[tuple]) -> Any:
    from micrograd.nn import MLP

    sizes = [weights[0][0].shape[1]] + [w.shape[0] for w, _ in weights]
    model = MLP(sizes[0], sizes[1:])
    return _set_weights(model, weights)


def micrograd_moons_step(model: Any, X: np.ndarray, y: np.ndarray) -> Callable[[int], float]:
    from micrograd.engine import Value

    rows = X.tolist()
    labels = y.tolist()

    def step(k: int) -> float:
        inputs = [list(map(Value, row)) for row in rows]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg = 1e-4 * sum(p * p for p in model.parameters())
        loss = data_loss + reg
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        return loss.data

    return step


def micrograd_digits_epoch(model: Any, X: np.ndarray, y: np.ndarray) -> Callable[..., float]:
    value_cls = micrograd_value()

    def epoch(max_batches: int | None = None) -> float:
        loss = 0.0
        for i, idx in enumerate(digits_batches(len(X))):
            if max_batches is not None and i >= max_batches:
                break
            total = 0
            for row, label in zip(X[idx].tolist(), y[idx].tolist()):
                logits = model([value_cls(v) for v in row])
                top = max(z.data for z in logits)
                lse = sum((z - top).exp() for z in logits)
                # log(s) = s**0 ... micrograd has no log: use -log softmax via its ops
                total = total + (_micrograd_log(lse) + top - logits[label])
            batch_loss = total * (1.0 / len(idx))
            model.zero_grad()
            batch_loss.backward()
            for p in model.parameters():
                p.data -= 0.1 * p.grad
            loss = batch_loss.data
        return loss

    return epoch


def _micrograd_log(x: Any) -> Any:
    from micrograd.engine import Value

    out = Value(math.log(x.data), (x,), "log")

    def _backward() -> None:
        x.grad += out.grad / x.data

    out._backward = _backward
    return out


# ----- hand-written numpy ----------------------------------------------------------------
def numpy_moons_step(weights: list[tuple], X: np.ndarray, y: np.ndarray) -> Callable[[int], float]:
    (w1, b1), (w2, b2), (w3, b3) = [(w.copy(), b.copy()) for w, b in weights]
    params = (w1, b1, w2, b2, w3, b3)
    n = len(X)

    def step(k: int) -> float:
        z1 = X @ w1.T + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ w2.T + b2
        h2 = np.maximum(z2, 0)
        s = (h2 @ w3.T + b3)[:, 0]
        margin = 1 - y * s
        reg = 1e-4 * sum((w * w).sum() + (b * b).sum() for w, b in ((w1, b1), (w2, b2), (w3, b3)))
        loss = np.maximum(margin, 0).mean() + reg
        ds = np.where(margin > 0, -y, 0.0)[:, None] / n
        gw3, gb3 = ds.T @ h2, ds.sum(0)
        dz2 = (ds @ w3) * (z2 > 0)
        gw2, gb2 = dz2.T @ h1, dz2.sum(0)
        dz1 = (dz2 @ w2) * (z1 > 0)
        gw1, gb1 = dz1.T @ X, dz1.sum(0)
        lr = 1.0 - 0.9 * k / 100
        for p, g in zip(params, (gw1, gb1, gw2, gb2, gw3, gb3)):
            p -= lr * (g + 2e-4 * p)
        return float(loss.detach()) if hasattr(loss, "detach") else float(loss)

    return step


def numpy_digits_epoch(weights: list[tuple], X: np.ndarray, y: np.ndarray) -> Callable[..., float]:
    (w1, b1), (w2, b2) = [(w.copy(), b.copy()) for w, b in weights]
    params = (w1, b1, w2, b2)
    onehot = np.eye(10)[y]

    def epoch(max_batches: int | None = None) -> float:
        loss = 0.0
        for i, idx in enumerate(digits_batches(len(X))):
            if max_batches is not None and i >= max_batches:
                break
            xb, tb = X[idx], onehot[idx]
            z1 = xb @ w1.T + b1
            h1 = np.maximum(z1, 0)
            logits = h1 @ w2.T + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = float(-(tb * logp).sum(axis=1).mean())
            dlogits = (np.exp(logp) - tb) / len(idx)
            gw2, gb2 = dlogits.T @ h1, dlogits.sum(0)
            dz1 = (dlogits @ w2) * (z1 > 0)
            gw1, gb1 = dz1.T @ xb, dz1.sum(0)
            for p, g in zip(params, (gw1, gb1, gw2, gb2)):
                p -= 0.1 * g
        return loss

    return epoch


# ----- PyTorch tensors (eager) -------------------------------------------------------------
def torch_moons_step(weights: list[tuple], X: np.ndarray, y: np.ndarray) -> Callable[[int], float]:
    import torch

    params = []
    for w, b in weights:
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    xt, yt = torch.tensor(X), torch.tensor(y)

    def step(k: int) -> float:
        h = xt
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i < len(params) - 2:
                h = torch.relu(h)
        loss = torch.relu(1 - yt * h[:, 0]).mean() + 1e-4 * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()
        lr = 1.0 - 0.9 * k / 100
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
        return float(loss.detach()) if hasattr(loss, "detach") else float(loss)

    return step


def torch_digits_epoch(weights: list[tuple], X: np.ndarray, y: np.ndarray) -> Callable[..., float]:
    import torch

    params = []
    for w, b in weights:
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    xt, yt = torch.tensor(X), torch.tensor(y)

    def epoch(max_batches: int | None = None) -> float:
        loss = torch.tensor(0.0)
        for i, idx in enumerate(digits_batches(len(X))):
            if max_batches is not None and i >= max_batches:
                break
            ti = torch.from_numpy(idx)
            h = torch.relu(xt[ti] @ params[0].T + params[1])
            logits = h @ params[2].T + params[3]
            loss = torch.nn.functional.cross_entropy(logits, yt[ti])
            for p in params:
                p.grad = None
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
        return float(loss.detach()) if hasattr(loss, "detach") else float(loss)

    return epoch
