"""Models on disk: architecture, activations and weights in a versioned JSON file.

    model.save("model.json")          # or nn.save(model, "model.json")
    model = nn.load("model.json")     # a new model, same architecture and weights
    model.load_weights("model.json")  # into an existing model of the same architecture

The file is plain JSON (never pickle, so loading runs no code)::

    {"format": "chainrule-model", "version": 1,
     "model": {"type": "MLP", "config": {"nin": 2, "nouts": [16, 16, 1], ...}},
     "parameters": {"layers.0.neurons.0.w.0": 0.23..., ...},
     "checksum": "sha256:..."}

Floats are written with ``repr``, so every weight round-trips exactly.

Saving writes through a symlink to its target and replaces only a regular file (or
creates one): a temporary ``.tmpXXXXXXXX`` file in the target's directory gets the data,
the target's permission bits (a new file: the umask's) and an fsync, then
``os.replace`` renames it over the target and the directory is fsynced. Any failure
leaves the previous file whole and removes the temporary file; a process killed
mid-save may leave its one temporary file behind. The system's refusals (disk full,
no permission, ...) raise the same kind of ``OSError`` with a message naming the path.

Loading checks everything before building or touching any model: the file's size
(:data:`MAX_FILE_BYTES`), the JSON's nesting (:data:`MAX_DEPTH`) and number of values
(:data:`MAX_JSON_VALUES`), both counted without parsing, then syntax, duplicated keys,
numbers (finite, integers of at most 20 digits), format, version, checksum, and the
sizes the architecture declares, counted from the configs (:func:`nn.specs.spec_size`),
against the weights present and :data:`MAX_PARAMETERS` / :data:`MAX_MODULES`. A file
that cannot be used raises one :class:`ModelFileError` naming it and the problem.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import secrets
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .specs import module_from_spec, module_spec, spec_size

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "FORMAT",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_JSON_VALUES",
    "MAX_MODULES",
    "MAX_PARAMETERS",
    "VERSION",
    "ModelFileError",
    "load",
    "load_weights",
    "save",
    "to_dict",
]

FORMAT = "chainrule-model"
VERSION = 1

MAX_PARAMETERS = 1_000_000
"""The most parameters a model file may hold (a 1M-parameter file is about 53 MB)."""
MAX_MODULES = 100_000
"""The most modules (neurons, layers, ...) an architecture in a file may build."""
MAX_FILE_BYTES = 128 * 2**20
"""The largest model file loaded (checked with ``stat`` before reading)."""
MAX_DEPTH = 64
"""The deepest nesting of JSON objects and arrays in a model file."""
MAX_JSON_VALUES = 2_000_000
"""The most JSON values in a model file, counted as commas, objects and arrays (one per
weight and a few per module: a file within the other limits stays below it)."""
_MAX_INTEGER_DIGITS = 20  # any 64-bit integer; larger ones would overflow float()


class ModelFileError(ValueError):
    """A model file that cannot be used: truncated, corrupted, too big, another format or
    version, weights that do not fit, or a path that holds no regular file (a directory,
    FIFO, device or socket), to load or to save over. ``path`` names the file."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


def _checksum(spec: Any, parameters: Any) -> str:
    canonical = json.dumps(
        {"model": spec, "parameters": parameters},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=True,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _check_is_module(model: Any, action: str) -> None:
    """A clear TypeError for anything that is not an nn Module (checked by its methods:
    this file is below nn.module, which uses it)."""
    if not all(callable(getattr(model, m, None)) for m in ("get_config", "state_dict")):
        raise TypeError(f"only nn.Module models can be {action}, not {type(model).__name__}")


def _size_problem(spec: Any, weights: int) -> str | None:
    """What is wrong with an architecture holding ``weights`` numbers, or None: sizes past
    the limits, or a count the architecture does not declare. Nothing is built."""
    size = spec_size(spec)
    parameters = max(size.parameters, weights)
    if parameters > MAX_PARAMETERS:
        return (
            f"the model has {parameters} parameters; a model file holds at most "
            f"{MAX_PARAMETERS} (nn.serialize.MAX_PARAMETERS)"
        )
    if size.modules > MAX_MODULES:
        return (
            f"the architecture has {size.modules} modules; a model file holds at most "
            f"{MAX_MODULES} (nn.serialize.MAX_MODULES)"
        )
    if size.parameters != weights and (size.exact or size.parameters > weights):
        return (
            f"the architecture declares {'' if size.exact else 'at least '}"
            f"{size.parameters} parameters, but there are {weights} weights"
        )
    return None


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _json_problem(text: str) -> str | None:
    """Too many values or nesting too deep in JSON ``text``, found without parsing or
    recursion (commas and brackets outside strings), or None."""
    skeleton = _STRING.sub("", text)
    values = skeleton.count(",") + skeleton.count("[") + skeleton.count("{")
    if values > MAX_JSON_VALUES:
        return f"the JSON holds more than {MAX_JSON_VALUES} values (nn.serialize.MAX_JSON_VALUES)"
    depth = 0
    for bracket in _BRACKET.finditer(skeleton):
        depth += 1 if bracket.group() in "[{" else -1
        if depth > MAX_DEPTH:
            return f"the JSON nests deeper than {MAX_DEPTH} levels (nn.serialize.MAX_DEPTH)"
        if depth < 0:
            return None  # not JSON: the parser says where
    return None


def to_dict(model: Module) -> dict[str, Any]:
    """The JSON document :func:`save` writes."""
    _check_is_module(model, "saved")
    spec = module_spec(model)
    parameters = model.state_dict()
    for name, number in parameters.items():
        if not math.isfinite(number):
            raise ValueError(f"cannot save: parameter {name} is {number} (training diverged?)")
    problem = _size_problem(spec, len(parameters))
    if problem:
        raise ValueError(f"cannot save: {problem}")
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": spec,
        "parameters": parameters,
        "checksum": _checksum(spec, parameters),
    }


