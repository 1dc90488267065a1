"""nn.Recorder: one sample's graph recorded while nn.fit trains (fit(..., explore=recorder))."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from autograd import Value
from autograd.graph import topological_order
from nn.compiled import CompiledStep

ENGINES = ["scalar", "compiled"]
X_LINE = np.linspace(-1, 1, 20).reshape(-1, 1)
Y_LINE = 3 * X_LINE[:, 0] + 1
X_MOONS, Y_MOONS = nn.datasets.make_moons(30, noise=0.1, seed=1)
X_BLOBS, Y_BLOBS = nn.datasets.make_blobs(30, centers=3, seed=0)


def independent_graph(model, x, y=None, loss=None):
    """The sample's graph built here, from the model's weights as they are now."""
    model.zero_grad()
    out = model([Value(float(v)) for v in x])
    root = out if y is None else (loss or nn.MSELoss())([out], [y])
    root.backward()
    return root, topological_order(root)


def snapshot_of(root, order):
    return [n.data for n in order], [n.grad for n in order], root.data


# ----- the numbers ---------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_each_snapshot_is_the_graph_of_the_weights_after_that_many_steps(engine):
    def train(epochs, explore=None):
        model = nn.MLP(2, [4, 1], activation="tanh", seed=0)
        nn.fit(
            model,
            X_MOONS,
            Y_MOONS,
            loss="mse",
            optimizer=nn.SGD(model.parameters(), lr=0.3),
            epochs=epochs,
            quiet=True,
            seed=0,
            engine=engine,
            explore=explore,
        )
        return model

    x, y = X_MOONS[3], float(Y_MOONS[3])
    recorder = nn.Recorder(x, y)
    train(3, recorder)
    assert [s.step for s in recorder.snapshots] == [0, 1, 2, 3]
    assert [s.epoch for s in recorder.snapshots] == [0.0, 1.0, 2.0, 3.0]
    for k, snap in enumerate(recorder.snapshots):
        twin = nn.MLP(2, [4, 1], activation="tanh", seed=0) if k == 0 else train(k)
        data, grad, loss = snapshot_of(*independent_graph(twin, x, y))
        assert snap.data == data  # bit for bit: the same weights, the same graph
        assert snap.grad == grad
        assert snap.loss == loss


@pytest.mark.parametrize("engine", ENGINES)
def test_recorded_grads_are_the_hand_derived_ones_and_the_ones_sgd_used(engine):
    # One linear neuron trained on this one sample: loss = (w0 a + w1 b + c - t)^2, so
    # dL/dw0 = 2 (out - t) a, and each step moves a weight by -lr times its recorded grad.
    (a, b), t, lr = (0.5, -2.0), 1.5, 0.05
    model = nn.Neuron(2, activation="linear", seed=3)
    recorder = nn.Recorder([a, b], t)
    nn.fit(
        model,
        [[a, b]],
        [t],
        loss="mse",
        optimizer=nn.SGD(model.parameters(), lr=lr),
        epochs=4,
        quiet=True,
        engine=engine,
        explore=recorder,
    )
    order = topological_order(recorder.output)
    at = {
        name: next(i for i, n in enumerate(order) if n is p)
        for name, p in [("w0", model.w[0]), ("w1", model.w[1]), ("c", model.b)]
    }
    assert [n.label for n in order if n.label.startswith("x")] == ["x0", "x1"]
    for snap in recorder.snapshots:
        w0, w1, c = (snap.data[at[k]] for k in ("w0", "w1", "c"))
        out = w0 * a + w1 * b + c
        assert snap.loss == pytest.approx((out - t) ** 2, rel=1e-12)
        assert snap.grad[at["w0"]] == pytest.approx(2 * (out - t) * a, rel=1e-12)
        assert snap.grad[at["w1"]] == pytest.approx(2 * (out - t) * b, rel=1e-12)
        assert snap.grad[at["c"]] == pytest.approx(2 * (out - t), rel=1e-12)
        assert snap.grad[-1] == 1.0  # the root
    for before, after in zip(recorder.snapshots, recorder.snapshots[1:]):
        for i in at.values():
            assert after.data[i] == pytest.approx(before.data[i] - lr * before.grad[i], rel=1e-12)


def test_step_zero_is_the_untrained_model_cross_entropy_three_classes():
    model = nn.MLP(2, [5, 3], seed=0)
    fresh = nn.MLP(2, [5, 3], seed=0)
    x, label = X_BLOBS[0], int(Y_BLOBS[0])
    recorder = nn.Recorder(x, label, every=2)
    nn.fit(
        model,
        X_BLOBS,
        Y_BLOBS,
        loss="cross_entropy",
        optimizer=nn.SGD(model.parameters(), lr=0.1),
        epochs=4,
        batch_size=10,
        quiet=True,
        seed=0,
        engine="compiled",
        explore=recorder,
    )
    for snap, m in [(recorder.snapshots[0], fresh), (recorder.snapshots[-1], model)]:
        z = np.array([v.data for v in m(x.tolist())])
        expected = math.log(np.exp(z - z.max()).sum()) + z.max() - z[label]
        assert snap.loss == pytest.approx(expected, rel=1e-12)
    first = snapshot_of(*independent_graph(fresh, x, label, nn.CrossEntropyLoss()))
    assert recorder.snapshots[0].data == first[0] and recorder.snapshots[0].grad == first[1]
    # 3 batches per epoch, every 2 steps: epochs as a float
    assert [(s.step, s.epoch) for s in recorder.snapshots[:3]] == [(0, 0.0), (2, 2 / 3), (4, 4 / 3)]
    assert recorder.snapshots[-1].step == 12


def test_without_a_target_the_root_is_the_output_and_several_outputs_are_summed():
    layer = nn.Layer(2, 2, activation="linear", seed=0)
    x = [0.25, -1.5]
    recorder = nn.Recorder(x)
    nn.fit(
        layer,
        X_MOONS,
        np.stack([Y_MOONS, -Y_MOONS], axis=1).astype(float),
        loss="mse",
        optimizer=nn.SGD(layer.parameters(), lr=0.1),
        epochs=2,
        quiet=True,
        explore=recorder,
    )
    order = topological_order(recorder.output)
    for snap in recorder.snapshots:
        assert snap.loss is None
        outputs = [
            sum(w * v for w, v in zip(n_w, x)) + n_b
            for n_w, n_b in (
                ([snap.data[order.index(w)] for w in n.w], snap.data[order.index(n.b)])
                for n in layer.neurons
            )
        ]
        assert snap.data[-1] == pytest.approx(sum(outputs), rel=1e-12)
        for neuron in layer.neurons:  # d(out0 + out1)/dw_j = x_j, d/db = 1
            assert [snap.grad[order.index(w)] for w in neuron.w] == pytest.approx(x, rel=1e-12)
            assert snap.grad[order.index(neuron.b)] == 1.0
    single = nn.MLP(2, [3, 1], seed=0)
    recorder = nn.Recorder(x)
    nn.fit(single, X_MOONS, Y_MOONS, epochs=2, quiet=True, explore=recorder)
    assert recorder.output.data == pytest.approx(float(single.predict([x])[0]), rel=1e-12)
    own = single([Value(v) for v in x])  # the root is the output itself: no node added
    assert len(recorder.snapshots[-1].data) == len(topological_order(own))


# ----- training is not disturbed --------------------------------------------------------
def _train(
    engine, explore=None, *, model=None, loss="hinge", X=X_MOONS, Y=Y_MOONS, lr=None, **options
):
    model = model or nn.MLP(2, [6, 1], activation="tanh", seed=0)
    if lr is not None:
        options["optimizer"] = nn.SGD(model.parameters(), lr=lr)
    history = nn.fit(
        model, X, Y, loss=loss, quiet=True, seed=0, engine=engine, explore=explore, **options
    )
    return model, history


CONFIGS = {
    "full batch sgd": dict(optimizer="sgd", epochs=6),
    "stochastic adam": dict(optimizer="adam", batch_size=1, epochs=2),
    "mini-batches": dict(batch_size=7, epochs=4),
    "validation + early stopping": dict(
        lr=0.3, batch_size=4, epochs=20, validation=0.3, early_stopping=2, metrics=["accuracy"]
    ),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("config", list(CONFIGS))
def test_recording_changes_no_number_of_training(engine, config):
    options = CONFIGS[config]
    plain, plain_history = _train(engine, **options)
    recorder = nn.Recorder(X_MOONS[0], Y_MOONS[0], every=1, max_snapshots=8)
    recorded, history = _train(engine, recorder, **options)
    assert recorded.state_dict() == plain.state_dict()  # bit for bit
    assert history.as_dict() == plain_history.as_dict()
    assert (history.best_epoch, history.stop_reason) == (
        plain_history.best_epoch,
        plain_history.stop_reason,
    )
    assert history.engine == plain_history.engine == engine
    assert history.stopped_early == ("early_stopping" in options)
    assert 2 <= len(recorder) <= 8 and recorder.snapshots[0].step == 0
    assert recorder.losses == history["loss"]


@pytest.mark.parametrize("engine", ENGINES)
def test_three_classes_and_a_penalty_are_not_disturbed(engine):
    def model():
        return nn.MLP(2, [5, 3], seed=1)

    options = dict(
        loss="cross_entropy",
        X=X_BLOBS,
        Y=Y_BLOBS,
        batch_size=8,
        epochs=3,
        penalty=nn.L2(1e-3),
        optimizer="adam",
    )
    plain, plain_history = _train(engine, model=model(), **options)
    recorder = nn.Recorder(X_BLOBS[5], Y_BLOBS[5], every=2)
    recorded, history = _train(engine, recorder, model=model(), **options)
    assert recorded.state_dict() == plain.state_dict()
    assert history.as_dict() == plain_history.as_dict()
    # the recorded loss is the sample's, without the penalty
    root, _ = independent_graph(recorded, X_BLOBS[5], int(Y_BLOBS[5]), nn.CrossEntropyLoss())
    assert recorder.snapshots[-1].loss == root.data


def test_dropout_draws_no_random_number_while_recording():
    def train(explore=None):
        model = nn.MLP(2, [8, 1], dropout=0.3, seed=0)
        return _train("scalar", explore, model=model, batch_size=5, epochs=3)

    plain, plain_history = train()
    recorder = nn.Recorder(X_MOONS[1], Y_MOONS[1])
    recorded, history = train(recorder)
    assert recorded.state_dict() == plain.state_dict()
    assert history.as_dict() == plain_history.as_dict()


def test_syncing_the_compiled_step_more_often_changes_no_number():
    X, targets = X_MOONS, np.where(Y_MOONS > 0, 1.0, -1.0)
    finals = []
    for sync_every_step in (False, True):
        model = nn.MLP(2, [6, 1], seed=0)
        step = CompiledStep(model, nn.HingeLoss(), nn.Adam(model.parameters(), lr=0.05))
        step.prepare(X, targets, 1)
        step.use_data(X, step.encode(targets))
        for i in range(12):
            step.step_rows(slice(i % 3 * 10, i % 3 * 10 + 10))
            if sync_every_step:
                step.sync()
        step.sync()
        finals.append((model.state_dict(), [p.grad for p in model.parameters()]))
    assert finals[0] == finals[1]


def test_parameter_grads_during_training_are_given_back():
    # a ScalarStep zeroes grads anyway; check the recorder directly: grads it found
    # before a recording are there after it
    model = nn.MLP(2, [3, 1], seed=0)
    for i, p in enumerate(model.parameters()):
        p.grad = 0.5 + i
    before = [p.grad for p in model.parameters()]
    recorder = nn.Recorder(X_MOONS[0], Y_MOONS[0])
    step = nn.ScalarStep(model, nn.MSELoss(), nn.SGD(model.parameters(), lr=0.1))
    recorder._watch(
        step, model=model, loss=nn.MSELoss(), width=1, n_inputs=2, batches_per_epoch=1, history=None
    )
    assert [p.grad for p in model.parameters()] == before
    assert len(recorder) == 1 and any(g != 0 for g in recorder.snapshots[0].grad)


# ----- bounding -------------------------------------------------------------------------
class CheckedRecorder(nn.Recorder):
    """Checks after every step that the bound holds while training runs."""

    def _after_step(self):
        super()._after_step()
        assert len(self.snapshots) <= self.max_snapshots


@pytest.mark.parametrize(
    ("every", "max_snapshots"), [(1, 2), (1, 3), (1, 10), (2, 5), (3, 7), (1, 201), (5, 100)]
)
def test_snapshots_stay_bounded_and_evenly_spaced_over_the_whole_run(every, max_snapshots):
    model = nn.Neuron(1, activation="linear", seed=0)
    recorder = CheckedRecorder([0.5], 2.5, every=every, max_snapshots=max_snapshots)
    nn.fit(
        model,
        X_LINE,
        Y_LINE,
        optimizer=nn.SGD(model.parameters(), lr=0.05),
        batch_size=1,
        epochs=10,
        shuffle=False,
        quiet=True,
        engine="scalar",
        explore=recorder,
    )
    steps = [s.step for s in recorder.snapshots]
    total = 200
    assert len(recorder) <= max_snapshots
    assert steps[0] == 0 and steps[-1] == total
    assert recorder.every % every == 0 and math.log2(recorder.every // every).is_integer()
    gaps = np.diff(steps)
    assert (gaps[:-1] == recorder.every).all() and 0 < gaps[-1] <= recorder.every

    # the interval doubled only as often as needed
    def needed(e):
        return total // e + 1 + (total % e != 0)

    expected = every
    while needed(expected) > max_snapshots:
        expected *= 2
    assert recorder.every == expected
    assert [s.epoch for s in recorder.snapshots] == [s / 20 for s in steps]
    assert recorder.snapshots[-1].data == snapshot_of(*independent_graph(model, [0.5], 2.5))[0]


def test_the_final_state_is_recorded_once_when_it_falls_on_the_interval():
    model = nn.Neuron(1, activation="linear", seed=0)
    recorder = nn.Recorder([0.5], 2.5, every=2)
    nn.fit(model, X_LINE, Y_LINE, epochs=6, quiet=True, explore=recorder)
    assert [s.step for s in recorder.snapshots] == [0, 2, 4, 6]
    recorder = nn.Recorder([0.5], 2.5, every=4)
    nn.fit(model, X_LINE, Y_LINE, epochs=6, quiet=True, explore=recorder)
    assert [s.step for s in recorder.snapshots] == [0, 4, 6]


# ----- after fit ------------------------------------------------------------------------
def test_output_model_losses_len_and_repr_after_fit():
    model = nn.MLP(2, [4, 1], seed=0)
    recorder = nn.Recorder(X_MOONS[2], Y_MOONS[2], every=3)
    assert len(recorder) == 0 and "nothing recorded yet" in repr(recorder)
    history = nn.fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=7, quiet=True, explore=recorder)
    assert recorder.model is model and recorder.losses == history["loss"]
    assert len(recorder) == len(recorder.snapshots) == 4  # steps 0, 3, 6, 7
    order = topological_order(recorder.output)
    last = recorder.snapshots[-1]
    assert [n.data for n in order] == last.data and [n.grad for n in order] == last.grad
    params = {id(p) for p in model.parameters()}
    assert params <= {id(n) for n in order}  # the model's own Values, to draw with names
    assert recorder.output.label == "" or isinstance(recorder.output.label, str)
    text = repr(recorder)
    assert "4 snapshots" in text and f"{len(last.data)} nodes" in text and "steps 0..7" in text
    assert f"y={int(Y_MOONS[2])}," in text and "np." not in text
    with pytest.raises(Exception):  # noqa: B017 - frozen
        last.step = 3  # type: ignore[misc]


def test_every_snapshot_has_the_same_graph_shape():
    model = nn.MLP(2, [4, 4, 1], seed=0)
    recorder = nn.Recorder(X_MOONS[4], Y_MOONS[4])
    nn.fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=5, quiet=True, explore=recorder)
    assert len({len(s.data) for s in recorder.snapshots}) == 1
    assert all(len(s.data) == len(s.grad) for s in recorder.snapshots)


def test_restored_best_weights_give_an_output_built_from_them():
    model = nn.Neuron(1, activation="linear", seed=0)
    recorder = nn.Recorder([0.5], 2.5)
    history = nn.fit(
        model,
        X_LINE,
        Y_LINE,
        optimizer=nn.SGD(model.parameters(), lr=1.6),
        epochs=30,
        early_stopping=1,
        quiet=True,
        explore=recorder,
    )
    assert history.stopped_early
    last = recorder.snapshots[-1]
    assert last.step == len(history)  # the snapshots end at the last step...
    root, order = independent_graph(model, [0.5], 2.5)
    assert recorder.output.data == root.data  # ...the output is the model fit returns
    assert [n.data for n in topological_order(recorder.output)] == [n.data for n in order]
    assert recorder.output.data != last.loss


def test_a_recorder_reused_for_a_second_fit_starts_over():
    model = nn.MLP(2, [3, 1], seed=0)
    recorder = nn.Recorder(X_MOONS[0], Y_MOONS[0], every=1, max_snapshots=2)
    nn.fit(model, X_MOONS, Y_MOONS, epochs=5, quiet=True, explore=recorder)
    first_end = recorder.snapshots[-1]
    assert recorder.every > 1
    nn.fit(model, X_MOONS, Y_MOONS, epochs=1, quiet=True, explore=recorder)
    assert [s.step for s in recorder.snapshots] == [0, 1] and recorder.every == 1
    assert recorder.snapshots[0].data == first_end.data
    assert len(recorder.losses) == 1


def test_a_graph_that_changes_shape_stops_the_fit_with_a_clear_error():
    class Switch(nn.Module):
        nin = 1

        def __init__(self):
            self.w = Value(0.3, label="w")

        def __call__(self, x):
            x = x[0]
            return self.w * x if self.w.data > 0 else (self.w * x).tanh()

    model = Switch()
    with pytest.raises(RuntimeError, match="graph changed at step 1: it had 9 nodes, now 10"):
        nn.fit(
            model,
            [[1.0]],
            [-1.0],
            optimizer=nn.SGD(model.parameters(), lr=0.5),
            epochs=3,
            quiet=True,
            engine="scalar",
            explore=nn.Recorder([1.0], -1.0),
        )


# ----- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: nn.Recorder([1.0, 2.0], every=0), ValueError, "every must be a positive int"),
        (lambda: nn.Recorder([1.0, 2.0], every=1.5), TypeError, "every must be a positive int"),
        (
            lambda: nn.Recorder([1.0], max_snapshots=1),
            ValueError,
            "max_snapshots must be an int >= 2",
        ),
        (lambda: nn.Recorder([1.0, float("nan")]), ValueError, r"x\[1\] must be a finite number"),
        (lambda: nn.Recorder([1.0, math.inf]), ValueError, r"x\[1\] must be a finite number"),
        (lambda: nn.Recorder("12"), TypeError, "x must be one sample"),
        (lambda: nn.Recorder(3.0), TypeError, "x must be one sample"),
        (lambda: nn.Recorder([]), ValueError, "at least one number"),
        (lambda: nn.Recorder(np.ones((2, 2))), ValueError, "flat sequence"),
        (lambda: nn.Recorder([Value(1.0)]), TypeError, r"x\[0\] must be a finite number"),
    ],
)
def test_bad_recorder_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_sample_that_does_not_fit_the_model_or_loss_is_refused_before_training():
    model = nn.MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="x has 3 numbers, the model takes 2"):
        nn.fit(model, X_MOONS, Y_MOONS, epochs=1, quiet=True, explore=nn.Recorder([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="x has 1 number, the model takes 2"):
        nn.fit(model, X_MOONS, Y_MOONS, epochs=1, quiet=True, explore=nn.Recorder([1.0]))
    classifier = nn.MLP(2, [3, 3], seed=0)
    with pytest.raises(ValueError, match="explore: y = 5"):
        nn.fit(
            classifier,
            X_BLOBS,
            Y_BLOBS,
            loss="cross_entropy",
            epochs=1,
            quiet=True,
            explore=nn.Recorder(X_BLOBS[0], 5),
        )
    with pytest.raises(TypeError, match=r"explore must be an nn\.Recorder"):
        nn.fit(model, X_MOONS, Y_MOONS, epochs=1, quiet=True, explore=[1.0, 2.0])
    assert model.state_dict() == before


def test_numpy_rows_and_labels_are_samples():
    recorder = nn.Recorder(np.array([1, 2]), np.int64(1), every=np.int64(2))
    assert recorder.x == (1.0, 2.0) and recorder.every == 2


def test_a_sample_the_loss_refuses_is_the_recorder_s_error_not_a_divergence():
    # bce takes probabilities: a raw output outside [0, 1] for this sample
    model = nn.Neuron(1, activation="linear", seed=0)
    model.w[0].data, model.b.data = 1.0, 0.0
    with pytest.raises(
        RuntimeError, match="explore: recording the sample's graph failed at step 0"
    ):
        nn.fit(
            model, [[0.5]], [1.0], loss="bce", epochs=1, quiet=True, explore=nn.Recorder([7.0], 1.0)
        )
