"""Which ``autograd``, ``nn`` and ``viz`` Python imports: a clear error when another
installed package of the same name (such as HIPS autograd, ``pip install autograd``)
is found first.

``nn`` and ``viz`` run this file by its path (next to their own folder: ``import
autograd`` may find the other package) before they import anything else.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["CHAINRULE_PACKAGES", "ShadowedPackageError", "check_packages"]

CHAINRULE_PACKAGES = ("autograd", "nn", "viz")


class ShadowedPackageError(ImportError):
    """Another package with the name of one of chainrule's is imported instead of it."""


def _found_folder(name: str) -> Path | None:
    module = sys.modules.get(name)
    spec = module.__spec__ if module is not None else importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).resolve().parent


def check_packages(root: str | Path, names: tuple[str, ...] = CHAINRULE_PACKAGES) -> None:
    """Raise :class:`ShadowedPackageError` if ``import <name>`` is not ``root/<name>``."""
    root = Path(root).resolve()
    for name in names:
        ours = root / name
        found = _found_folder(name)
        if found is None or found == ours:
            continue
        raise ShadowedPackageError(
            f"`import {name}` finds another package named {name!r}:\n"
            f"  found:             {found}\n"
            f"  chainrule's needs: {ours}\n"
            f"Another installed package is named {name!r} too (for example HIPS autograd, "
            f"`pip install autograd`). Fix: uninstall it (`pip uninstall {name}`), or give "
            f"chainrule its own virtual environment: python -m venv .venv && . "
            f".venv/bin/activate && pip install -e {root}"
        )


if __name__ == "check":  # run by nn/__init__.py and viz/__init__.py
    check_packages(Path(__file__).resolve().parents[1])
