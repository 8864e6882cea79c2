"""Delayed readers: ``DelayAccess`` (a named entry of a :class:`Delay`), ``PrefetchDelayAt`` (a
variable of a :class:`Dynamics`, ``t`` ms ago), ``OutputDelayAt`` (its output, ``t`` ms ago) and
``init_maybe_prefetch``.

Each reader converts its delay to steps once, when it is made (with ``environ`` ``dt``); a delay that
is not a whole number of steps needs an ``interpolation`` method of
:class:`~brainstate.nn.InterpolationRegistry` (``'round'``, ``'linear_interp'``, or one registered
there). Extra positional values after the time index the delayed value (``at(2.0, 0)``: lane 0).

The histories are recorded by the module's ``__call__`` after :meth:`Dynamics.update`, so a read made
after the module's call of step ``n`` with a delay of ``d`` steps returns the value of step
``n - d``; before the first ``d`` calls it returns the initial value (``delay_init``, default 0).

Differences from upstream brainstate: a delay that is not a multiple of ``dt`` is an error without
an interpolation method (upstream rounds it up silently and ignores ``interpolation`` in these
readers); several readers of one variable share one history, so they must agree on ``delay_init``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, InputError, Node, environ

from ._delay import Delay, _time
from ._dynamics import DelayedRead, Dynamics, Prefetch, PrefetchDelay, get_dt
from ._interpolation import InterpolationRegistry, history_steps, interpolate, to_steps

__all__ = ["DelayAccess", "PrefetchDelayAt", "OutputDelayAt", "init_maybe_prefetch"]

_OUTPUT_KEY = "output-delay"


# -- argument checks -----------------------------------------------------------------------------
def _split(time_and_index: tuple, owner: str) -> tuple[Any, tuple]:
    """``(time, indices)``; upstream's ``at`` passes them as one tuple, which is unpacked."""
    if len(time_and_index) == 1 and isinstance(time_and_index[0], (tuple, list)):
        time_and_index = tuple(time_and_index[0])
    if not time_and_index:
        raise ConfigError(f"{owner} needs a delay time. Fix: pass it, e.g. (..., 2.0) for 2 ms (0 or None: the "
                          "current value).")
    indices = time_and_index[1:]
    for index in indices:
        dtype = getattr(index, "dtype", None)
        ok = isinstance(index, (int, np.integer)) or (dtype is not None and jnp.issubdtype(dtype, jnp.integer))
        if not ok or isinstance(index, bool):
            raise ConfigError(f"{owner}: the values after the delay time index the delayed value and must be "
                              f"integers, got {index!r}. Fix: pass e.g. (2.0, 0) for lane 0 two ms ago.")
    return time_and_index[0], indices


def _delay_time(t: Any, what: str) -> float:
    if t is None:
        return 0.0
    if np.ndim(t) != 0:
        raise ConfigError(f"{what} must be one time (ms), got an array of shape {np.shape(t)}. Fix: for per-neuron "
                          "delays, read a Delay with retrieve_at_step(steps_array).")
    return _time(t, what)


def _method(interpolation: Any) -> str | None:
    if interpolation is not None:
        InterpolationRegistry.get(interpolation)  # raises for an unknown name
    return interpolation


def _init_value(init: Any, owner: str) -> Any:
    if init is None:
        return None
    if callable(init) or isinstance(init, (str, bool)):
        raise ConfigError(f"{owner} delay_init must be a number or an array (the value before the first steps), "
                          f"got {init!r}. Fix: pass e.g. delay_init=-65.0.")
    return np.asarray(init)


def _merge(current: Any, new: Any, owner: str) -> bool:
    """Whether ``new`` (an explicit initial value) changes ``current``; a different explicit one raises."""
    if new is None or (current is not None and np.array_equal(current, new)):
        return False
    if current is not None:
        raise ConfigError(f"{owner}: another reader of the same history set delay_init={current.tolist()!r}; the "
                          f"readers of one history share it, so {new.tolist()!r} cannot be used. Fix: pass the same "
                          "delay_init (or None).")
    return True


# -- a named entry of a Delay --------------------------------------------------------------------
class DelayAccess(Node):
    """A reader of the named entry ``entry`` of ``delay``, registered at ``time`` when it is made.

    ``DelayAccess(delay, t, i, entry='E')`` is ``delay.register_entry('E', t)``, and calling it
    returns ``delay.at('E', i)``. ``None`` as the time is a delay of 0 (the last value pushed).

    Args:
        delay: the :class:`Delay`.
        *time: the delay in ms, then optional integer indices into the delayed value.
        entry: the name of the entry (see :meth:`Delay.register_entry`).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.5):
        ...     d = nn.init_all_states(nn.Delay(jnp.zeros(3)))
        ...     late = nn.DelayAccess(d, 1.0, 2, entry='lane2')   # 2 steps ago, lane 2
        ...     for k in range(5):
        ...         d.update(jnp.arange(3.0) + 10 * k)
        ...     late(), d.entries['lane2']
        (Array(22., dtype=float32), (2, 0.0))
    """

    def __init__(self, delay: Delay, *time: Any, entry: str) -> None:
        if not isinstance(delay, Delay):
            raise ConfigError(f"DelayAccess delay must be a brainstate.nn.Delay, got {delay!r}. Fix: pass the Delay "
                              "whose history to read.")
        t, self.indices = _split(time, "DelayAccess")
        self.delay, self.entry = delay, entry
        delay.register_entry(entry, _delay_time(t, f"DelayAccess entry {entry!r}"))
        self.delay_info = delay.entries[entry]

    def __call__(self, *args: Any, **kwargs: Any) -> jax.Array:
        return self.delay.at(self.entry, *self.indices)

    def __repr__(self) -> str:
        return f"DelayAccess(entry={self.entry!r}, steps={self.delay_info})"


