"""nn.serialize, more: exact messages for refused loads and saves, custom modules without
get_config, and models left untouched (the cases the mutation run found unchecked)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import signal
import stat
import sys

import pytest

import nn
from autograd import Value
from nn import serialize
from nn.serialize import ModelFileError


@pytest.fixture
def saved(tmp_path):
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    path = tmp_path / "model.json"
    model.save(path)
    return model, path


# ----- the error carries the path and the problem ----------------------------------------------
def test_a_model_file_error_holds_the_path_and_the_problem(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("")
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    assert info.value.path == str(path)
    assert info.value.problem == "the file is empty (truncated, or the save never finished)"
    assert str(info.value) == f"{path}: {info.value.problem}"


# ----- load_weights into a model of another architecture ---------------------------------------
def test_a_different_architecture_is_described_with_sorted_keys(saved):
    _, path = saved
    other = nn.MLP(3, [5, 2], activation="tanh", seed=1)
    before = other.state_dict()
    expected = (
        f"{path}: the file holds a different architecture: "
        '{"config": {"activation": ["tanh", "linear"], "bias": true, "dropout": 0.0, '
        '"nin": 3, "nouts": [4, 2]}, "type": "MLP"}; '
        "this model is "
        '{"config": {"activation": ["tanh", "linear"], "bias": true, "dropout": 0.0, '
        '"nin": 3, "nouts": [5, 2]}, "type": "MLP"}'
    )
    with pytest.raises(ModelFileError, match=f"^{re.escape(expected)}$"):
        other.load_weights(path)
    assert other.state_dict() == before


def test_a_long_architecture_is_described_by_its_first_200_characters(tmp_path):
    path = tmp_path / "deep.json"
    nn.MLP(2, [3] * 20 + [1], seed=0).save(path)
    other = nn.MLP(2, [3] * 20 + [2], seed=1)
    before = other.state_dict()
    with pytest.raises(ModelFileError) as info:
        other.load_weights(path)
    message = str(info.value)
    prefix = f"{path}: the file holds a different architecture: "
    assert message.startswith(prefix)
    theirs, ours = message[len(prefix) :].split("; this model is ")
    in_the_file = json.loads(path.read_text())["model"]
    assert len(json.dumps(in_the_file)) > 200
    assert theirs == json.dumps(in_the_file, sort_keys=True)[:200]
    assert len(theirs) == 200 and theirs.startswith('{"config": {"activation": ["relu", ')
    assert len(ours) == 200 and ours.startswith('{"config": {"activation": ["relu", ')
    assert other.state_dict() == before


def test_load_weights_refuses_what_is_not_a_module(saved):
    _, path = saved
    with pytest.raises(TypeError, match=r"^only nn.Module models can be loaded into, not dict$"):
        nn.load_weights({"w": 1.0}, path)


# ----- custom modules without get_config: weights are matched by name ----------------------------
class TwoInputs(nn.Module):
    """Parameters named as nn.Neuron(2)'s (w.0, w.1, b), but no get_config."""

    def __init__(self):
        self.w = [Value(0.0), Value(0.0)]
        self.b = Value(0.0)

    def __call__(self, x):
        return self.w[0] * x[0] + self.w[1] * x[1] + self.b


class OneInput(nn.Module):
    def __init__(self):
        self.w = [Value(0.5)]
        self.b = Value(-0.5)

    def __call__(self, x):
        return self.w[0] * x[0] + self.b


def test_weights_load_by_name_into_a_custom_module_without_get_config(tmp_path):
    path = tmp_path / "neuron.json"
    neuron = nn.Neuron(2, activation="linear", seed=3)
    neuron.b.data = 0.25
    neuron.save(path)
    custom = TwoInputs()
    custom.load_weights(path)
    assert custom.state_dict() == {
        "w.0": neuron.w[0].data,
        "w.1": neuron.w[1].data,
        "b": 0.25,
    }
    assert custom([1.0, 2.0]).data == neuron([1.0, 2.0]).data


