"""Small helpers shared by the layers: size normalisation, the random generator lookup, variant docs."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError

__all__ = ["as_size", "as_tuple", "generator", "as_mask", "variant_doc"]

Size = int | Sequence[int]
C = TypeVar("C", bound=type)


def as_size(size: Size, what: str) -> tuple[int, ...]:
    """``3`` -> ``(3,)``; a sequence of positive ints -> a tuple; anything else raises."""
    dims = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if not dims or not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims):
        raise ConfigError(f"{what} must be a positive int or a tuple of positive ints, got {size!r}. "
                          "Fix: pass sizes >= 1.")
    return tuple(int(d) for d in dims)


def as_tuple(value: int | Sequence[int], n: int, what: str) -> tuple[int, ...]:
    """An int repeated ``n`` times, or a sequence of exactly ``n`` ints."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ConfigError(f"{what} must be an int or a sequence of {n} ints, got {value!r}. "
                          f"Fix: pass one int or {n} ints (one per spatial axis).")
    return value


def generator(rng: Any) -> Any:
    """``rng`` itself, or the default generator ``brainstate.random.DEFAULT`` when ``rng`` is None."""
    if rng is not None:
        return rng
    import brainstate_random

    return brainstate_random.DEFAULT


def as_mask(mask: Any, shape: tuple[int, ...], what: str) -> Any:
    """``mask`` as an array broadcastable to ``shape`` (``None`` stays ``None``)."""
    if mask is None:
        return None
    mask = jnp.asarray(mask)
    try:
        ok = jnp.broadcast_shapes(mask.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{what} w_mask of shape {mask.shape} does not broadcast to the weight shape {shape}. "
                          "Fix: pass a mask of the weight's shape.")
    return mask


def variant_doc(cls: C) -> C:
    """Class decorator of a 1d/2d/3d variant: put its private base classes' docstrings after its first line.

    The prose the variants of a layer share is written once, on their private (``_``-named) base
    classes, nearest first; each variant's own docstring holds its one-line summary and its example.
    """
    summary, _, rest = inspect.cleandoc(cls.__doc__ or "").partition("\n")
    shared = []
    for base in cls.__mro__[1:]:
        if not base.__name__.startswith("_"):
            break
        shared.append(inspect.cleandoc(base.__dict__.get("__doc__") or ""))
    cls.__doc__ = "\n\n".join(part for part in (summary, *shared, rest.strip()) if part) + "\n"
    return cls
