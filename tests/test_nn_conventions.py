"""Conventions that hold across nn: whole-number arguments are checked one way, names do not
mislead, the shipped dataset files live where the package data says."""

from __future__ import annotations

import re
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import nn
from autograd.explain import BackwardStep
from nn.compiled import CompiledStep
from nn.strategies import networks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

ROOT = Path(__file__).resolve().parents[1]
X4, Y4 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]), np.array([0, 1, 1, 0])


def _fit(**kwargs):
    return nn.fit(nn.MLP(2, [2, 1], seed=0), X4, Y4, loss="hinge", quiet=True, **kwargs)


# (the name the error uses, a call taking the value, the smallest value allowed)
WHOLE_NUMBER_ARGUMENTS = [
    ("epochs", lambda v: _fit(epochs=v), 1),
    ("batch_size", lambda v: _fit(epochs=1, batch_size=v), 1),
    ("early_stopping (the patience, in epochs)", lambda v: _fit(epochs=1, early_stopping=v), 1),
    ("seed", lambda v: _fit(epochs=1, seed=v), 0),
    ("fan_in", lambda v: nn.init_weights("he", v), 1),
    ("fan_out", lambda v: nn.init_weights("xavier", 3, v), 1),
    ("nin", lambda v: nn.Neuron(v), 1),
    ("nout", lambda v: nn.Layer(2, v), 1),
    ("each layer size", lambda v: nn.MLP(2, [3, v]), 1),
    ("epochs", lambda v: nn.Perceptron(2).fit(X4, Y4, epochs=v), 1),
    ("n_splits", lambda v: nn.KFold(v), 2),
    ("batch_size", lambda v: list(nn.batches(X4, Y4, batch_size=v)), 1),
    ("max_shift", lambda v: nn.shift_images(np.zeros((1, 64)), max_shift=v), 0),
    ("copies", lambda v: nn.augment(X4, Y4, copies=v), 0),
    ("n_samples", lambda v: nn.datasets.make_moons(v), 2),
    ("n_samples", lambda v: nn.datasets.make_xor(v), 1),
    ("centers", lambda v: nn.datasets.make_blobs(10, centers=v), 1),
    ("n_features", lambda v: nn.datasets.make_blobs(10, n_features=v), 1),
    ("n_classes", lambda v: nn.datasets.make_spiral(10, n_classes=v), 1),
    ("step_size", lambda v: nn.StepDecay(nn.SGD(nn.Neuron(1).parameters()), step_size=v), 1),
    ("total_steps", lambda v: nn.LinearDecay(nn.SGD(nn.Neuron(1).parameters()), v), 1),
    ("networks: max_width", lambda v: networks(max_width=v), 1),
]


@pytest.mark.parametrize(
    ("name", "call", "minimum"),
    WHOLE_NUMBER_ARGUMENTS,
    ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(WHOLE_NUMBER_ARGUMENTS)],
)
def test_every_whole_number_argument_is_checked_the_same_way(name, call, minimum):
    """TypeError for anything but an int, ValueError below the minimum; both name it."""
    start = "^" + re.escape(name) + " must be "
    for not_an_int in (2.0, True, "3"):
        with pytest.raises(TypeError, match=start + r".*int.*, not (float|bool|str): "):
            call(not_an_int)
    with pytest.raises(ValueError, match=start + rf".*int.*, got {minimum - 1}$"):
        call(minimum - 1)


def test_numpy_integers_are_whole_numbers():
    layer = nn.Layer(np.int64(2), np.int32(3), seed=0)
    assert (layer.nin, layer.nout) == (2, 3) and isinstance(layer.nout, int)


# ----- names that say what they are ------------------------------------------------------------
def test_training_steps_have_one_base_named_apart_from_backprop_steps():
    assert issubclass(nn.ScalarStep, nn.TrainingStep)
    assert issubclass(CompiledStep, nn.TrainingStep)
    assert nn.TrainingStep is not BackwardStep
    assert not hasattr(nn.steps, "Step"), "nn.steps.Step was renamed TrainingStep"


def test_no_helper_named_number_is_left_in_nn():
    modules = [m for name, m in sys.modules.items() if name == "nn" or name.startswith("nn.")]
    assert [m.__name__ for m in modules if hasattr(m, "_number")] == []


# ----- the shipped dataset files ---------------------------------------------------------------
def test_dataset_files_live_in_their_own_folder_beside_the_data_module():
    folder = resources.files("nn") / nn.datasets.DATASET_FILES
    assert nn.datasets.DATASET_FILES == "dataset_files"
    for name in (nn.datasets.CHURN_FILE, nn.datasets.DIGITS_FILE, "README.md", "make_churn.py"):
        assert (folder / name).is_file(), name
    assert not (ROOT / "nn" / "data").exists(), "nn/data/ beside nn/data.py is confusing"
    assert (ROOT / "nn" / "data.py").is_file()


@pytest.mark.skipif(tomllib is None, reason="tomllib needs Python 3.11")
def test_the_package_data_ships_the_dataset_folder():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["nn"]
    assert globs == [f"{nn.datasets.DATASET_FILES}/*"]
    shipped = {p.name for p in (ROOT / "nn" / nn.datasets.DATASET_FILES).glob("*")}
    assert {nn.datasets.CHURN_FILE, nn.datasets.DIGITS_FILE} <= shipped
