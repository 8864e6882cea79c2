"""Upstream brainstate's private ``brainstate._compatible_import``, for the libraries built on upstream.

braintools 0.3 imports ``Primitive``, ``safe_zip`` and ``unzip2`` from it, brainpy 2.8 ``safe_zip`` and
``get_backend`` (docs/packaging.md, "Ecosystem"). Only those names are here, and this is no public API:
new code takes ``jax.extend.core.Primitive`` and ``jax.extend.backend.get_backend`` from JAX and
writes ``zip(..., strict=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jax.extend.backend import get_backend
from jax.extend.core import Primitive

__all__ = ["Primitive", "get_backend", "safe_zip", "unzip2"]


def safe_zip(*args: Iterable[Any]) -> list[tuple[Any, ...]]:
    """``list(zip(*args))`` for sequences of one length; ``ValueError`` when the lengths differ."""
    return list(zip(*args, strict=True))


def unzip2(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """``[(a, b), (c, d)]`` -> ``((a, c), (b, d))``; ``((), ())`` for no pairs."""
    firsts, seconds = [], []
    for first, second in pairs:
        firsts.append(first)
        seconds.append(second)
    return tuple(firsts), tuple(seconds)
