"""Modules: parameters in a named tree, and micrograd's Neuron, Layer and MLP.

A :class:`Module` finds its parameters by looking at its attributes: a ``Value`` is a
parameter, a ``Module`` is a child, and lists of either are numbered, so
``mlp.layers[0].neurons[3].w[1]`` is named ``layers.0.neurons.3.w.1``. Attributes whose
names start with ``_`` are private and never walked.

A neuron computes ``act(w0*x0 + w1*x1 + ... + b)`` as one n-ary sum node of ``w_i * x_i``
products (weight first, bias last) followed by one activation node, so a 64-input neuron
is 64 + 2 nodes, and every neuron of every model has the same regular shape.
"""

from __future__ import annotations

import math
import numbers
import operator
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from autograd import Value, no_grad, ops

from . import serialize
from .checks import finite_real, flag, int_at_least, named_choice
from .data import check_dataset
from .functional import activation as activation_function
from .functional import canonical_activation
from .programs import batch_outputs, outputs_to_array
from .specs import module_from_spec, module_spec, register_module_type

__all__ = [
    "INIT_SCHEMES",
    "MLP",
    "Dropout",
    "Layer",
    "Module",
    "Neuron",
    "Perceptron",
    "Sequential",
    "init_weights",
    "module_from_spec",
    "module_spec",
    "outputs_to_array",
    "temporary_mode",
]

Seed = int | random.Random | None
_mul = operator.mul


# ----- small checks -----------------------------------------------------------------------
def _rng(seed: Seed) -> Any:
    """A source of random numbers: the ``random`` module itself for None (as micrograd),
    a fresh ``random.Random(seed)`` for an int, or the given ``random.Random``."""
    if seed is None or seed is random:
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return random.Random(int(seed))
    raise TypeError(f"seed must be an int, a random.Random or None, not {type(seed).__name__}")


def _as_inputs(x: Any) -> list[Value]:
    """One sample's inputs as a list of Values (numbers are wrapped once, here)."""
    if isinstance(x, Value | numbers.Real):
        x = (x,)
    elif isinstance(x, str | bytes) or not hasattr(x, "__len__"):
        raise TypeError(
            f"a model takes one sample as a sequence of numbers or Values, not {type(x).__name__}"
        )
    return [v if v.__class__ is Value else Value(v) for v in x]


# ----- weight initialisation ------------------------------------------------------------
_INIT_ALIASES = {"glorot": "xavier", "kaiming": "he", "zero": "zeros"}
INIT_SCHEMES: tuple[str, ...] = ("uniform", "xavier", "he", "zeros")
"""Weight initialisation schemes (aliases: 'glorot' = 'xavier', 'kaiming' = 'he')."""


def init_weights(scheme: str, fan_in: int, fan_out: int = 1, seed: Seed = None) -> list[float]:
    """``fan_in`` starting weights for one neuron.

    * ``'uniform'``: U(-1, 1), micrograd's choice;
    * ``'xavier'`` (Glorot): U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), for tanh/sigmoid;
    * ``'he'`` (Kaiming): N(0, 2 / fan_in), for relu;
    * ``'zeros'``: all 0 (the perceptron's classic start; no use for hidden layers).
    """
    key = _init_scheme(scheme)
    fan_in = int_at_least("fan_in", fan_in)
    fan_out = int_at_least("fan_out", fan_out)
    rng = _rng(seed)
    if key == "uniform":
        return [rng.uniform(-1.0, 1.0) for _ in range(fan_in)]
    if key == "xavier":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return [rng.uniform(-bound, bound) for _ in range(fan_in)]
    if key == "he":
        std = math.sqrt(2.0 / fan_in)
        return [rng.gauss(0.0, std) for _ in range(fan_in)]
    return [0.0] * fan_in  # 'zeros'


def _init_scheme(scheme: Any) -> str:
    """The canonical name of an init scheme; a clear error naming ``init`` otherwise."""
    return named_choice("init", scheme, INIT_SCHEMES, "init scheme", _INIT_ALIASES)


