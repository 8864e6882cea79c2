"""``pmap``: map a stateful function over devices, with the state rules of :func:`vmap`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, overload

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import BatchAxisError, State
from brainstate_core.internal import contains_tracer

from ._options import reject_unknown
from ._vmap import VmapFunction, _from_lanes

__all__ = ["pmap"]


class _PmapFunction(VmapFunction):
    """A stateful function mapped over devices (what :func:`pmap` returns)."""

    def _settle(self, states: list[State], writes: dict[int, tuple[Callable, Any]]) -> dict[int, tuple[Callable, Any]]:
        if self._undeclared != "raise":
            return super()._settle(states, writes)
        return {i: _same_on_every_device(states[i], w, v) for i, (w, v) in writes.items()}


def _same_on_every_device(state: State, write: Callable, value: Any) -> tuple[Callable, Any]:
    """A pmap write that came back stacked per device: kept as one value when every device wrote the same.

    pmap's lanes are separate programs, so whether a write depended on the lane shows only in the
    values: a state written with equal values everywhere is written back once, as vmap does. Inside an
    enclosing trace the values are not known yet; the first device's value is kept and a runtime check
    (:func:`jit_error_if`) fails the call if the devices disagree.
    """
    if not isinstance(write, functools.partial) or not write.keywords.get("batched"):
        return write, value
    leaves = jax.tree.leaves(value)
    message = (f"{state!r} (created at {state.source_info}) was written with a value that differs per pmap "
               "device, but it was not declared batched. Fix: declare it with `out_states=` (and `in_states=` "
               "if its input is batched too), or write a value that does not depend on the device's inputs.")
    once = functools.partial(_from_lanes, batched=False, n=write.keywords["n"])
    if contains_tracer(value):
        from ._misc import jit_error_if

        jit_error_if(jnp.any(jnp.stack([jnp.any(leaf != leaf[0:1]) for leaf in leaves])), message)
        return once, jax.tree.map(lambda x: x[0], value)
    host = [np.asarray(leaf) for leaf in leaves]
    if not all(np.array_equal(h, np.broadcast_to(h[0:1], h.shape)) for h in host):
        raise BatchAxisError(message)
    # From the host: the first device's slice of a pmap output stays laid out over pmap's mesh.
    return once, jax.tree.unflatten(jax.tree.structure(value), [jnp.asarray(h[0]) for h in host])



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
        return lambda f: _PmapFunction(f, **options)
    return _PmapFunction(fn, **options)


