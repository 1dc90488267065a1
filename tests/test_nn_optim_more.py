"""nn.optim, more: defaults, reprs, and what TrainingDiverged says about which parameter
went wrong (the cases the mutation run found unchecked)."""

from __future__ import annotations

import math
import warnings

import pytest

import autograd
import nn
from autograd import Value


# ----- defaults a user relies on ---------------------------------------------------------------
def test_adam_default_learning_rate_is_pytorchs_0_001():
    p = Value(1.0)
    p.grad = 4.0
    optimizer = nn.Adam([p])
    optimizer.step()  # first step: m_hat = g, v_hat = g^2, so p -= lr * g / (|g| + eps)
    assert optimizer.lr == 0.001
    assert p.data == pytest.approx(1.0 - 0.001 * 4.0 / (4.0 + 1e-8), rel=1e-15)


def test_sgd_default_learning_rate_is_0_01():
    p = Value(1.0)
    p.grad = 4.0
    optimizer = nn.SGD([p])
    optimizer.step()
    assert optimizer.lr == 0.01
    assert p.data == pytest.approx(1.0 - 0.01 * 4.0, rel=1e-15)


def test_step_decay_default_gamma_divides_by_ten():
    optimizer = nn.SGD([Value(0.0)], lr=2.0)
    schedule = nn.StepDecay(optimizer, step_size=2)
    lrs = []
    for _ in range(5):
        lrs.append(optimizer.lr)
        schedule.step()
    assert lrs == pytest.approx([2.0, 2.0, 0.2, 0.2, 0.02], rel=1e-15)


def test_linear_decay_default_end_factor_is_a_tenth():
    optimizer = nn.SGD([Value(0.0)], lr=2.0)
    schedule = nn.LinearDecay(optimizer, total_steps=4)
    lrs = []
    for _ in range(6):
        lrs.append(optimizer.lr)
        schedule.step()
    # from 2.0 to 0.2 in 4 equal steps of 0.45, then constant
    assert lrs == pytest.approx([2.0, 1.55, 1.1, 0.65, 0.2, 0.2], rel=1e-12)


# ----- parameters set by hand --------------------------------------------------------------------
def test_a_step_on_integer_data_set_by_hand_is_not_truncated():
    # p.data = 1 (an int, as people write it) must still move by lr * grad, not round to 0
    a, b = Value(0.0), Value(0.0)
    a.data, b.data = 1, -2
    a.grad, b.grad = 2.0, -3.0
    nn.SGD([a, b], lr=0.1).step()
    assert (a.data, b.data) == (pytest.approx(0.8), pytest.approx(-1.7))
    p = Value(0.0)
    p.data = 3
    p.grad = 0.5
    nn.Adam([p], lr=0.25).step()  # first Adam step: lr * g / (|g| + eps)
    assert p.data == pytest.approx(3 - 0.25 * 0.5 / (0.5 + 1e-8), rel=1e-15)


# ----- reprs ------------------------------------------------------------------------------------
def test_optimizer_and_schedule_reprs_name_their_class():
    params = [Value(1.0), Value(2.0), Value(3.0)]
    optimizer = nn.SGD(params, lr=0.1)
    assert repr(optimizer) == "SGD(3 parameters, lr=0.1)"
    assert repr(nn.Adam(params)) == "Adam(3 parameters, lr=0.001)"
    schedule = nn.StepDecay(optimizer, step_size=1, gamma=0.5)
    schedule.step()
    assert repr(schedule) == "StepDecay(epoch=1, lr=0.05)"


# ----- bad arguments -------------------------------------------------------------------------
def test_a_single_value_is_not_a_parameter_list():
    with pytest.raises(
        TypeError, match=r"^pass a list of parameters, e\.g\. model\.parameters\(\)$"
    ):
        nn.Adam(Value(1.0))


def test_adam_betas_of_the_wrong_type_name_the_type():
    with pytest.raises(TypeError, match=r"^betas must be a pair of numbers, not float$"):
        nn.Adam([Value(1.0)], betas=0.9)


def test_a_schedule_of_something_else_names_what_it_got():
    with pytest.raises(TypeError, match=r"^a schedule needs an Optimizer, not list$"):
        nn.StepDecay([Value(1.0)], step_size=2)


# ----- what TrainingDiverged says ---------------------------------------------------------------
def test_a_divergence_names_an_unlabelled_parameter_as_unlabelled():
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 1.0, math.nan
    with pytest.raises(
        nn.TrainingDiverged, match=r"the gradient of parameter 1 \(unlabelled, now 2\) is nan"
    ):
        nn.SGD([a, b], lr=0.1).step()


def test_a_divergence_names_a_labelled_parameter_by_its_label():
    a = Value(1.5, label="w0")
    a.grad = math.inf
    with pytest.raises(nn.TrainingDiverged, match=r"the gradient of parameter 0 \(w0, now 1.5\)"):
        nn.SGD([a], lr=0.1).step()


def test_adam_overflowing_averages_name_the_parameter_with_the_largest_gradient():
    params = [Value(0.5), Value(-1.0), Value(0.25)]
    params[0].grad, params[1].grad, params[2].grad = 1.0, -1e200, 3.0  # g * g overflows
    optimizer = nn.Adam(params, lr=0.1)
    with pytest.raises(
        nn.TrainingDiverged,
        match=r"^Adam's running averages overflow \(the largest gradient, of parameter 1 "
        r"\(unlabelled, now -1\), is -1e\+200\): training diverged; nothing was changed",
    ):
        optimizer.step()
    assert [p.data for p in params] == [0.5, -1.0, 0.25] and optimizer.steps == 0


@pytest.mark.parametrize("make", [nn.SGD, nn.Adam])
def test_an_infinite_parameter_is_reported_as_staying_infinite(make):
    # Without weight decay the rule adds nothing to the gradient (not even 0 * inf = nan):
    # a weight made infinite under allow_nonfinite() would stay infinite, and the error says so.
    with autograd.allow_nonfinite():
        p = Value(math.inf)
    p.grad = 1.0
    optimizer = make([p], lr=0.1)
    with pytest.raises(
        nn.TrainingDiverged,
        match=r"^the update would make parameter 0 \(unlabelled, now inf\) inf \(gradient 1, "
        r"lr=0\.1\): training diverged",
    ):
        optimizer.step()
    assert p.data == math.inf and optimizer.steps == 0


def test_a_diverging_update_raises_without_numpy_warnings():
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 1.0, 1e300
    optimizer = nn.SGD([a, b], lr=1e10)  # 1e10 * 1e300 overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would surface as an error here
        with pytest.raises(nn.TrainingDiverged, match=r"would make parameter 1 .* -inf"):
            optimizer.step()
    assert (a.data, b.data) == (1.0, 2.0)
