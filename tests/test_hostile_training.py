"""Hostile input to training: every argument of fit, the optimizers, the schedules and the
modules is checked and named; training that diverges ends in one TrainingDiverged that
says where and why, with the history attached and the last finite weights kept."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from autograd import DomainError, Value
from nn.steps import TrainingStep

X4, Y4 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), np.array([0, 1, 1, 0])
MOONS_X, MOONS_Y = nn.datasets.make_moons(60, noise=0.1, seed=0)
ENGINES = ("compiled", "scalar")


def _fit(model=None, X=X4, y=Y4, **kwargs):
    """A small, quiet fit; the scalar engine unless told (nothing to compile)."""
    model = model or nn.MLP(2, [2, 1], seed=0)
    options = {"loss": "hinge", "epochs": 1, "quiet": True, "engine": "scalar", **kwargs}
    return nn.fit(model, X, y, **options)


def _params():
    return [Value(1.0)]


# ----- real-number arguments: one rule everywhere ------------------------------------------
# (the name the error uses, a call taking the value, the allowed range: (low, low included,
# high, high included), None for no bound)
REAL_ARGUMENTS = [
    ("min_delta", lambda v: _fit(min_delta=v), (0, True, None, False)),
    ("stop_at_loss", lambda v: _fit(stop_at_loss=v), (None, False, None, False)),
    ("lr", lambda v: nn.SGD(_params(), lr=v), (0, False, None, False)),
    ("momentum", lambda v: nn.SGD(_params(), momentum=v), (0, True, 1, False)),
    ("weight_decay", lambda v: nn.SGD(_params(), weight_decay=v), (0, True, None, False)),
    ("lr", lambda v: nn.Adam(_params(), lr=v), (0, False, None, False)),
    ("betas[0]", lambda v: nn.Adam(_params(), betas=(v, 0.999)), (0, True, 1, False)),
    ("betas[1]", lambda v: nn.Adam(_params(), betas=(0.9, v)), (0, True, 1, False)),
    ("eps", lambda v: nn.Adam(_params(), eps=v), (0, True, None, False)),
    ("weight_decay", lambda v: nn.Adam(_params(), weight_decay=v), (0, True, None, False)),
    ("gamma", lambda v: nn.StepDecay(nn.SGD(_params()), 2, gamma=v), (0, False, None, False)),
    (
        "start_factor",
        lambda v: nn.LinearDecay(nn.SGD(_params()), 5, start_factor=v),
        (0, False, None, False),
    ),
    (
        "end_factor",
        lambda v: nn.LinearDecay(nn.SGD(_params()), 5, end_factor=v),
        (0, True, None, False),
    ),
    ("p (the dropout probability)", lambda v: nn.Dropout(v), (0, True, 1, False)),
    ("dropout", lambda v: nn.MLP(2, [2, 1], dropout=v), (0, True, 1, False)),
    ("lr", lambda v: nn.Perceptron(2, lr=v), (0, False, None, False)),
    ("delta", lambda v: nn.HuberLoss(delta=v), (0, False, None, False)),
    ("margin", lambda v: nn.HingeLoss(margin=v), (None, False, None, False)),
    ("alpha", lambda v: nn.L2(v), (0, True, None, False)),
    ("scale", lambda v: nn.add_noise(X4, scale=v), (0, True, None, False)),
]
REAL_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(REAL_ARGUMENTS)]


def _allowed(value: float, bounds: tuple) -> bool:
    low, low_in, high, high_in = bounds
    if not math.isfinite(value):
        return False
    if low is not None and not (value >= low if low_in else value > low):
        return False
    return high is None or (value <= high if high_in else value < high)


def _outside(bounds: tuple) -> list[float]:
    """Numbers just outside the range (the excluded bounds themselves included)."""
    low, low_in, high, high_in = bounds
    values = []
    if low is not None:
        values += [low - 1.0, np.nextafter(low, -math.inf)] + ([] if low_in else [low])
    if high is not None:
        values += [high + 1.0, np.nextafter(high, math.inf)] + ([] if high_in else [high])
    return values


@pytest.mark.parametrize(("name", "call", "bounds"), REAL_ARGUMENTS, ids=REAL_IDS)
def test_every_real_argument_refuses_non_numbers_with_a_type_error(name, call, bounds):
    start = "^" + re.escape(name) + " must be a finite number"
    optional = name == "stop_at_loss"  # None: no such rule
    for value in ("0.5", [0.5], True, False, 1j, object(), *(() if optional else (None,))):
        with pytest.raises(TypeError, match=start + r".*, not \w+: "):
            call(value)


@pytest.mark.parametrize(("name", "call", "bounds"), REAL_ARGUMENTS, ids=REAL_IDS)
def test_every_real_argument_refuses_nan_infinity_and_out_of_range(name, call, bounds):
    start = "^" + re.escape(name) + " must be a finite number"
    for value in [math.nan, math.inf, -math.inf, np.float64("nan"), *_outside(bounds)]:
        with pytest.raises(ValueError, match=start + r".*, got "):
            call(value)


@pytest.mark.parametrize(("name", "call", "bounds"), REAL_ARGUMENTS, ids=REAL_IDS)
@given(value=st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5))
def test_a_real_argument_is_accepted_exactly_when_finite_and_in_range(name, call, bounds, value):
    if _allowed(float(value), bounds):
        call(value)
    else:
        with pytest.raises(ValueError, match="^" + re.escape(name) + " must be a finite number"):
            call(value)


def test_validation_as_a_fraction_is_checked_like_every_real_argument():
    for value in (math.nan, math.inf, 0, 1, -0.5, 1.5):
        with pytest.raises(ValueError, match=r"^validation \(a fraction of the data\) must be"):
            _fit(validation=value)
    for value in ("0.5", True, [0.5]):
        with pytest.raises(TypeError, match=r"^validation must be a fraction"):
            _fit(validation=value)


def test_a_learning_rate_set_later_is_checked_and_may_decay_to_zero():
    optimizer = nn.SGD(_params(), lr=0.1)
    for bad in (math.nan, math.inf, -0.1):
        with pytest.raises(ValueError, match=r"^lr must be a finite number >= 0"):
            optimizer.lr = bad
    with pytest.raises(TypeError, match=r"^lr must be"):
        optimizer.lr = "0.1"
    optimizer.lr = 0.0  # what LinearDecay(end_factor=0) reaches
    assert optimizer.lr == 0.0 and nn.SGD(_params(), lr=1e308).lr == 1e308


# ----- fit's other arguments -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epochs": math.nan}, TypeError, "^epochs must be a positive int"),
        ({"epochs": True}, TypeError, "^epochs must be a positive int, not bool"),
        ({"epochs": -1}, ValueError, "^epochs must be a positive int, got -1"),
        ({"epochs": "10"}, TypeError, "^epochs must be a positive int, not str"),
        ({"batch_size": 0}, ValueError, "^batch_size must be a positive int, got 0"),
        ({"batch_size": math.inf}, TypeError, "^batch_size must be a positive int"),
        ({"early_stopping": -2}, ValueError, r"^early_stopping \(the patience"),
        ({"early_stopping": 1.5}, TypeError, r"^early_stopping \(the patience"),
        ({"seed": -1}, ValueError, "^seed must be a non-negative int, got -1"),
        ({"seed": 1.5}, TypeError, "^seed must be None, an int >= 0 or a numpy Generator"),
        ({"seed": "0"}, TypeError, "^seed must be None"),
        ({"shuffle": "no"}, TypeError, "^shuffle must be True or False, not str"),
        ({"shuffle": 0}, TypeError, "^shuffle must be True or False, not int"),
        ({"quiet": None}, TypeError, "^quiet must be True or False, not NoneType"),
        ({"restore_best": "yes"}, TypeError, "^restore_best must be True or False"),
        ({"penalty": 1e-4}, TypeError, "^penalty must be a function or None, not float"),
        ({"predict": "argmax"}, TypeError, "^predict must be a function or None, not str"),
        ({"metrics": 3}, TypeError, "^metrics must be a list of metric names"),
        ({"metrics": [None]}, TypeError, "a metric must be a name or a function"),
        ({"loss": 3}, TypeError, "^loss must be a name"),
        ({"loss": "bogus"}, ValueError, "unknown loss 'bogus'"),
        ({"optimizer": math.nan}, TypeError, "^optimizer must be"),
        ({"engine": None}, ValueError, "^engine must be one of"),
        ({"validation": True}, TypeError, "^validation must be"),
        ({"validation": (X4,)}, TypeError, "^validation must be"),
        ({"scheduler": "step"}, ValueError, "^scheduler must be a schedule"),
    ],
)
def test_every_argument_of_fit_is_checked_and_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        _fit(**kwargs)


# ----- empty data, and data that is the validation data ------------------------------------------
@pytest.mark.parametrize("X", [[], np.zeros((0, 2)), np.zeros(0)])
def test_empty_data_is_reported_as_empty(X):
    with pytest.raises(ValueError, match=r"^X is empty: it has no samples$"):
        _fit(X=X, y=[])
    with pytest.raises(ValueError, match=r"^X is empty"):
        nn.MLP(2, [1], seed=0).predict(X)
    with pytest.raises(ValueError, match=r"^X is empty"):
        nn.evaluate(nn.MLP(2, [1], seed=0), X, [], loss="mse")


@pytest.mark.parametrize(
    ("validation", "match"),
    [
        ((np.zeros((3, 3)), [0, 1, 0]), "X_val has 3 features, but 2 are expected"),
        (([[0.0, np.nan]], [1]), "X_val contains NaN at row 0, column 1"),
        (([[0.0, np.inf]], [1]), "X_val contains inf at row 0, column 1"),
        (([[0.0, 1.0]], [np.nan]), "y_val contains NaN at row 0"),
        (([[0.0, 1.0]], [0, 1]), "X_val and y_val have different lengths"),
        (([], []), "X_val is empty"),
        (([[0.0, 1.0]], [7]), "hinge: labels must be -1/\\+1"),
        (0.99, "leaves 0 for training"),
    ],
)
def test_bad_validation_data_is_reported_as_validation_data(validation, match):
    with pytest.raises(ValueError, match="^validation data: .*" + match):
        _fit(validation=validation)


def test_bad_training_data_is_not_called_validation_data():
    with pytest.raises(ValueError, match=r"^X has 3 features, but 2 are expected$"):
        _fit(X=np.zeros((4, 3)), validation=(X4, Y4))


# ----- module arguments ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: nn.MLP(2, [1], activation="bogus"), ValueError, "unknown activation 'bogus'"),
        (lambda: nn.MLP(2, [1], activation=3), TypeError, "^activation must be a name"),
        (
            lambda: nn.MLP(2, [3, 1], output_activation="bogus"),
            ValueError,
            "^output_activation: unknown activation 'bogus'",
        ),
        (lambda: nn.MLP(2, [3, 1], activation=["relu", "x"]), ValueError, "unknown activation"),
        (lambda: nn.MLP(2, []), ValueError, "^nouts must list at least one layer size"),
        (lambda: nn.MLP(2, [0]), ValueError, "^each layer size must be a positive int, got 0"),
        (lambda: nn.MLP(2, [3, -1]), ValueError, "^each layer size must be a positive int"),
        (lambda: nn.MLP(2, "ab"), TypeError, "^nouts must be a list of layer sizes"),
        (lambda: nn.MLP(2, 3), TypeError, "^nouts must be a list of layer sizes"),
        (lambda: nn.MLP(0, [1]), ValueError, "^nin must be a positive int, got 0"),
        (lambda: nn.MLP(2.0, [1]), TypeError, "^nin must be a positive int, not float"),
        (lambda: nn.MLP(2, [1], init="bogus"), ValueError, "init must be one of uniform"),
        (lambda: nn.MLP(2, [1], init=None), TypeError, "^init must be a name"),
        (lambda: nn.MLP(2, [1], bias="yes"), TypeError, "^bias must be True or False"),
        (lambda: nn.Neuron(2, nonlin="no"), TypeError, "^nonlin must be True or False"),
        (lambda: nn.Layer(2, 0), ValueError, "^nout must be a positive int"),
        (lambda: nn.init_weights("he", 0), ValueError, "^fan_in must be a positive int"),
        (lambda: nn.HuberLoss(reduction=None), TypeError, "^reduction must be"),
    ],
)
def test_every_module_argument_is_checked_and_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ----- optimizers: an update is all or nothing --------------------------------------------------
def test_an_update_that_overflows_changes_nothing():
    a, b = Value(1.0), Value(2.0)
    a.grad, b.grad = 1.0, 1e300
    optimizer = nn.SGD([a, b], lr=1e10, momentum=0.5)
    with pytest.raises(nn.TrainingDiverged, match=r"would make parameter 1 .* -inf"):
        optimizer.step()
    assert (a.data, b.data) == (1.0, 2.0)
    assert optimizer.steps == 0 and not optimizer._velocity.any()


def test_adam_with_a_huge_learning_rate_changes_nothing():
    p = Value(0.5)
    p.grad = 1.0
    optimizer = nn.Adam([p], lr=1e308)
    with pytest.raises(nn.TrainingDiverged, match="nothing was changed") as info:
        optimizer.step()
    assert p.data == 0.5 and optimizer.steps == 0 and not optimizer._m.any()
    assert info.value.epoch is info.value.batch is info.value.history is None


def test_adam_running_averages_that_overflow_change_nothing():
    p = Value(0.5)
    p.grad = 1e200  # g * g overflows although the step itself stays finite
    optimizer = nn.Adam([p], lr=0.1)
    with pytest.raises(nn.TrainingDiverged, match="running averages overflow"):
        optimizer.step()
    assert p.data == 0.5 and not optimizer._v.any()


def test_a_non_finite_batch_loss_stops_a_step_before_its_update():
    with pytest.raises(nn.TrainingDiverged, match="the batch loss is nan"):
        TrainingStep.check_loss(math.nan)
    assert TrainingStep.check_loss(1.5) == 1.5


# ----- training that diverges -------------------------------------------------------------------
def _record_weights_before_each_step(monkeypatch) -> list[dict[str, float]]:
    """Every step's starting weights (the compiled step's array written back first)."""
    states: list[dict[str, float]] = []
    run_step = nn.training._run_step

    def recording(step, rows):
        step.sync()
        states.append(step.model.state_dict())
        return run_step(step, rows)

    monkeypatch.setattr(nn.training, "_run_step", recording)
    return states


def _check_diverged(info, model, states, *, epoch, finished):
    exc = info.value
    assert isinstance(exc, FloatingPointError) and exc.__cause__ is not None
    assert exc.epoch == epoch and len(exc.history) == finished
    assert exc.history.stop_reason == "diverged" and exc.history.stopped_early
    message = str(exc)
    assert f"training diverged at epoch {epoch}/" in message
    assert "cause: " in message and "a lower learning rate" in message
    for loss in exc.history["loss"][-5:] if finished else ():
        assert f"{loss:.4g}" in message
    weights = model.state_dict()
    assert all(math.isfinite(w) for w in weights.values())
    assert weights == states[-1], "the failing step must not be applied"


@pytest.mark.parametrize("engine", ENGINES)
def test_sgd_with_a_huge_learning_rate_raises_training_diverged(engine, monkeypatch):
    states = _record_weights_before_each_step(monkeypatch)
    model = nn.MLP(2, [8, 1], seed=0)
    with pytest.raises(nn.TrainingDiverged) as info:
        nn.fit(model, MOONS_X, MOONS_Y, optimizer=nn.SGD(model, lr=1e6), epochs=30,
               batch_size=20, quiet=True, engine=engine)  # fmt: skip
    exc = info.value
    assert exc.epoch <= 3 and f"batch {exc.batch}/3" in str(exc)
    _check_diverged(info, model, states, epoch=exc.epoch, finished=exc.epoch - 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_adam_with_lr_1e308_raises_before_changing_any_weight(engine, monkeypatch):
    states = _record_weights_before_each_step(monkeypatch)
    model = nn.MLP(2, [8, 1], seed=0)
    initial = model.state_dict()
    with pytest.raises(nn.TrainingDiverged) as info:
        nn.fit(model, MOONS_X, MOONS_Y, optimizer=nn.Adam(model, lr=1e308), epochs=5,
               quiet=True, engine=engine)  # fmt: skip
    _check_diverged(info, model, states, epoch=1, finished=0)
    assert model.state_dict() == initial
    assert isinstance(info.value.__cause__, nn.TrainingDiverged)


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_after_some_epochs_reports_their_losses(engine, monkeypatch):
    states = _record_weights_before_each_step(monkeypatch)
    model = nn.MLP(2, [8, 1], seed=0)
    with pytest.raises(nn.TrainingDiverged) as info:
        nn.fit(model, MOONS_X * 100, MOONS_Y, optimizer=nn.SGD(model, lr=0.05), epochs=50,
               quiet=True, engine=engine, early_stopping=10)  # fmt: skip
    exc = info.value
    assert exc.epoch > 2
    _check_diverged(info, model, states, epoch=exc.epoch, finished=exc.epoch - 1)
    assert "the inputs reach |x|" in str(exc) and "nn.Standardizer" in str(exc)
    assert np.isfinite(exc.history["loss"]).all()


def test_both_engines_diverge_at_the_same_step_with_the_same_weights():
    results = []
    for engine in ENGINES:
        model = nn.MLP(2, [8, 1], seed=0)
        with pytest.raises(nn.TrainingDiverged) as info:
            nn.fit(model, MOONS_X * 100, MOONS_Y, optimizer=nn.SGD(model, lr=0.05), epochs=50,
                   quiet=True, engine=engine)  # fmt: skip
        results.append((info.value.epoch, info.value.history["loss"], model.state_dict()))
    (epoch_c, losses_c, weights_c), (epoch_s, losses_s, weights_s) = results
    assert epoch_c == epoch_s
    np.testing.assert_allclose(losses_c, losses_s, rtol=1e-9)
    np.testing.assert_allclose(list(weights_c.values()), list(weights_s.values()), rtol=1e-9)


def test_a_numeric_error_before_any_update_is_not_called_divergence():
    """Data that overflows on the initial weights is the data's fault: the error stays as it is."""
    with pytest.raises(DomainError) as info:
        _fit(X=X4 * 1e300, loss="mse", y=[0.0, 1.0, 1.0, 0.0])
    assert not isinstance(info.value, nn.TrainingDiverged)


def test_other_errors_during_training_are_not_called_divergence():
    def fails_in_the_second_epoch(y_true, y_pred):
        calls.append(1)
        return 1 / (len(calls) - 2)

    calls: list[int] = []
    with pytest.raises(ZeroDivisionError):
        _fit(epochs=3, metrics=[fails_in_the_second_epoch])


def test_training_diverged_is_exported_and_a_floating_point_error():
    assert nn.TrainingDiverged is nn.optim.TrainingDiverged
    assert issubclass(nn.TrainingDiverged, FloatingPointError)
    assert "TrainingDiverged" in nn.__all__