def save(model: Module, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically, through a symlink to its target; returns
    the path. Only a regular file is replaced; the system's refusals raise ``OSError``
    naming the path."""
    text = json.dumps(to_dict(model), indent=1, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    problem = _json_problem(text) or (_too_big(len(data)) if len(data) > MAX_FILE_BYTES else None)
    if problem:
        raise ValueError(f"cannot save {os.fspath(path)}: {problem}")
    _write_atomically(Path(path), data)
    return Path(path)


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str | None:
    """What a file of this ``st_mode`` is, unless it is a regular file (None)."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _named(exc: OSError, doing: str) -> OSError:
    """``exc`` as the same kind of OSError (same errno), its message saying what failed."""
    reason = f"{doing}: {exc.strerror or exc}"
    return OSError(exc.errno, reason) if exc.errno is not None else OSError(reason)


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace the regular file ``path`` points to (or create it) by ``data``, whole."""
    target = Path(os.path.realpath(path))
    via = f" (the symlink's target {target})" if str(target) != os.path.abspath(path) else ""
    if not target.parent.is_dir():
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot save to {path}: the directory {target.parent} does not exist{via}",
        )
    try:
        existing = _regular_or_new(path, target, via)
        _replace(target, data, existing)
    except OSError as exc:
        raise _named(exc, f"cannot save the model to {path}{via}") from exc
    _sync_directory(target.parent)


def _regular_or_new(path: Path, target: Path, via: str) -> os.stat_result | None:
    """The stat of the regular file ``target``, None if there is none; anything else
    there (a directory, FIFO, device, socket) is refused."""
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        return None
    kind = _kind(existing.st_mode)
    if kind:
        raise ModelFileError(path, f"is {kind}{via}, not a regular file: refusing to replace it")
    return existing


def _replace(target: Path, data: bytes, existing: os.stat_result | None) -> None:
    """Write ``data`` to a temporary file beside ``target``, fsync it and rename it over
    ``target``; the temporary file is removed on any failure."""
    # A new file gets the umask's mode, as open() gives; a replaced one keeps its bits,
    # set once the data is in (until then the file is private to us).
    fd, temporary = _create_temporary(target.parent, 0o600 if existing else 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if existing:  # its owner (where allowed: as root) and permission bits
                if hasattr(os, "fchown"):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, existing.st_uid, existing.st_gid)
                mode = stat.S_IMODE(existing.st_mode)
                os.chmod(fd if os.chmod in os.supports_fd else temporary, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _create_temporary(directory: Path, mode: int) -> tuple[int, Path]:
    """A new file ``.tmpXXXXXXXX`` in ``directory`` (short: any legal target name fits)."""
    while True:
        temporary = directory / f".tmp{secrets.token_hex(4)}"
        with contextlib.suppress(FileExistsError):
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), temporary


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where unsupported."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r:.80} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed: every number in a model file must be finite")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"the number {literal:.40} is too large for a float")
    return number


def _small_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > _MAX_INTEGER_DIGITS:
        raise ValueError(
            f"an integer of {digits} digits ({literal:.20}...); a model file's integers "
            f"have at most {_MAX_INTEGER_DIGITS}"
        )
    return int(literal)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the regular file at ``path``, refused before reading when too big."""
    try:
        info = os.stat(path)
        kind = _kind(info.st_mode)
        if kind:
            raise ModelFileError(path, f"is {kind}, not a model file")
        if info.st_size > MAX_FILE_BYTES:
            raise ModelFileError(path, _too_big(info.st_size))
        # O_NONBLOCK: never wait on a FIFO swapped in since the stat
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"no model file at {os.fspath(path)}") from None
    except OSError as exc:
        raise _named(exc, f"cannot read the model file {os.fspath(path)}") from exc
    if len(raw) > MAX_FILE_BYTES:  # it grew since the stat
        raise ModelFileError(path, _too_big(len(raw)))
    return raw


