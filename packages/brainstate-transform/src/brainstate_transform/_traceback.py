"""Traceback hygiene: a user's error shows the user's frames, not the machinery of the transformations.

JAX removes its own frames from tracebacks that pass through its API boundaries (``jax.jit``, ``jax.grad``,
...), and lets other libraries register their files for the same treatment; Equinox does this too.
brainstate registers the files of brainstate-transform and of core's state trace, and wraps the calls of
its transformed functions in the same boundary, so an error raised before JAX is reached is filtered
too. ``JAX_TRACEBACK_FILTERING=off`` shows every frame, as for JAX itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

try:  # JAX's own mechanism; private, so a JAX without it just shows every frame
    from jax._src import traceback_util as _tb
except ImportError:  # pragma: no cover - depends on the JAX version
    _tb = None

__all__ = ["hide_frames_of", "boundary"]


def hide_frames_of(file: str) -> None:
    """Hide every frame whose file is in the directory of ``file`` from filtered tracebacks."""
    if _tb is not None:
        _tb.register_exclusion(os.path.dirname(os.path.abspath(file)) + os.sep)


import brainstate_core as _core  # noqa: E402

hide_frames_of(__file__)
hide_frames_of(_core.__file__)


def boundary(fun: F) -> F:
    """Mark ``fun`` as an API boundary: tracebacks leaving it are filtered (see the module doc)."""
    return _tb.api_boundary(fun) if _tb is not None else fun
