"""``Dynamics``: the base of neurons, synapses and every module that advances in time by ``dt``.

A Dynamics module has a population shape ``in_size`` (``varshape``), hidden states created by
``init_state(batch_size=None)`` with the shape ``varshape`` or ``(batch_size, *varshape)``, and an
``update(...)`` that advances them one step of ``environ`` ``dt``. Other modules feed it through
two registries, summed at every step:

* **current inputs** (:meth:`Dynamics.add_current_input`): added to the input current; a callable
  is called with the arguments the neuron passes (for example its membrane potential, which a
  conductance-based synapse output needs), a plain value is used once, at the next step;
* **delta inputs** (:meth:`Dynamics.add_delta_input`): added to the state after integration (jumps).

:meth:`Dynamics.prefetch` names a variable to read from outside, now or ``t`` ms ago
(``prefetch('V').delay.at(2.0)``, a :class:`~brainstate.nn.PrefetchDelayAt`), through a small ring
buffer recorded by ``__call__``; :meth:`Dynamics.output_delay` reads the output of ``update`` ``t`` ms
ago. After-update hooks (:meth:`Dynamics.add_after_update`) get the output of every step.

The clock: :func:`get_dt` is ``environ`` ``dt`` in ms (a brainunit Quantity is converted);
:func:`get_t` and :func:`get_i` read the current time and step index when a loop sets them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_core import ConfigError, HiddenState, InputError, Node, State, environ
from brainstate_core.internal import is_tracer

from . import _init as init
from ._module import Module
from ._param import Param
from ._units import to_plain
from ._utils import Size, as_size

if TYPE_CHECKING:
    from ._delay import Delay

__all__ = ["Dynamics", "Prefetch", "PrefetchDelay", "DelayedRead", "get_dt", "get_t", "get_i", "param", "read"]


# -- clock ---------------------------------------------------------------------------------------
def get_dt() -> float:
    """``environ`` ``dt`` in ms (a brainunit Quantity is converted); raises if ``dt`` is not set.

    Example:
        >>> import brainstate_core as bc
        >>> from brainstate_nn._dynamics import get_dt
        >>> with bc.environ.context(dt=0.1):
        ...     get_dt()
        0.1
    """
    return to_plain(environ.get_dt(), "time", "environ dt")


def get_t(default: Any = 0.0) -> Any:
    """``environ`` ``t`` (the current time, ms), or ``default`` when no loop set it."""
    return to_plain(environ.get(environ.T, default=default), "time", "environ t")


def get_i(default: Any = 0) -> Any:
    """``environ`` ``i`` (the current step index), or ``default`` when no loop set it."""
    return environ.get(environ.I, default=default)


# -- parameters ----------------------------------------------------------------------------------
def param(value: Any, name: str, kind: str | None, varshape: tuple[int, ...], *, positive: bool | str = False,
          owner: str = "") -> Any:
    """Check and convert a model parameter: a scalar, an array, a Quantity, a ``ParamState`` or a ``Param``.

    Plain scalars stay Python floats (constants in the compiled program); arrays become JAX arrays
    that must broadcast to ``varshape``; a ``ParamState`` is kept (trainable) after the same checks
    on its value, and so is a :class:`~brainstate.nn.Param` (checked on its constrained value). ``positive=True``
    parameters (time constants, capacitances) must be > 0, and ``positive='nonnegative'`` ones
    (refractory periods) >= 0. :func:`read` gives the value used: a ``ParamState``'s absolute value
    for those, so that an optimiser step through zero cannot make a time constant negative (the
    gradient keeps flowing, unlike a clamp); a ``Param``'s constrained value, its transform being
    the constraint (e.g. ``Param(tau, t=SoftplusT(0.0))``).

    Example:
        >>> from brainstate_nn._dynamics import param
        >>> param(5.0, 'tau', 'time', (3,), positive=True)
        5.0
        >>> param(-1.0, 'tau', 'time', (3,), positive=True, owner='LIF')
        Traceback (most recent call last):
        ...
        brainstate.ConfigError: LIF tau must be > 0, got -1.0. Fix: pass a positive value (time constants are in ms, e.g. tau=10.0).

    Raises:
        ConfigError: wrong dimension, not broadcastable to ``varshape``, or not positive.
    """
    where = f"{owner} " if owner else ""
    if isinstance(value, Param):  # kept, trainable through its transform
        _check(to_plain(value.value(), kind, name), name, varshape, positive, where)
        return value
    if isinstance(value, State):
        value.value = _check(to_plain(value.value, kind, name), name, varshape, positive, where)
        return value
    return _check(to_plain(value, kind, name), name, varshape, positive, where)


def _check(value: Any, name: str, varshape: tuple[int, ...], positive: bool | str, where: str) -> Any:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number, np.ndarray, jax.Array)):
        raise ConfigError(f"{where}{name} must be a number or an array, got {value!r}. Fix: pass e.g. {name}=10.0.")
    if isinstance(value, (int, float, np.number)):
        value = float(value)
        bad = positive and not (value >= 0 if positive == "nonnegative" else value > 0)
    else:
        value = jnp.asarray(value, dtype=environ.dftype())
        try:
            jnp.broadcast_shapes(value.shape, varshape)
            ok = len(value.shape) <= len(varshape)
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"{where}{name} has shape {value.shape}, which does not broadcast to the population "
                              f"shape {varshape}. Fix: pass a scalar or an array of shape {varshape}.")
        bad = positive and not is_tracer(value) and not bool(
            jnp.all(value >= 0 if positive == "nonnegative" else value > 0))
    if bad:
        sign = ">= 0" if positive == "nonnegative" else "> 0"
        raise ConfigError(f"{where}{name} must be {sign}, got {value!r}. Fix: pass a positive value "
                          f"(time constants are in ms, e.g. {name}=10.0).")
    return value


def read(p: Any, positive: bool = False) -> Any:
    """The value of a parameter made by :func:`param`: ``p`` itself, a ``Param``'s constrained value,
    or a ``ParamState``'s value (its absolute value if ``positive``).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> from brainstate_nn._dynamics import read
        >>> read(bc.ParamState(jnp.array([-2.0, 3.0])), positive=True)
        Array([2., 3.], dtype=float32)
        >>> read(nn.Param(jnp.array([2.0]), t=nn.SoftplusT(1.0)))
        Array([2.], dtype=float32)
    """
    if isinstance(p, Param):
        return p.value()
    if isinstance(p, State):
        return jnp.abs(p.value) if positive else p.value
    return p


# -- the base class ------------------------------------------------------------------------------
def _with_histories(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(self: Dynamics, *args: Any, **kwargs: Any) -> Any:
        out = fn(self, *args, **kwargs)
        self.__dict__["_batch_size"] = args[0] if args else kwargs.get("batch_size")
        self._init_histories()
        return out

    wrapper._dynamics_wrapped = True  # type: ignore[attr-defined]
    return wrapper


class Dynamics(Module):
    """Base class of the modules that evolve in time (neurons, synapses, rate units).

    Subclasses create their hidden states in :meth:`init_state` (with :meth:`init_hidden`, so a
    second call re-initialises them in place) and advance them one step of ``environ`` ``dt`` in
    :meth:`update`. ``module(*args)`` calls ``update`` and then records the histories that
    :meth:`prefetch` ``(...).delay.at(t)`` asked for.

    Args:
        in_size: the population shape, an int or a tuple of ints.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> class Leak(nn.Dynamics):
        ...     def init_state(self, batch_size=None, **kw):
        ...         self.init_hidden('x', 0.0, batch_size)
        ...     def update(self, inp=0.0):
        ...         self.x.value = self.x.value * 0.5 + self.sum_current_inputs(inp)
        ...         return self.x.value
        >>> m = nn.init_all_states(Leak(3))
        >>> m.add_current_input('bias', lambda: 1.0)
        >>> m(2.0)
        Array([3., 3., 3.], dtype=float32)
        >>> m.varshape, m.x.value.shape
        ((3,), (3,))
    """

    # set on first use: the batch size of the last init_state, the buffer of OutputDelayAt
    _batch_size: int | None
    _output_delay: Delay

    _graph_skip = ("_current_inputs", "_delta_inputs", "_before_updates", "_after_updates")

    def __init__(self, in_size: Size, name: str | None = None) -> None:
        super().__init__(name=name)
        what = f"{type(self).__name__} in_size"
        try:
            self.in_size = as_size(in_size, what)
        except TypeError:
            raise ConfigError(f"{what} must be a positive int or a tuple of positive ints, got {in_size!r}. "
                              "Fix: pass sizes >= 1.") from None
        self.out_size = self.in_size
        self._current_inputs: dict[str, Any] = {}
        self._delta_inputs: dict[str, Any] = {}
        self._before_updates: dict[Any, Callable[[], Any]] = {}
        self._after_updates: dict[Any, Callable[..., Any]] = {}
        self._histories: dict[str, int] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ("init_state", "reset_state"):
            fn = cls.__dict__.get(method)
            if fn is not None and not getattr(fn, "_dynamics_wrapped", False):
                setattr(cls, method, _with_histories(fn))

    @property
    def varshape(self) -> tuple[int, ...]:
        """The shape of every per-neuron variable (without the batch axis)."""
        return self.in_size

    @property
    def num(self) -> int:
        """The number of units in the population."""
        return math.prod(self.in_size)

    # -- states --------------------------------------------------------------------------------
    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Create the hidden states (``varshape``, or ``(batch_size, *varshape)``)."""

    def reset_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Put the initial values back; by default the same as :meth:`init_state`."""
        self.init_state(batch_size, **kwargs)

    def init_hidden(self, name: str, initializer: Any, batch_size: int | None = None,
                    state_type: type[State] = HiddenState) -> State:
        """Set the state ``name`` to ``initializer`` of shape ``varshape`` (batch axis first if given).

        ``initializer`` is an initialiser, an array or a scalar (a brainunit Quantity is converted
        as a voltage if it is one). The State object is kept across calls (see
        :meth:`Module.set_state`).
        """
        value = init.param(_plain_init(initializer, name), self.varshape, batch_size)
        return self.set_state(name, jnp.asarray(value, dtype=environ.dftype()), state_type)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        """Advance one step of ``environ`` ``dt``; ``module(*args)`` calls it."""
        return super().update(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for fn in tuple(self._before_updates.values()):
            fn()
        out = self.update(*args, **kwargs)
        if self._histories:
            self._record_histories()
        for fn in tuple(self._after_updates.values()):
            fn(out) if getattr(fn, "_receive_update_output", True) else fn()
        return out

    # -- inputs --------------------------------------------------------------------------------
    @property
    def current_inputs(self) -> dict[str, Any]:
        """The registered current inputs, by key."""
        return self._current_inputs

    @property
    def delta_inputs(self) -> dict[str, Any]:
        """The registered delta inputs, by key."""
        return self._delta_inputs

    def add_current_input(self, key: str, inp: Any, label: str | None = None) -> None:
        """Register a current input under ``key``.

        ``inp`` is a callable, called at every step with the arguments of
        :meth:`sum_current_inputs` (a neuron passes its membrane potential), or a value added once,
        at the next step. Registering a different input under a used key raises ``ConfigError``.

        The neurons call their current inputs inside the derivative that :func:`exp_euler_step`
        linearises, so a conductance input's dependence on ``V`` is part of the exponential step;
        such a callable may read States but must not write them (keep per-step values in the
        synapse, as ``COBA.bind_cond`` does).
        """
        _add(self, self._current_inputs, "current", key, inp, label)

    def add_delta_input(self, key: str, inp: Any, label: str | None = None) -> None:
        """Register a delta input (a jump added to the state after integration); see :meth:`add_current_input`."""
        _add(self, self._delta_inputs, "delta", key, inp, label)

    @property
    def before_updates(self) -> dict[Any, Callable[[], Any]]:
        """The functions that ``module(...)`` calls, in order, before :meth:`update` (by key)."""
        return self._before_updates

    def add_before_update(self, key: Any, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` at every ``module(...)``, before :meth:`update`.

        A projection uses it to advance the synapse it shares on this target once per step, after
        every projection added its input and before the target integrates. Registering a different
        function under a used key raises ``ConfigError``.
        """
        if key in self._before_updates and self._before_updates[key] is not fn:
            raise ConfigError(f"{type(self).__name__} already has a before-update {key!r}. Fix: use another key.")
        self._before_updates[key] = fn

    @property
    def after_updates(self) -> dict[Any, Callable[..., Any]]:
        """The functions that ``module(...)`` calls, in order, after :meth:`update` (by key)."""
        return self._after_updates

    def add_after_update(self, key: Any, fn: Callable[..., Any]) -> None:
        """Call ``fn(output)`` at every ``module(...)``, after :meth:`update` (``fn()`` if ``fn`` is marked
        with :func:`~brainstate.nn.not_receive_update_output`). A different function under a used key raises."""
        if key in self._after_updates and self._after_updates[key] is not fn:
            raise ConfigError(f"{type(self).__name__} already has an after-update {key!r}. Fix: use another key.")
        self._after_updates[key] = fn

    def get_input(self, key: str) -> Any:
        """The current or delta input registered under ``key``."""
        for table in (self._current_inputs, self._delta_inputs):
            if key in table:
                return table[key]
        raise InputError(f"{type(self).__name__} has no input {key!r}; registered: "
                         f"{sorted(self._current_inputs) + sorted(self._delta_inputs)}. Fix: add it with "
                         "add_current_input(key, fn) or add_delta_input(key, fn) first.")

    def sum_current_inputs(self, init: Any, *args: Any, label: str | None = None, **kwargs: Any) -> Any:
        """``init`` plus every current input (called with ``*args, **kwargs``); values are used once.

        With ``label``, only the inputs registered with that label are summed.
        """
        return _sum(self._current_inputs, init, args, kwargs, label)

    def sum_delta_inputs(self, init: Any, *args: Any, label: str | None = None, **kwargs: Any) -> Any:
        """``init`` plus every delta input; see :meth:`sum_current_inputs`."""
        return _sum(self._delta_inputs, init, args, kwargs, label)

    # -- reading from outside ------------------------------------------------------------------
    def prefetch(self, item: str) -> Prefetch:
        """A reader of the variable ``item`` (a State attribute, or ``get_<item>()`` such as ``get_spike``).

        Example:
            >>> import brainstate_core as bc, brainstate_nn as nn
            >>> class Counter(nn.Dynamics):
            ...     def init_state(self, batch_size=None, **kw):
            ...         self.init_hidden('n', 0.0, batch_size)
            ...     def update(self):
            ...         self.n.value = self.n.value + 1
            >>> with bc.environ.context(dt=0.1):
            ...     c = nn.init_all_states(Counter(2))
            ...     late = c.prefetch('n').delay.at(0.2)   # two steps ago
            ...     for _ in range(5):
            ...         c()
            >>> c.prefetch('n')(), late()
            (Array([5., 5.], dtype=float32), Array([3., 3.], dtype=float32))
        """
        return Prefetch(self, item)

    def prefetch_delay(self, state: str, *time_and_index: Any, init: Any = None,
                       interpolation: str | None = None) -> Any:
        """``state`` ``time_and_index[0]`` ms ago: a :class:`~brainstate.nn.PrefetchDelayAt` (``init``: its
        value before the first steps; ``interpolation``: for a delay that is not a multiple of ``dt``)."""
        from ._delay_access import PrefetchDelayAt

        return PrefetchDelayAt(self, state, *time_and_index, delay_init=init, interpolation=interpolation)

    def output_delay(self, *time_and_index: Any, init: Any = None, interpolation: str | None = None) -> Any:
        """The output of :meth:`update` ``time_and_index[0]`` ms ago: a :class:`~brainstate.nn.OutputDelayAt`."""
        from ._delay_access import OutputDelayAt

        return OutputDelayAt(self, *time_and_index, delay_init=init, interpolation=interpolation)

    def _item_value(self, item: str) -> Any:
        obj = self.__dict__.get(item)
        if isinstance(obj, State):
            return obj.value
        if obj is None:
            getter = getattr(self, f"get_{item}", None)
            if callable(getter):
                return getter()
            obj = getattr(self, item, None)
        if obj is None:
            raise InputError(f"{type(self).__name__} has no variable {item!r} to prefetch. Fix: name a State "
                             f"attribute (one of {sorted(k for k, v in vars(self).items() if isinstance(v, State))}) "
                             "or a variable with a get_<name>() method; call init_all_states first.")
        return obj() if callable(obj) else obj

    def _register_history(self, item: str, steps: int) -> None:
        if steps > self._histories.get(item, -1):
            self._histories[item] = steps
            try:
                self._init_history(item)
            except (InputError, AttributeError):
                pass  # the states do not exist yet: init_state makes the buffer

    def _init_history(self, item: str) -> None:
        """A ring buffer of the last values of ``item`` (filled with its readers' ``delay_init``, default 0) and
        the position of the newest one."""
        value = jnp.asarray(self._item_value(item))
        fill = self.__dict__.get("_history_inits", {}).get(item, 0)  # set by PrefetchDelayAt(delay_init=...)
        self.set_state(f"_history_{item}", jnp.full((self._histories[item] + 1, *value.shape), fill, value.dtype))
        self.set_state(f"_history_pos_{item}", jnp.asarray(0, jnp.int32))

    def _init_histories(self) -> None:
        for item in self._histories:
            self._init_history(item)

    def _record_histories(self) -> None:
        for item in self._histories:
            buf, pos = self.__dict__[f"_history_{item}"], self.__dict__[f"_history_pos_{item}"]
            new = jnp.asarray(self._item_value(item), buf.value.dtype)
            pos.value = (pos.value + 1) % buf.value.shape[0]
            buf.value = jax.lax.dynamic_update_index_in_dim(buf.value, new, pos.value, 0)

    def extra_repr(self) -> str:
        return f"in_size={self.in_size if len(self.in_size) != 1 else self.in_size[0]}"


