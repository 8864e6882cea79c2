"""Declared layouts in transformations: written states pinned to their declaration, read states checked.

A state made with ``sharding=`` (see :mod:`brainstate_core.sharding`) keeps that layout through every
transformation: whatever the function computes (an optimiser update, a gradient step), the value
written back is pinned to the declared layout while tracing, so shardings never drift. Where no
mesh is in use nothing is pinned and a declared model runs on one device as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from brainstate_core import ShardingError, State, sharding
from brainstate_core.internal import contains_tracer, peek

__all__ = ["pin_declared", "check_read_layouts"]


def pin_declared(new_values: dict[State, Any]) -> dict[State, Any]:
    """The new values of written states, each declared one pinned to its layout (inside a trace)."""
    if jax.sharding.get_abstract_mesh().empty:
        return new_values
    for state, value in new_values.items():
        if sharding.declared(state) is not None:
            try:
                spec = sharding.partition_spec(state)
            except ShardingError:  # a lane's value inside vmap (fewer axes): the mapped result is pinned outside
                continue
            new_values[state] = sharding.constrain(value, spec)
    return new_values


def check_read_layouts(states: Sequence[State]) -> None:
    """Before a program is traced for ``states``: each declared state must already be laid out as declared.

    Raises:
        ShardingError: naming the state, the declared and the actual layout, and the fix.
    """
    mesh = None
    for state in states:
        if sharding.declared(state) is None:
            continue
        if mesh is None:
            mesh = sharding.get_mesh()
            if mesh is None or not isinstance(mesh, jax.sharding.Mesh):
                return
        value = peek(state)
        if contains_tracer(value):
            continue
        expected = sharding.named_sharding(state, mesh)
        for leaf, want in zip(jax.tree.leaves(value), jax.tree.leaves(expected)):
            have = getattr(leaf, "sharding", None)
            if have is not None and not have.is_equivalent_to(want, leaf.ndim):
                got = have.spec if isinstance(have, jax.sharding.NamedSharding) else (
                    f"{type(have).__name__} on devices {sorted(d.id for d in have.device_set)}")
                raise ShardingError(
                    f"{state!r} (created at {state.source_info}) is declared sharded as {want.spec} on the mesh in use, "
                    f"but its value is laid out as {got}. Fix: place the model's states on the mesh first with "
                    "brainstate.sharding.place(model) (or build it with brainstate.sharding.init_sharded), or "
                    "change the declaration.")
