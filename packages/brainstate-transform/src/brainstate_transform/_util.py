"""Small helpers shared by the transformations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brainstate_core import State
from brainstate_core.internal import format_value

__all__ = ["normalize_argnums", "environ_values", "is_state", "ById", "describe", "fun_name"]


def fun_name(fun: Any) -> str:
    """How error messages and reprs name a user's function: its qualified name, else its repr."""
    return getattr(fun, "__qualname__", None) or repr(fun)


def describe(value: Any) -> str:
    """What a function returned, for error messages: ``f32[3]``, ``(f32[], i32[2], f32[])``."""
    try:
        return format_value(value)
    except Exception:  # noqa: BLE001 - a value that does not flatten: its type will do
        return type(value).__name__


def is_state(x: Any) -> bool:
    return isinstance(x, State)


def normalize_argnums(nums: int | Sequence[int] | None) -> tuple[int, ...]:
    """``argnums`` as a tuple: ``None`` -> ``()``, ``2`` -> ``(2,)``."""
    if nums is None:
        return ()
    if isinstance(nums, int):
        return (nums,)
    return tuple(nums)


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
