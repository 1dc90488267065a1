"""Model files against hostile paths and contents: symlinks, special files, permissions,
long names, full disks, kill -9 mid-save, and files built to exhaust memory, the stack
or the parser. Every refusal is one clear error naming the file; nothing is half-written,
nothing is built from a file that does not fit."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import re
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nn
from nn import serialize
from nn.serialize import MAX_DEPTH, MAX_FILE_BYTES, MAX_MODULES, MAX_PARAMETERS, ModelFileError

if os.name != "posix":
    pytest.skip("symlinks, FIFOs, modes and fork are POSIX's", allow_module_level=True)

ROOT = os.geteuid() == 0
TEMPORARY = re.compile(r"\.tmp[0-9a-f]{8}")


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail instead of hanging (a blocking open of a FIFO, a stuck child)."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def model_with(value: float) -> nn.MLP:
    model = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    for p in model.parameters():
        p.data = value
    return model


def weights_of(path: Path) -> set[float]:
    return {p.data for p in nn.load(path).parameters()}


def others(directory: Path, *keep: str) -> list[str]:
    """Names in ``directory`` besides ``keep`` (left-over temporary files)."""
    return sorted(name for name in os.listdir(directory) if name not in keep)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    model_with(1.0).save(path)
    return path


# ----- saving ----------------------------------------------------------------------------
def test_saving_through_a_symlink_updates_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "model.json"
    link = tmp_path / "links" / "model.json"
    model_with(1.0).save(target)
    link.symlink_to(Path("..") / "real" / "model.json")
    target.chmod(0o640)

    assert nn.save(model_with(2.0), link) == link
    assert link.is_symlink() and os.readlink(link) == os.path.join("..", "real", "model.json")
    assert weights_of(target) == {2.0} and weights_of(link) == {2.0}
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert others(tmp_path / "real", "model.json") == []  # renamed in the target's directory
    assert others(tmp_path / "links", "model.json") == []

    dangling = tmp_path / "links" / "new.json"  # a link to a file not yet there: created
    dangling.symlink_to(tmp_path / "real" / "new.json")
    model_with(3.0).save(dangling)
    assert dangling.is_symlink() and weights_of(tmp_path / "real" / "new.json") == {3.0}


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_a_saved_file_keeps_its_permission_bits(saved, mode):
    saved.chmod(mode)
    model_with(2.0).save(saved)
    assert stat.S_IMODE(os.stat(saved).st_mode) == mode
    assert weights_of(saved) == {2.0}


@pytest.mark.skipif(not ROOT, reason="only root can give a file to another user")
def test_a_saved_file_keeps_its_owner(saved):
    os.chown(saved, 65534, 65534)
    model_with(2.0).save(saved)
    assert (saved.stat().st_uid, saved.stat().st_gid) == (65534, 65534)


def test_a_new_file_gets_the_umask_mode(tmp_path):
    previous = os.umask(0o077)
    try:
        model_with(1.0).save(tmp_path / "private.json")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "private.json").st_mode) == 0o600


def test_a_read_only_directory_gives_a_clear_error_and_keeps_the_old_file(saved, monkeypatch):
    directory = saved.parent
    before = saved.read_bytes()
    directory.chmod(0o555)
    if ROOT:  # root may write anywhere: refuse new files there as the kernel would
        real_open = os.open

        def refuse(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if flags & os.O_CREAT and Path(file).parent == directory:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refuse)
    try:
        with pytest.raises(PermissionError, match="Permission denied") as info:
            model_with(2.0).save(saved)
    finally:
        monkeypatch.undo()
        directory.chmod(0o755)
    assert f"cannot save the model to {saved}:" in str(info.value)
    assert info.value.errno == errno.EACCES
    assert saved.read_bytes() == before and others(directory, "model.json") == []


def _make(kind: str, path: Path) -> Any:
    """A non-regular file of ``kind`` at ``path``; returns what must keep it alive."""
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        if not ROOT:
            pytest.skip("only root can make a device node")
        try:
            os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("this container may not make device nodes")
    elif kind == "directory":
        path.mkdir()
    else:
        server = socket.socket(socket.AF_UNIX)
        server.bind(os.fspath(path))
        return server
    return None


KINDS = {"fifo": "a FIFO", "device": "a character device", "directory": "a directory"}
KINDS["socket"] = "a socket"


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("through_link", [False, True])
def test_a_path_that_is_no_regular_file_is_refused_and_left_alone(tmp_path, kind, through_link):
    node = tmp_path / "node"
    keep = _make(kind, node)
    try:
        before = os.lstat(node)
        path = node
        if through_link:
            path = tmp_path / "link.json"
            path.symlink_to(node)
        with within(10), pytest.raises(ModelFileError, match=f"is {KINDS[kind]}") as info:
            model_with(1.0).save(path)
        assert str(info.value).startswith(f"{path}: ") and "not a regular file" in str(info.value)
        after = os.lstat(node)
        assert (after.st_mode, after.st_ino, after.st_rdev) == (
            before.st_mode,
            before.st_ino,
            before.st_rdev,
        )
        assert others(tmp_path, "node", "link.json") == []
        with within(10), pytest.raises(ModelFileError, match=f"is {KINDS[kind]}, not a model"):
            nn.load(path)  # a FIFO is not even opened: nothing waits for a writer
    finally:
        if keep is not None:
            keep.close()


def test_a_245_character_file_name_saves_and_loads(tmp_path):
    path = tmp_path / ("m" * 240 + ".json")
    assert len(path.name) == 245
    model_with(1.0).save(path)
    model_with(2.0).save(path)  # and replaces
    assert weights_of(path) == {2.0}
    assert others(tmp_path, path.name) == []


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_a_full_disk_names_the_path_and_keeps_the_old_file(saved, monkeypatch, failing):
    before = saved.read_bytes()

    def full(*args: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(os, failing, full)
        with pytest.raises(OSError) as info:
            model_with(2.0).save(saved)
    assert info.value.errno == errno.ENOSPC
    assert str(info.value) == (
        f"[Errno {errno.ENOSPC}] cannot save the model to {saved}: {os.strerror(errno.ENOSPC)}"
    )
    assert saved.read_bytes() == before and weights_of(saved) == {1.0}
    assert others(saved.parent, "model.json") == []


SAVER = textwrap.dedent(
    """
    import os, sys
    import nn

    model = nn.MLP(4, [32, 32, 1], seed=0)
    parameters = model.parameters()
    print("ready", flush=True)
    for line in sys.stdin:  # one saver per line, killed by the test, reaped here
        pid = os.fork()
        if pid == 0:
            try:
                for i in range(10**9):
                    for p in parameters:
                        p.data = float(int(line) * 1_000_000 + i)
                    model.save(sys.argv[1])
            finally:
                os._exit(1)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("reaped", flush=True)
    """
)


def test_kill_9_during_saves_never_leaves_a_broken_file(tmp_path):
    path = tmp_path / "model.json"
    first = nn.MLP(4, [32, 32, 1], seed=0)
    for p in first.parameters():
        p.data = -1.0
    first.save(path)
    rng = random.Random(0)
    seen = set()
    server = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(nn.__file__).parent.parent,
    )
    try:
        with within(30):
            assert server.stdout.readline() == "ready\n"
            for kills in range(1, 21):
                server.stdin.write(f"{kills}\n")
                server.stdin.flush()
                pid = int(server.stdout.readline())
                time.sleep(rng.uniform(0.02, 0.3))
                os.kill(pid, signal.SIGKILL)
                assert server.stdout.readline() == "reaped\n"
                values = {p.data for p in nn.load(path).parameters()}
                assert len(values) == 1  # one whole save: never a mix of two
                seen |= values
                left = others(tmp_path, "model.json")
                assert len(left) <= kills and all(TEMPORARY.fullmatch(n) for n in left)
    finally:
        server.kill()
        server.wait()
    assert len(seen) > 2  # the first file and saves completed between the kills
    nn.save(nn.MLP(4, [32, 32, 1], seed=2), path)
    assert nn.load(path).state_dict() == nn.MLP(4, [32, 32, 1], seed=2).state_dict()


# ----- loading ---------------------------------------------------------------------------
def seal(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the checksum a chainrule model file carries (the format's rule:
    sha256 of the canonical JSON of model and parameters)."""
    canonical = json.dumps(
        {"model": document["model"], "parameters": document["parameters"]},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=True,
    )
    return {**document, "checksum": "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()}


def document_of(model: Any, parameters: Any, version: Any = 1) -> dict[str, Any]:
    return {
        "format": "chainrule-model",
        "version": version,
        "model": model,
        "parameters": parameters,
    }


def write_model(path: Path, model: Any, parameters: Any) -> Path:
    """A sealed model file: it passes the checksum, whatever it holds."""
    path.write_text(json.dumps(seal(document_of(model, parameters))))
    return path


def refused(path: Path, match: str) -> ModelFileError:
    """nn.load refuses ``path`` with one ModelFileError naming it and matching ``match``;
    load_weights refuses it too, leaving the model untouched."""
    with pytest.raises(ModelFileError, match=match) as info:
        nn.load(path)
    assert str(info.value).startswith(f"{path}: ")
    target = nn.MLP(3, [4, 2], activation="tanh", seed=5)
    before = target.state_dict()
    with pytest.raises(ModelFileError) as into:
        target.load_weights(path)
    assert str(into.value).startswith(f"{path}: ") and target.state_dict() == before
    return info.value


def spec_of(model: nn.Module) -> dict[str, Any]:
    return json.loads(json.dumps(nn.specs.module_spec(model)))


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        '{"a": ' * 100_000,
        "[" * 100_000 + "]" * 100_000,
        '{"format": "chainrule-model", "x": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}",
    ],
    ids=["open", "objects", "balanced", "just-past-the-limit"],
)
def test_deeply_nested_json_is_refused_without_recursion(tmp_path, text):
    path = tmp_path / "deep.json"
    path.write_text(text)
    refused(path, f"nests deeper than {MAX_DEPTH} levels")


