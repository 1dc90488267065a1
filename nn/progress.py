"""Progress bars: tqdm's notebook widget where it works, its plain text bar elsewhere."""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

__all__ = ["progress_bar", "write"]


@functools.cache
def _bar_class() -> Any:
    # tqdm.auto picks the notebook widget inside Jupyter, and without ipywidgets it then
    # warns in red ("IProgress not found") on import. The text bar works in every
    # notebook, so without ipywidgets we take it quietly.
    if importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def progress_bar(**options: Any) -> Any:
    """A tqdm bar (``total=``, ``disable=``, ``unit=``, ...)."""
    return _bar_class()(**options)


def write(text: str) -> None:
    """Print a line without breaking a running bar."""
    _bar_class().write(text)