# -- a variable of a module, t ms ago ------------------------------------------------------------
class PrefetchDelayAt(DelayedRead):
    """A reader of ``module.<item>`` ``time`` ms ago; what ``module.prefetch(item).delay.at(time)`` returns.

    The module keeps one ring buffer per variable, as long as its longest registered delay, written
    by ``module(...)`` after each update. With no time (or ``None``), calling it reads the current
    value.

    Args:
        module: the :class:`Dynamics` (a neuron, a synapse).
        item: the variable: a State attribute, or a ``get_<item>()`` method such as ``get_spike``.
        *time_and_index: the delay in ms, then optional integer indices into the value.
        delay_init: the value of the history before the first updates (default 0); the readers of
            one variable must agree on it.
        interpolation: for a delay that is not a multiple of ``dt``: the name of a method of
            :class:`~brainstate.nn.InterpolationRegistry` (None: such a delay is an error).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     lif = nn.init_all_states(nn.LIF(2, tau=10.0, V_th=100.0))
        ...     v_late = lif.prefetch('V').delay.at(2.0)          # a PrefetchDelayAt
        ...     v_half = nn.PrefetchDelayAt(lif, 'V', 1.5, 0, interpolation='linear_interp')
        ...     vs = []
        ...     for _ in range(4):
        ...         _ = lif(1.0)
        ...         vs.append(float(lif.V.value[0]))
        ...     bool(v_late()[0] == vs[1]), round(float(v_half()), 5) == round((vs[1] + vs[2]) / 2, 5)
        (True, True)
    """

    def __init__(self, module: Dynamics, item: str, *time_and_index: Any, delay_init: Any = None,
                 interpolation: str | None = None) -> None:
        if not isinstance(module, Dynamics):
            raise ConfigError(f"PrefetchDelayAt module must be a brainstate.nn.Dynamics, got {module!r}. Fix: pass "
                              "the neuron or synapse that owns the variable.")
        if not isinstance(item, str):
            raise ConfigError(f"PrefetchDelayAt item must be a variable name, got {item!r}. Fix: pass e.g. 'V'.")
        owner = f"{type(module).__name__}.{item}"
        self.interpolation = _method(interpolation)
        self.delay_time = time_and_index
        self.delayed = bool(time_and_index) and not (len(time_and_index) == 1 and time_and_index[0] is None)
        t, self.indices = _split(time_and_index, f"PrefetchDelayAt of {owner}") if self.delayed else (None, ())
        init = _init_value(delay_init, f"PrefetchDelayAt of {owner}")
        if not self.delayed:
            if init is not None:
                raise ConfigError(f"PrefetchDelayAt of {owner}: delay_init without a delay time. Fix: pass a time, "
                                  "or drop delay_init.")
            super().__init__(module, item, 0)
            self.frac = 0.0
            return
        steps = to_steps(_delay_time(t, f"{owner} delay"), get_dt(), self.interpolation, "The delay ",
                         f" of {owner}", f"pass interpolation='round' or 'linear_interp' (e.g. "
                         f"module.prefetch_delay({item!r}, t, interpolation='linear_interp'))")
        super().__init__(module, item, steps[0])
        self.frac = steps[1]
        inits = module.__dict__.setdefault("_history_inits", {})
        changed = _merge(inits.get(item), init, f"PrefetchDelayAt of {owner}")
        if changed:
            inits[item] = init
        longest = history_steps(steps, self.interpolation)
        grows = longest > module._histories.get(item, -1)
        module._register_history(item, longest)
        if changed and not grows and f"_history_{item}" in module.__dict__:
            module._init_history(item)  # the buffer exists: refill it with the new initial value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        index = (lambda v: v[self.indices]) if self.indices else (lambda v: v)
        if not self.delayed:
            return index(jnp.asarray(self.module._item_value(self.item)))
        return interpolate(self.interpolation, lambda k: index(self._row(k)), (self.steps, self.frac))

    def __repr__(self) -> str:
        return f"PrefetchDelayAt({type(self.module).__name__}.{self.item}, steps={self.steps + self.frac:g})"


