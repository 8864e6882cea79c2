"""Running a module tree once per vmap lane: the shared primitive of :func:`vmap_init_all_states`,
:func:`~brainstate.nn.vmap_call_all_fns`, :func:`~brainstate.nn.vmap_reset_all_states` and
:class:`~brainstate.nn.Map`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, State, graph
from brainstate_core.internal import FilterLike, is_dead, peek

from ._module import _LOCAL, Module, _check_keywords, _exclusion, init_all_states

__all__ = ["vmap_init_all_states"]

M = TypeVar("M", bound=Module)


def _lane_count(axis_size: Any, caller: str, name: str = "axis_size") -> int:
    if isinstance(axis_size, bool) or not isinstance(axis_size, int) or axis_size <= 0:
        raise ConfigError(f"{caller}() needs {name}=, the number of lanes, as a positive int; got {axis_size!r}. "
                          f"Fix: pass e.g. {name}=8.")
    return axis_size


def _batched(target: Any, n: int) -> list[State]:
    """The States of ``target`` that already hold one entry per lane on axis 0 (leading axis of size ``n``)."""
    out = []
    for state in graph.states(target).values():
        if is_dead(state) or type(state).to_lanes is not State.to_lanes:  # a RandomState has its own lane rule
            continue
        leaves = jax.tree.leaves(peek(state))
        if leaves and all(jnp.ndim(x) > 0 and jnp.shape(x)[0] == n for x in leaves):
            out.append(state)
    return out


def _per_lane(call: Callable[[], Any], n: int, state_tag: str | None, lane_axes: dict, policy: str,
              behavior: str = "vmap", axis_name: Any = None, spmd_axis_name: Any = None) -> list[State]:
    """Run ``call()`` once per lane; returns the States that got a lane axis 0 (created or re-made by it).

    ``lane_axes`` (``{axis: states}``) are sliced per lane and stacked back; ``policy`` is the
    ``unexpected_out_state_mapping`` for other states written per lane. While it runs,
    ``Module.set_state`` makes fresh States, whose batched values then move into the old objects,
    so the model keeps its State objects (and jitted functions holding them stay valid).
    """
    from brainstate_transform import pmap2, vmap2
    from brainstate_transform.internal import run_new_states

    options: dict[str, Any] = dict(state_in_axes=lane_axes or None, unexpected_out_state_mapping=policy)
    if behavior == "vmap":
        def mapped_of(body: Callable) -> Callable:
            return vmap2(body, in_axes=None, axis_size=n, axis_name=axis_name, spmd_axis_name=spmd_axis_name, **options)
    else:
        def mapped_of(body: Callable) -> Callable:
            lanes = pmap2(lambda _: body(), axis_name, **options)
            return lambda: lanes(jnp.arange(n))

    previous = _LOCAL.replaced
    _LOCAL.replaced = replaced = {}
    try:
        _, created = run_new_states(call, (), {}, state_tag, mapped_of)
    except BaseException:
        for module, name, old in replaced.values():  # a failed call leaves the model its States
            setattr(module, name, old)
        raise
    finally:
        _LOCAL.replaced = previous
    kept = {}
    for module, name, old in replaced.values():
        new = module.__dict__[name]
        old.value = new.value
        if new.tag is not None:
            old.tag = new.tag
        setattr(module, name, old)
        kept[id(new)] = old
    return [kept.get(id(s), s) for s in created]


def vmap_init_all_states(target: M, *args: Any, axis_size: int, state_tag: str | None = None,
                         exclude: FilterLike | None = None, node_to_exclude: FilterLike | None = None,
                         **kwargs: Any) -> M:
    """:func:`~brainstate.nn.init_all_states` run once per vmap lane: each new State gets a leading axis ``axis_size``.

    This gives every lane its own initial state (random initialisers draw independently per lane).
    States that ``init_state`` re-initialises with :meth:`Module.set_state` keep their identity.
    Keywords are checked as by ``init_all_states``; ``node_to_exclude`` is upstream's name of ``exclude``.

    Example:
        >>> import brainstate_nn as nn
        >>> cell = nn.vmap_init_all_states(nn.LSTMCell(3, 4), axis_size=5)
        >>> cell.h.value.shape, cell.c.value.shape
        ((5, 4), (5, 4))
    """
    exclude = _exclusion("vmap_init_all_states", exclude, node_to_exclude)
    _check_keywords("vmap_init_all_states", target, exclude, kwargs)
    n = _lane_count(axis_size, "vmap_init_all_states")
    lanes = _batched(target, n)
    _per_lane(lambda: init_all_states(target, *args, exclude=exclude, **kwargs), n, state_tag,
              {0: lanes} if lanes else {}, "auto")
    return target
