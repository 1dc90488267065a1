"""nn.fit, History and evaluate: what is recorded, when training stops, bad input."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import nn
from autograd import Value

X_LINE = np.linspace(-1, 1, 20).reshape(-1, 1)
Y_LINE = 3 * X_LINE[:, 0] + 1


def test_fit_learns_a_line_and_records_one_loss_per_epoch():
    model = nn.Neuron(1, activation="linear", seed=0)
    history = nn.fit(
        model,
        X_LINE,
        Y_LINE,
        loss="mse",
        optimizer=nn.SGD(model.parameters(), lr=0.3),
        epochs=200,
        quiet=True,
    )
    assert model.w[0].data == pytest.approx(3.0, abs=1e-6)
    assert model.b.data == pytest.approx(1.0, abs=1e-6)
    assert history.keys() == ["loss"] and len(history) == len(history["loss"]) == 200
    assert history["loss"][0] > history["loss"][-1]
    assert not history.stopped_early and history.stop_reason is None
    assert history.best_epoch == int(np.argmin(history["loss"]))


def test_the_first_epoch_loss_is_the_loss_of_the_initial_model():
    model = nn.MLP(1, [4, 1], seed=0)
    initial = nn.mse(Y_LINE, model.predict(X_LINE))
    history = nn.fit(model, X_LINE, Y_LINE, epochs=2, quiet=True)
    assert history["loss"][0] == pytest.approx(initial, rel=1e-12)


def test_penalty_is_part_of_the_reported_loss():
    a, b = nn.MLP(1, [3, 1], seed=0), nn.MLP(1, [3, 1], seed=0)
    penalty = nn.L2(0.1)(a).data
    plain = nn.fit(a, X_LINE, Y_LINE, epochs=1, quiet=True)["loss"][0]
    with_penalty = nn.fit(b, X_LINE, Y_LINE, epochs=1, penalty=nn.L2(0.1), quiet=True)
    assert with_penalty["loss"][0] == pytest.approx(plain + penalty, rel=1e-12)


def test_stop_at_loss():
    model = nn.Neuron(1, activation="linear", bias=False, init="zeros")
    X, y = nn.datasets.load_table()
    history = nn.fit(
        model,
        X,
        y,
        loss="sse",
        optimizer=nn.SGD(model.parameters(), lr=0.01),
        epochs=100,
        stop_at_loss=1e-6,
        quiet=True,
    )
    assert history.stopped_early and history.stop_reason == "stop_at_loss"
    assert history["loss"][-1] <= 1e-6 < history["loss"][-2]
    assert model.w[0].data == pytest.approx(4.0, abs=1e-4)


def test_early_stopping_on_validation_restores_the_best_weights():
    # validation data from the opposite rule: the better the fit, the worse val_loss
    model = nn.Neuron(1, activation="linear", seed=0)
    history = nn.fit(
        model,
        X_LINE,
        Y_LINE,
        optimizer=nn.SGD(model.parameters(), lr=0.1),
        epochs=100,
        validation=(X_LINE, -Y_LINE),
        early_stopping=3,
        quiet=True,
    )
    assert history.stopped_early and history.stop_reason == "early_stopping"
    best = history.best_epoch
    assert len(history) == best + 4
    assert history["val_loss"][best] == min(history["val_loss"])
    restored = nn.evaluate(model, X_LINE, -Y_LINE, loss="mse")["loss"]
    assert restored == pytest.approx(history["val_loss"][best], rel=1e-12)


def test_early_stopping_without_validation_watches_the_training_loss():
    model = nn.Neuron(1, activation="linear", seed=0)
    history = nn.fit(
        model,
        X_LINE,
        Y_LINE,
        optimizer=nn.SGD(model.parameters(), lr=0.3),
        epochs=500,
        early_stopping=2,
        min_delta=1e-3,
        quiet=True,
    )
    assert history.monitor == "loss" and history.stopped_early and len(history) < 500


def test_validation_fraction_metrics_and_history_keys():
    X, y = nn.datasets.make_blobs(n_samples=60, centers=[[-2, 0], [2, 0]], seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(
        model,
        X,
        y,
        loss="bce_with_logits",
        optimizer="adam",
        epochs=3,
        validation=0.25,
        metrics=["accuracy", "f1"],
        seed=0,
        quiet=True,
    )
    assert history.keys() == ["loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"]
    assert all(len(history[k]) == 3 for k in history)
    assert dict(history)["val_f1"] == history["val_f1"]
    assert "val_loss" in history and "lr" not in history
    assert history.monitor == "val_loss"


def test_running_accuracy_is_measured_on_the_outputs_before_each_update():
    X, y = nn.datasets.make_moons(n_samples=30, noise=0.1, seed=0)
    model = nn.MLP(2, [8, 1], seed=0)
    initial = nn.accuracy(y, (model.predict(X) > 0).astype(int))
    history = nn.fit(model, X, y, loss="hinge", epochs=1, metrics=["accuracy"], quiet=True)
    assert history["accuracy"][0] == initial


def test_hinge_with_minus_one_labels_reports_accuracy_in_that_convention():
    X, y = nn.datasets.make_blobs(n_samples=40, centers=[[-3, 0], [3, 0]], seed=1)
    signs = np.where(y == 1, 1, -1)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(
        model,
        X,
        signs,
        loss="hinge",
        optimizer=nn.SGD(model.parameters(), lr=0.1),
        epochs=20,
        metrics=["accuracy"],
        quiet=True,
    )
    assert history["accuracy"][-1] == 1.0


def test_batch_sizes_give_the_expected_number_of_steps():
    for batch_size, steps_per_epoch in [(None, 1), (1, 20), (6, 4)]:
        model = nn.Neuron(1, activation="linear", seed=0)
        optimizer = nn.SGD(model.parameters(), lr=0.01)
        nn.fit(
            model, X_LINE, Y_LINE, optimizer=optimizer, batch_size=batch_size, epochs=3, quiet=True
        )
        assert optimizer.steps == 3 * steps_per_epoch


def test_a_seed_makes_training_reproducible():
    def train(seed):
        model = nn.MLP(1, [4, 1], seed=0)
        return nn.fit(model, X_LINE, Y_LINE, batch_size=4, epochs=3, seed=seed, quiet=True)["loss"]

    assert train(1) == train(1)
    assert train(1) != train(2)


def test_scheduler_is_stepped_once_per_epoch():
    model = nn.Neuron(1, activation="linear", seed=0)
    optimizer = nn.SGD(model.parameters(), lr=1.0)
    schedule = nn.StepDecay(optimizer, step_size=2, gamma=0.5)
    nn.fit(model, X_LINE, Y_LINE, optimizer=optimizer, scheduler=schedule, epochs=5, quiet=True)
    assert optimizer.lr == 0.25
    with pytest.raises(ValueError, match="schedule built on this fit's optimizer"):
        nn.fit(model, X_LINE, Y_LINE, scheduler=schedule, epochs=1, quiet=True)


def test_cross_entropy_training_on_three_classes():
    X, y = nn.datasets.make_blobs(n_samples=60, centers=3, seed=0)
    model = nn.MLP(2, [8, 3], seed=0)
    history = nn.fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer=nn.Adam(model.parameters(), lr=0.05),
        epochs=30,
        batch_size=16,
        metrics=["accuracy", "f1"],
        seed=0,
        quiet=True,
    )
    assert history["accuracy"][-1] > 0.9
    results = nn.evaluate(model, X, y, loss="cross_entropy", metrics=["accuracy"])
    assert results["accuracy"] == nn.accuracy(y, model.predict(X).argmax(axis=1))


def test_progress_bar_shows_loss_and_metrics(capsys):
    model = nn.Neuron(1, activation="linear", seed=0)
    nn.fit(model, X_LINE, Y_LINE, epochs=3, metrics=["mae"])
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and "loss=" in err and "mae=" in err
    nn.fit(model, X_LINE, Y_LINE, epochs=3, quiet=True)
    assert capsys.readouterr().err == ""


def test_fit_restores_gc_state_and_module_modes():
    model = nn.MLP(1, [3, 1], dropout=0.5, seed=0)
    model.eval()
    with pytest.warns(RuntimeWarning, match="dropout"):  # trained with the scalar engine
        nn.fit(model, X_LINE, Y_LINE, epochs=1, quiet=True)
    assert gc.isenabled()
    assert not any(m.training for m in model.modules())
    gc.disable()
    try:
        with pytest.warns(RuntimeWarning, match="dropout"):
            nn.fit(model, X_LINE, Y_LINE, epochs=1, quiet=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_fit_restores_module_modes_when_the_compiled_engine_is_refused():
    model = nn.MLP(1, [3, 1], dropout=0.5, seed=0)
    model.eval()
    with pytest.raises(nn.NotCompilable, match="engine='compiled' cannot be used: dropout"):
        nn.fit(model, X_LINE, Y_LINE, epochs=1, quiet=True, engine="compiled")
    assert not any(m.training for m in model.modules())


def test_validation_outputs_use_the_engine_fit_trains_with(monkeypatch):
    engines = []
    real_predict = nn.MLP.predict

    def spy(self, X, *, engine="auto"):
        engines.append(engine)
        return real_predict(self, X, engine=engine)

    monkeypatch.setattr(nn.MLP, "predict", spy)
    for engine in ("scalar", "compiled"):
        model = nn.MLP(1, [3, 1], seed=0)
        nn.fit(model, X_LINE, Y_LINE, epochs=2, quiet=True, validation=0.25, engine=engine)
    assert engines == ["scalar", "scalar", "compiled", "compiled"]


def test_engines():
    model = nn.Neuron(1, activation="linear", seed=0)
    assert nn.fit(model, X_LINE, Y_LINE, epochs=1, engine="scalar", quiet=True).engine == "scalar"
    assert nn.fit(model, X_LINE, Y_LINE, epochs=1, engine="compiled", quiet=True).engine == (
        "compiled"
    )
    assert nn.fit(model, X_LINE, Y_LINE, epochs=1, quiet=True).engine == "compiled"
    with pytest.raises(ValueError, match="engine must be"):
        nn.fit(model, X_LINE, Y_LINE, epochs=1, engine="gpu", quiet=True)


def test_a_custom_loss_function_and_predict():
    def absolute(outputs, targets):
        return Value.sum([abs(o - t) for o, t in zip(outputs, targets)])

    model = nn.Neuron(1, activation="linear", seed=0)
    w, b = model.w[0].data, model.b.data
    labels = (Y_LINE > 1).astype(int)
    with pytest.warns(RuntimeWarning, match="plain function"):
        history = nn.fit(
            model,
            X_LINE,
            labels,
            loss=absolute,
            epochs=3,
            metrics=["accuracy"],
            predict=lambda s: (s > 0.5).astype(int),
            quiet=True,
        )
    # The same training in numpy: full-batch gradient descent (the default SGD, lr 0.01)
    # on sum |w x + b - t|, whose gradient is sum sign(s - t) * (x, 1) (abs'(0) = 0 as
    # np.sign). Each epoch's loss and accuracy are those of the outputs before its step.
    x, losses, accuracies = X_LINE[:, 0], [], []
    for _ in range(3):
        s = w * x + b
        losses.append(np.abs(s - labels).sum())
        accuracies.append(np.mean((s > 0.5) == labels))
        sign = np.sign(s - labels)
        w, b = w - 0.01 * (sign * x).sum(), b - 0.01 * sign.sum()
    assert accuracies == [0.65, 0.8, 0.9]  # 13, 16 and 18 of the 20 points
    assert history["accuracy"] == accuracies
    assert history["loss"] == pytest.approx(losses, rel=1e-12)
    assert model.w[0].data == pytest.approx(w, rel=1e-12)
    assert model.b.data == pytest.approx(b, rel=1e-12)


def test_history_api():
    history = nn.History()
    history.append("loss", 2.0)
    history.append("loss", 1.0)
    assert len(history) == 2 and list(history) == ["loss"] and history.last() == {"loss": 1.0}
    assert repr(history) == "History(2 epochs: loss=1)"
    with pytest.raises(KeyError, match="no 'accuracy' in this history"):
        history["accuracy"]


MODEL = nn.MLP(2, [3, 1], seed=0)
X2, Y2 = np.zeros((4, 2)), np.array([0, 1, 0, 1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"X": np.zeros((4, 3))}, ValueError, "3 features, but 2 are expected"),
        ({"X": [[0, 0], [np.nan, 0], [0, 0], [0, 0]]}, ValueError, "NaN at row 1"),
        ({"X": np.zeros((0, 2)), "y": []}, ValueError, "empty"),
        ({"y": [0, 1]}, ValueError, "different lengths"),
        ({"y": [0, 1, 2, 1], "loss": "bce_with_logits"}, ValueError, r"in \[0, 1\]"),
        ({"y": [0.5, 1, 0, 1], "loss": "hinge"}, ValueError, "labels must be -1/\\+1"),
        ({"loss": "cross_entropy"}, ValueError, "one output per class"),
        ({"loss": "mse", "metrics": ["accuracy"]}, ValueError, "regression loss"),
        ({"metrics": ["auc"]}, ValueError, "unknown metric"),
        ({"epochs": 0}, ValueError, "epochs must be a positive int"),
        ({"epochs": 2.5}, TypeError, "epochs must be a positive int, not float"),
        ({"early_stopping": 0}, ValueError, r"early_stopping \(the patience, in epochs\)"),
        ({"min_delta": "0.1"}, TypeError, "min_delta must be a finite number >= 0, not str"),
        ({"engine": "gpu"}, ValueError, "engine must be one of"),
        ({"batch_size": 0}, ValueError, "batch_size must be a positive int"),
        ({"validation": 1.5}, ValueError, r"fraction of the data\) must be .* in \(0, 1\)"),
        ({"validation": "half"}, TypeError, "validation must be"),
        ({"optimizer": "rmsprop"}, TypeError, "optimizer must be"),
        ({"optimizer": nn.SGD([Value(1.0)])}, ValueError, "none of this model's parameters"),
        ({"model": "not a model"}, TypeError, "fit trains an nn.Module"),
        ({"model": nn.Perceptron(2)}, TypeError, r"call perceptron.fit\(X, y\)"),
    ],
)
def test_bad_input_to_fit(kwargs, error, match):
    args = {"model": MODEL, "X": X2, "y": Y2, "loss": "hinge", "epochs": 1, "quiet": True}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        nn.fit(args.pop("model"), args.pop("X"), args.pop("y"), **args)


def test_cross_entropy_labels_must_be_whole_numbers_in_range():
    model = nn.MLP(2, [3, 3], seed=0)
    with pytest.raises(ValueError, match="whole numbers"):
        nn.fit(model, X2, [0, 1.5, 2, 0], loss="cross_entropy", quiet=True)
    with pytest.raises(ValueError, match=r"labels must be 0..2"):
        nn.fit(model, X2, [0, 1, 3, 0], loss="cross_entropy", quiet=True)
