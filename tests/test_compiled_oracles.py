"""The compiled path against references that do not read the op table.

``tests/test_compiled.py`` and ``tests/test_compiled_differential.py`` compare
:func:`autograd.compile` with the scalar engine, but both engines read the same op
table, so a wrong derivative rule there (tanh' = 1 + out**2, say) gives the same wrong
number on both sides. Here every built-in op of the table is compiled in graphs of its
own, with its parameters varied (leaky_relu slopes, pow exponents, n-ary arities), on
batch inputs, parameters and constants, mixed operands (a constant times an input, a
constant times a parameter, one group of nodes whose operands are partly batch values and
partly parameters) and shared nodes. The program's outputs and its parameter and input
gradients are compared with

* the same graph written in plain numpy in this file, its values directly and its
  gradients by central differences;
* central differences of the compiled forward itself (parameter gradients);
* PyTorch in float64 (every op exists there), outputs and gradients (``oracle``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import autograd
from autograd import Value
from autograd.compiler.steps import Gather, LinearGroup

# ----- one graph, three ways of computing it --------------------------------------------
# A case is ``case(F, x, w, c) -> {label: output}`` with x the inputs (batch values), w
# the parameters and c constants. F applies the ops: on chainrule Values (the graph that
# gets compiled), on numpy arrays (plain math, written here) or on torch tensors.


class ValueMath:
    """chainrule: each function applies one entry of the op table to Values."""

    unary: dict[str, Callable[[Any], Any]] = {
        "neg": operator.neg,
        "exp": Value.exp,
        "log": Value.log,
        "sqrt": Value.sqrt,
        "abs": abs,
        "tanh": Value.tanh,
        "sigmoid": Value.sigmoid,
        "relu": Value.relu,
        "softplus": Value.softplus,
        "sin": Value.sin,
        "cos": Value.cos,
        "gaussian": Value.gaussian,
    }

    @staticmethod
    def leaky_relu(a, slope):
        return a.leaky_relu(slope)

    sum = staticmethod(Value.sum)
    logsumexp = staticmethod(Value.logsumexp)
    mean = staticmethod(Value.mean)


def _np_leaky_relu(a, slope):
    return np.where(np.asarray(a) > 0, a, slope * np.asarray(a))


class NumpyMath:
    """Plain math on numpy arrays and floats, independent of the op table."""

    unary: dict[str, Callable[[Any], Any]] = {
        "neg": lambda a: -a,
        "exp": np.exp,
        "log": np.log,
        "sqrt": np.sqrt,
        "abs": np.abs,
        "tanh": np.tanh,
        "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
        "relu": lambda a: np.maximum(a, 0.0),
        "softplus": lambda a: np.log1p(np.exp(a)),
        "sin": np.sin,
        "cos": np.cos,
        "gaussian": lambda a: np.exp(-a * a),
    }
    leaky_relu = staticmethod(_np_leaky_relu)

    @staticmethod
    def sum(terms):
        total = 0.0
        for t in terms:
            total = total + t
        return total

    @staticmethod
    def logsumexp(terms):
        return np.log(NumpyMath.sum([np.exp(t) for t in terms]))

    @staticmethod
    def mean(terms):
        return NumpyMath.sum(terms) / len(terms)


def torch_math(torch: Any) -> Any:
    """PyTorch's functions, with the same names."""
    F = torch.nn.functional

    def stacked(terms):
        return torch.stack(torch.broadcast_tensors(*terms))

    class TorchMath:
        unary: dict[str, Callable[[Any], Any]] = {
            "neg": torch.neg,
            "exp": torch.exp,
            "log": torch.log,
            "sqrt": torch.sqrt,
            "abs": torch.abs,
            "tanh": torch.tanh,
            "sigmoid": torch.sigmoid,
            "relu": torch.relu,
            "softplus": F.softplus,
            "sin": torch.sin,
            "cos": torch.cos,
            "gaussian": lambda a: torch.exp(-a * a),
        }

        @staticmethod
        def leaky_relu(a, slope):
            return F.leaky_relu(a, negative_slope=slope)

        @staticmethod
        def sum(terms):
            return stacked(terms).sum(dim=0)

        @staticmethod
        def logsumexp(terms):
            return torch.logsumexp(stacked(terms), dim=0)

        @staticmethod
        def mean(terms):
            return stacked(terms).mean(dim=0)

    return TorchMath


