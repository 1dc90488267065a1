"""nn.optim: SGD, Adam and schedules, by closed forms and against PyTorch; penalties."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd import Value


def quadratic(params):
    """(p0 - 3)^2 + 10 (p1 + 1)^2 + p0 p1: a bowl with unequal curvature."""
    p0, p1 = params
    return (p0 - 3) ** 2 + 10 * (p1 + 1) ** 2 + p0 * p1


def run(optimizer_factory, steps=5, start=(0.5, 2.0)):
    params = [Value(start[0]), Value(start[1])]
    optimizer = optimizer_factory(params)
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic(params).backward()
        optimizer.step()
        trajectory.append([p.data for p in params])
    return np.array(trajectory)


def test_sgd_closed_form():
    p = Value(1.0)
    p.grad = 2.0
    nn.SGD([p], lr=0.1).step()
    assert p.data == pytest.approx(0.8)


def test_sgd_momentum_and_weight_decay_closed_form():
    p = Value(1.0)
    optimizer = nn.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad = 2.0
    optimizer.step()  # g = 2 + 0.5 = 2.5; v = 2.5; p = 1 - 0.25
    assert p.data == pytest.approx(0.75)
    p.grad = 2.0
    optimizer.step()  # g = 2 + 0.375 = 2.375; v = 0.9 * 2.5 + 2.375 = 4.625
    assert p.data == pytest.approx(0.75 - 0.4625)
    assert optimizer.steps == 2


def test_adam_first_step_moves_each_parameter_by_lr():
    params = [Value(1.0), Value(-2.0)]
    params[0].grad, params[1].grad = 300.0, -0.001
    nn.Adam(params, lr=0.01).step()  # m_hat = g, v_hat = g^2: step = lr * g / (|g| + eps)
    assert params[0].data == pytest.approx(0.99, rel=1e-9)
    assert params[1].data == pytest.approx(-1.99, rel=1e-6)


def test_zero_grad_and_parameter_deduplication():
    p = Value(1.0)
    optimizer = nn.SGD([p, p], lr=0.1)
    assert optimizer.params == [p]
    p.grad = 5.0
    optimizer.zero_grad()
    assert p.grad == 0.0
    model = nn.MLP(2, [3, 1], seed=0)
    assert nn.SGD(model).params == model.parameters()


def test_a_non_finite_gradient_raises_before_any_update():
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 1.0, math.inf
    with pytest.raises(FloatingPointError, match=r"gradient of parameter 1 .* is inf: training"):
        nn.SGD([a, b], lr=0.1).step()
    assert (a.data, b.data) == (1.0, 2.0)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: nn.SGD([Value(1.0)], lr=0), "lr must be a finite number > 0, got 0"),
        (lambda: nn.SGD([Value(1.0)], lr=float("nan")), "lr must be a finite number"),
        (lambda: nn.SGD([Value(1.0)], momentum=1.0), r"momentum must be .* in \[0, 1\), got 1.0"),
        (lambda: nn.SGD([Value(1.0)], weight_decay=-1), "weight_decay must be .* >= 0, got -1.0"),
        (lambda: nn.SGD([]), "empty parameter list"),
        (lambda: nn.Adam([Value(1.0)], betas=(0.9,)), "betas must be a pair"),
        (lambda: nn.StepDecay(nn.SGD([Value(1.0)]), step_size=0), "step_size"),
        (lambda: nn.LinearDecay(nn.SGD([Value(1.0)]), total_steps=0), "total_steps"),
    ],
)
def test_bad_optimizer_arguments(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_optimizers_reject_non_values():
    with pytest.raises(TypeError, match="updates Values, got float"):
        nn.SGD([1.0])
    with pytest.raises(TypeError, match=r"model.parameters"):
        nn.SGD(Value(1.0))


def test_step_decay():
    optimizer = nn.SGD([Value(0.0)], lr=1.0)
    schedule = nn.StepDecay(optimizer, step_size=3, gamma=0.5)
    lrs = []
    for _ in range(7):
        lrs.append(optimizer.lr)
        schedule.step()
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_linear_decay_is_micrograds_schedule_exactly():
    optimizer = nn.SGD([Value(0.0)], lr=1.0)
    schedule = nn.LinearDecay(optimizer, total_steps=100, end_factor=0.1)
    for k in range(100):
        assert optimizer.lr == 1.0 - 0.9 * k / 100
        schedule.step()
    assert optimizer.lr == pytest.approx(0.1)
    schedule.step()
    assert optimizer.lr == pytest.approx(0.1)  # constant after total_steps


def test_penalties():
    params = [Value(1.0), Value(-2.0)]
    l2 = nn.L2(0.5)(params)
    assert l2.data == pytest.approx(0.5 * 5)
    l2.backward()
    assert [p.grad for p in params] == [1.0, -2.0]
    assert nn.l1_penalty(params, 0.1).data == pytest.approx(0.3)
    model = nn.MLP(2, [3, 1], seed=0)
    assert nn.l2_penalty(model, 1.0).data == pytest.approx(
        sum(p.data**2 for p in model.parameters())
    )
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0, got -1"):
        nn.L2(-1)
    with pytest.raises(TypeError, match="a Module or Values"):
        nn.l2_penalty([1.0], 0.1)


# ----- PyTorch ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: nn.SGD(p, lr=0.02), lambda t, p: t.optim.SGD(p, lr=0.02)),
        (
            lambda p: nn.SGD(p, lr=0.02, momentum=0.9, weight_decay=0.1),
            lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.9, weight_decay=0.1),
        ),
        (lambda p: nn.Adam(p, lr=0.1), lambda t, p: t.optim.Adam(p, lr=0.1)),
        (
            lambda p: nn.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
            lambda t, p: t.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
        ),
    ],
)
def test_optimizers_follow_pytorch_step_for_step(ours, theirs):
    torch = pytest.importorskip("torch")
    expected = []
    params = [
        torch.tensor(0.5, dtype=torch.float64, requires_grad=True),
        torch.tensor(2.0, dtype=torch.float64, requires_grad=True),
    ]
    optimizer = theirs(torch, params)
    for _ in range(20):
        optimizer.zero_grad()
        quadratic(params).backward()
        optimizer.step()
        expected.append([p.item() for p in params])
    np.testing.assert_allclose(run(ours, steps=20), expected, rtol=1e-12, atol=1e-14)


def test_step_decay_matches_pytorch_steplr():
    torch = pytest.importorskip("torch")
    p = torch.tensor(1.0, requires_grad=True)
    theirs = torch.optim.SGD([p], lr=0.3)
    schedule = torch.optim.lr_scheduler.StepLR(theirs, step_size=2, gamma=0.7)
    ours = nn.SGD([Value(1.0)], lr=0.3)
    our_schedule = nn.StepDecay(ours, step_size=2, gamma=0.7)
    for _ in range(6):
        assert ours.lr == pytest.approx(theirs.param_groups[0]["lr"], rel=1e-15)
        theirs.step()
        schedule.step()
        our_schedule.step()


# ----- several steps: an independent numpy implementation, and PyTorch step for step -------
# Gradients fed by hand, step after step: signs that change, magnitudes from 1e-3 to 30,
# so that momentum, both running averages, the bias corrections and eps all matter.
START = np.array([0.5, -1.5, 2.0, 0.25])
GRADIENT_STEPS = np.array(
    [
        [0.3, -2.0, 30.0, 0.001],
        [-0.1, -1.5, 12.0, -0.002],
        [0.4, 0.5, -20.0, 0.003],
        [0.2, -0.7, 5.0, 0.001],
        [-0.6, 1.2, 0.5, -0.004],
        [0.1, 0.9, -3.0, 0.002],
    ]
)


def numpy_adam(start, gradients, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    """Kingma & Ba's algorithm 1, with L2 weight decay added to the gradient as PyTorch."""
    beta1, beta2 = betas
    p, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    trajectory = []
    for t, grad in enumerate(gradients, start=1):
        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(p.copy())
    return np.array(trajectory)


