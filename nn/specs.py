"""Architectures as data: ``{'type': ..., 'config': ...}`` specs and the classes behind them.

Every :class:`~nn.module.Module` subclass is registered here by its type name when it is
defined, so a spec read from a model file can be turned back into a module. This module
imports nothing from nn: :mod:`nn.module` registers classes into it and
:mod:`nn.serialize` reads and writes specs through it, without importing each other's
internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .module import Module

__all__ = ["MODULE_TYPES", "module_from_spec", "module_spec", "register_module_type", "type_name"]

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


def module_from_spec(spec: Any) -> Module:
    """Rebuild a module from :func:`module_spec` (zero weights, no random numbers used)."""
    if not isinstance(spec, dict) or "type" not in spec or "config" not in spec:
        raise ValueError(f"a module spec needs 'type' and 'config', got {spec!r:.80}")
    cls = MODULE_TYPES.get(spec["type"])
    if cls is None:
        raise ValueError(
            f"unknown module type {spec['type']!r}; import the code that defines it first "
            f"(known: {', '.join(sorted(MODULE_TYPES))})"
        )
    if not isinstance(spec["config"], dict):
        raise ValueError(f"the config of a {spec['type']} must be a mapping")
    try:
        return cls.from_config(dict(spec["config"]))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid {spec['type']} config {spec['config']!r:.120}: {exc}") from exc
