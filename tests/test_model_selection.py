"""Cross-validation and searches: the same scores for any n_jobs and backend, failures recorded."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn

X, Y = nn.datasets.make_moons(n_samples=60, noise=0.1, seed=0)
FIT = {"loss": "hinge", "epochs": 8, "metrics": ["accuracy"]}


def make_model(lr=0.1, width=4):
    model = nn.MLP(2, [width, 1], seed=0)
    return model, nn.SGD(model.parameters(), lr=lr)


def make_model_that_may_fail(lr=0.1, width=4):
    model = nn.MLP(2, [width, 1], seed=0)
    if lr > 1e300:  # a training that diverges at its first step
        return model, nn.Adam(model.parameters(), lr=lr)
    return model, nn.SGD(model.parameters(), lr=lr)  # lr < 0: an error in make_model


def _table(result):
    return [(row["config"], row["mean"], row["std"], row["failed"]) for row in result.table]


# ----- cross-validation ----------------------------------------------------------------------
def test_cross_validation_scores_each_fold_on_its_held_out_part():
    result = nn.cross_validate(make_model, X, Y, k=3, quiet=True, **FIT)
    assert [run.fold for run in result.runs] == [0, 1, 2]
    for run in result.runs:
        assert run.ok and len(run.history["loss"]) == FIT["epochs"]
        assert run.scores["val_loss"] == run.history["val_loss"][-1]
        assert 0.0 <= run.scores["val_accuracy"] <= 1.0
    mean, std = result.summary["val_accuracy"]
    values = [run.scores["val_accuracy"] for run in result.runs]
    assert mean == pytest.approx(np.mean(values)) and std == pytest.approx(np.std(values))
    held_out = nn.cross_validate(make_model, X, Y, k=3, quiet=True, seed=1, **FIT)
    assert held_out.summary != result.summary  # another seed, other folds


def test_a_fold_is_trained_on_the_other_folds_and_scored_on_its_own():
    """Rebuild fold 0 by hand from the same stratified split and compare the numbers."""
    result = nn.cross_validate(make_model, X, Y, k=3, quiet=True, seed=5, **FIT)
    folds = list(nn.data.StratifiedKFold(3, shuffle=True, seed=5).split(X, Y))
    train, test = folds[0]
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == len(X)
    model, optimizer = make_model()
    for p, (name, value) in zip(model.parameters(), model.state_dict().items()):
        assert p.data == value, name
    import random

    random.seed(5 * 1000)
    np.random.seed(5 * 1000)
    model, optimizer = make_model()
    history = nn.fit(
        model, X[train], Y[train], optimizer=optimizer, validation=(X[test], Y[test]),
        quiet=True, seed=5 * 1000, **FIT,
    )  # fmt: skip
    assert result.runs[0].scores["val_loss"] == history["val_loss"][-1]
    assert result.runs[0].state == model.state_dict()


def test_stratified_folds_keep_the_class_balance():
    y = np.array([0] * 40 + [1] * 20)
    X2 = np.random.default_rng(0).normal(size=(60, 2))
    result = nn.cross_validate(make_model, X2, y, k=4, quiet=True, loss="hinge", epochs=1)
    assert all(run.ok for run in result.runs)
    folds = list(nn.data.StratifiedKFold(4, shuffle=True, seed=0).split(X2, y))
    for _, test in folds:
        assert sorted(np.bincount(y[test]).tolist()) == [5, 10]


# ----- searches --------------------------------------------------------------------------------
def test_a_search_ranks_every_configuration_by_its_score():
    grid = {"lr": [0.001, 0.1, 1.0], "width": [2, 4]}
    result = nn.search(make_model, grid, X, Y, k=2, score="val_accuracy", quiet=True, **FIT)
    table = result.table
    assert len(table) == 6 and {str(r["config"]) for r in table} == {
        str({"lr": lr, "width": w}) for lr in grid["lr"] for w in grid["width"]
    }
    means = [row["mean"] for row in table]
    assert means == sorted(means, reverse=True)  # accuracy: higher is better
    assert result.best_config == table[0]["config"] and result.greater_is_better
    assert isinstance(result.best_model, nn.MLP)
    assert len(result.runs) == 12 and all(len(r.runs) == 2 for r in result.results)
    by_loss = nn.search(make_model, grid, X, Y, k=2, quiet=True, refit=False, **FIT)
    losses = [row["mean"] for row in by_loss.table]
    assert losses == sorted(losses) and by_loss.best_model is None  # a loss: lower is better
    assert "rank" in str(result) and str(table[0]["config"]) in str(result)


def test_a_sampler_draws_reproducible_configurations():
    def sampler(rng):
        return {"lr": round(10 ** rng.uniform(-3, 0), 6)}

    first = nn.search(make_model, sampler, X, Y, n_samples=3, k=2, quiet=True, **FIT)
    again = nn.search(make_model, sampler, X, Y, n_samples=3, k=2, quiet=True, **FIT)
    assert _table(first) == _table(again)
    assert len({str(r["config"]) for r in first.table}) == 3


def test_failing_configurations_are_recorded_and_the_others_go_on():
    grid = {"lr": [1e308, 0.1, -1.0]}
    result = nn.search(make_model_that_may_fail, grid, X, Y, k=2, quiet=True, **FIT)
    good, *bad = result.results
    assert good.config == {"lr": 0.1} and not good.failed
    diverged, broken = sorted(bad, key=lambda r: -r.config["lr"])
    assert all(run.error.startswith("TrainingDiverged") for run in diverged.runs)
    assert all(run.error.startswith("ValueError: lr must be") for run in broken.runs)
    assert math.isnan(diverged.mean("val_loss")) and math.isnan(broken.mean("val_loss"))
    assert [row["failed"] for row in result.table] == [0, 2, 2]
    assert result.best_config == {"lr": 0.1}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: nn.search(make_model, {}, X, Y), TypeError, "needs a grid"),
        (lambda: nn.search(make_model, {"lr": []}, X, Y), ValueError, "empty"),
        (lambda: nn.search(make_model, {"lr": 0.1}, X, Y), TypeError, "list of values"),
        (lambda: nn.cross_validate(make_model, X, Y, k=1), ValueError, "k must be"),
        (lambda: nn.cross_validate("model", X, Y), TypeError, "make_model must be a function"),
        (lambda: nn.cross_validate(make_model, X, Y, validation=0.2), TypeError, "validation="),
        (lambda: nn.cross_validate(make_model, X, Y, backend="spark"), ValueError, "backend"),
        (lambda: nn.cross_validate(make_model, X, Y, n_jobs=1.5), TypeError, "n_jobs"),
        (
            lambda: nn.search(
                make_model, {"lr": [0.1]}, X, Y, score="val_f9", epochs=1, loss="hinge", quiet=True
            ),
            ValueError,
            "score 'val_f9'",
        ),
    ],
)
def test_bad_arguments_get_one_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----- the same results on one core, two processes and a Dask cluster --------------------------
GRID = {"lr": [0.05, 0.5], "width": [3, 5]}


@pytest.fixture(scope="module")
def serial():
    return nn.search(make_model, GRID, X, Y, k=2, quiet=True, refit=False, **FIT)


def test_two_processes_give_identical_results(serial):
    pytest.importorskip("joblib")
    parallel = nn.search(make_model, GRID, X, Y, k=2, quiet=True, refit=False, n_jobs=2, **FIT)
    assert _table(parallel) == _table(serial)
    assert [r.state for r in parallel.runs] == [r.state for r in serial.runs]


def test_a_dask_cluster_gives_identical_results(serial):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as cluster,
        distributed.Client(cluster),
    ):  # fmt: skip
        on_dask = nn.search(
            make_model, GRID, X, Y, k=2, quiet=True, refit=False, backend="dask", **FIT
        )
    assert _table(on_dask) == _table(serial)


def test_dask_without_a_client_says_how_to_start_one():
    pytest.importorskip("distributed")
    with pytest.raises(RuntimeError, match=r"start a distributed\.Client"):
        nn.cross_validate(make_model, X, Y, k=2, backend="dask", quiet=True, **FIT)


def test_a_missing_extra_names_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name.startswith("ray"):
            raise ImportError("no ray here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    import importlib

    monkeypatch.setattr(importlib, "import_module", lambda name: no_ray(name))
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[ray\]'"):
        nn.cross_validate(make_model, X, Y, k=2, backend="ray", quiet=True, **FIT)


def test_ctrl_c_stops_the_runs_with_a_clear_message():
    calls = []

    def interrupted(lr=0.1):
        calls.append(lr)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return make_model(lr)

    with pytest.raises(KeyboardInterrupt, match="stopped after 2 of 4 runs"):
        nn.search(interrupted, {"lr": [0.1, 0.2]}, X, Y, k=2, quiet=True, **FIT)


def test_ray_gives_identical_results(serial):
    """Optional: runs where Ray is installed (pip install 'chainrule[ray]')."""
    ray = pytest.importorskip("ray")
    import sys

    import cloudpickle  # Ray's workers cannot import this test module: send it by value

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        on_ray = nn.search(
            make_model, GRID, X, Y, k=2, quiet=True, refit=False, backend="ray", n_jobs=2, **FIT
        )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        ray.shutdown()
    assert _table(on_ray) == _table(serial)


def test_a_sampler_that_repeats_a_configuration_gets_its_own_runs():
    result = nn.search(
        make_model, lambda rng: {"lr": rng.choice([0.1, 1.0])}, X, Y, n_samples=4, k=2,
        quiet=True, refit=False, **FIT,
    )  # fmt: skip
    assert [len(r.runs) for r in result.results] == [2, 2, 2, 2]
    assert all(not math.isnan(row["mean"]) for row in result.table)


def test_when_every_run_fails_the_error_says_so():
    with pytest.raises(nn.RunsFailedError, match=r"all 2 runs failed.*ValueError: lr must be"):
        nn.cross_validate(make_model, X, Y, k=2, config={"lr": -1.0}, quiet=True, **FIT)


def test_a_misspelt_fit_argument_is_refused_before_any_run():
    with pytest.raises(TypeError, match=r"unknown fit argument\(s\) \['epoch'\]"):
        nn.cross_validate(make_model, X, Y, k=2, epoch=3, quiet=True)


def test_with_early_stopping_the_scores_are_those_of_the_kept_weights():
    result = nn.cross_validate(
        make_model, X, Y, k=2, config={"lr": 3.0}, quiet=True, loss="hinge", epochs=30,
        early_stopping=3, metrics=["accuracy"],
    )  # fmt: skip
    for run in result.runs:
        assert run.best_epoch is not None
        assert run.scores["val_loss"] == run.history["val_loss"][run.best_epoch]
        assert run.scores["val_loss"] == min(run.history["val_loss"])