def test_weights_that_do_not_fit_a_custom_module_leave_it_untouched(tmp_path):
    path = tmp_path / "neuron.json"
    nn.Neuron(2, seed=3).save(path)
    custom = OneInput()
    with pytest.raises(
        ModelFileError,
        match=rf"^{re.escape(str(path))}: the weights do not fit this model: parameter names "
        r"do not match this OneInput: unexpected w\.1$",
    ):
        custom.load_weights(path)
    assert custom.state_dict() == {"w.0": 0.5, "b": -0.5}


# ----- the size limit, in both directions -------------------------------------------------------
def test_a_file_over_the_size_limit_is_refused_with_the_limit_named(saved, monkeypatch):
    model, path = saved
    size = path.stat().st_size
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", size - 1)
    expected = (
        f"{path}: the file is {size} bytes or more; a model file is at most {size - 1} "
        "bytes (nn.serialize.MAX_FILE_BYTES)"
    )
    with pytest.raises(ModelFileError, match=f"^{re.escape(expected)}$"):
        nn.load(path)
    before = path.read_bytes()
    with pytest.raises(
        ValueError,
        match=f"^cannot save {re.escape(str(path))}: the file is {size} bytes or more; a model "
        rf"file is at most {size - 1} bytes \(nn\.serialize\.MAX_FILE_BYTES\)$",
    ):
        model.save(path)
    assert path.read_bytes() == before


# ----- the system's refusals keep their errno, or have none ---------------------------------------
def test_an_os_error_without_errno_keeps_none_and_says_what_failed(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def refuse(*args, **kwargs):
        raise OSError("the disk went away")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError) as info:
        model.save(path)
    assert info.value.errno is None
    assert str(info.value) == f"cannot save the model to {path}: the disk went away"
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]


# ----- replacing an existing file ----------------------------------------------------------------
def test_the_temporary_copy_of_a_replaced_file_is_private_until_its_mode_is_set(saved, monkeypatch):
    model, path = saved
    os.chmod(path, 0o640)
    modes = []
    write = os.write

    def recording_write(fd, data):
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return write(fd, data)

    monkeypatch.setattr(os, "write", recording_write)
    mask = os.umask(0o022)  # a usual umask, which would leave a new file readable by all
    try:
        model.save(path)
    finally:
        os.umask(mask)
        monkeypatch.undo()
    assert modes and set(modes) == {0o600}  # the weights are never readable by others
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # and the file keeps its bits


def test_saving_over_a_file_one_may_not_chown_still_works(saved, monkeypatch):
    model, path = saved
    os.chmod(path, 0o604)
    for p in model.parameters():
        p.data += 1.0

    def not_permitted(*args):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "fchown", not_permitted)  # as a user other than the file's owner
    model.save(path)
    monkeypatch.undo()
    assert nn.load(path).state_dict() == model.state_dict()
    assert stat.S_IMODE(path.stat().st_mode) == 0o604
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json"]


def test_a_failed_cleanup_does_not_hide_why_the_save_failed(saved, monkeypatch):
    model, path = saved
    before = path.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", full)
    monkeypatch.setattr(os, "unlink", refused)
    with pytest.raises(OSError) as info:
        model.save(path)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == (
        f"[Errno {errno.ENOSPC}] cannot save the model to {path}: No space left on device"
    )
    assert path.read_bytes() == before
    for leftover in path.parent.glob(".tmp*"):  # the temporary file we could not remove
        leftover.unlink()


# ----- what save writes ---------------------------------------------------------------------------
def test_save_refuses_what_is_not_a_module(tmp_path):
    with pytest.raises(TypeError, match=r"^only nn.Module models can be saved, not list$"):
        nn.save([Value(1.0)], tmp_path / "m.json")
    assert list(tmp_path.iterdir()) == []


def test_the_file_is_indented_json_with_one_entry_per_line(tmp_path):
    path = nn.save(nn.Neuron(1, seed=0), tmp_path / "m.json")
    lines = path.read_text().split("\n")
    assert lines[:8] == [
        "{",
        ' "format": "chainrule-model",',
        ' "version": 1,',
        ' "model": {',
        '  "type": "Neuron",',
        '  "config": {',
        '   "nin": 1,',
        '   "activation": "relu",',
    ]
    assert lines[-2:] == ["}", ""]  # ends with the closing brace and a newline


class Scaled(nn.Module):
    """A custom module whose config may hold any float (nothing checks it)."""

    def __init__(self, scale):
        self.scale = scale
        self.w = Value(1.0)

    def __call__(self, x):
        return self.scale * self.w * x

    def get_config(self):
        return {"scale": self.scale}