def numpy_sgd(start, gradients, lr, momentum=0.0, weight_decay=0.0):
    """Gradient descent with heavy-ball momentum (buffer = momentum * buffer + g)."""
    p, buffer = start.copy(), np.zeros_like(start)
    trajectory = []
    for grad in gradients:
        g = grad + weight_decay * p
        buffer = momentum * buffer + g
        p = p - lr * buffer
        trajectory.append(p.copy())
    return np.array(trajectory)


ADAM_SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.1},
    {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-2, "weight_decay": 0.5},
]
SGD_SETTINGS = [
    {"lr": 0.1},
    {"lr": 0.05, "momentum": 0.9},
    {"lr": 0.05, "weight_decay": 0.2},
    {"lr": 0.03, "momentum": 0.5, "weight_decay": 0.3},
]
OPTIMIZER_CASES = [("adam", s) for s in ADAM_SETTINGS] + [("sgd", s) for s in SGD_SETTINGS]


def _case_id(case):
    name, settings = case
    return name + "(" + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")"


OPTIMIZER_IDS = [_case_id(case) for case in OPTIMIZER_CASES]


def _ours(name, params, settings):
    return (nn.Adam if name == "adam" else nn.SGD)(params, **settings)


def _reference(name, settings):
    if name == "adam":
        return numpy_adam(START, GRADIENT_STEPS, **settings)
    return numpy_sgd(START, GRADIENT_STEPS, **settings)


def _steps_on_values(name, settings):
    """The trajectory of ``optimizer.step()`` on Values whose grads are set by hand."""
    params = [Value(float(v)) for v in START]
    optimizer = _ours(name, params, settings)
    trajectory = []
    for grads in GRADIENT_STEPS.tolist():
        optimizer.zero_grad()
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
        trajectory.append([p.data for p in params])
    assert optimizer.steps == len(GRADIENT_STEPS)
    return np.array(trajectory)


def _updates_on_arrays(name, settings):
    """The trajectory of ``optimizer.update(data, grads)``, what the compiled path calls."""
    optimizer = _ours(name, [Value(float(v)) for v in START], settings)
    data = START.copy()
    trajectory = []
    for grads in GRADIENT_STEPS:
        optimizer.update(data, grads.copy())
        trajectory.append(data.copy())
    return np.array(trajectory)


@pytest.mark.parametrize(("name", "settings"), OPTIMIZER_CASES, ids=OPTIMIZER_IDS)
def test_optimizers_follow_a_numpy_implementation_for_several_steps(name, settings):
    expected = _reference(name, settings)
    assert not np.allclose(expected[-1], START)  # the steps do move the parameters
    np.testing.assert_allclose(_steps_on_values(name, settings), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_updates_on_arrays(name, settings), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "settings"), OPTIMIZER_CASES, ids=OPTIMIZER_IDS)
def test_optimizers_follow_pytorch_with_gradients_fed_by_hand(name, settings):
    torch = pytest.importorskip("torch")
    theirs = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    optimizer = (torch.optim.Adam if name == "adam" else torch.optim.SGD)([theirs], **settings)
    expected = []
    for grads in GRADIENT_STEPS:
        optimizer.zero_grad()
        theirs.grad = torch.tensor(grads, dtype=torch.float64)
        optimizer.step()
        expected.append(theirs.detach().numpy().copy())
    np.testing.assert_allclose(_steps_on_values(name, settings), expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(_updates_on_arrays(name, settings), expected, rtol=1e-12, atol=1e-14)
