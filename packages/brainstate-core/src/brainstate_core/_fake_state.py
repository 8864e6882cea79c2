"""``FakeState``: something with a State's ``value`` and ``name`` that no transformation tracks."""

from __future__ import annotations

from typing import Any

from ._state import format_value

__all__ = ["FakeState"]


class FakeState:
    """A value holder with a State's ``value`` and ``name`` that no transformation tracks.

    Use it where code expects something with a ``.value`` but the value is a constant (or is
    threaded by hand). It is not a :class:`State`: reads and writes are not recorded, so a
    transformation neither threads it nor restores it; under a transformation it keeps whatever
    is written, tracers included, so write only values that may outlive the trace.

    Example:
        >>> import brainstate, jax.numpy as jnp
        >>> f = brainstate.FakeState(jnp.ones(2), name='c')
        >>> f.value = f.value * 2
        >>> f, isinstance(f, brainstate.State)
        (FakeState(f32[2], name='c'), False)
    """

    __slots__ = ("value", "name")

    def __init__(self, value: Any, name: str | None = None) -> None:
        self.value = value
        self.name = name

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"FakeState({format_value(self.value)}{name})"