# ----- the base class -------------------------------------------------------------------
def _members(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Parameters (Values) and child modules under one attribute, with their names."""
    if isinstance(value, Value | Module):
        yield name, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _members(f"{name}.{i}", item)


def _child_modules(name: str, value: Any) -> Iterator[tuple[str, Module]]:
    """The modules under one attribute, with their names (Values skipped without a walk)."""
    if isinstance(value, Module):
        yield name, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if isinstance(item, Module | list | tuple):
                yield from _child_modules(f"{name}.{i}", item)


def _collect(value: Any, out: list[Value], children: list[Module], seen: set[Value]) -> None:
    if value.__class__ is Value or isinstance(value, Value):
        if value not in seen:
            seen.add(value)
            out.append(value)
    elif isinstance(value, Module):
        children.append(value)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, out, children, seen)


class Module:
    """Base class of every model part: a tree of parameters with stable names.

    Subclasses define ``__call__(x)``; parameters and children are found from the
    attributes (see the module docstring). ``training`` is True until ``eval()``.
    """

    training: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_module_type(cls)

    def __call__(self, x: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, x)")

    # ----- the tree -------------------------------------------------------------------
    def _direct_members(self) -> Iterator[tuple[str, Any]]:
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield from _members(name, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their names (``layers.0``, ``dropout``)."""
        for name, value in vars(self).items():
            if not name.startswith("_"):
                yield from _child_modules(name, value)

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and every module below it."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``(name, Value)`` for every parameter, e.g. ``('layers.0.neurons.3.w.1', w)``.

        Names follow the attribute path and are stable; a shared Value is listed once.
        """
        seen: set[int] = set()
        out: list[tuple[str, Value]] = []
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            children = []
            for name, member in module._direct_members():
                if isinstance(member, Module):
                    children.append((prefix + name + ".", member))
                elif id(member) not in seen:
                    seen.add(id(member))
                    out.append((prefix + name, member))
            # depth-first, in attribute order, without recursion
            stack.extend(reversed(children))
        return out

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of :meth:`named_parameters` (a faster walk:
        training loops call this every step)."""
        out: list[Value] = []
        seen: set[Value] = set()
        stack: list[Module] = [self]
        while stack:
            children: list[Module] = []
            for name, value in vars(stack.pop()).items():
                if not name.startswith("_"):
                    _collect(value, out, children, seen)
            stack.extend(reversed(children))
        return out

    def num_parameters(self) -> int:
        """How many numbers the model learns."""
        return len(self.named_parameters())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout active) for this module and all below it."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (Dropout passes values through)."""
        return self.train(False)

    def why_graph_varies(self) -> str | None:
        """Why calling this module (in its current mode) builds a different graph for every
        sample, or None: its graph is then compiled once for all samples. Override it in
        a module that draws random numbers, as Dropout does in training mode."""
        return None

    # ----- state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name (a plain dict you may copy or save)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Set parameters from ``state`` (name -> number). All or nothing.

        With ``strict=True`` the names must match exactly. Every value is checked
        before any parameter changes, so a failed load leaves the model untouched.
        """
        if not isinstance(state, Mapping):
            raise TypeError(
                f"state must be a mapping of name -> number, not {type(state).__name__}"
            )
        params = dict(self.named_parameters())
        if strict:
            missing = [n for n in params if n not in state]
            unexpected = [n for n in state if n not in params]
            if missing or unexpected:
                raise ValueError(_mismatch_message(type(self).__name__, missing, unexpected))
        updates = []
        for name, p in params.items():
            if name not in state:
                continue
            number = state[name]
            if isinstance(number, bool) or not isinstance(number, numbers.Real):
                raise TypeError(
                    f"state[{name!r}] must be a number, not {type(number).__name__}: {number!r:.40}"
                )
            if not math.isfinite(number):
                raise ValueError(f"state[{name!r}] is {number}: parameters must be finite")
            updates.append((p, float(number)))
        for p, number in updates:
            p.data = number

    # ----- saving -------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this architecture (saved with the model)."""
        raise NotImplementedError(
            f"{type(self).__name__} cannot describe its architecture: define get_config() "
            "(returning its constructor arguments) to save it, and from_config() if the "
            "constructor needs more than cls(**config)"
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Module:
        """Rebuild the architecture from :meth:`get_config` (weights come separately)."""
        return cls(**config)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write architecture and weights to a versioned JSON file, atomically."""
        serialize.save(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Load weights saved from a model of the same architecture; all or nothing."""
        serialize.load_weights(self, path)

    # ----- inference ----------------------------------------------------------------
    def predict(self, X: Any, *, engine: str = "auto") -> np.ndarray:
        """Outputs for every row of ``X``, in eval mode, recording no graph.

        Returns shape (n,) for a model with one output, else (n, outputs). The model's
        own forward (``__call__``) computes them: compiled once into a batched program
        and cached with the model (``engine='auto'``, the default, for two rows or more
        where the graph allows it; ``'compiled'`` insists), or run on the scalar engine
        row by row (``'scalar'``, and the fallback). Both give the same numbers.
        """
        X, _ = check_dataset(X, n_features=getattr(self, "nin", None))
        with temporary_mode(self, training=False):
            return batch_outputs(self, X, engine=engine)

    # ----- printing -----------------------------------------------------------------
    def extra_repr(self) -> str:
        """Shown inside ``ClassName(...)``; override to describe a module."""
        return ""

    _compact_repr = False  # True: print on one line, without listing children

    def __repr__(self) -> str:
        children = [] if self._compact_repr else list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


@contextmanager
def temporary_mode(module: Module, *, training: bool) -> Iterator[Module]:
    """Put ``module`` and every module below it in training or eval mode for a block,
    then give each module back its own previous mode (even after an error).

    >>> with temporary_mode(model, training=False):   # what predict does
    ...     outputs = [model(x) for x in rows]
    """
    previous = [(m, m.training) for m in module.modules()]
    for m, _ in previous:
        m.training = training
    try:
        yield module
    finally:
        for m, mode in previous:
            m.training = mode


def _mismatch_message(what: str, missing: list[str], unexpected: list[str]) -> str:
    def few(names: list[str]) -> str:
        shown = ", ".join(names[:5])
        return shown + (f", ... ({len(names)} in all)" if len(names) > 5 else "")

    parts = [f"parameter names do not match this {what}:"]
    if missing:
        parts.append(f"missing {few(missing)}")
    if unexpected:
        parts.append(f"unexpected {few(unexpected)}")
    return " ".join(parts)


# ----- micrograd's building blocks ------------------------------------------------------
class Neuron(Module):
    """``act(sum_i w_i * x_i + b)``, as micrograd's Neuron.

    ``Neuron(nin, nonlin=True)`` is micrograd's (relu, or linear with ``nonlin=False``);
    ``activation='tanh'`` etc. chooses another (see ``nn.functional.ACTIVATIONS``).
    Weights start from ``init`` ('uniform', 'xavier', 'he', 'zeros'); ``seed`` (an int or
    a ``random.Random``) makes them reproducible, while None uses Python's ``random``
    module, as micrograd does. Weight ``i`` is labelled ``w{i}`` and the bias ``b``.
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str | None = None,
        bias: bool = True,
        init: str = "uniform",
        fan_out: int = 1,
        seed: Seed = None,
    ) -> None:
        nin = int_at_least("nin", nin)
        bias = flag("bias", bias)
        if activation is None:
            activation = "relu" if flag("nonlin", nonlin) else "linear"
        name = canonical_activation(activation)
        weights = init_weights(init, nin, fan_out, seed)
        self.w = [Value(v, label=f"w{i}") for i, v in enumerate(weights)]
        self.b = Value(0.0, label="b") if bias else None
        self.activation = name
        self.nonlin = name != "linear"
        self._act = activation_function(name)

    @property
    def nin(self) -> int:
        return len(self.w)

    nout = 1

    def __call__(self, x: Any) -> Value:
        if x.__class__ is not list:
            x = _as_inputs(x)
        w = self.w
        if len(x) != len(w):
            raise ValueError(f"this Neuron takes {len(w)} inputs, got {len(x)}")
        terms = [*map(_mul, w, x)]
        if self.b is not None:
            terms.append(self.b)
        return self._act(Value.sum(terms))

    def extra_repr(self) -> str:
        bias = "" if self.b is not None else ", bias=False"
        return f"nin={self.nin}, activation={self.activation!r}{bias}"

    def get_config(self) -> dict[str, Any]:
        return {"nin": self.nin, "activation": self.activation, "bias": self.b is not None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Neuron:
        return cls(**config, init="zeros")


class Layer(Module):
    """``nout`` neurons reading the same inputs (micrograd's Layer).

    Returns one Value when ``nout == 1`` (as micrograd), else a list of ``nout`` Values.
    """

    _compact_repr = True

    def __init__(
        self,
        nin: int,
        nout: int,
        nonlin: bool = True,
        *,
        activation: str | None = None,
        bias: bool = True,
        init: str = "uniform",
        seed: Seed = None,
    ) -> None:
        nout = int_at_least("nout", nout)
        rng = _rng(seed)
        self.neurons = [
            Neuron(nin, nonlin, activation=activation, bias=bias, init=init, fan_out=nout, seed=rng)
            for _ in range(nout)
        ]

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, x: Any) -> Value | list[Value]:
        x = _as_inputs(x)
        if len(x) != self.nin:
            raise ValueError(f"this Layer takes {self.nin} inputs, got {len(x)}")
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def extra_repr(self) -> str:
        bias = "" if self.neurons[0].b is not None else ", bias=False"
        return f"nin={self.nin}, nout={self.nout}, activation={self.activation!r}{bias}"

    def get_config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nout": self.nout,
            "activation": self.activation,
            "bias": self.neurons[0].b is not None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config, init="zeros")


class Dropout(Module):
    """Zero each value with probability ``p`` in training mode, scaling the rest by
    1/(1-p) so the expected value is unchanged (as PyTorch). Identity in eval mode.

    The mask comes from the module's own seeded ``random.Random``.
    """

    def __init__(self, p: float = 0.5, seed: Seed = None) -> None:
        self.p = finite_real("p (the dropout probability)", p, minimum=0, below=1)
        self._rng = random.Random(seed) if not isinstance(seed, random.Random) else seed

    def __call__(self, x: Any) -> Any:
        if not self.training or self.p == 0.0:
            return x
        single = isinstance(x, Value | numbers.Real)
        keep = 1.0 - self.p
        scale = 1.0 / keep
        draw = self._rng.random
        out = [v * (scale if draw() < keep else 0.0) for v in _as_inputs(x)]
        return out[0] if single else out

    def why_graph_varies(self) -> str | None:
        if self.training and self.p > 0:
            return "dropout draws a new mask for every sample in training mode"
        return None

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


def _layer_sizes(nouts: Any) -> list[int]:
    """MLP's ``nouts`` checked: a non-empty list of positive ints."""
    if isinstance(nouts, str | bytes) or not isinstance(nouts, Sequence | np.ndarray):
        raise TypeError(
            f"nouts must be a list of layer sizes such as [16, 16, 1], "
            f"not {type(nouts).__name__}: {nouts!r:.40}"
        )
    if len(nouts) == 0:
        raise ValueError("nouts must list at least one layer size, got an empty list")
    return [int_at_least("each layer size", n) for n in nouts]


def _activation_argument(argument: str, name: Any) -> str:
    """An activation name checked by :func:`canonical_activation`, its error naming ``argument``."""
    try:
        return canonical_activation(name)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        raise type(exc)(message if argument in message else f"{argument}: {message}") from None


class MLP(Module):
    """A multi-layer perceptron (micrograd's MLP): ``MLP(nin, [16, 16, 1])``.

    Hidden layers use ``activation`` (relu by default, as micrograd) and the last layer
    ``output_activation`` (linear); pass a list to ``activation`` to choose every layer's.
    ``dropout=p`` puts a :class:`Dropout` after each hidden layer. ``seed`` makes the
    weights reproducible; without it Python's ``random`` module is used, as micrograd does.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str | Sequence[str] | None = "relu",
        output_activation: str | None = "linear",
        bias: bool = True,
        init: str = "uniform",
        dropout: float = 0.0,
        seed: Seed = None,
    ) -> None:
        nin = int_at_least("nin", nin)
        nouts = _layer_sizes(nouts)
        output = _activation_argument("output_activation", output_activation)
        if isinstance(activation, list | tuple):
            names = [_activation_argument("activation", n) for n in activation]
            if len(names) != len(nouts):
                raise ValueError(
                    f"activation lists one name per layer: {len(nouts)} layers, {len(names)} names"
                )
        else:
            names = [_activation_argument("activation", activation)] * (len(nouts) - 1) + [output]
        bias = flag("bias", bias)
        _init_scheme(init)
        dropout = finite_real("dropout", dropout, minimum=0, below=1)
        rng = _rng(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=names[i], bias=bias, init=init, seed=rng)
            for i in range(len(nouts))
        ]
        self.dropout = Dropout(dropout, seed=rng.getrandbits(64)) if dropout else None

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nout(self) -> int:
        return self.layers[-1].nout

    def __call__(self, x: Any) -> Value | list[Value]:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.dropout is not None and i < last:
                x = self.dropout(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {
            "nin": self.nin,
            "nouts": [layer.nout for layer in self.layers],
            "activation": [layer.activation for layer in self.layers],
            "bias": self.layers[0].neurons[0].b is not None,
            "dropout": self.dropout.p if self.dropout is not None else 0.0,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MLP:
        return cls(**config, init="zeros", seed=0)


class Sequential(Module):
    """Modules applied in order: ``Sequential(Layer(2, 8, activation='tanh'), Layer(8, 1))``."""

    def __init__(self, *layers: Module) -> None:
        if not layers:
            raise ValueError("Sequential needs at least one module")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules; item {i} is {type(layer).__name__}")
        self.layers = list(layers)

    @property
    def nin(self) -> int | None:
        return getattr(self.layers[0], "nin", None)

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def get_config(self) -> dict[str, Any]:
        return {"layers": [module_spec(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        return cls(*(module_from_spec(spec) for spec in config["layers"]))


class Perceptron(Module):
    """Rosenblatt's perceptron: ``step(w . x + b)``, learned by the perceptron rule.

    The step function has no useful derivative, so there is no backprop here: ``fit``
    nudges ``w += lr * (target - output) * x`` after every mistake, and stops after an
    epoch without one (guaranteed for linearly separable data). Labels are any two
    values (0/1, -1/1, ...); ``predict`` returns them.
    """

    def __init__(
        self, nin: int, *, lr: float = 1.0, init: str = "zeros", seed: Seed = None
    ) -> None:
        nin = int_at_least("nin", nin)
        self.lr = finite_real("lr", lr, above=0)
        self.w = [Value(v, label=f"w{i}") for i, v in enumerate(init_weights(init, nin, 1, seed))]
        self.b = Value(0.0, label="b")
        self.classes: list[Any] = [0, 1]

    @property
    def nin(self) -> int:
        return len(self.w)

    def score(self, x: Any) -> Value:
        """The weighted sum ``w . x + b`` as a graph node (positive means class 1)."""
        x = _as_inputs(x)
        if len(x) != self.nin:
            raise ValueError(f"this Perceptron takes {self.nin} inputs, got {len(x)}")
        return Value.sum([*map(_mul, self.w, x), self.b])

    def __call__(self, x: Any) -> Any:
        """The predicted label of one sample."""
        return self.classes[int(ops.step(self.score(x).data))]

    def fit(self, X: Any, y: Any, epochs: int = 100) -> list[int]:
        """Learn with the perceptron rule; returns the number of mistakes in each epoch.

        Stops after the first epoch without a mistake (the data is then separated).
        """
        X, y = check_dataset(X, y, n_features=self.nin)
        epochs = int_at_least("epochs", epochs)
        if y.ndim != 1:
            raise ValueError(f"a Perceptron needs one label per sample, got y of shape {y.shape}")
        classes = np.unique(y)
        if len(classes) != 2:
            raise ValueError(
                f"a Perceptron separates exactly two classes; y has {len(classes)}: "
                f"{classes.tolist()[:10]}"
            )
        self.classes = classes.tolist()
        targets = (y == classes[1]).astype(int).tolist()
        rows = X.tolist()
        mistakes_per_epoch = []
        with no_grad():
            for _ in range(epochs):
                mistakes = 0
                for x, target in zip(rows, targets):
                    output = int(ops.step(self.score(x).data))
                    if output != target:
                        mistakes += 1
                        step = self.lr * (target - output)
                        for wi, xi in zip(self.w, x):
                            wi.data += step * xi
                        self.b.data += step
                mistakes_per_epoch.append(mistakes)
                if mistakes == 0:
                    break
        return mistakes_per_epoch

    def predict(self, X: Any, *, engine: str = "auto") -> np.ndarray:
        """The predicted label of every row of ``X``: :meth:`score` run on the batch as
        ``Module.predict`` runs a model (compiled or scalar), then the step."""
        X, _ = check_dataset(X, n_features=self.nin)
        scores = batch_outputs(self, X, engine=engine, forward=self.score)
        return np.asarray(self.classes)[ops.step(scores).astype(int)]

    def extra_repr(self) -> str:
        return f"nin={self.nin}, lr={self.lr}"

    def get_config(self) -> dict[str, Any]:
        return {"nin": self.nin, "lr": self.lr, "classes": list(self.classes)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Perceptron:
        config = dict(config)
        classes = config.pop("classes", [0, 1])
        model = cls(**config)
        if not isinstance(classes, list) or len(classes) != 2:
            raise ValueError(f"a Perceptron has two classes, got {classes!r}")
        model.classes = classes
        return model