def test_deep_nesting_inside_a_sealed_model_is_refused(tmp_path):
    config = {"nin": 3, "nouts": [4, 2], "activation": "tanh"}
    for _ in range(MAX_DEPTH):
        config = {"nin": [config]}
    path = write_model(tmp_path / "m.json", {"type": "MLP", "config": config}, {})
    refused(path, "nests deeper than")


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path):
    model = model_with(1.0)
    path = tmp_path / "m.json"
    model.save(path)
    document = json.loads(path.read_text())
    document["note"] = "[{" * 1000 + '\\"[[' + "]}" * 10
    path.write_text(json.dumps(document))
    assert nn.load(path).state_dict() == model.state_dict()


HUGE = [
    {"type": "Neuron", "config": {"nin": 10**7}},
    {"type": "Layer", "config": {"nin": 10**4, "nout": 10**4}},
    {"type": "MLP", "config": {"nin": 10**7, "nouts": [1]}},
    {"type": "MLP", "config": {"nin": 2, "nouts": [10**6, 10**6]}},
    {"type": "MLP", "config": {"nin": 10**19, "nouts": [10**19]}},
    {"type": "Perceptron", "config": {"nin": 10**7}},
    {"type": "Sequential", "config": {"layers": [{"type": "Neuron", "config": {"nin": 10**7}}]}},
]


