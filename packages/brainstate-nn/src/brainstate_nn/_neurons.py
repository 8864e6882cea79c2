"""Integrate-and-fire neurons: the ``Neuron`` base, ``IF``, ``LIF``, ``LIFRef`` and ``ALIF``.

The step convention, shared by every threshold neuron of brainstate (as in upstream brainstate):

1. **Reset.** At the start of step ``n`` the spike of step ``n - 1`` (``V >= V_th`` at its end)
   resets ``V``: ``spk_reset='soft'`` subtracts ``V_th - V_reset`` (the overshoot is kept, and the
   gradient flows through the threshold); ``'hard'`` sets ``V_reset`` (the gradient of the reset
   goes through the spike only: ``V - (stop_gradient(V) - V_reset) * spike``).
2. **Integrate.** ``V`` advances one ``environ`` ``dt`` with the input (``x`` plus the registered
   current inputs, called with ``V``) by :func:`exp_euler_step`, which is exact for the linear
   membranes here; then the delta inputs are added.
3. **Refractory clamp** (models with ``tau_ref``): after a spike stamped at step ``n``, ``V`` is
   held at its post-reset value during steps ``n + 1 ... n + round(tau_ref / dt)``; integration
   resumes at the step after.
4. **Spike.** ``update`` returns ``spk_fun((V - V_th) / (V_th - V_reset))``: the spike is stamped
   with the step in which ``V`` reaches the threshold, and ``V`` keeps its supra-threshold value
   in the state until the next step resets it. ``get_spike()`` recomputes it from the state.

So under a constant input a hard-reset ``LIFRef`` fires every ``round(tau_ref / dt) + ceil(T / dt)``
steps, where ``T = tau ln((V_inf - V_reset) / (V_inf - V_th))`` is the analytic time to threshold.

Parameters are scalars or per-neuron arrays (Quantities with ``brainunit``, see the unit table in
``brainstate_nn._units``), ``ParamState`` s to train them (trainable time constants are read
through ``abs`` so they stay positive) or :class:`~brainstate.nn.Param` s, used through their
constraint transform (e.g. ``Param(tau, t=SoftplusT(0.0))``, or ``V_th`` above ``V_reset`` with
``SoftplusT(V_reset)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, HiddenState, State

from ._dynamics import Dynamics, get_dt, param, read
from ._integrators import exp_euler_step
from ._param import Param
from ._spike_fn import ReluGrad
from ._units import to_plain
from ._utils import Size

__all__ = ["Neuron", "IF", "LIF", "LIFRef", "ALIF"]

_RESETS = ("soft", "hard")


class Neuron(Dynamics):
    """Base class of the spiking neurons: the spike function, the reset mode and parameter helpers.

    Args:
        in_size: population shape.
        spk_fun: the spike function, ``1.0`` where its argument is ``>= 0``, with a surrogate
            gradient (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` (subtract) or ``'hard'`` (set to ``V_reset``); see the module notes.
        name: optional display name.
    """

    # set by the subclasses with a refractory period (_param, _init_ref)
    tau_ref: Any
    ref_left: HiddenState

    def __init__(self, in_size: Size, spk_fun: Callable[[jax.Array], jax.Array] | None = None,
                 spk_reset: str = "soft", name: str | None = None) -> None:
        super().__init__(in_size, name=name)
        if spk_reset not in _RESETS:
            raise ConfigError(f"{type(self).__name__} spk_reset must be 'soft' or 'hard', got {spk_reset!r}. "
                              "Fix: pass spk_reset='soft' (subtract the threshold) or 'hard' (set V_reset).")
        if spk_fun is None:
            spk_fun = ReluGrad()
        if not callable(spk_fun):
            raise ConfigError(f"{type(self).__name__} spk_fun must be callable, got {spk_fun!r}. "
                              "Fix: pass a spike function such as brainstate.nn.surrogate.ReluGrad().")
        self.spk_fun = spk_fun
        self.spk_reset = spk_reset

    def _param(self, name: str, value: Any, kind: str | None, positive: bool | str = False) -> None:
        """Set the parameter ``name`` (see ``_dynamics.param``: a value, a ``ParamState`` or a ``Param``)."""
        setattr(self, name, param(value, name, kind, self.varshape, positive=positive, owner=type(self).__name__))

    def _input(self, x: Any, kind: str = "current") -> Any:
        return to_plain(x, kind, f"{type(self).__name__} input")

    def _reset(self, v: jax.Array, spk: jax.Array, v_th: Any, v_reset: Any) -> jax.Array:
        """``v`` after the reset by ``spk`` (a spike of the previous step)."""
        if self.spk_reset == "soft":
            return v - (v_th - v_reset) * spk
        return v - (jax.lax.stop_gradient(v) - v_reset) * spk

    def _has_refractory(self) -> bool:
        return isinstance(self.tau_ref, (State, Param, jax.Array)) or self.tau_ref != 0.0

    def _refractory(self, v_reset: jax.Array, v_new: jax.Array, spk: jax.Array) -> jax.Array:
        """Hold ``v`` at ``v_reset`` during ``round(tau_ref / dt)`` steps after a spike (``ref_left``, ms)."""
        if not self._has_refractory():
            return v_new
        tau_ref = read(self.tau_ref, positive=True)
        dt = get_dt()
        left = jnp.where(jax.lax.stop_gradient(spk) > 0, tau_ref, self.ref_left.value)
        self.ref_left.value = jax.lax.stop_gradient(jnp.maximum(left - dt, 0.0))
        return jnp.where(left > 0.5 * dt, v_reset, v_new)

    def _init_ref(self, batch_size: int | None) -> None:
        if self._has_refractory():
            self.init_hidden("ref_left", 0.0, batch_size)

    @property
    def spike(self) -> jax.Array:
        """The spikes of the last step, ``get_spike()``."""
        return self.get_spike()

    def get_spike(self, *args: Any) -> jax.Array:
        """The spikes of the state (or of the given variables)."""
        raise NotImplementedError


class IF(Neuron):
    """Integrate-and-fire neuron: ``tau dV/dt = -V + R I``; spike when ``V >= V_th``, reset to 0.

    Soft reset subtracts ``V_th``; hard reset sets 0. ``get_spike`` is ``spk_fun((V - V_th) / V_th)``.

    Args:
        in_size: population shape.
        R: membrane resistance (GOhm, so ``R I`` is in mV for ``I`` in pA).
        tau: membrane time constant (ms).
        V_th: threshold (mV), > 0.
        V_initializer: initial ``V`` (an initialiser, an array or a scalar, mV).
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.5):
        ...     neuron = nn.init_all_states(nn.IF(1, tau=1.0))
        ...     spikes = [float(neuron(2.0)[0]) for _ in range(4)]
        >>> spikes
        [0.0, 1.0, 0.0, 1.0]
    """

    # parameters (set by _param) and hidden states (made by init_state)
    R: Any
    tau: Any
    V_th: Any
    V: HiddenState

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 5.0, V_th: Any = 1.0, V_initializer: Any = 0.0,
                 spk_fun: Callable | None = None, spk_reset: str = "soft", name: str | None = None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("R", R, "resistance")
        self._param("tau", tau, "time", positive=True)
        self._param("V_th", V_th, "voltage")
        self.V_initializer = V_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("V", self.V_initializer, batch_size)

    def get_spike(self, V: jax.Array | None = None) -> jax.Array:
        V = self.V.value if V is None else V
        v_th = read(self.V_th)
        return self.spk_fun((V - v_th) / v_th)

    def update(self, x: Any = 0.0) -> jax.Array:
        x = self._input(x)
        tau, R, v_th = read(self.tau, True), read(self.R), read(self.V_th)
        last_v = self.V.value
        v = self._reset(last_v, self.get_spike(last_v), v_th, 0.0)
        v = exp_euler_step(lambda v: (-v + R * self.sum_current_inputs(x, v)) / tau, v)
        self.V.value = self.sum_delta_inputs(v)
        return self.get_spike(self.V.value)


class LIF(Neuron):
    """Leaky integrate-and-fire neuron: ``tau dV/dt = -(V - V_rest) + R I``.

    Spike when ``V >= V_th``; reset to ``V_reset`` (soft: subtract ``V_th - V_reset``) at the next
    step, as described in the module notes. ``get_spike`` is
    ``spk_fun((V - V_th) / (V_th - V_reset))``.

    Args:
        in_size: population shape.
        R: membrane resistance (GOhm).
        tau: membrane time constant (ms).
        V_th: threshold (mV).
        V_reset: reset potential (mV), below ``V_th``.
        V_rest: resting potential (mV).
        V_initializer: initial ``V`` (mV).
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     lif = nn.init_all_states(nn.LIF(3, tau=10.0, V_th=1.0, spk_reset='hard'))
        ...     spikes = T.for_loop(lambda i: lif(jnp.array([0.5, 1.5, 3.0])), jnp.arange(1000))
        >>> spikes.sum(axis=0)   # 100 ms: none below threshold, faster for a larger input
        Array([ 0.,  9., 24.], dtype=float32)
    """

    # parameters (set by _param) and hidden states (made by init_state)
    R: Any
    tau: Any
    V_th: Any
    V_reset: Any
    V_rest: Any
    V: HiddenState

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 5.0, V_th: Any = 1.0, V_reset: Any = 0.0,
                 V_rest: Any = 0.0, V_initializer: Any = 0.0, spk_fun: Callable | None = None,
                 spk_reset: str = "soft", name: str | None = None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("R", R, "resistance")
        self._param("tau", tau, "time", positive=True)
        self._param("V_th", V_th, "voltage")
        self._param("V_reset", V_reset, "voltage")
        self._param("V_rest", V_rest, "voltage")
        self.V_initializer = V_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("V", self.V_initializer, batch_size)

    def get_spike(self, V: jax.Array | None = None) -> jax.Array:
        V = self.V.value if V is None else V
        v_th, v_reset = read(self.V_th), read(self.V_reset)
        return self.spk_fun((V - v_th) / (v_th - v_reset))

    def _integrate(self, x: Any, v: jax.Array) -> jax.Array:
        tau, R, v_rest = read(self.tau, True), read(self.R), read(self.V_rest)
        v = exp_euler_step(lambda v: (-v + v_rest + R * self.sum_current_inputs(x, v)) / tau, v)
        return self.sum_delta_inputs(v)

    def update(self, x: Any = 0.0) -> jax.Array:
        x = self._input(x)
        last_v = self.V.value
        v = self._reset(last_v, self.get_spike(last_v), read(self.V_th), read(self.V_reset))
        self.V.value = self._integrate(x, v)
        return self.get_spike(self.V.value)


class LIFRef(LIF):
    """:class:`LIF` with an absolute refractory period ``tau_ref`` (ms).

    After the spike stamped at step ``n``, ``V`` is held at its post-reset value for the
    ``round(tau_ref / dt)`` steps ``n + 1 ... n + round(tau_ref / dt)`` (state ``ref_left``: the
    refractory time left, ms). Signature as :class:`LIF` plus ``tau_ref`` after ``tau``.

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     neuron = nn.init_all_states(nn.LIFRef(1, tau=10.0, tau_ref=2.0, spk_reset='hard'))
        ...     spikes = T.for_loop(lambda i: neuron(3.0), jnp.arange(1000))
        >>> int(spikes.sum())   # 100 ms / (2 ms + 10 ln(3 / 2) ms, rounded up to dt)
        16
    """

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 5.0, tau_ref: Any = 5.0, V_th: Any = 1.0,
                 V_reset: Any = 0.0, V_rest: Any = 0.0, V_initializer: Any = 0.0, spk_fun: Callable | None = None,
                 spk_reset: str = "soft", name: str | None = None) -> None:
        super().__init__(in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest,
                         V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("tau_ref", tau_ref, "time", positive="nonnegative")

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        super().init_state(batch_size)
        self._init_ref(batch_size)

    def update(self, x: Any = 0.0) -> jax.Array:
        x = self._input(x)
        last_v = self.V.value
        spk = self.get_spike(last_v)
        v = self._reset(last_v, spk, read(self.V_th), read(self.V_reset))
        self.V.value = self._refractory(v, self._integrate(x, v), spk)
        return self.get_spike(self.V.value)


class ALIF(Neuron):
    """Adaptive LIF (Bellec et al. 2018): the threshold rises by ``beta`` per recent spike.

    ``tau dV/dt = -(V - V_rest) + R I``; ``tau_a da/dt = -a``; spike when ``V >= V_th + beta a``;
    at the reset (next step) ``V`` is reset as in :class:`LIF` and ``a`` grows by the spike, then
    both are integrated. ``get_spike`` is ``spk_fun((V - V_th - beta a) / (V_th - V_reset))``.

    Args:
        in_size: population shape.
        R: membrane resistance (GOhm).
        tau: membrane time constant (ms).
        tau_a: adaptation time constant (ms).
        V_th: baseline threshold (mV).
        V_reset: reset potential (mV).
        V_rest: resting potential (mV).
        beta: threshold increase per unit of ``a`` (mV).
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        V_initializer: initial ``V`` (mV).
        a_initializer: initial ``a``.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     neuron = nn.init_all_states(nn.ALIF(1, tau=10.0, tau_a=200.0, beta=0.5, spk_reset='hard'))
        ...     s = T.for_loop(lambda i: neuron(3.0), jnp.arange(2000))[:, 0]
        >>> bool(s[:1000].sum() > s[1000:].sum())   # the rate adapts
        True
    """

    # parameters (set by _param) and hidden states (made by init_state)
    R: Any
    tau: Any
    tau_a: Any
    V_th: Any
    V_reset: Any
    V_rest: Any
    beta: Any
    V: HiddenState
    a: HiddenState

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 5.0, tau_a: Any = 100.0, V_th: Any = 1.0,
                 V_reset: Any = 0.0, V_rest: Any = 0.0, beta: Any = 0.1, spk_fun: Callable | None = None,
                 spk_reset: str = "soft", V_initializer: Any = 0.0, a_initializer: Any = 0.0,
                 name: str | None = None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("R", R, "resistance")
        self._param("tau", tau, "time", positive=True)
        self._param("tau_a", tau_a, "time", positive=True)
        self._param("V_th", V_th, "voltage")
        self._param("V_reset", V_reset, "voltage")
        self._param("V_rest", V_rest, "voltage")
        self._param("beta", beta, "voltage")
        self.V_initializer = V_initializer
        self.a_initializer = a_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("V", self.V_initializer, batch_size)
        self.init_hidden("a", self.a_initializer, batch_size)

    def get_spike(self, V: jax.Array | None = None, a: jax.Array | None = None) -> jax.Array:
        V = self.V.value if V is None else V
        a = self.a.value if a is None else a
        v_th, v_reset, beta = read(self.V_th), read(self.V_reset), read(self.beta)
        return self.spk_fun((V - v_th - beta * a) / (v_th - v_reset))

    def update(self, x: Any = 0.0) -> jax.Array:
        x = self._input(x)
        tau, tau_a, R, v_rest = read(self.tau, True), read(self.tau_a, True), read(self.R), read(self.V_rest)
        last_v, last_a = self.V.value, self.a.value
        spk = self.get_spike(last_v, last_a)
        v = self._reset(last_v, spk, read(self.V_th), read(self.V_reset))
        v = exp_euler_step(lambda v: (-v + v_rest + R * self.sum_current_inputs(x, v)) / tau, v)
        self.a.value = exp_euler_step(lambda a: -a / tau_a, last_a + spk)
        self.V.value = self.sum_delta_inputs(v)
        return self.get_spike(self.V.value, self.a.value)
