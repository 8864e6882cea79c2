"""Small helpers shared by the transformations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brainstate_core import State, TraceContextError
from brainstate_core._state import format_value
from brainstate_core._trace import LOCAL, _contains_tracer

__all__ = ["normalize_argnums", "read_values", "write_back", "environ_values", "is_state", "ById", "describe"]


def describe(value: Any) -> str:
    """What a function returned, for error messages: ``f32[3]``, ``(f32[], i32[2], f32[])``."""
    try:
        return format_value(value)
    except Exception:  # noqa: BLE001 - a value that does not flatten: its type will do
        return type(value).__name__


def is_state(x: Any) -> bool:
    return isinstance(x, State)


def normalize_argnums(nums: int | Sequence[int] | None) -> tuple[int, ...]:
    if nums is None:
        return ()
    if isinstance(nums, int):
        return (nums,)
    return tuple(nums)


def read_values(states: Sequence[State]) -> list[Any]:
    """Current values of ``states``; recorded as reads when an outer transformation is tracing."""
    if LOCAL.traces:
        return [s.value for s in states]
    return [s.value if s._dead else s._value for s in states]


def write_back(states: Sequence[State], new_values: dict[int, Any]) -> None:
    """Write ``new_values`` (state index -> value) into ``states`` after a transformation ran."""
    if LOCAL.traces:
        for i, value in new_values.items():
            states[i].value = value
        return
    first = next(iter(new_values.values()))
    if _contains_tracer(first):
        state = states[next(iter(new_values))]
        raise TraceContextError(
            f"A brainstate transformation was called inside a raw JAX transformation (jax.jit, jax.grad, "
            f"jax.vmap, ...) and would write tracers into {state!r} (created at {state.source_info}). Fix: "
            "use the brainstate.transform version of the outer transformation too."
        )
    for i, value in new_values.items():
        states[i]._value = value


class ById:
    """Hashable stand-in for an object, equal only to a stand-in of the same object; keeps it alive."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ById) and other.obj is self.obj


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ById(value)
    return value


def environ_values(keys: Sequence[str]) -> tuple:
    """Hashable snapshot of the current values of ``environ`` keys (part of compiled-program keys)."""
    from brainstate_core import environ

    return tuple(_hashable(environ.get(k, None)) for k in keys)
