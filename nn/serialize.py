"""Models on disk: architecture, activations and weights in a versioned JSON file.

    model.save("model.json")          # or nn.save(model, "model.json")
    model = nn.load("model.json")     # a new model, same architecture and weights
    model.load_weights("model.json")  # into an existing model of the same architecture

The file is plain JSON (never pickle, so loading runs no code)::

    {"format": "chainrule-model", "version": 1,
     "model": {"type": "MLP", "config": {"nin": 2, "nouts": [16, 16, 1], ...}},
     "parameters": {"layers.0.neurons.0.w.0": 0.23..., ...},
     "checksum": "sha256:..."}

Floats are written with ``repr``, so every weight round-trips exactly. Saving writes a
temporary file next to the target and renames it over the target (``os.replace``), so a
crash mid-save leaves the previous file whole. Loading checks everything (JSON syntax,
format, version, checksum, architecture, names, numbers) before touching any model, and
raises :class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .specs import module_from_spec, module_spec

if TYPE_CHECKING:
    from .module import Module

__all__ = ["FORMAT", "VERSION", "ModelFileError", "load", "load_weights", "save", "to_dict"]

FORMAT = "chainrule-model"
VERSION = 1


class ModelFileError(ValueError):
    """A model file that cannot be used: truncated, corrupted, another format or version,
    or weights that do not fit. ``path`` names the file."""

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


def to_dict(model: Module) -> dict[str, Any]:
    """The JSON document :func:`save` writes."""
    _check_is_module(model, "saved")
    spec = module_spec(model)
    parameters = model.state_dict()
    for name, number in parameters.items():
        if not math.isfinite(number):
            raise ValueError(f"cannot save: parameter {name} is {number} (training diverged?)")
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": spec,
        "parameters": parameters,
        "checksum": _checksum(spec, parameters),
    }


def save(model: Module, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` to ``path`` atomically; returns the path."""
    text = json.dumps(to_dict(model), indent=1, allow_nan=False) + "\n"
    path = Path(path)
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the directory {directory} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {path}: it is a directory")
    temporary = directory / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        # os.open with mode 0o666 lets the umask decide the permissions, as open() would.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)
    return path


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
            raise ValueError(f"the key {key!r} appears twice")
        result[key] = value
    return result


def _read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and check a model file; every problem becomes a ModelFileError."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {os.fspath(path)}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{os.fspath(path)} is a directory, not a model file") from None
    if not raw.strip():
        raise ModelFileError(path, "the file is empty (truncated, or the save never finished)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(
            path, f"corrupted: not UTF-8 text (byte {exc.start}); is it a chainrule model file?"
        ) from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates)
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
        raise ModelFileError(path, f"corrupted: {exc}") from None
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
    return document


def load(path: str | os.PathLike[str]) -> Module:
    """Rebuild the model saved at ``path`` (architecture and weights)."""
    document = _read(path)
    try:
        model = module_from_spec(document["model"])
    except ValueError as exc:
        raise ModelFileError(path, f"cannot rebuild the model: {exc}") from None
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