@pytest.mark.parametrize("spec", HUGE, ids=lambda s: s["type"])
def test_huge_declared_sizes_are_refused_before_building_anything(tmp_path, monkeypatch, spec):
    def building(*args: Any) -> None:
        pytest.fail("a model was built from a file that declares more than the limit")

    monkeypatch.setattr(serialize, "module_from_spec", building)
    for cls in nn.specs.MODULE_TYPES.values():
        monkeypatch.setattr(cls, "from_config", classmethod(building))
    monkeypatch.setattr(nn.Module, "load_state_dict", building)
    path = write_model(tmp_path / "huge.json", spec, {})
    assert path.stat().st_size < 300
    start = time.perf_counter()
    refused(path, f"parameters; a model file holds at most {MAX_PARAMETERS}")
    assert time.perf_counter() - start < 1.0


def test_too_many_modules_are_refused(tmp_path):
    dropout = {"type": "Dropout", "config": {"p": 0.0}}
    spec = {"type": "Sequential", "config": {"layers": [dropout] * (MAX_MODULES + 1)}}
    path = write_model(tmp_path / "wide.json", spec, {})
    with pytest.raises(ModelFileError, match=f"{MAX_MODULES + 2} modules; a model file holds"):
        nn.load(path)  # before building 100,001 Dropouts (3 kB each)


