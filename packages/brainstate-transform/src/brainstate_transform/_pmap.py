"""``pmap``: map a stateful function over devices, with the state rules of :func:`vmap`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

import jax

from ._options import reject_unknown
from ._vmap import VmapFunction

__all__ = ["pmap"]


@overload
def pmap(fn: Callable, *, axis_name: str | None = ..., in_axes: Any = ..., out_axes: Any = ...,
         in_states: Any = ..., out_states: Any = ..., **pmap_kwargs: Any) -> VmapFunction: ...
@overload
def pmap(fn: None = None, *, axis_name: str | None = ..., in_axes: Any = ..., out_axes: Any = ...,
         in_states: Any = ..., out_states: Any = ..., **pmap_kwargs: Any) -> Callable[[Callable], VmapFunction]: ...
def pmap(
    fn: Callable | None = None,
    *,
    axis_name: str | None = None,
    in_axes: Any = 0,
    out_axes: Any = 0,
    in_states: Any = None,
    out_states: Any = None,
    **pmap_kwargs: Any,
) -> VmapFunction | Callable[[Callable], VmapFunction]:
    """Map a stateful function over devices, with the same state rules as :func:`vmap`.

    Example:
        >>> import brainstate, jax, jax.numpy as jnp
        >>> n = jax.local_device_count()
        >>> brainstate.transform.pmap(lambda x: x * 2)(jnp.ones(n)).shape == (n,)
        True
    """

    reject_unknown("brainstate.transform.pmap", pmap_kwargs, jax.pmap, ("fun", "in_axes", "out_axes", "axis_name"))

    def mapper(f, *, in_axes, out_axes, axis_name, axis_size):
        return jax.pmap(f, in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, **pmap_kwargs)

    options: dict[str, Any] = dict(in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, axis_size=None,
                                   in_states=in_states, out_states=out_states, mapper=mapper)
    if fn is None:
        return lambda f: VmapFunction(f, **options)
    return VmapFunction(fn, **options)


