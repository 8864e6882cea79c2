"""Small helpers shared by the layers: size normalisation, the random generator lookup, variant docs."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, ShardingError
from brainstate_core.internal import check_sharding

__all__ = ["as_size", "as_tuple", "generator", "as_mask", "variant_doc", "make_param"]

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


def make_param(param_type: type, value: Any, sharding: Any, layer: str) -> Any:
    """``param_type(value)`` carrying a layer's ``sharding=`` keyword as the state's declaration.

    For a dict of parameters (``{'weight': W, 'bias': b}``) ``sharding`` maps parameter names to
    specs (a missing name is replicated); for a single array it is one spec. A spec is what
    ``State(..., sharding=)`` takes: a PartitionSpec, a tuple of mesh or logical axis names, or a
    NamedSharding. Names and ranks are checked here, where the layer is built.
    """
    if sharding is None:
        return param_type(value)
    if isinstance(value, dict):
        if not isinstance(sharding, Mapping):
            raise ShardingError(f"{layer} sharding={sharding!r}: its parameters are {sorted(value)}, so give a dict "
                                "from parameter name to spec. Fix: e.g. sharding={"
                                + ", ".join(f"{k!r}: ..." for k in value) + "}.")
        unknown = sorted(set(sharding) - set(value), key=str)
        if unknown:
            raise ShardingError(f"{layer} sharding names {unknown}, which are not its parameters ({sorted(value)}). "
                                "Fix: use those names (a parameter left out is replicated).")
        sharding = {k: sharding.get(k) for k in value}
    elif isinstance(sharding, Mapping):
        raise ShardingError(f"{layer} sharding={sharding!r}: it has one parameter array, so give one spec, "
                            "e.g. sharding=('vocab', 'embed'). Fix: pass the spec itself.")
    state = param_type(value, sharding=sharding)
    try:
        check_sharding(state)
    except ShardingError as err:
        raise ShardingError(f"{layer}: {err}") from None
    return state


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