# ----- the data -----------------------------------------------------------------------------
# x0 > 0 (log, sqrt, fractional powers), x1 and x2 change sign but stay away from 0 (the
# kinks of abs, relu and leaky_relu), as does every signed combination below.
BATCH = np.array(
    [
        [0.9, 0.7, -1.1],
        [1.6, -0.45, 0.35],
        [0.35, 1.2, 0.8],
        [1.2, -1.3, -0.5],
        [0.55, 0.3, 1.4],
    ]
)
PARAMS = np.array([0.8, -0.6, 1.3, 0.45, -0.9, 0.35])  # w0, w2, w3 > 0; w1 < 0
CONSTANTS = np.array([1.7, -0.4])  # c0 > 0 (a base for pow_value)

SLOPES = (0.0, 0.01, 0.1, 0.5, 1.0, -0.3, 1.5)
EXPONENTS = (0, 1, 2, 3, -1, 0.5, -2, 1.5, 4)
FRACTIONAL = {0.5, 1.5}


def _positive(F, x, w, c):
    """Operands > 0: inputs, a parameter, a neuron, a constant times an input or a
    parameter (mixed operands)."""
    x0, _, x2 = x
    w0, _, w2, w3 = w[:4]
    c0 = c[0]
    return {
        "x0": x0,
        "w0": w0,
        "x0*w0 + w2": x0 * w0 + w2,
        "c0*x0": c0 * x0,
        "c0*w3": c0 * w3,
        "w3*x0 + x2*x2": w3 * x0 + x2 * x2,
    }


def _signed(F, x, w, c):
    """Operands of either sign, away from 0."""
    _, x1, x2 = x
    w0, w1, _, w3 = w[:4]
    c1 = c[1]
    return {
        "x1": x1,
        "x2": x2,
        "w1": w1,
        "x1*w1 + x2*w3 + w0": x1 * w1 + x2 * w3 + w0,
        "x1 - w1": x1 - w1,
        "c1*x2": c1 * x2,
        "c1*w1": c1 * w1,
    }


def unary_case(name: str, apply: Callable[[Any, Any], Any], positive_only: bool = False):
    """``apply(F, a)`` on every operand of :func:`_positive` (and :func:`_signed` unless
    the op needs a positive operand), and a shared node: h is an output, and used three
    times more."""

    def case(F, x, w, c):
        operands = dict(_positive(F, x, w, c))
        if not positive_only:
            operands.update(_signed(F, x, w, c))
        outs = {f"{name}({label})": apply(F, a) for label, a in operands.items()}
        h = apply(F, x[0] * w[0] + w[2])
        outs["h"] = h
        outs["h*h + h*x1"] = h * h + h * x[1]
        outs["(h + w1) * w3"] = (h + w[1]) * w[3]
        return outs

    return case


def _unary(name: str, positive_only: bool = False):
    return unary_case(name, lambda F, a: F.unary[name](a), positive_only)


def _side_by_side(name: str, variants: list[tuple[str, Callable[[Any, Any], Any], bool]]):
    """Several bindings of a parametrised op on the same operands, so at one depth."""

    def case(F, x, w, c):
        outs = {}
        for label, apply, positive_only in variants:
            outs.update(unary_case(f"{name}[{label}]", apply, positive_only)(F, x, w, c))
        return outs

    return case