def test_a_config_holding_nan_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "m.json"
    with pytest.raises(ValueError, match=r"^Out of range float values are not JSON compliant"):
        Scaled(float("nan")).save(path)
    assert list(tmp_path.iterdir()) == []  # no file that load would refuse
    Scaled(0.5).save(path)
    assert nn.load(path).scale == 0.5


def test_a_file_of_exactly_the_size_limit_saves_and_loads(saved, monkeypatch):
    model, path = saved
    size = path.stat().st_size
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", size)
    model.save(path)  # the same model again: exactly the limit, so allowed
    assert path.stat().st_size == size
    assert nn.load(path).state_dict() == model.state_dict()


# ----- saving through symlinks and into missing directories -------------------------------------
def test_a_missing_directory_is_named_with_errno_enoent(tmp_path):
    path = tmp_path / "nowhere" / "m.json"
    with pytest.raises(FileNotFoundError) as info:
        nn.Neuron(1, seed=0).save(path)
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == (
        f"[Errno {errno.ENOENT}] cannot save to {path}: the directory {path.parent} does not exist"
    )


def test_a_symlink_into_a_missing_directory_names_its_target(tmp_path):
    link = tmp_path / "link.json"
    target = tmp_path / "nowhere" / "m.json"
    link.symlink_to(target)
    with pytest.raises(FileNotFoundError) as info:
        nn.Neuron(1, seed=0).save(link)
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == (
        f"[Errno {errno.ENOENT}] cannot save to {link}: the directory {target.parent} does not "
        f"exist (the symlink's target {target})"
    )