def _plain_init(initializer: Any, name: str) -> Any:
    if callable(initializer):
        return initializer
    try:
        return to_plain(initializer, "voltage", name)
    except ConfigError:
        return to_plain(initializer, None, name)


def _add(owner: Dynamics, table: dict, what: str, key: str, inp: Any, label: str | None) -> None:
    if not isinstance(key, str):
        raise ConfigError(f"{what} input keys are strings, got {key!r}. Fix: pass a name such as 'syn0'.")
    full = key if label is None else f"{label} // {key}"
    if full in table and table[full] is not inp:
        raise ConfigError(f"{type(owner).__name__} already has a {what} input {full!r}. Fix: use another key, "
                          "or remove the old one from .{what}_inputs first.".replace("{what}", what))
    table[full] = inp


def _sum(table: dict, total: Any, args: tuple, kwargs: dict, label: str | None) -> Any:
    if not table:
        return total
    prefix = None if label is None else f"{label} // "
    for key in tuple(table):
        if prefix is not None and not key.startswith(prefix):
            continue
        inp = table[key]
        if callable(inp):
            total = total + inp(*args, **kwargs)
        else:
            total = total + inp
            del table[key]
    return total


# -- prefetch --------------------------------------------------------------------------------------
class Prefetch(Node):
    """Reads ``module.<item>`` when called; ``.delay.at(t)`` reads it ``t`` ms ago."""

    _graph_skip = ("module",)

    def __init__(self, module: Dynamics, item: str) -> None:
        self.module, self.item = module, item

    def __call__(self) -> Any:
        return self.module._item_value(self.item)

    @property
    def delay(self) -> PrefetchDelay:
        """The delayed reads of this variable."""
        return PrefetchDelay(self.module, self.item)

    def __repr__(self) -> str:
        return f"Prefetch({type(self.module).__name__}.{self.item})"