def _leaky_relu_case():
    return _side_by_side(
        "leaky_relu",
        [(str(s), (lambda F, a, s=s: F.leaky_relu(a, s)), False) for s in SLOPES],
    )


def _pow_case():
    return _side_by_side(
        "pow", [(str(n), (lambda F, a, n=n: a**n), n in FRACTIONAL) for n in EXPONENTS]
    )


def binary_case(name: str, fn: Callable[[Any, Any], Any], base_positive: bool = False):
    """Every pairing of input, parameter and constant; the batch-valued pairs form one
    group whose first and second operands are each partly batch values and partly static
    ones (parameters or constants); a shared node."""

    def case(F, x, w, c):
        x0, x1, x2 = x
        w0, w1, _, w3 = w[:4]
        c0, c1 = c
        if base_positive:  # pow_value: a positive base, any exponent
            a = {"x0": x0, "w0": w0, "c0": c0, "w3": w3}
            b = {"x1": x1, "w1": w1, "c1": c1, "x2": x2}
            pairs = [("x0", "x1"), ("x0", "w1"), ("w0", "x1"), ("w0", "w1"), ("x0", "c1"),
                     ("c0", "x1"), ("c0", "w1"), ("w3", "c1"), ("w3", "x2")]  # fmt: skip
        else:
            a = b = {"x0": x0, "x1": x1, "x2": x2, "w0": w0, "w1": w1, "c0": c0, "c1": c1}
            pairs = [("x0", "x1"), ("x1", "w1"), ("w0", "x2"), ("w0", "w1"), ("x2", "c1"),
                     ("c0", "x1"), ("c1", "w0"), ("w1", "c0"), ("x1", "x1")]  # fmt: skip
        outs = {f"{name}({i}, {j})": fn(a[i], b[j]) for i, j in pairs}
        shared = fn(x0, w0)
        outs[f"s = {name}(x0, w0)"] = shared
        outs["s*x1 + s"] = shared * x1 + shared
        outs[f"{name}(s, w3)"] = fn(shared, w3)
        return outs

    return case


def nary_case(name: str):
    """Arities 1 to 5 over batch values, parameters and constants (one stacked operand
    that mixes them), a neuron, products of two batch values, a product of two
    parameters and a constant times a parameter inside a batch sum; a shared node."""

    def case(F, x, w, c):
        x0, x1, x2 = x
        w0, w1, w2, w3 = w[:4]
        c0, c1 = c
        f = getattr(F, name)
        terms = {
            "x0": [x0],
            "w1": [w1],
            "x0, w0": [x0, w0],
            "w0, x1, c0": [w0, x1, c0],
            "x0, x1, x2, w1, w2": [x0, x1, x2, w1, w2],
            "w0, w1 (static)": [w0, w1],
            "w0, c1 (static)": [w0, c1],
            "w0*x0, w1*x1, w2 (a neuron)": [w0 * x0, w1 * x1, w2],
            "x0*x1, x1*x2 (dot)": [x0 * x1, x1 * x2],
            "w0*w1, x0": [w0 * w1, x0],
            "c0*w3, x2": [c0 * w3, x2],
            "c1*x1, w2*w3, w1": [c1 * x1, w2 * w3, w1],
            "x1*w3, w0*x2, x0*x0, c0, w1": [x1 * w3, w0 * x2, x0 * x0, c0, w1],
        }
        outs = {f"{name}({label})": f(t) for label, t in terms.items()}
        shared = f([x0 * w0, x1, w2])
        outs[f"s = {name}(x0*w0, x1, w2)"] = shared
        outs["s*x2 + s*s"] = shared * x2 + shared * shared
        outs[f"{name}(s, x0, w1)"] = f([shared, x0, w1])
        return outs

    return case