@pytest.mark.parametrize("item", ["[]", "{}", "0", '"x"'])
def test_too_many_json_values_are_refused_before_parsing(tmp_path, monkeypatch, item):
    path = tmp_path / "m.json"
    path.write_text('{"x": [' + f"{item}," * nn.serialize.MAX_JSON_VALUES + "0]}")
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed"))
    refused(path, f"more than {nn.serialize.MAX_JSON_VALUES} values")


def test_more_weights_than_the_limit_are_refused(saved, monkeypatch):
    monkeypatch.setattr(serialize, "MAX_PARAMETERS", 10)
    refused(saved, "the model has 26 parameters; a model file holds at most 10")
    with pytest.raises(ValueError, match="cannot save: the model has 26 parameters"):
        model_with(2.0).save(saved)


@pytest.mark.parametrize("change", ["drop", "add"])
def test_weights_that_disagree_with_the_declared_sizes_are_refused(tmp_path, change):
    parameters = model_with(1.0).state_dict()
    if change == "drop":
        parameters.popitem()
    else:
        parameters["layers.1.neurons.1.w.4"] = 1.0
    spec = spec_of(model_with(1.0))
    path = write_model(tmp_path / "m.json", spec, parameters)
    refused(path, f"declares 26 parameters, but there are {len(parameters)} weights")


def _mlp(**config: Any) -> dict[str, Any]:
    return {"type": "MLP", "config": {"nin": 3, "nouts": [4, 2], "activation": "tanh", **config}}


def _without(spec: dict[str, Any], key: str) -> dict[str, Any]:
    return {**spec, "config": {k: v for k, v in spec["config"].items() if k != key}}


BAD_SPECS = {
    "Sequential without layers": ({"type": "Sequential", "config": {}}, "has no 'layers'"),
    "MLP without nin": (_without(_mlp(), "nin"), "has no 'nin'"),
    "MLP without nouts": (_without(_mlp(), "nouts"), "has no 'nouts'"),
    "Layer without nout": ({"type": "Layer", "config": {"nin": 3}}, "has no 'nout'"),
    "Neuron without nin": ({"type": "Neuron", "config": {}}, "has no 'nin'"),
    "Perceptron without nin": ({"type": "Perceptron", "config": {}}, "has no 'nin'"),
    "spec without config": ({"type": "MLP"}, "needs 'type' and 'config'"),
    "nin a string": (_mlp(nin="3"), "nin must be a positive int, not str"),
    "nin a float": (_mlp(nin=3.0), "nin must be a positive int, not float"),
    "nin a bool": (_mlp(nin=True), "nin must be a positive int, not bool"),
    "nin negative": (_mlp(nin=-3), "nin must be a positive int, got -3"),
    "nin a list": (_mlp(nin=[3]), "nin must be a positive int, not list"),
    "nouts a number": (_mlp(nouts=5), "nouts must be a non-empty list"),
    "nouts empty": (_mlp(nouts=[]), "nouts must be a non-empty list"),
    "nouts of strings": (_mlp(nouts=["4", "2"]), "each layer size must be a positive int"),
    "bias a string": (_mlp(bias="yes"), "bias must be True or False"),
    "layers a mapping": (
        {"type": "Sequential", "config": {"layers": {"0": _mlp()}}},
        "layers must be a non-empty list",
    ),
    "layers of numbers": (
        {"type": "Sequential", "config": {"layers": [5]}},
        "a module spec needs 'type' and 'config'",
    ),
    "type a list": ({"type": ["MLP"], "config": {}}, r"unknown module type \['MLP'\]"),
    "type a number": ({"type": 5, "config": {}}, "unknown module type 5"),
    "config a list": ({"type": "MLP", "config": [3, [4, 2]]}, "config of a MLP must be a mapping"),
    "unknown config key": (_mlp(colour="red"), "cannot rebuild the model.*colour"),
}


@pytest.mark.parametrize(("spec", "match"), BAD_SPECS.values(), ids=list(BAD_SPECS))
def test_bad_configs_are_one_clear_error(tmp_path, spec, match):
    path = write_model(tmp_path / "m.json", spec, model_with(1.0).state_dict())
    problem = refused(path, match).problem
    assert problem.startswith(("cannot rebuild the model", "the file holds a different"))