class PrefetchDelay(Node):
    """``.at(t)`` gives a reader of the variable ``t`` ms (``round(t / dt)`` steps) in the past."""

    _graph_skip = ("module",)

    def __init__(self, module: Dynamics, item: str) -> None:
        self.module, self.item = module, item

    def at(self, *time_and_index: Any) -> Any:
        """A :class:`~brainstate.nn.PrefetchDelayAt`: the value ``t / dt`` calls of the module ago.

        ``environ`` ``dt`` must be set and ``t`` must be a whole number of steps (for rounding or
        interpolation, use ``module.prefetch_delay(item, t, interpolation=...)``); integer indices may
        follow ``t``. The history starts filled with zeros; ``at(0)`` is the value after the last call.
        """
        from ._delay_access import PrefetchDelayAt

        return PrefetchDelayAt(self.module, self.item, *time_and_index)


class DelayedRead(Node):
    """Calling it returns the variable ``steps`` calls of the module ago."""

    _graph_skip = ("module",)

    def __init__(self, module: Dynamics, item: str, steps: int) -> None:
        self.module, self.item, self.steps = module, item, steps

    def __call__(self) -> Any:
        return self._row(self.steps)

    def _row(self, steps: int) -> Any:
        """The value recorded ``steps`` calls of the module ago."""
        buf = self.module.__dict__.get(f"_history_{self.item}")
        if buf is None:
            raise InputError(f"The history of {type(self.module).__name__}.{self.item} does not exist yet. Fix: call "
                             "brainstate.nn.init_all_states(model) before running it.")
        pos = self.module.__dict__[f"_history_pos_{self.item}"].value
        return jax.lax.dynamic_index_in_dim(buf.value, (pos - steps) % buf.value.shape[0], 0, False)

    def __repr__(self) -> str:
        return f"DelayedRead({type(self.module).__name__}.{self.item}, steps={self.steps})"