# -- the output of a module, t ms ago --------------------------------------------------------------
class OutputDelayAt(Node):
    """A reader of the output of ``module.update`` ``time`` ms ago (for a neuron: its spikes).

    The module gets one output :class:`Delay` (the sub-module ``_output_delay``, of shape
    ``module.out_size`` with the batch of its states), pushed by ``module(...)`` after each update;
    ``init_all_states`` makes its buffer, or this reader does when the module is initialised already.

    Args:
        module: the :class:`Dynamics`.
        *delay_time: the delay in ms (``None``: 0, the last output), then optional integer indices.
        delay_init: the output before the first updates (default 0); the readers of one module must
            agree on it.
        interpolation: as for :class:`PrefetchDelayAt`.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     lif = nn.LIF(3, tau=5.0, V_th=1.0)
        ...     spikes_then = lif.output_delay(2.0)               # an OutputDelayAt
        ...     lif = nn.init_all_states(lif)
        ...     out = [lif(jnp.array([0.0, 3.0, 6.0])) for _ in range(4)]
        ...     bool(jnp.all(spikes_then() == out[1]))
        True
    """

    _graph_skip = ("module",)

    def __init__(self, module: Dynamics, *delay_time: Any, delay_init: Any = None,
                 interpolation: str | None = None) -> None:
        if not isinstance(module, Dynamics):
            raise ConfigError(f"OutputDelayAt module must be a brainstate.nn.Dynamics, got {module!r}. Fix: pass the "
                              "neuron (or other Dynamics) whose output to delay.")
        name = type(module).__name__
        t, self.indices = _split(delay_time, f"OutputDelayAt of {name}")
        self.module, self.interpolation = module, _method(interpolation)
        init = _init_value(delay_init, f"OutputDelayAt of {name}")
        self.steps = to_steps(_delay_time(t, f"{name} output delay"), get_dt(), self.interpolation,
                              "The output delay ", f" of {name}", "pass interpolation='round' or 'linear_interp'")
        delay = module.__dict__.get("_output_delay")
        if delay is None:
            delay = Delay(jax.ShapeDtypeStruct(module.out_size, environ.dftype()), init=0.0)
            module._output_delay = delay
            module.add_after_update(_OUTPUT_KEY, _recorder(name, delay))
        self.out_delay = delay
        delay._check_dt()  # the buffer's steps were counted with this dt
        if _merge(delay.__dict__.get("_given_init"), init, f"OutputDelayAt of {name}"):
            delay._given_init = delay.init = init
            if "history" in delay.__dict__:
                delay.init_state(delay._batch)
        delay._need((history_steps(self.steps, self.interpolation), 0.0))
        if "history" not in delay.__dict__ and "_batch_size" in module.__dict__:
            delay.init_state(module._batch_size)  # the module is initialised already

    def __call__(self, *args: Any, **kwargs: Any) -> jax.Array:
        return interpolate(self.interpolation, lambda k: self.out_delay.retrieve_at_step(k, *self.indices),
                           self.steps)

    def __repr__(self) -> str:
        return f"OutputDelayAt({type(self.module).__name__}, steps={sum(self.steps):g})"


def _recorder(name: str, delay: Delay) -> Any:
    def record(out: Any) -> None:
        row = delay._buffer().value.shape[1:]
        if out is None or jnp.shape(out) != row:
            raise InputError(f"{name}.update returned {'None' if out is None else f'shape {jnp.shape(out)}'}, but "
                             f"its output delay holds values of shape {row}. Fix: return the output (of shape "
                             "out_size, batch first) from update, and initialise the output delay with the same "
                             "batch size as the module (init_all_states on both, or init_maybe_prefetch(reader, "
                             "batch_size)).")
        delay.update(out)

    return record


# -- initialisation --------------------------------------------------------------------------------
def init_maybe_prefetch(target: Any, *args: Any, **kwargs: Any) -> None:
    """Make sure a reader is ready: its variable exists and its history buffer is made.

    For a :class:`Prefetch` (or ``.delay``) it checks that the variable exists; for a
    :class:`PrefetchDelayAt` it makes the module's history buffer if missing; for an
    :class:`OutputDelayAt` or a :class:`DelayAccess` it makes the delay's buffer if missing, with
    the batch size ``args[0]`` / ``batch_size=`` (an OutputDelayAt defaults to the module's). A buffer
    that exists is left as it is. Anything else is ignored, so it can be called on any input of a
    projection.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     d = nn.Delay(jnp.zeros(2))
        ...     late = d.access('one', 1.0)
        ...     nn.init_maybe_prefetch(late)
        ...     d.update(jnp.ones(2))
        ...     late()
        Array([0., 0.], dtype=float32)
    """
    batch = args[0] if args else kwargs.get("batch_size")
    if isinstance(target, DelayedRead):
        if not getattr(target, "delayed", True):
            target.module._item_value(target.item)
        elif f"_history_{target.item}" not in target.module.__dict__:
            target.module._init_history(target.item)
    elif isinstance(target, (Prefetch, PrefetchDelay)):
        target.module._item_value(target.item)
    elif isinstance(target, OutputDelayAt):
        if "history" not in target.out_delay.__dict__:
            if not args and "batch_size" not in kwargs:
                batch = target.module.__dict__.get("_batch_size")
            target.out_delay.init_state(batch)
    elif isinstance(target, DelayAccess):
        if "history" not in target.delay.__dict__:
            target.delay.init_state(batch)