def layer_case(F, x, w, c):
    """Neurons as nn builds them, parameters in nn's order (each neuron's weights, then
    its bias): a dense layer with biases (a matrix product whose weights and biases are
    views of the parameters), then a neuron without a bias that reuses w0 and w1."""
    x0, x1, x2 = x
    w0, w1, w2, w3, w4, w5 = w
    n0 = F.sum([w0 * x0, w1 * x1, w2])
    n1 = F.sum([w3 * x0, w4 * x1, w5])
    m = F.sum([w0 * F.unary["tanh"](n0), w1 * F.unary["tanh"](n1)])
    return {"n0": n0, "n1": n1, "m": m, "m*x2": m * x2}


CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "add": binary_case("add", operator.add),
    "sub": binary_case("sub", operator.sub),
    "mul": binary_case("mul", operator.mul),
    "truediv": binary_case("truediv", operator.truediv),
    "pow_value": binary_case("pow_value", operator.pow, base_positive=True),
    "pow": _pow_case(),
    "neg": _unary("neg"),
    "exp": _unary("exp"),
    "log": _unary("log", positive_only=True),
    "sqrt": _unary("sqrt", positive_only=True),
    "abs": _unary("abs"),
    "tanh": _unary("tanh"),
    "sigmoid": _unary("sigmoid"),
    "relu": _unary("relu"),
    "leaky_relu": _leaky_relu_case(),
    "softplus": _unary("softplus"),
    "sin": _unary("sin"),
    "cos": _unary("cos"),
    "gaussian": _unary("gaussian"),
    "sum": nary_case("sum"),
    "logsumexp": nary_case("logsumexp"),
    "mean": nary_case("mean"),  # sum, then truediv by a constant
    "layer": layer_case,
}
BUILTINS = [op.name for op in autograd.ops.table() if op.builtin]


# ----- running a case ------------------------------------------------------------------------
class Compiled:
    """The case compiled for BATCH: outputs, gradients of sum(seed * outputs)."""

    def __init__(self, case, batch=BATCH, params=PARAMS, constants=CONSTANTS, seed=None):
        xs = [Value(v, label=f"x{i}") for i, v in enumerate(batch[0].tolist())]
        ws = [Value(v, label=f"w{i}") for i, v in enumerate(params.tolist())]
        cs = [Value(v, label=f"c{i}") for i, v in enumerate(constants.tolist())]
        graph = case(ValueMath, xs, ws, cs)
        self.labels = list(graph)
        self.nodes = list(graph.values())
        self.program = autograd.compile(self.nodes, xs, params=ws)
        self.batch = batch
        self.seed = _seed(len(batch), len(self.labels)) if seed is None else seed
        self.outputs, self.param_grads, self.input_grads = self.program.run(
            batch, np.array(params, float), seed=self.seed
        )

    def total(self, params: np.ndarray) -> float:
        """sum(seed * outputs) by the compiled forward at other parameter values."""
        outputs = self.program.run(self.batch, params, seed=self.seed, input_grads=False)[0]
        return float((outputs * self.seed).sum())


def _seed(n: int, m: int) -> np.ndarray:
    """Different weights for every output and row, so that no error cancels out."""
    return np.random.default_rng(n * 1000 + m).uniform(0.2, 1.2, size=(n, m))


def numpy_outputs(case, batch, params, constants) -> np.ndarray:
    n = len(batch)
    graph = case(NumpyMath, list(batch.T), list(params), list(constants))
    return np.column_stack([np.broadcast_to(np.asarray(o, float), (n,)) for o in graph.values()])


