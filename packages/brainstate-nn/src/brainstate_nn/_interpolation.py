"""``InterpolationRegistry``: the named ways a delay reads a time that falls between two steps.

A delay of ``t`` ms is ``t / dt`` steps. When that is a whole number the value is read exactly;
otherwise the delay's interpolation method combines the neighbouring steps. A method is a function
``method(read, steps) -> value``: ``steps`` is the delay in steps (a Python float, not a whole
number) and ``read(k)`` returns the value ``k`` updates ago for an integer ``k``. A method
registered with ``reach=r`` may read up to ``floor(steps) + r`` steps back (the delay keeps that
much history for it); reading further raises, and ``k < 0`` (newer than the last update) reads the
last value. The methods are looked up by name in :class:`Delay` (``interp_method=``) and in the
prefetch readers (``interpolation=``).

Upstream brainstate passes its methods the raw ring buffer, a float position in it and the buffer
length, and each method wraps the position itself: a method that reaches further than the buffer
silently reads the newest values as if they were the oldest. Here a method sees only ``read`` and
the delay, and the buffer is sized from its declared ``reach``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, ClassVar

import jax.numpy as jnp

from brainstate_core import ConfigError, InputError

__all__ = ["InterpolationRegistry"]

Method = Callable[[Callable[[int], Any], float], Any]


def _nearest(read: Callable[[int], Any], steps: float) -> Any:
    return read(round(steps))


def _linear(read: Callable[[int], Any], steps: float) -> Any:
    low = math.floor(steps)
    weight = steps - low
    return read(low) * (1.0 - weight) + read(low + 1) * weight


class InterpolationRegistry:
    """The interpolation methods of the delays, by name.

    Built in: ``'round'`` (alias ``'nearest'``: the nearest step, ties to even) and
    ``'linear_interp'`` (alias ``'linear'``: linear between the two neighbouring steps). A method
    registered here works in every delay that names it (see the module notes for the protocol).

    Example:
        >>> import math, brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> nn.InterpolationRegistry.register('older', lambda read, steps: read(math.ceil(steps)))
        >>> with bc.environ.context(dt=1.0):
        ...     d = nn.init_all_states(nn.Delay(jnp.zeros(1), time=3.0, interp_method='older'))
        ...     for k in range(5):
        ...         d.update(jnp.array([float(k)]))
        ...     with bc.environ.context(t=4.0):
        ...         d.retrieve_at_time(2.5)   # 1.5 ms ago: 2 steps back, not 1.5
        Array([2.], dtype=float32)
        >>> nn.InterpolationRegistry.unregister('older')
        >>> nn.InterpolationRegistry.get('cubic')
        Traceback (most recent call last):
        ...
        brainstate.ConfigError: No delay interpolation method 'cubic'; registered: ['linear', 'linear_interp', 'nearest', 'round']. Fix: register it first with InterpolationRegistry.register('cubic', method).
    """

    _methods: ClassVar[dict[str, tuple[Method, int]]] = {}
    _builtin: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        raise ConfigError("InterpolationRegistry is not instantiated. Fix: call its class methods, e.g. "
                          "InterpolationRegistry.register(name, method).")

    @classmethod
    def register(cls, name: str, method: Method, *, reach: int = 1) -> None:
        """Add ``method(read, steps)`` under ``name``; it reads at most ``floor(steps) + reach`` steps back.

        Registering the same function again is allowed; another function under a used name raises.
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"Interpolation method names are non-empty strings, got {name!r}. Fix: pass e.g. "
                              "'cubic'.")
        if not callable(method):
            raise ConfigError(f"Interpolation method {name!r} must be callable as method(read, steps), got "
                              f"{method!r}. Fix: pass a function.")
        if isinstance(reach, bool) or not isinstance(reach, int) or reach < 1:
            raise ConfigError(f"Interpolation method {name!r}: reach must be an int >= 1 (how many steps beyond "
                              f"floor(steps) it reads), got {reach!r}. Fix: pass e.g. reach=2 for a 4-point stencil.")
        old = cls._methods.get(name)
        if old is not None and old != (method, reach):
            raise ConfigError(f"An interpolation method {name!r} is already registered. Fix: choose another name"
                              f"{'' if name in cls._builtin else ', or unregister it first'}.")
        cls._methods[name] = (method, reach)

    @classmethod
    def unregister(cls, name: str) -> None:
        """Remove the method ``name`` (the built-in methods stay)."""
        if name in cls._builtin:
            raise ConfigError(f"The interpolation method {name!r} is built in and cannot be removed. Fix: register "
                              "yours under another name.")
        cls._entry(name)
        del cls._methods[name]

    @classmethod
    def _entry(cls, name: str | None) -> tuple[Method, int]:
        entry = cls._methods.get(name) if isinstance(name, str) else None
        if entry is None:
            raise ConfigError(f"No delay interpolation method {name!r}; registered: {cls.list_methods()}. Fix: "
                              f"register it first with InterpolationRegistry.register({name!r}, method).")
        return entry

    @classmethod
    def get(cls, name: str) -> Method:
        """The function registered under ``name``."""
        return cls._entry(name)[0]

    @classmethod
    def reach(cls, name: str | None) -> int:
        """How many steps beyond ``floor(steps)`` the method ``name`` reads."""
        return cls._entry(name)[1]

    @classmethod
    def list_methods(cls) -> list[str]:
        """The registered names, sorted."""
        return sorted(cls._methods)


