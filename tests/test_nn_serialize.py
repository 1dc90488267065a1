"""nn.serialize: exact round trips, atomic saves, and clear errors for bad files that leave
models untouched."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nn
from nn.serialize import FORMAT, VERSION, ModelFileError


@pytest.fixture
def saved(tmp_path):
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    path = tmp_path / "model.json"
    model.save(path)
    return model, path


def test_round_trip_rebuilds_architecture_and_weights(saved):
    model, path = saved
    loaded = nn.load(path)
    assert type(loaded) is nn.MLP
    assert repr(loaded) == repr(model)
    assert loaded.state_dict() == model.state_dict()
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert (loaded.predict(X) == model.predict(X)).all()
    document = json.loads(path.read_text())
    assert document["format"] == FORMAT and document["version"] == VERSION
    assert document["model"]["config"]["activation"] == ["tanh", "linear"]


weights = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 0.1 + 0.2]
)


@given(st.lists(weights, min_size=9, max_size=9))
def test_every_float_round_trips_bit_for_bit(tmp_path_factory, numbers):
    model = nn.MLP(2, [2, 1], seed=0)
    for p, number in zip(model.parameters(), numbers):
        p.data = number
    path = tmp_path_factory.mktemp("exact") / "m.json"
    nn.save(model, path)
    loaded = [p.data for p in nn.load(path).parameters()]
    assert [np.float64(v).tobytes() for v in loaded] == [np.float64(v).tobytes() for v in numbers]


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Neuron(3, activation="sigmoid", bias=False, seed=0),
        lambda: nn.Layer(2, 3, activation="leaky_relu", seed=0),
        lambda: nn.MLP(2, [5, 1], dropout=0.3, seed=0),
        lambda: nn.Sequential(
            nn.Layer(2, 4, activation="tanh", seed=0),
            nn.Dropout(0.2),
            nn.Layer(4, 1, nonlin=False, seed=1),
        ),
    ],
)
def test_every_module_kind_round_trips(tmp_path, make):
    model = make()
    model.save(tmp_path / "m.json")
    loaded = nn.load(tmp_path / "m.json")
    assert repr(loaded) == repr(model) and loaded.state_dict() == model.state_dict()


def test_a_trained_perceptron_keeps_its_classes(tmp_path):
    perceptron = nn.Perceptron(2)
    perceptron.fit([[0, 0], [1, 1]], [-1, 1])
    perceptron.save(tmp_path / "p.json")
    loaded = nn.load(tmp_path / "p.json")
    assert loaded.classes == [-1, 1] and loaded.predict([[1, 1]]).tolist() == [1]


def test_loading_does_not_touch_the_global_random_state(saved):
    _, path = saved
    random.seed(3)
    expected = random.random()
    random.seed(3)
    nn.load(path)
    assert random.random() == expected


def test_load_weights_into_the_same_architecture(saved):
    model, path = saved
    other = nn.MLP(3, [4, 2], activation="tanh", seed=9)
    other.load_weights(path)
    assert other.state_dict() == model.state_dict()


def test_a_mismatched_architecture_is_refused_and_the_model_untouched(saved):
    _, path = saved
    for other in (nn.MLP(3, [5, 2], activation="tanh", seed=1), nn.MLP(3, [4, 2], seed=1)):
        before = other.state_dict()
        with pytest.raises(ModelFileError, match="different architecture"):
            other.load_weights(path)
        assert other.state_dict() == before


def _rewrite(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def _reseal(document):
    from nn.serialize import _checksum

    document["checksum"] = _checksum(document["model"], document["parameters"])


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "truncated"),
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "truncated"),
        (lambda p: p.write_bytes(p.read_bytes()[:-3]), "truncated"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff"), "not UTF-8"),
        (lambda p: p.write_text(p.read_text().replace(":", ";", 3)), "invalid JSON at line"),
        (lambda p: p.write_text('{"format": "something-else"}'), "not a chainrule model file"),
        (lambda p: p.write_text("[1, 2, 3]"), "not a chainrule model file"),
        (lambda p: _rewrite(p, lambda d: d.update(version=VERSION + 1)), "newer chainrule"),
        (lambda p: _rewrite(p, lambda d: d.update(version="1")), "version is missing"),
        (lambda p: _rewrite(p, lambda d: d.pop("parameters")), "'parameters' entry"),
        (
            lambda p: _rewrite(p, lambda d: d["parameters"].update({"layers.0.neurons.0.b": 7.5})),
            "checksum does not match",
        ),
        (
            lambda p: _rewrite(
                p, lambda d: (d["parameters"].pop("layers.1.neurons.1.b"), _reseal(d))
            ),
            "declares 26 parameters, but there are 25 weights",
        ),
        (
            lambda p: _rewrite(
                p, lambda d: (d["parameters"].update({"layers.0.neurons.0.b": "x"}), _reseal(d))
            ),
            "must be a number",
        ),
        (
            lambda p: _rewrite(p, lambda d: (d["model"].update(type="Transformer"), _reseal(d))),
            "unknown module type 'Transformer'",
        ),
        (
            lambda p: _rewrite(
                p, lambda d: (d["model"]["config"].update(activation=["tanh"]), _reseal(d))
            ),
            "cannot rebuild the model.*one name per layer",
        ),
    ],
)
def test_bad_files_raise_clear_errors_and_leave_models_untouched(saved, damage, match):
    model, path = saved
    damage(path)
    with pytest.raises(ModelFileError, match=match) as info:
        nn.load(path)
    assert str(path) in str(info.value)
    target = nn.MLP(3, [4, 2], activation="tanh", seed=5)
    before = target.state_dict()
    with pytest.raises(ModelFileError):
        target.load_weights(path)
    assert target.state_dict() == before


def test_a_flipped_digit_anywhere_in_a_weight_is_caught(saved):
    _, path = saved
    text = path.read_text()
    name = '"layers.1.neurons.0.w.2": '
    start = text.index(name) + len(name)
    digit = next(i for i in range(start + 3, start + 20) if text[i].isdigit())
    flipped = text[:digit] + str((int(text[digit]) + 1) % 10) + text[digit + 1 :]
    path.write_text(flipped)
    with pytest.raises(ModelFileError, match="checksum"):
        nn.load(path)


def test_missing_files_and_directories():
    with pytest.raises(FileNotFoundError, match="no model file at"):
        nn.load("/nonexistent/model.json")
    with pytest.raises(FileNotFoundError, match="directory /nonexistent does not exist"):
        nn.MLP(1, [1], seed=0).save("/nonexistent/model.json")


def test_a_crash_during_save_leaves_the_previous_file_whole(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()
    for p in model.parameters():
        p.data += 1.0

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]  # no temp files left
    model.save(path)
    assert nn.load(path).state_dict() == model.state_dict()


def test_refusals_before_writing(saved):
    model, path = saved
    before = path.read_bytes()
    model.layers[0].neurons[0].b.data = float("nan")
    with pytest.raises(ValueError, match=r"parameter layers.0.neurons.0.b is nan"):
        model.save(path)

    class Custom(nn.Module):
        def __init__(self):
            self.inner = nn.Neuron(1)

    with pytest.raises(NotImplementedError, match="define get_config"):
        Custom().save(path)
    assert path.read_bytes() == before


def test_saved_files_get_normal_permissions(tmp_path):
    path = nn.save(nn.Neuron(1, seed=0), tmp_path / "m.json")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


SIZED = {
    "Neuron": [lambda: nn.Neuron(3, seed=0), lambda: nn.Neuron(2, bias=False, seed=0)],
    "Layer": [lambda: nn.Layer(3, 4, seed=0), lambda: nn.Layer(2, 1, bias=False, seed=0)],
    "MLP": [lambda: nn.MLP(3, [4, 2], seed=0), lambda: nn.MLP(2, [5, 1], dropout=0.3, seed=0)],
    "Sequential": [
        lambda: nn.Sequential(nn.Layer(2, 3, seed=0), nn.Dropout(0.1), nn.MLP(3, [2], seed=0)),
        lambda: nn.Sequential(nn.Sequential(nn.Neuron(2, seed=0))),
    ],
    "Dropout": [lambda: nn.Dropout(0.5)],
    "Perceptron": [lambda: nn.Perceptron(4)],
}


def test_every_nn_module_type_is_counted_from_its_config():
    """spec_size knows every type nn registers: a new module type needs a counter there."""
    own = {name for name in nn.specs.MODULE_TYPES if "." not in name}
    assert own == set(SIZED)


@pytest.mark.parametrize("make", [m for makers in SIZED.values() for m in makers])
def test_counting_a_spec_agrees_with_building_it(make):
    model = make()
    size = nn.specs.spec_size(json.loads(json.dumps(nn.specs.module_spec(model))))
    assert size == (model.num_parameters(), len(model.modules()), True)


class Custom(nn.Module):
    def __init__(self):
        self.inner = nn.Neuron(1, seed=0)

    def get_config(self):
        return {}


def test_a_custom_module_type_is_counted_as_a_lower_bound_and_still_loads(tmp_path):
    model = nn.Sequential(nn.Layer(2, 3, seed=0), Custom())
    spec = nn.specs.module_spec(model)
    assert nn.specs.spec_size(spec) == (9, 6, False)  # Custom: one module, parameters unknown
    model.save(tmp_path / "m.json")
    assert nn.load(tmp_path / "m.json").state_dict() == model.state_dict()