def numpy_gradients(case, batch, params, constants, seed) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of sum(seed * outputs) in plain numpy: by every parameter,
    and by every input of every row (a row's outputs depend on its own inputs only)."""

    def row_totals(b, p):
        return (numpy_outputs(case, b, p, constants) * seed).sum(axis=1)

    param_grads = np.empty(len(params))
    for j in range(len(params)):
        h = 1e-6 * max(1.0, abs(params[j]))
        up, down = params.copy(), params.copy()
        up[j] += h
        down[j] -= h
        param_grads[j] = (row_totals(batch, up).sum() - row_totals(batch, down).sum()) / (2 * h)
    input_grads = np.empty(batch.shape)
    for i in range(batch.shape[1]):
        h = 1e-6 * np.maximum(1.0, np.abs(batch[:, i]))
        up, down = batch.copy(), batch.copy()
        up[:, i] += h
        down[:, i] -= h
        input_grads[:, i] = (row_totals(up, params) - row_totals(down, params)) / (2 * h)
    return param_grads, input_grads


def assert_close(what, actual, expected, labels=None, rtol=1e-10, atol=1e-12):
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (output {labels[first[-1]]!r})" if labels is not None else ""
        raise AssertionError(
            f"{what} differ at {first}{where}: compiled {actual[first]!r}, reference "
            f"{expected[first]!r} ({int(bad.sum())} of {bad.size} entries)"
        )


# ----- the tests --------------------------------------------------------------------------------
def test_every_builtin_op_of_the_table_has_a_case():
    """A new built-in op needs a case here (and its numpy and torch forms)."""
    missing = sorted(set(BUILTINS) - set(CASES))
    assert not missing, f"no oracle case for the built-in ops {missing}"


def _ops_in(compiled: Compiled) -> set:
    return {node.op for out in compiled.nodes for node in out.topological_order() if node._prev}


@pytest.mark.parametrize("name", CASES)
def test_compiled_op_against_numpy_and_central_differences(name):
    case = CASES[name]
    compiled = Compiled(case)
    labels = compiled.labels
    if name in BUILTINS:
        assert name in {op.name for op in _ops_in(compiled)}
    expected = numpy_outputs(case, BATCH, PARAMS, CONSTANTS)
    assert_close("outputs (numpy)", compiled.outputs, expected, labels)
    assert_close("forward (numpy)", compiled.program.forward(BATCH), expected, labels)
    param_fd, input_fd = numpy_gradients(case, BATCH, PARAMS, CONSTANTS, compiled.seed)
    tolerance = {"rtol": 1e-6, "atol": 1e-7}
    assert_close("parameter gradients (numpy differences)", compiled.param_grads, param_fd,
                 **tolerance)  # fmt: skip
    assert_close("input gradients (numpy differences)", compiled.input_grads, input_fd,
                 **tolerance)  # fmt: skip
    # central differences of the compiled forward itself, parameter by parameter
    own_fd = np.empty(len(PARAMS))
    for j in range(len(PARAMS)):
        h = 1e-6 * max(1.0, abs(PARAMS[j]))
        up, down = PARAMS.copy(), PARAMS.copy()
        up[j] += h
        down[j] -= h
        own_fd[j] = (compiled.total(up) - compiled.total(down)) / (2 * h)
    assert_close("parameter gradients (compiled differences)", compiled.param_grads, own_fd,
                 **tolerance)  # fmt: skip


def torch_reference(torch, case, batch, params, constants, seed):
    """(outputs, parameter gradients, input gradients) by PyTorch in float64."""
    f64 = torch.float64
    xs = [torch.tensor(col, dtype=f64, requires_grad=True) for col in batch.T]
    ws = [torch.tensor(v, dtype=f64, requires_grad=True) for v in params.tolist()]
    cs = [torch.tensor(v, dtype=f64) for v in constants.tolist()]
    graph = case(torch_math(torch), xs, ws, cs)
    n = len(batch)
    columns = [torch.as_tensor(o, dtype=f64).expand(n) for o in graph.values()]
    outputs = torch.stack(columns, dim=1)
    (outputs * torch.tensor(seed, dtype=f64)).sum().backward()

    def grad(t):
        return np.zeros(t.shape) if t.grad is None else t.grad.numpy()

    return (
        outputs.detach().numpy(),
        np.array([grad(w) for w in ws]),
        np.column_stack([grad(x) for x in xs]),
    )


@pytest.mark.oracle
@pytest.mark.parametrize("name", CASES)
def test_compiled_op_against_pytorch(name):
    torch = pytest.importorskip("torch")
    case = CASES[name]
    compiled = Compiled(case)
    outputs, param_grads, input_grads = torch_reference(
        torch, case, BATCH, PARAMS, CONSTANTS, compiled.seed
    )
    assert_close("outputs (torch)", compiled.outputs, outputs, compiled.labels)
    assert_close("parameter gradients (torch)", compiled.param_grads, param_grads, rtol=1e-9)
    assert_close("input gradients (torch)", compiled.input_grads, input_grads, rtol=1e-9)


def _kinks_case(F, x, w, c):
    """relu, abs and leaky_relu at exactly 0, on inputs and on parameters; x**0 and
    x**1 at 0 (the derivative that exists is given)."""
    x0, x1 = x[0], x[1]
    w0 = w[0]
    outs = {}
    for label, a in {"x0": x0, "w0": w0, "x0*w0": x0 * w0, "x1 - x1": x1 - x1}.items():
        outs[f"relu({label})"] = F.unary["relu"](a)
        outs[f"abs({label})"] = F.unary["abs"](a)
        for s in SLOPES:
            outs[f"leaky_relu({label}, {s})"] = F.leaky_relu(a, s)
        for n in (0, 1, 2, 3):
            outs[f"{label}**{n}"] = a**n
    return outs


@pytest.mark.oracle
def test_kinks_at_exactly_zero_follow_pytorch():
    torch = pytest.importorskip("torch")
    batch = np.array([[0.0, 0.5], [-0.0, -1.0], [1.5, 0.0], [-1.5, 2.0]])
    params = np.array([0.0])
    compiled = Compiled(_kinks_case, batch=batch, params=params, constants=np.array([]))
    outputs, param_grads, input_grads = torch_reference(
        torch, _kinks_case, batch, params, np.array([]), compiled.seed
    )
    assert_close("outputs (torch)", compiled.outputs, outputs, compiled.labels)
    assert_close("parameter gradients (torch)", compiled.param_grads, param_grads)
    assert_close("input gradients (torch)", compiled.input_grads, input_grads)
    # and a parameter away from 0: the same graph, another static branch of each kink
    params = np.array([-0.7])
    compiled = Compiled(_kinks_case, batch=batch, params=params, constants=np.array([]))
    reference = torch_reference(torch, _kinks_case, batch, params, np.array([]), compiled.seed)
    assert_close("parameter gradients (torch)", compiled.param_grads, reference[1])
    assert_close("input gradients (torch)", compiled.input_grads, reference[2])


def _mixed_gathers(program) -> list[Gather]:
    """Operands of a group that read batch values at some positions and static values
    (parameters) at others, whose gradients are wanted."""
    found = []
    for group in program.groups:
        for gather in getattr(group, "operands", []):
            if gather.batch_idx is not None and gather.static_idx is not None:
                if gather.needs_grad:
                    found.append(gather)
    return found


@pytest.mark.parametrize("name", ["add", "sub", "mul", "truediv", "pow_value", "logsumexp"])
def test_the_cases_hold_operands_mixing_batch_values_and_parameters(name):
    """The gradient of such an operand goes partly to the batch store and partly to the
    parameters: the cases above must keep exercising both halves."""
    compiled = Compiled(CASES[name])
    assert _mixed_gathers(compiled.program), f"{name}: no mixed operand in {compiled.program}"


def test_the_layer_case_runs_as_matrix_products_of_parameter_views():
    """Its sums must take the compiler's dense path (weights, and biases, read as views
    of the parameters), which the other cases do not reach."""
    groups = [g for g in Compiled(CASES["layer"]).program.groups if isinstance(g, LinearGroup)]
    assert any(g._bias is not None for g in groups), groups
    assert any(g._weights is not None and g._bias is None for g in groups), groups