def test_a_symlink_to_a_directory_is_refused_naming_its_target(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(folder)
    with pytest.raises(ModelFileError) as info:
        nn.Neuron(1, seed=0).save(link)
    assert str(info.value) == (
        f"{link}: is a directory (the symlink's target {folder}), not a regular file: "
        "refusing to replace it"
    )
    assert list(folder.iterdir()) == [] and link.is_symlink()


# ----- syncing the directory is best effort ------------------------------------------------------
def test_a_directory_that_cannot_be_synced_does_not_fail_the_save(saved, monkeypatch):
    model, path = saved
    for p in model.parameters():
        p.data += 1.0
    fsync = os.fsync

    def no_directory_fsync(fd):  # as on filesystems whose directories refuse fsync (EINVAL)
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", no_directory_fsync)
    model.save(path)
    monkeypatch.undo()
    assert nn.load(path).state_dict() == model.state_dict()


def test_a_platform_without_directory_descriptors_still_saves(saved, monkeypatch):
    model, path = saved
    for p in model.parameters():
        p.data += 1.0
    monkeypatch.delattr(os, "O_RDONLY")  # the directory is then never opened: skipped
    model.save(path)
    monkeypatch.undo()
    assert nn.load(path).state_dict() == model.state_dict()


# ----- the limits are inclusive ------------------------------------------------------------------
def test_a_model_of_exactly_the_parameter_limit_saves_and_loads(tmp_path, monkeypatch):
    model = nn.MLP(2, [3, 1], seed=0)  # 9 + 4 = 13 parameters
    path = tmp_path / "m.json"
    monkeypatch.setattr(serialize, "MAX_PARAMETERS", 13)
    model.save(path)
    assert nn.load(path).state_dict() == model.state_dict()
    monkeypatch.setattr(serialize, "MAX_PARAMETERS", 12)
    with pytest.raises(
        ModelFileError,
        match=r": the model has 13 parameters; a model file holds at most 12 "
        r"\(nn\.serialize\.MAX_PARAMETERS\)$",
    ):
        nn.load(path)


def test_a_model_of_exactly_the_module_limit_saves_and_loads(tmp_path, monkeypatch):
    model = nn.MLP(2, [3, 1], seed=0)  # the MLP, 2 layers, 4 neurons: 7 modules
    path = tmp_path / "m.json"
    monkeypatch.setattr(serialize, "MAX_MODULES", 7)
    model.save(path)
    assert nn.load(path).state_dict() == model.state_dict()
    monkeypatch.setattr(serialize, "MAX_MODULES", 6)
    with pytest.raises(
        ModelFileError,
        match=r": the architecture has 7 modules; a model file holds at most 6 "
        r"\(nn\.serialize\.MAX_MODULES\)$",
    ):
        nn.load(path)


# ----- files that lost weights --------------------------------------------------------------------
class Opaque(nn.Module):
    """A custom type: the file cannot say how many parameters it holds."""

    def __init__(self):
        self.inner = nn.Neuron(1, seed=0)

    def __call__(self, x):
        return self.inner(x)

    def get_config(self):
        return {}


def _drop_a_weight_and_reseal(path, name):
    document = json.loads(path.read_text())
    del document["parameters"][name]
    canonical = json.dumps(
        {"model": document["model"], "parameters": document["parameters"]},
        sort_keys=True,
        separators=(",", ":"),
    )
    document["checksum"] = "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(document))


def test_a_lost_weight_is_counted_against_an_exact_architecture(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    _drop_a_weight_and_reseal(path, "layers.1.neurons.0.b")
    with pytest.raises(
        ModelFileError,
        match=r": the architecture declares 13 parameters, but there are 12 weights$",
    ):
        nn.load(path)


def test_a_lost_weight_is_counted_against_a_lower_bound_for_custom_types(tmp_path):
    path = tmp_path / "m.json"
    nn.Sequential(nn.Layer(2, 3, seed=0), Opaque()).save(path)  # 9 known + Opaque's 2
    _drop_a_weight_and_reseal(path, "layers.0.neurons.0.b")
    _drop_a_weight_and_reseal(path, "layers.1.inner.b")
    _drop_a_weight_and_reseal(path, "layers.1.inner.w.0")
    with pytest.raises(
        ModelFileError,
        match=r": the architecture declares at least 9 parameters, but there are 8 weights$",
    ):
        nn.load(path)


# ----- a file cut short just after a closing brace ---------------------------------------------
def test_a_file_cut_right_after_an_inner_brace_is_called_truncated(saved):
    _, path = saved
    text = path.read_text()
    end_of_model = text.index('\n },\n "parameters"') + len("\n }")
    path.write_text(text[:end_of_model])  # ends with "}", but not the document's own
    with pytest.raises(
        ModelFileError, match=r": truncated: the JSON ends early \(Expecting ',' delimiter at line"
    ):
        nn.load(path)


# ----- a model too big for memory -----------------------------------------------------------------
def test_running_out_of_memory_while_building_names_the_file(saved, monkeypatch):
    _, path = saved

    def out_of_memory(spec):
        raise MemoryError

    monkeypatch.setattr(serialize, "module_from_spec", out_of_memory)
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    assert str(info.value) == f"{path}: the model is too big to build"
    assert info.value.path == str(path)
    assert info.value.problem == "the model is too big to build"


# ----- a FIFO swapped in between the size check and the open -----------------------------------
@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs are POSIX's")
def test_a_fifo_swapped_in_after_the_stat_is_read_without_waiting(saved, monkeypatch):
    _, path = saved
    real_stat = os.stat

    def stat_then_swap(target, *args, **kwargs):
        result = real_stat(target, *args, **kwargs)
        if os.fspath(target) == str(path) and not stat.S_ISFIFO(result.st_mode):
            os.unlink(path)  # another process replaces the file by a FIFO with no writer
            os.mkfifo(path)
        return result

    def expire(signum, frame):
        raise TimeoutError("load waited for a writer on the FIFO")

    monkeypatch.setattr(os, "stat", stat_then_swap)
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        with pytest.raises(ModelFileError, match=r": the file is empty \(truncated"):
            nn.load(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        monkeypatch.undo()
    assert stat.S_ISFIFO(os.stat(path).st_mode)


# ----- JSON deeper than the parser can go, with the depth limit raised ----------------------------
def test_json_too_deep_for_the_parser_is_a_model_file_error(tmp_path, monkeypatch):
    monkeypatch.setattr(serialize, "MAX_DEPTH", 10**9)  # past the counted limit: the parser's own
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    assert str(info.value) == f"{path}: the JSON is too deeply nested or too big to parse"
    assert info.value.path == str(path)


# ----- files that are missing, unreachable, or from another version ------------------------------
def test_a_missing_file_is_file_not_found_with_errno_enoent(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError) as info:
        nn.load(path)
    assert info.value.errno == errno.ENOENT
    assert str(info.value) == f"[Errno {errno.ENOENT}] no model file at {path}"


def test_a_path_through_a_file_keeps_the_systems_errno_and_names_the_path(saved):
    _, path = saved
    inside = path / "model.json"  # a regular file used as a directory
    with pytest.raises(OSError) as info:
        nn.load(inside)
    assert info.value.errno == errno.ENOTDIR
    assert str(info.value) == (
        f"[Errno {errno.ENOTDIR}] cannot read the model file {inside}: Not a directory"
    )


def _edit(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_format_version_0_is_unknown(saved):
    _, path = saved
    _edit(path, lambda d: d.update(version=0))
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    assert str(info.value) == f"{path}: unknown format version 0"
    assert info.value.path == str(path)


def test_an_edited_weight_fails_the_checksum_with_an_exact_message(saved):
    model, path = saved
    _edit(path, lambda d: d["parameters"].update({"layers.0.neurons.0.b": 7.5}))
    target = nn.MLP(3, [4, 2], activation="tanh", seed=5)
    before = target.state_dict()
    expected = f"{path}: corrupted: the checksum does not match the contents (edited or damaged)"
    with pytest.raises(ModelFileError, match=f"^{re.escape(expected)}$"):
        nn.load(path)
    with pytest.raises(ModelFileError, match=f"^{re.escape(expected)}$"):
        target.load_weights(path)
    assert target.state_dict() == before


# ----- the JSON limits, counted before parsing ----------------------------------------------------
def _load_text(tmp_path, text):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ModelFileError) as info:
        nn.load(path)
    return info.value.problem


NOT_OURS = 'not a chainrule model file (no "format": "chainrule-model")'


def test_arrays_and_commas_count_as_values(tmp_path, monkeypatch):
    text = "[[], [], []]"  # 4 arrays + 2 commas: 6 values
    monkeypatch.setattr(serialize, "MAX_JSON_VALUES", 6)
    assert _load_text(tmp_path, text) == NOT_OURS  # within the limit: parsed, then refused
    monkeypatch.setattr(serialize, "MAX_JSON_VALUES", 5)
    assert _load_text(tmp_path, text) == (
        "the JSON holds more than 5 values (nn.serialize.MAX_JSON_VALUES)"
    )


def test_objects_count_as_values_and_strings_do_not(tmp_path, monkeypatch):
    text = '{"a, [b": {}, "c": {"{": "]]"}}'  # 3 objects + 1 comma outside strings: 4
    monkeypatch.setattr(serialize, "MAX_JSON_VALUES", 4)
    assert _load_text(tmp_path, text) == NOT_OURS
    monkeypatch.setattr(serialize, "MAX_JSON_VALUES", 3)
    assert _load_text(tmp_path, text) == (
        "the JSON holds more than 3 values (nn.serialize.MAX_JSON_VALUES)"
    )


def test_nesting_of_exactly_max_depth_is_allowed(tmp_path):
    depth = serialize.MAX_DEPTH
    assert _load_text(tmp_path, "[" * depth + "]" * depth) == NOT_OURS
    assert _load_text(tmp_path, "[" * (depth + 1) + "]" * (depth + 1)) == (
        f"the JSON nests deeper than {depth} levels (nn.serialize.MAX_DEPTH)"
    )


def test_deep_nesting_after_closed_arrays_is_still_counted(tmp_path):
    deep = serialize.MAX_DEPTH + 5
    text = "[" + "[], " * 3 + "[" * deep + "]" * deep + "]"
    assert _load_text(tmp_path, text) == (
        f"the JSON nests deeper than {serialize.MAX_DEPTH} levels (nn.serialize.MAX_DEPTH)"
    )


def test_deep_nesting_after_a_complete_value_is_still_counted(tmp_path):
    deep = serialize.MAX_DEPTH + 5
    text = "{}" + "[" * deep + "]" * deep  # a document, then deep garbage appended
    assert _load_text(tmp_path, text) == (
        f"the JSON nests deeper than {serialize.MAX_DEPTH} levels (nn.serialize.MAX_DEPTH)"
    )
