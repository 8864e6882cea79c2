"""Small helpers: unique names, splitting a total, isinstance predicates, device memory, and a
snapshot of the active JAX trace.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jax

from .._trace import _opaque_jax_trace
from ._pretty_repr import PrettyAttr, PrettyRepr, PrettyType

__all__ = [
    "split_total",
    "get_unique_name",
    "is_instance_eval",
    "not_instance_eval",
    "clear_buffer_memory",
    "StateJaxTracer",
]


def split_total(total: int, fraction: int | float) -> int:
    """The part of ``total`` that ``fraction`` names: a float share in [0, 1] or an int count.

    Args:
        total: a positive int (a number of steps, epochs, samples).
        fraction: a float in [0, 1], giving ``int(total * fraction)``, or an int in
            ``[0, total]``, returned as is.

    Raises:
        TypeError: ``total`` is not an int, or ``fraction`` is neither an int nor a float (bools
            are refused for both).
        ValueError: ``total`` is not positive, or ``fraction`` is out of range.

    Example:
        >>> from brainstate_core.util import split_total
        >>> split_total(1000, 0.25), split_total(1000, 30)
        (250, 30)
        >>> split_total(1000, 1.5)
        Traceback (most recent call last):
        ...
        ValueError: split_total: a float fraction must be in [0, 1], got 1.5.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"split_total: total must be an int, got {type(total).__name__}.")
    if total <= 0:
        raise ValueError(f"split_total: total must be positive, got {total}.")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"split_total: fraction must be an int or a float, got {type(fraction).__name__}.")
    if isinstance(fraction, float):
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"split_total: a float fraction must be in [0, 1], got {fraction}.")
        return int(total * fraction)
    if not 0 <= fraction <= total:
        raise ValueError(f"split_total: an int fraction must be in [0, total={total}], got {fraction}.")
    return fraction


class _Counters(threading.local):
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}


_COUNTERS = _Counters()


def get_unique_name(type_: str, prefix: str = "") -> str:
    """A new name ``prefix + type_ + n``, where ``n`` counts the names made for ``type_`` so far.

    The counters are per thread, and per ``type_`` whatever the prefix.

    Example:
        >>> from brainstate_core.util import get_unique_name
        >>> a, b = get_unique_name('DocLayer'), get_unique_name('DocLayer', prefix='enc_')
        >>> a, b
        ('DocLayer0', 'enc_DocLayer1')
    """
    n = _COUNTERS.counts.get(type_, 0)
    _COUNTERS.counts[type_] = n + 1
    return f"{prefix}{type_}{n}"


def _isinstance_of(x: Any, cls: tuple[type, ...]) -> bool:
    return isinstance(x, cls)


def _not_isinstance_of(x: Any, cls: tuple[type, ...]) -> bool:
    return not isinstance(x, cls)


def is_instance_eval(*cls: type) -> Callable[[Any], bool]:
    """A predicate ``x -> isinstance(x, cls)`` (a picklable ``functools.partial``).

    Example:
        >>> from brainstate_core.util import is_instance_eval
        >>> is_number = is_instance_eval(int, float)
        >>> is_number(1.0), is_number('1')
        (True, False)
    """
    return functools.partial(_isinstance_of, cls=cls)


def not_instance_eval(*cls: type) -> Callable[[Any], bool]:
    """A predicate ``x -> not isinstance(x, cls)`` (a picklable ``functools.partial``).

    Example:
        >>> from brainstate_core.util import not_instance_eval
        >>> not_instance_eval(str)('a'), not_instance_eval(str)(1)
        (False, True)
    """
    return functools.partial(_not_isinstance_of, cls=cls)


def clear_buffer_memory(platform: str | None = None, array: bool = True, compilation: bool = False) -> None:
    """Free device memory: delete every live JAX array, optionally clear JAX's compilation caches.

    Meant for long Python loops that build and drop models. Every array still referenced
    (State values included) becomes unusable afterwards, and reading it raises; create the
    data again.

    Args:
        platform: the backend whose arrays are deleted (``'cpu'``, ``'gpu'``, ...); None means
            the default backend.
        array: delete the live arrays.
        compilation: also clear the compilation caches (``jax.clear_caches()``).

    Example:
        >>> from brainstate_core.util import clear_buffer_memory
        >>> clear_buffer_memory(array=False)   # only collects garbage
    """
    if array:
        for arr in jax.live_arrays(platform):
            if not arr.is_deleted():
                arr.delete()
    if compilation:
        jax.clear_caches()
    gc.collect()


class StateJaxTracer(PrettyRepr):
    """A snapshot of the JAX trace active when it is created (the eager level, or a jit/grad/vmap trace).

    :meth:`is_valid` says whether that trace is the one active now, which is how one detects a
    value or object being used outside the trace that made it.

    Example:
        >>> import jax
        >>> from brainstate_core.util import StateJaxTracer
        >>> outer = StateJaxTracer()
        >>> outer.is_valid()
        True
        >>> def inner_check(x):
        ...     print(outer.is_valid())
        ...     return x
        >>> _ = jax.jit(inner_check)(1.0)
        False
    """

    __slots__ = ("_jax_trace",)

    def __init__(self) -> None:
        self._jax_trace = _opaque_jax_trace()

    @property
    def jax_trace(self) -> Any:
        """The captured (opaque) JAX trace state."""
        return self._jax_trace

    def is_valid(self) -> bool:
        """Whether the captured trace is the JAX trace active now."""
        return self._jax_trace == _opaque_jax_trace()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StateJaxTracer) and self._jax_trace == other._jax_trace

    def __hash__(self) -> int:  # the opaque trace state compares but does not hash
        return hash(StateJaxTracer)

    def __pretty_repr__(self) -> Iterator[PrettyType | PrettyAttr]:
        yield PrettyType(type(self))
        yield PrettyAttr("jax_trace", self._jax_trace)
