"""Architectures as data: ``{'type': ..., 'config': ...}`` specs and the classes behind them.

Every :class:`~nn.module.Module` subclass is registered here by its type name when it is
defined, so a spec read from a model file can be turned back into a module.
:func:`spec_size` counts what a spec of nn's own types would build (parameters and
modules) from the configs alone, so a model file can be checked before anything is
built. This module imports nothing from nn but its argument checks: :mod:`nn.module`
registers classes into it and :mod:`nn.serialize` reads and writes specs through it,
without importing each other's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .checks import flag, int_at_least

if TYPE_CHECKING:
    from .module import Module

__all__ = [
    "MODULE_TYPES",
    "SpecSize",
    "module_from_spec",
    "module_spec",
    "register_module_type",
    "spec_size",
    "type_name",
]

MODULE_TYPES: dict[str, type[Module]] = {}
"""Module classes by the type name a saved model file uses (filled in automatically)."""


def type_name(cls: type) -> str:
    """The name a spec records for ``cls``: ``'MLP'`` for nn's own classes, else
    ``'package.module.ClassName'`` (import that module before loading)."""
    if cls.__module__.startswith("nn."):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def register_module_type(cls: type[Module]) -> None:
    """Make ``cls`` loadable from a spec (Module subclasses call this when defined)."""
    MODULE_TYPES[type_name(cls)] = cls


def module_spec(module: Module) -> dict[str, Any]:
    """``{'type': ..., 'config': ...}``: what a saved file records about the architecture."""
    return {"type": type_name(type(module)), "config": module.get_config()}


def _split(spec: Any) -> tuple[str, dict[str, Any]]:
    """The type name and config of ``spec``, checked: a registered type and a mapping."""
    if not isinstance(spec, dict) or "type" not in spec or "config" not in spec:
        raise ValueError(f"a module spec needs 'type' and 'config', got {spec!r:.80}")
    name, config = spec["type"], spec["config"]
    if not isinstance(name, str) or name not in MODULE_TYPES:
        raise ValueError(
            f"unknown module type {name!r:.80}; import the code that defines it first "
            f"(known: {', '.join(sorted(MODULE_TYPES))})"
        )
    if not isinstance(config, dict):
        raise ValueError(f"the config of a {name} must be a mapping")
    return name, config


def _invalid(name: str, config: dict[str, Any], exc: Exception) -> ValueError:
    return ValueError(f"invalid {name} config {config!r:.120}: {exc}")


def module_from_spec(spec: Any) -> Module:
    """Rebuild a module from :func:`module_spec` (zero weights, no random numbers used)."""
    name, config = _split(spec)
    try:
        return MODULE_TYPES[name].from_config(dict(config))
    except (LookupError, TypeError, ValueError) as exc:
        raise _invalid(name, config, exc) from exc


class SpecSize(NamedTuple):
    """What a spec builds. ``exact`` is False when it holds a module type nn cannot count
    (a custom one, counted as one module without parameters): the counts are then lower
    bounds."""

    parameters: int
    modules: int
    exact: bool = True


# What one module of nn's own types builds: (parameters, modules, child specs).
_Counted = tuple[int, int, list[Any]]


def _required(config: dict[str, Any], key: str) -> Any:
    if key not in config:
        raise ValueError(f"the config has no {key!r}")
    return config[key]


def _size(config: dict[str, Any], key: str) -> int:
    return int_at_least(key, _required(config, key))


def _bias(config: dict[str, Any]) -> int:
    return int(flag("bias", config.get("bias", True)))


def _neuron(config: dict[str, Any]) -> _Counted:
    return _size(config, "nin") + _bias(config), 1, []


def _layer(config: dict[str, Any]) -> _Counted:
    nout = _size(config, "nout")
    return nout * (_size(config, "nin") + _bias(config)), 1 + nout, []


def _mlp(config: dict[str, Any]) -> _Counted:
    nouts = _required(config, "nouts")
    if not isinstance(nouts, list) or not nouts:
        raise TypeError(f"nouts must be a non-empty list of layer sizes, got {nouts!r:.40}")
    sizes = [_size(config, "nin"), *(int_at_least("each layer size", n) for n in nouts)]
    bias = _bias(config)
    parameters = sum(nout * (nin + bias) for nin, nout in zip(sizes, sizes[1:]))
    dropout = 1 if config.get("dropout") else 0
    return parameters, 1 + len(nouts) + sum(sizes[1:]) + dropout, []


def _sequential(config: dict[str, Any]) -> _Counted:
    layers = _required(config, "layers")
    if not isinstance(layers, list) or not layers:
        raise TypeError(f"layers must be a non-empty list of module specs, got {layers!r:.40}")
    return 0, 1, layers


_COUNTERS: dict[str, Callable[[dict[str, Any]], _Counted]] = {
    "Neuron": _neuron,
    "Layer": _layer,
    "MLP": _mlp,
    "Sequential": _sequential,
    "Dropout": lambda config: (0, 1, []),
    "Perceptron": lambda config: (_size(config, "nin") + 1, 1, []),
}


def spec_size(spec: Any) -> SpecSize:
    """Count the parameters and modules ``spec`` would build, from its configs alone
    (nothing is built, no recursion); a ValueError names a bad spec or config."""
    parameters = modules = 0
    exact = True
    pending = [spec]
    while pending:
        name, config = _split(pending.pop())
        count = _COUNTERS.get(name)
        if count is None:  # a custom type: only its own code knows what it builds
            modules += 1
            exact = False
            continue
        try:
            own_parameters, own_modules, children = count(config)
        except (TypeError, ValueError) as exc:
            raise _invalid(name, config, exc) from None
        parameters += own_parameters
        modules += own_modules
        pending.extend(children)
    return SpecSize(parameters, modules, exact)