for _names, _fn in ((("round", "nearest"), _nearest), (("linear_interp", "linear"), _linear)):
    for _name in _names:
        InterpolationRegistry.register(_name, _fn)
InterpolationRegistry._builtin = frozenset(InterpolationRegistry._methods)
del _names, _fn, _name


# -- helpers of the delays ---------------------------------------------------------------------
def to_steps(t: float, dt: float, method: str | None, prefix: str, suffix: str, fix: str) -> tuple[int, float]:
    """``(whole steps, fraction)`` of the delay ``t`` ms; a fraction needs an interpolation ``method``.

    The error for a fraction without a method reads ``{prefix}{t} ms{suffix} is not a multiple of dt
    ... Fix: pass a multiple of dt, or {fix}.``; a method adds ``reach`` steps to what the delay
    must keep (see :func:`history_steps`).
    """
    ratio = t / dt
    near = round(ratio)
    if abs(ratio - near) <= 1e-6 * max(1.0, ratio):
        return int(near), 0.0
    if method is None:
        raise ConfigError(f"{prefix}{t:g} ms{suffix} is not a multiple of dt = {dt:g} ms ({ratio:.4g} steps). "
                          f"Fix: pass a multiple of dt, or {fix}.")
    low = math.floor(ratio)
    return low, ratio - low


def history_steps(steps: tuple[int, float], method: str | None) -> int:
    """How many steps back a read of ``steps`` (from :func:`to_steps`) may look with ``method``."""
    low, frac = steps
    return low if frac == 0.0 else low + InterpolationRegistry.reach(method)


def interpolate(method: str | None, read: Callable[[int], Any], steps: tuple[int, float]) -> Any:
    """The value ``steps`` back: ``read(low)`` for a whole number, else the registered ``method``."""
    low, frac = steps
    if frac == 0.0:
        return read(low)
    fn, reach = InterpolationRegistry._entry(method)
    top = low + reach

    def checked(k: Any) -> Any:
        try:
            k = operator.index(k)
        except TypeError:
            raise InputError(f"Interpolation method {method!r} called read({k!r}); read takes a Python int (steps "
                             "back). Fix: compute the step with math.floor / round on the steps it gets.") from None
        if k > top:
            raise InputError(f"Interpolation method {method!r} read {k} steps back for a delay of {low + frac:.4g} "
                             f"steps, beyond its reach ({reach}: at most {top}). Fix: register it with a larger "
                             "reach.")
        return read(max(k, 0))

    return fn(checked, low + frac)


def interpolate_traced(method: str | None, read: Callable[[Any], Any], steps: Any, top: int) -> Any:
    """The value ``steps`` back for a traced (or array) ``steps``, held to ``[0, top]``.

    The built-in methods have traced forms: the nearest step (``'round'``, or no method: a time on the
    grid) and linear interpolation; ``read`` takes an integer array. A registered method is called with
    Python numbers, so it needs concrete steps: :class:`ConfigError`.
    """
    fn = _nearest if method is None else InterpolationRegistry.get(method)
    if fn is not _nearest and fn is not _linear:
        raise ConfigError(f"Delay interp_method {method!r} needs a concrete time in retrieve_at_time (it is "
                          "called with Python numbers). Fix: use 'round' or 'linear_interp' for a traced time, or "
                          "register an entry for the delay and read it with at(entry).")
    steps = jnp.clip(steps, 0, top)
    if fn is _nearest:
        return read(jnp.round(steps).astype(jnp.int32))
    low = jnp.floor(steps)
    weight = steps - low
    low = low.astype(jnp.int32)
    return read(low) * (1 - weight) + read(jnp.minimum(low + 1, top)) * weight
