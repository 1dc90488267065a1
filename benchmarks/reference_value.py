"""A reference for the scalar-engine benchmark: a tuned pure-Python Value class.

The anchors' "tuned Value class": ``__slots__``, op codes instead of closures, an
iterative topological sort, and derivatives written inline in one loop. It has just
what the workloads need (W1 moons, W2 random graph, W3 deep chain, W4 digits) and a
micrograd-shaped MLP. It is a yardstick, not part of chainrule.
"""

from __future__ import annotations

import math
import random
from typing import Any

ADD, MUL, TANH, EXP, RELU, LOG, POW = range(1, 8)


class Value:
    __slots__ = ("_arg", "_op", "_prev", "data", "grad")

    def __init__(self, data: float, prev: tuple = (), op: int = 0, arg: float = 0.0) -> None:
        self.data = data
        self.grad = 0.0
        self._prev = prev
        self._op = op
        self._arg = arg

    def __add__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = Value(float(other))
        return Value(self.data + other.data, (self, other), ADD)

    __radd__ = __add__

    def __mul__(self, other: Any) -> Value:
        if other.__class__ is not Value:
            other = Value(float(other))
        return Value(self.data * other.data, (self, other), MUL)

    __rmul__ = __mul__

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Any) -> Value:
        return self + (-other)

    def __rsub__(self, other: Any) -> Value:
        return other + (-self)

    def __pow__(self, n: float) -> Value:
        return Value(self.data**n, (self,), POW, n)

    def __truediv__(self, other: Any) -> Value:
        return self * other**-1.0

    def tanh(self) -> Value:
        return Value(math.tanh(self.data), (self,), TANH)

    def exp(self) -> Value:
        return Value(math.exp(self.data), (self,), EXP)

    def log(self) -> Value:
        return Value(math.log(self.data), (self,), LOG)

    def relu(self) -> Value:
        return Value(self.data if self.data > 0 else 0.0, (self,), RELU)

    def backward(self) -> None:
        topo: list[Value] = []
        seen: set[Value] = set()
        stack: list[Any] = [self]
        while stack:
            node = stack.pop()
            if node is None:
                topo.append(stack.pop())
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append(node)
            stack.append(None)
            for p in node._prev:
                if p not in seen:
                    stack.append(p)
        for node in topo:
            node.grad = 0.0 if node._op else node.grad
        self.grad = 1.0
        for node in reversed(topo):
            op = node._op
            if not op:
                continue
            g = node.grad
            parents = node._prev
            if op == ADD:
                parents[0].grad += g
                parents[1].grad += g
            elif op == MUL:
                a, b = parents
                a.grad += g * b.data
                b.grad += g * a.data
            elif op == TANH:
                parents[0].grad += g * (1 - node.data * node.data)
            elif op == EXP:
                parents[0].grad += g * node.data
            elif op == RELU:
                parents[0].grad += g if node.data > 0 else 0.0
            elif op == LOG:
                parents[0].grad += g / parents[0].data
            elif op == POW:
                x = parents[0].data
                parents[0].grad += g * node._arg * x ** (node._arg - 1)


class Neuron:
    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: list) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class Layer:
    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: list) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, nin: int, nouts: list[int]) -> None:
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))
        ]

    def __call__(self, x: list) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0