def _too_big(size: int) -> str:
    return (
        f"the file is {size} bytes or more; a model file is at most {MAX_FILE_BYTES} "
        "bytes (nn.serialize.MAX_FILE_BYTES)"
    )


def _parse(path: str | os.PathLike[str], raw: bytes) -> Any:
    """The JSON document in ``raw``, checked for size, nesting, duplicated keys and
    numbers before and while parsing."""
    if not raw.strip():
        raise ModelFileError(path, "the file is empty (truncated, or the save never finished)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            path, f"corrupted: not UTF-8 text (byte {exc.start}); is it a chainrule model file?"
        ) from None
    problem = _json_problem(text)
    if problem:
        raise ModelFileError(path, problem)
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_finite_float,
            parse_int=_small_int,
        )
    except json.JSONDecodeError as exc:
        # A file we wrote ends with its closing brace: without one, the file was cut short.
        if exc.pos >= len(text.rstrip()) or not text.rstrip().endswith("}"):
            raise ModelFileError(
                path, f"truncated: the JSON ends early ({exc.msg} at line {exc.lineno})"
            ) from None
        raise ModelFileError(
            path, f"corrupted: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except ValueError as exc:
        raise ModelFileError(path, f"unusable JSON: {exc}") from None
    except (RecursionError, MemoryError):
        raise ModelFileError(path, "the JSON is too deeply nested or too big to parse") from None


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a model file without building anything; every problem with the
    file becomes a ModelFileError."""
    document = _parse(path, _read_bytes(path))
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(path, f'not a chainrule model file (no "format": "{FORMAT}")')
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(path, f"the format version is missing or not a number: {version!r}")
    if version > VERSION:
        raise ModelFileError(
            path,
            f"format version {version} was written by a newer chainrule; "
            f"this one reads version {VERSION}: upgrade chainrule",
        )
    if version < 1:
        raise ModelFileError(path, f"unknown format version {version}")
    for key, kind in (("model", dict), ("parameters", dict), ("checksum", str)):
        if not isinstance(document.get(key), kind):
            raise ModelFileError(path, f"corrupted: the {key!r} entry is missing or malformed")
    if _checksum(document["model"], document["parameters"]) != document["checksum"]:
        raise ModelFileError(
            path, "corrupted: the checksum does not match the contents (edited or damaged)"
        )
    try:
        problem = _size_problem(document["model"], len(document["parameters"]))
    except ValueError as exc:
        raise ModelFileError(path, f"cannot rebuild the model: {exc}") from None
    if problem:
        raise ModelFileError(path, problem)
    return document


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild the model saved at ``path`` (architecture and weights)."""
    document = _read(path)
    try:
        model = module_from_spec(document["model"])
    except ValueError as exc:
        raise ModelFileError(path, f"cannot rebuild the model: {exc}") from None
    except (RecursionError, MemoryError):
        raise ModelFileError(path, "the model is too big to build") from None
    try:
        model.load_state_dict(document["parameters"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(path, f"the weights do not fit the architecture: {exc}") from None
    return model


def _describe(spec: Any) -> str:
    return json.dumps(spec, sort_keys=True)[:200]


def load_weights(model: Module, path: str | os.PathLike[str]) -> None:
    """Load the weights saved at ``path`` into ``model``, which must have the same
    architecture. All or nothing: on any error the model is left untouched."""
    _check_is_module(model, "loaded into")
    document = _read(path)
    try:
        current = json.loads(json.dumps(module_spec(model)))
    except NotImplementedError:
        current = None  # a custom module without get_config: the names are checked below
    if current is not None and current != document["model"]:
        raise ModelFileError(
            path,
            f"the file holds a different architecture: {_describe(document['model'])}; "
            f"this model is {_describe(current)}",
        )
    try:
        model.load_state_dict(document["parameters"])
    except (TypeError, ValueError) as exc:
        raise ModelFileError(path, f"the weights do not fit this model: {exc}") from None
