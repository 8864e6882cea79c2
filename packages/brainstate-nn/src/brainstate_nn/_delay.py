"""Delays: ``Delay``, a ring buffer of the last values of a variable, and ``StateWithDelay``.

A delay keeps the last ``max_steps + 1`` values pushed by :meth:`Delay.update` in a ring buffer
(one ``dynamic_update_slice`` per step, no copy of the buffer). Delay **0** is the value pushed last,
delay ``k`` steps the value pushed ``k`` updates before it; before the first pushes the buffer holds
``init``.

Delays given in time (ms) are turned into steps with ``environ`` ``dt`` once, when they are
registered. A time that is not a whole number of steps is an error unless the delay was built with
an ``interp_method``: ``'round'`` (nearest step), ``'linear_interp'`` (linear interpolation between
the two neighbouring steps) or any method of :class:`~brainstate.nn.InterpolationRegistry`. The
buffer is made by :meth:`Delay.init_state` (``init_all_states``) for the longest delay registered
(plus the reach of the interpolation method); registering a longer delay later makes it again.

Two buffer layouts give the same values (``delay_method``): ``'rotation'`` (the default) writes each
value in place at a moving index; ``'concat'`` keeps the last value in row 0 and shifts the rows
down by one on every update (a copy of the buffer per step). With ``take_aware_unit=True`` the
values may be brainunit Quantities: the buffer holds their numbers in the unit of the first one
pushed, and every read returns a Quantity in that unit.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, HiddenState, InputError, State, environ
from brainstate_core.internal import is_tracer

from ._dynamics import get_dt
from ._interpolation import InterpolationRegistry, history_steps, interpolate, interpolate_traced, to_steps
from ._module import Module
from ._units import is_quantity, to_plain

__all__ = ["Delay", "StateWithDelay"]

_DELAY_METHODS = ("rotation", "concat")


def _time(value: Any, what: str) -> float:
    value = to_plain(value, "time", what)
    if is_tracer(value) or not float(value) >= 0:
        raise ConfigError(f"{what} must be a concrete time >= 0 (ms), got {value!r}. Fix: pass e.g. 1.5.")
    return float(value)


class Delay(Module):
    """The recent history of a variable, read ``k`` steps or ``t`` ms in the past.

    Args:
        target: the shape of one value, an example value (an array, whose shape and dtype are used)
            or a ``jax.ShapeDtypeStruct``; ``None`` (the default) is ``()``, a scalar.
        time: the longest delay to keep (ms); more can be registered with :meth:`register_entry`.
        init: the value of the history before the first updates (a scalar or an array).
        entries: named delays to register at once, ``{name: time}``.
        interp_method: how a delay that is not a multiple of ``dt`` is read: ``None`` (an error),
            ``'round'`` (the nearest step), ``'linear_interp'`` (interpolate between two steps) or
            the name of another method of :class:`~brainstate.nn.InterpolationRegistry`.
            (Upstream's default is ``'linear_interp'``; here ``None``, see the module notes.)
        name: optional display name.
        target_info: upstream's name for ``target`` (pass one of the two).
        delay_method: the buffer layout, ``'rotation'`` or ``'concat'`` (see the module notes); the
            values read are the same.
        take_aware_unit: accept brainunit Quantities: they are stored as numbers in the unit of the
            first value pushed (later ones are converted to it) and reads return Quantities.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     d = nn.Delay(jnp.zeros(2), entries={'syn': 0.3})
        ...     d = nn.init_all_states(d)
        ...     for k in range(5):  # the values at t = 0.0, 0.1, ..., 0.4 ms
        ...         d.update(jnp.full(2, float(k)))
        ...     with bc.environ.context(t=0.4):
        ...         d.at('syn'), d.retrieve_at_step(1), d.retrieve_at_time(0.2)
        (Array([1., 1.], dtype=float32), Array([3., 3.], dtype=float32), Array([2., 2.], dtype=float32))
        >>> with bc.environ.context(dt=0.1):
        ...     nn.Delay(jnp.zeros(2), time=0.25)
        Traceback (most recent call last):
        ...
        brainstate.ConfigError: Delay: the delay 0.25 ms is not a multiple of dt = 0.1 ms (2.5 steps). Fix: pass a multiple of dt, or build the Delay with interp_method='round' (nearest step) or 'linear_interp'.
    """

    # the step counter (made by init_state) and the init an OutputDelayAt gave
    index: HiddenState
    _given_init: Any

    def __init__(self, target: Any = None, time: Any = None, init: Any = 0.0, entries: dict[str, Any] | None = None,
                 interp_method: str | None = None, name: str | None = None, *, target_info: Any = None,
                 delay_method: str = "rotation", take_aware_unit: bool = False) -> None:
        super().__init__(name=name)
        if interp_method is not None and interp_method not in InterpolationRegistry.list_methods():
            hint = (f" ({interp_method!r} is a delay_method: pass it by keyword, delay_method={interp_method!r})"
                    if interp_method in _DELAY_METHODS else "")
            raise ConfigError(f"Delay interp_method must be one of {(None, *InterpolationRegistry.list_methods())}, "
                              f"got {interp_method!r}{hint}. Fix: pass None (delays are multiples of dt), 'round', "
                              "'linear_interp', or register the method first with InterpolationRegistry.register.")
        if delay_method not in _DELAY_METHODS:
            raise ConfigError(f"Delay delay_method must be one of {_DELAY_METHODS}, got {delay_method!r}. Fix: pass "
                              "'rotation' (write in place, the default) or 'concat' (shift the rows).")
        if target_info is not None:
            if target is not None:
                raise ConfigError("Delay got both target and target_info (upstream's name for target). Fix: pass "
                                  "only one of them.")
            target = target_info
        self.interp_method, self.delay_method = interp_method, delay_method
        self.take_aware_unit, self._unit = bool(take_aware_unit), None
        self._target = () if target is None else target
        self.init = init
        self.max_steps = 0
        self._entries: dict[str, tuple[int, float]] = {}
        self._dt: float | None = None
        if time is not None:
            self._need(self._steps(_time(time, "Delay time")))
        for key, value in (entries or {}).items():
            self.register_entry(key, value)

    # -- time to steps -------------------------------------------------------------------------
    def _check_dt(self) -> float:
        dt = get_dt()
        if self._dt is None:
            self._dt = dt
        elif not math.isclose(dt, self._dt, rel_tol=1e-9):
            raise ConfigError(f"Delay: its delays were converted with dt = {self._dt} ms, but environ dt is now {dt} ms. "
                              "Fix: build the Delay (and register its entries) under the dt you run with.")
        return dt

    def _steps(self, t: float) -> tuple[int, float]:
        """``(steps, fraction)``: the delay ``t`` ms as whole steps and the fraction of a step left."""
        return to_steps(t, self._check_dt(), self.interp_method, "Delay: the delay ", "",
                        "build the Delay with interp_method='round' (nearest step) or 'linear_interp'")

    def _need(self, steps: tuple[int, float]) -> None:
        longest = history_steps(steps, self.interp_method)
        if longest > self.max_steps:
            self.max_steps = longest
            if "history" in self.__dict__:
                self.init_state(self._batch)

    def register_entry(self, entry: str, delay_time: Any) -> Delay:
        """Name the delay ``delay_time`` (ms), converted to steps now, for :meth:`at`; returns ``self``."""
        if not isinstance(entry, str):
            raise ConfigError(f"Delay entry names are strings, got {entry!r}. Fix: pass e.g. 'E->I'.")
        steps = self._steps(_time(delay_time, f"Delay entry {entry!r}"))
        if entry in self._entries and self._entries[entry] != steps:
            raise ConfigError(f"Delay entry {entry!r} is already registered with another delay. Fix: use a new name.")
        self._entries[entry] = steps
        self._need(steps)
        return self

    @property
    def entries(self) -> dict[str, tuple[int, float]]:
        """The named delays: ``{name: (whole steps, fraction of a step)}``."""
        return dict(self._entries)

    # -- states --------------------------------------------------------------------------------
    def _example(self) -> tuple[tuple[int, ...], Any]:
        t = self._target
        if isinstance(t, int):
            return (t,), environ.dftype()
        if isinstance(t, tuple) and all(isinstance(s, int) for s in t):
            return t, environ.dftype()
        if isinstance(t, State):
            t = t.value
        example: Any = t if hasattr(t, "shape") and hasattr(t, "dtype") else jnp.asarray(t)
        return tuple(example.shape), example.dtype

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Make the ring buffer ``(max_steps + 1, [batch,] *shape)`` filled with ``init``."""
        self._batch = batch_size
        shape, dtype = self._example()
        shape = shape if batch_size is None else (batch_size, *shape)
        history = jnp.broadcast_to(jnp.asarray(self.init, dtype), (self.max_steps + 1, *shape))
        self.set_state("history", jnp.array(history), HiddenState)
        self.set_state("index", jnp.asarray(0, jnp.int32), HiddenState)

    def reset_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_state(batch_size)

    def _buffer(self) -> State:
        buf = self.__dict__.get("history")
        if buf is None:
            raise InputError("The Delay has no buffer yet. Fix: call brainstate.nn.init_all_states(model) first.")
        return buf

    # -- writing and reading -------------------------------------------------------------------
    def _plain(self, value: Any) -> Any:
        """``value`` without its unit (the unit of the first Quantity pushed, with ``take_aware_unit``)."""
        if not is_quantity(value):
            return value
        if not self.take_aware_unit:
            raise InputError(f"Delay got a brainunit Quantity ({value.unit}). Fix: build the Delay with "
                             "take_aware_unit=True to keep its unit, or push plain numbers.")
        if self._unit is None:
            self._unit = value.unit
        try:
            return value.to_decimal(self._unit)
        except Exception:  # brainunit's UnitMismatchError is not a BrainStateError
            raise InputError(f"Delay holds values in {self._unit}, got a Quantity in {value.unit}. Fix: push values "
                             "of one physical dimension.") from None

    def _with_unit(self, value: jax.Array) -> Any:
        if self._unit is None:
            return value
        import brainunit as u

        return u.maybe_decimal(u.Quantity(value, unit=self._unit))

    def update(self, value: Any) -> None:
        """Push this step's ``value``: it becomes delay 0, and every older value moves one step back."""
        buf = self._buffer()
        value = jnp.broadcast_to(jnp.asarray(self._plain(value), buf.value.dtype), buf.value.shape[1:])
        if self.delay_method == "concat":
            buf.value = jnp.concatenate([value[None], buf.value[:-1]], axis=0)
            return
        i = (self.index.value + 1) % buf.value.shape[0]
        buf.value = jax.lax.dynamic_update_index_in_dim(buf.value, value, i, 0)
        self.index.value = i

    def retrieve_at_step(self, delay_step: Any, *indices: Any) -> jax.Array:
        """The value pushed ``delay_step`` updates before the last one (0: the last), indexed by ``indices``.

        ``delay_step`` may be traced (per-neuron delays: an integer array broadcast against the
        value); a concrete one must be at most :attr:`max_steps`.
        """
        return self._with_unit(self._at_step(delay_step, indices))

    def _row(self, delay_step: Any, size: int) -> Any:
        """The buffer row that holds the value ``delay_step`` updates old."""
        return delay_step if self.delay_method == "concat" else (self.index.value - delay_step) % size

    def _at_step(self, delay_step: Any, indices: tuple) -> jax.Array:
        buf = self._buffer().value
        if not is_tracer(delay_step) and jnp.ndim(delay_step) == 0:
            if not 0 <= int(delay_step) <= self.max_steps:
                raise InputError(f"Delay: {int(delay_step)} steps is outside the history of {self.max_steps} steps. "
                                 "Fix: register the longest delay first (Delay(time=...) or register_entry).")
            row = jax.lax.dynamic_index_in_dim(buf, self._row(int(delay_step), buf.shape[0]), 0, False)
            return row[indices] if indices else row
        pos = self._row(jnp.asarray(delay_step), buf.shape[0])
        lanes = jnp.indices(buf.shape[1:], sparse=True)
        value = buf[(jnp.broadcast_to(pos, buf.shape[1:]), *lanes)]
        return value[indices] if indices else value

    def _read(self, steps: tuple[int, float], indices: tuple) -> Any:
        return self._with_unit(interpolate(self.interp_method, lambda k: self._at_step(k, indices), steps))

    def retrieve_at_time(self, delay_time: Any, *indices: Any) -> jax.Array:
        """The value at the simulation time ``delay_time`` (ms), indexed by ``indices``, as upstream's.

        The current time is ``environ`` ``t`` (``nn.run`` and ``environ.context(t=...)`` set it), so this
        reads ``(t - delay_time) / dt`` steps back, with ``interp_method`` when that is not a whole number.
        With both times concrete the read is checked (a time in the future or before the history raises).
        In a compiled loop, where they are traced, the steps are computed in the program: rounded to the
        nearest step (``'round'``, or no method: a time on the grid) or interpolated (``'linear_interp'``),
        and held to the history (an older time reads the oldest value kept). To read a delay given as how
        long ago, register an entry (:meth:`register_entry`, :meth:`at`) or use :meth:`retrieve_at_step`.
        """
        now = environ.get(environ.T, default=None)
        if now is None:
            raise InputError("Delay.retrieve_at_time(t) reads the value at the absolute time t and needs the current "
                             "time, environ 't', which is not set. Fix: call it inside nn.run or "
                             "environ.context(t=...), or read a delay ago with at(entry) or retrieve_at_step(k).")
        now, then = to_plain(now, "time", "environ t"), to_plain(delay_time, "time", "Delay retrieve_at_time")
        if is_tracer(now) or is_tracer(then) or jnp.ndim(then) or jnp.ndim(now):
            steps = (jnp.asarray(now) - then) / self._check_dt()
            read = lambda k: self._at_step(k, indices)  # noqa: E731
            return self._with_unit(interpolate_traced(self.interp_method, read, steps, self.max_steps))
        ago = float(now) - float(then)
        if ago < -1e-6 * max(1.0, abs(float(now))):
            raise InputError(f"Delay.retrieve_at_time({float(then):g}): that is after the current time {float(now):g} "
                             "ms (environ t). Fix: ask for a time at or before now.")
        try:
            return self._read(self._steps(max(ago, 0.0)), indices)
        except InputError as err:
            if "outside the history" not in str(err):
                raise
            raise InputError(f"{err} (retrieve_at_time({float(then):g}) at t = {float(now):g} ms: {ago:g} ms ago.)") from None

    def at(self, entry: str, *indices: Any) -> jax.Array:
        """The value at the named delay ``entry`` (see :meth:`register_entry`)."""
        if entry not in self._entries:
            raise InputError(f"Delay has no entry {entry!r}; registered: {sorted(self._entries)}. Fix: call "
                             f"register_entry({entry!r}, time) first.")
        return self._read(self._entries[entry], indices)

    def access(self, entry: str, *time_and_index: Any) -> Any:
        """Register ``entry`` at the delay ``time_and_index[0]`` and return its reader, a :class:`DelayAccess`."""
        from ._delay_access import DelayAccess

        return DelayAccess(self, *time_and_index, entry=entry)

    def extra_repr(self) -> str:
        method = "" if self.delay_method == "rotation" else f", delay_method={self.delay_method!r}"
        return f"max_steps={self.max_steps}, entries={sorted(self._entries)}{method}"


class StateWithDelay(Delay):
    """The delayed history of one variable of a module: ``update()`` pushes ``target.<item>``.

    Call its ``update()`` after the target's in every step. The shape and dtype are those of the
    variable when the states are made.

    Args:
        target: the module (a neuron, a synapse).
        item: the name of the variable (a State attribute, or a ``get_<item>()`` method such as
            ``get_spike``).
        init: the value of the history before the first updates.
        interp_method: as for :class:`Delay`.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     syn = nn.Expon(1, tau=10.0)
        ...     late = nn.StateWithDelay(syn, 'g').register_entry('two', 2.0)
        ...     syn, late = nn.init_all_states(syn), nn.init_all_states(late)
        ...     for k in range(4):
        ...         _ = syn(1.0 if k == 0 else 0.0)
        ...         late.update()
        ...     round(float(late.at('two')[0]), 4)   # g of step 1: exp(-1 / 10)
        0.9048
    """

    _graph_skip = ("target",)

    def __init__(self, target: Module, item: str, init: Any = 0.0, interp_method: str | None = None,
                 name: str | None = None) -> None:
        if not isinstance(target, Module):
            raise ConfigError(f"StateWithDelay target must be a module, got {target!r}. Fix: pass e.g. the neuron.")
        super().__init__((), init=init, interp_method=interp_method, name=name)
        self.target, self.item = target, item

    def _value(self) -> Any:
        item_value = getattr(self.target, "_item_value", None)
        value = None if item_value is None else item_value(self.item)
        if value is None:
            value = getattr(self.target, self.item)
            value = value.value if isinstance(value, State) else value
        return value

    def _example(self) -> tuple[tuple[int, ...], Any]:
        try:
            value = jnp.asarray(self._value())
        except (InputError, AttributeError):
            raise InputError(f"StateWithDelay: {type(self.target).__name__}.{self.item} does not exist yet. Fix: "
                             "initialise the target's states before the delay's (init_all_states on the target "
                             "first).") from None
        return value.shape, value.dtype

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self._batch = batch_size
        shape, dtype = self._example()
        history = jnp.broadcast_to(jnp.asarray(self.init, dtype), (self.max_steps + 1, *shape))
        self.set_state("history", jnp.array(history), HiddenState)
        self.set_state("index", jnp.asarray(0, jnp.int32), HiddenState)

    def update(self) -> None:  # type: ignore[override]
        """Push the current value of ``target.<item>``."""
        super().update(self._value())