@pytest.mark.parametrize(
    ("document", "match"),
    [
        ({"format": "chainrule-model", "version": 1, "model": [], "parameters": {}}, "'model'"),
        ({"format": "chainrule-model", "version": 1, "model": {}, "parameters": []}, "'param"),
        ({"format": "chainrule-model", "version": 1.0}, "version is missing or not a number"),
        ({"format": ["chainrule-model"]}, "not a chainrule model file"),
    ],
)
def test_entries_of_the_wrong_type_are_one_clear_error(tmp_path, document, match):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**document, "checksum": "sha256:0"}))
    refused(path, match)


@pytest.mark.parametrize("weight", ["x", [1.0], {"a": 1.0}, None, True])
def test_weights_that_are_not_numbers_are_one_clear_error(tmp_path, weight):
    parameters = {**model_with(1.0).state_dict(), "layers.0.neurons.0.b": weight}
    path = write_model(tmp_path / "m.json", spec_of(model_with(1.0)), parameters)
    refused(path, r"state\['layers.0.neurons.0.b'\] must be a number")


BIG = "1" + "0" * 399
NUMBERS = {
    "a 400-digit weight": ("weight", BIG, "an integer of 400 digits"),
    "a 400-digit nin": ("nin", BIG, "an integer of 400 digits"),
    "a 400-digit version": ("version", BIG, "an integer of 400 digits"),
    "a 5000-digit weight": ("weight", "9" * 5000, "an integer of 5000 digits"),
    "a weight past float range": ("weight", "1e400", "1e400 is too large for a float"),
    "a negative one": ("weight", "-1E+309", "-1E[+]309 is too large for a float"),
    "NaN": ("weight", "NaN", "NaN is not allowed: every number in a model file must be finite"),
    "Infinity": ("weight", "Infinity", "Infinity is not allowed"),
    "-Infinity": ("weight", "-Infinity", "-Infinity is not allowed"),
}


def with_number(where: str, number: Any) -> dict[str, Any]:
    """A model document with ``number`` as a weight, as ``nin`` or as the version."""
    spec, parameters = spec_of(model_with(1.0)), model_with(1.0).state_dict()
    if where == "weight":
        parameters["layers.0.neurons.0.b"] = number
    elif where == "nin":
        spec["config"]["nin"] = number
    return document_of(spec, parameters, number if where == "version" else 1)


@pytest.mark.parametrize(("where", "raw", "match"), NUMBERS.values(), ids=list(NUMBERS))
def test_huge_and_non_finite_numbers_are_one_clear_error(tmp_path, where, raw, match):
    """Sealed over the number Python's json reads from ``raw``, as an attacker would."""
    try:
        number = json.loads(raw)
    except ValueError:  # past Python's own limit on integer digits
        number = 0
    document = {
        **with_number(where, "NUMBER"),
        "checksum": seal(with_number(where, number))["checksum"],
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document).replace('"NUMBER"', raw))
    refused(path, match)


@pytest.mark.parametrize(
    "text",
    [
        '{"format": "chainrule-model", "format": "chainrule-model"}',
        '{"format": "chainrule-model", "version": 1, "model": {}, '
        '"parameters": {"b": 1.0, "b": 2.0}, "checksum": ""}',
    ],
)
def test_duplicated_keys_are_refused(tmp_path, text):
    path = tmp_path / "m.json"
    path.write_text(text)
    refused(path, "unusable JSON: the key '.*' appears twice in one object")


def test_a_file_past_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: pytest.fail("a huge file was read"))
    start = time.perf_counter()
    refused(path, f"{MAX_FILE_BYTES + 1} bytes or more; a model file is at most {MAX_FILE_BYTES}")
    assert time.perf_counter() - start < 1.0


def test_a_file_that_grows_past_the_limit_after_the_stat_is_refused(saved, monkeypatch):
    size = saved.stat().st_size
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", size + 10)
    saved.write_bytes(saved.read_bytes() + b" " * 100)
    real_stat = os.stat
    as_before = os.stat_result((*real_stat(saved)[:6], size, *real_stat(saved)[7:10]))
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: as_before if p == saved else real_stat(p))
    refused(saved, f"the file is {size + 11} bytes or more")


def test_save_refuses_what_load_would_refuse(tmp_path):
    model: nn.Module = nn.Neuron(1, seed=0)
    for _ in range(MAX_DEPTH // 3):
        model = nn.Sequential(model)
    with pytest.raises(ValueError, match=f"nests deeper than {MAX_DEPTH} levels"):
        model.save(tmp_path / "deep.json")
    assert others(tmp_path) == []
