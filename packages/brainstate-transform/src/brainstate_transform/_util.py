"""Small helpers shared by the transformations."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

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


class ByValue:
    """Hashable stand-in for a concrete value that is not hashable itself (a NumPy array, a
    brainunit Quantity such as ``0.1 * u.ms``): equal to the stand-in of an equal value."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByValue) and other.key == self.key


def _value_key(value: Any) -> ByValue | None:
    """The value of ``value`` as a key, or None. A brainunit Quantity (found by its ``mantissa`` and
    ``unit``, brainunit being optional) is its unit and mantissa; a mantissa is keyed when it is a
    Python number or a NumPy array. JAX arrays are left to identity: reading them would copy them to
    the host on every call."""
    mantissa, unit = value, None
    if hasattr(type(value), "mantissa") and hasattr(type(value), "unit"):
        mantissa, unit = value.mantissa, value.unit
        try:
            hash(unit)
        except TypeError:
            return None
    if isinstance(mantissa, bool | int | float | complex):
        try:
            array = np.asarray(mantissa)  # the bytes tell -0.0 from 0.0; the type tells 1 from 1.0
        except OverflowError:
            return None
    elif isinstance(mantissa, np.ndarray) and mantissa.dtype != object:
        array = mantissa
    else:
        return None
    return ByValue((type(value), type(mantissa), unit, array.dtype.str, array.shape, array.tobytes()))


def _hashable(value: Any) -> Any:
    """``value`` if hashable, else a key equal for equal values (:class:`ByValue`), else by identity.

    Keying ``environ.context(dt=0.1 * u.ms)`` by identity would compile a new program every time the
    block is entered, since each entry makes a new Quantity.
    """
    try:
        hash(value)
    except TypeError:
        return _value_key(value) or ById(value)
    return value


def environ_values(keys: Sequence[Hashable]) -> tuple:
    """Hashable snapshot of the current values of ``environ`` keys (part of compiled-program keys)."""
    from brainstate_core import environ

    # A key a trace recorded is a name or a scoped key of another environment, which get also takes.
    return tuple(_hashable(environ.get(k, None)) for k in keys)  # pyright: ignore[reportArgumentType]
