"""Nonlinear integrate-and-fire neurons: ``ExpIF``, ``AdExIF``, ``QuaIF`` and ``Izhikevich``.

They follow the step convention of ``brainstate_nn._neurons`` (reset at the start of the step
after the spike, then integration, then the optional refractory clamp of ``round(tau_ref / dt)``
steps) with one addition: the membrane potential of these models runs away to infinity once past
the spike initiation, so after integration ``V`` is **clipped at the spike cut-off** ``V_th``
(a straight-through clip: the value is ``min(V, V_th)``, the gradient that of ``V``). A spike is
therefore ``V == V_th``, and a soft reset (``V - (V_th - V_reset)``) lands exactly on
``V_reset``, as a hard reset does; the two modes differ only in their gradients.

Integration is :func:`exp_euler_step`, i.e. exponential Euler on the local linearisation.

Parameters are given as for the integrate-and-fire neurons: scalars, per-neuron arrays,
Quantities, ``ParamState`` s (trainable; time constants and other positive parameters read through
``abs``) or :class:`~brainstate.nn.Param` s (trainable through their constraint transform, e.g.
``ExpIF(n, tau=Param(jnp.full(n, 10.0), t=SoftplusT(0.0)))``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import HiddenState

from ._dynamics import read
from ._integrators import exp_euler_step
from ._neurons import Neuron
from ._utils import Size

__all__ = ["ExpIF", "AdExIF", "QuaIF", "Izhikevich"]


def _clip(v: jax.Array, v_th: Any) -> jax.Array:
    """``min(v, v_th)`` in value (exactly ``v_th``, also for a huge or infinite ``v``), identity in gradient."""
    straight_through = jnp.where(jnp.isfinite(v), v - jax.lax.stop_gradient(v), 0.0)
    return jnp.where(v > v_th, v_th + straight_through, v)


class _CutoffNeuron(Neuron):
    """Shared parts: ``V_rest``, ``V_reset``, ``V_th`` (cut-off), ``R``, ``tau``, ``tau_ref``."""

    # parameters (set by _param) and hidden states (made by init_state)
    R: Any
    tau: Any
    tau_ref: Any
    V_th: Any
    V_reset: Any
    V_rest: Any
    V: HiddenState

    def __init__(self, in_size: Size, R: Any, tau: Any, tau_ref: Any, V_th: Any, V_reset: Any, V_rest: Any,
                 V_initializer: Any, spk_fun: Callable | None, spk_reset: str, name: str | None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("R", R, "resistance")
        self._param("tau", tau, "time", positive=True)
        self._param("tau_ref", tau_ref, "time", positive="nonnegative")
        self._param("V_th", V_th, "voltage")
        self._param("V_reset", V_reset, "voltage")
        self._param("V_rest", V_rest, "voltage")
        self.V_initializer = V_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("V", self.V_initializer, batch_size)
        self._init_ref(batch_size)

    def get_spike(self, V: jax.Array | None = None) -> jax.Array:
        V = self.V.value if V is None else V
        v_th, v_reset = read(self.V_th), read(self.V_reset)
        return self.spk_fun((V - v_th) / (v_th - v_reset))

    def _dvdt(self, v: jax.Array, current: jax.Array, **extra: Any) -> jax.Array:
        raise NotImplementedError

    def _step_v(self, x: Any, spk: jax.Array, **extra: Any) -> tuple[jax.Array, jax.Array]:
        """Reset by ``spk``, integrate, clip and clamp ``V``; returns ``(V after the reset, new V)``."""
        v_th = read(self.V_th)
        v = self._reset(self.V.value, spk, v_th, read(self.V_reset))
        new = exp_euler_step(lambda v: self._dvdt(v, self.sum_current_inputs(x, v), **extra), v)
        new = _clip(self.sum_delta_inputs(new), v_th)
        return v, self._refractory(v, new, spk)

    def update(self, x: Any = 0.0) -> jax.Array:
        _, self.V.value = self._step_v(self._input(x), self.get_spike())
        return self.get_spike(self.V.value)


class ExpIF(_CutoffNeuron):
    """Exponential integrate-and-fire (Fourcaud-Trocme et al. 2003).

    ``tau dV/dt = -(V - V_rest) + delta_T exp((V - V_T) / delta_T) + R I``; a spike when ``V``
    reaches the cut-off ``V_th``, then ``V = V_reset`` (see the module notes).

    Args:
        in_size: population shape.
        R: membrane resistance (GOhm).
        tau: membrane time constant (ms).
        V_th: spike cut-off (mV).
        V_reset: reset potential (mV).
        V_rest: resting potential (mV).
        V_T: threshold of the exponential term (mV).
        delta_T: slope factor (mV), > 0.
        V_initializer: initial ``V`` (mV).
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        name: optional display name.
        tau_ref: refractory period (ms), 0 for none (keyword only: not an upstream parameter).

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.05):
        ...     neuron = nn.init_all_states(nn.ExpIF(2))
        ...     spikes = T.for_loop(lambda i: neuron(jnp.array([2.0, 10.0])), jnp.arange(2000))
        >>> spikes.sum(axis=0)   # 100 ms: subthreshold, then regular firing
        Array([0., 6.], dtype=float32)
    """

    # parameters (set by _param) and hidden states (made by init_state)
    V_T: Any
    delta_T: Any

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 10.0, V_th: Any = -30.0, V_reset: Any = -68.0,
                 V_rest: Any = -65.0, V_T: Any = -59.9, delta_T: Any = 3.48, V_initializer: Any = -65.0,
                 spk_fun: Callable | None = None, spk_reset: str = "soft", name: str | None = None, *,
                 tau_ref: Any = 0.0) -> None:
        super().__init__(in_size, R, tau, tau_ref, V_th, V_reset, V_rest, V_initializer, spk_fun, spk_reset, name)
        self._param("V_T", V_T, "voltage")
        self._param("delta_T", delta_T, "voltage", positive=True)

    def _dvdt(self, v: jax.Array, current: jax.Array, **extra: Any) -> jax.Array:
        d_t = read(self.delta_T, True)
        spike_term = d_t * jnp.exp((v - read(self.V_T)) / d_t)
        return (-(v - read(self.V_rest)) + spike_term + read(self.R) * current) / read(self.tau, True)


class AdExIF(ExpIF):
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005).

    ``tau dV/dt = -(V - V_rest) + delta_T exp((V - V_T) / delta_T) - R w + R I``,
    ``tau_w dw/dt = a (V - V_rest) - w``; at a spike ``V = V_reset`` and ``w += b`` (both at the
    reset, the step after the spike is stamped).

    Args:
        in_size: population shape.
        R, tau, V_th, V_reset, V_rest, V_T, delta_T, V_initializer, spk_fun, spk_reset, name,
            tau_ref: as :class:`ExpIF`.
        a: subthreshold adaptation (nS).
        b: spike-triggered adaptation (pA).
        tau_w: adaptation time constant (ms).
        w_initializer: initial ``w`` (pA).

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.05):
        ...     neuron = nn.init_all_states(nn.AdExIF(1, a=0.0, b=5.0, tau_w=100.0))
        ...     s = T.for_loop(lambda i: neuron(20.0), jnp.arange(4000))[:, 0]
        >>> bool(s[:2000].sum() > s[2000:].sum())   # spike-frequency adaptation
        True
    """

    # parameters (set by _param) and hidden states (made by init_state)
    tau_w: Any
    a: Any
    b: Any
    w: HiddenState

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 10.0, tau_w: Any = 30.0, V_th: Any = -30.0,
                 V_reset: Any = -68.0, V_rest: Any = -65.0, V_T: Any = -59.9, delta_T: Any = 3.48, a: Any = 1.0,
                 b: Any = 1.0, V_initializer: Any = -65.0, w_initializer: Any = 0.0, spk_fun: Callable | None = None,
                 spk_reset: str = "soft", name: str | None = None, *, tau_ref: Any = 0.0) -> None:
        super().__init__(in_size, R=R, tau=tau, V_th=V_th, V_reset=V_reset, V_rest=V_rest, V_T=V_T, delta_T=delta_T,
                         V_initializer=V_initializer, spk_fun=spk_fun, spk_reset=spk_reset, tau_ref=tau_ref,
                         name=name)
        self._param("tau_w", tau_w, "time", positive=True)
        self._param("a", a, "conductance")
        self._param("b", b, "current")
        self.w_initializer = w_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        super().init_state(batch_size)
        self.init_hidden("w", self.w_initializer, batch_size)

    def _dvdt(self, v: jax.Array, current: jax.Array, w: Any = 0.0) -> jax.Array:
        return super()._dvdt(v, current - w)

    def update(self, x: Any = 0.0) -> jax.Array:
        spk = self.get_spike()
        w = self.w.value + read(self.b) * spk
        v0, new_v = self._step_v(self._input(x), spk, w=w)
        a, tau_w, v_rest = read(self.a), read(self.tau_w, True), read(self.V_rest)
        self.w.value = exp_euler_step(lambda w: (a * (v0 - v_rest) - w) / tau_w, w)
        self.V.value = new_v
        return self.get_spike(new_v)


class QuaIF(_CutoffNeuron):
    """Quadratic integrate-and-fire (Latham et al. 2000).

    ``tau dV/dt = c (V - V_rest) (V - V_c) + R I``; a spike at the cut-off ``V_th``, then
    ``V = V_reset``.

    Args:
        in_size: population shape.
        R, tau, V_th, V_reset, V_rest, V_initializer, spk_fun, spk_reset, name, tau_ref: as
            :class:`ExpIF`.
        V_c: critical voltage of the spike initiation (mV).
        c: curvature (1 / mV).

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.05):
        ...     neuron = nn.init_all_states(nn.QuaIF(2))
        ...     spikes = T.for_loop(lambda i: neuron(jnp.array([1.0, 20.0])), jnp.arange(2000))
        >>> spikes.sum(axis=0)
        Array([0., 6.], dtype=float32)
    """

    # parameters (set by _param) and hidden states (made by init_state)
    V_c: Any
    c: Any

    def __init__(self, in_size: Size, R: Any = 1.0, tau: Any = 10.0, V_th: Any = -30.0, V_reset: Any = -68.0,
                 V_rest: Any = -65.0, V_c: Any = -50.0, c: Any = 0.07, V_initializer: Any = -65.0,
                 spk_fun: Callable | None = None, spk_reset: str = "soft", name: str | None = None, *,
                 tau_ref: Any = 0.0) -> None:
        super().__init__(in_size, R, tau, tau_ref, V_th, V_reset, V_rest, V_initializer, spk_fun, spk_reset, name)
        self._param("V_c", V_c, "voltage")
        self._param("c", c, "per_voltage")

    def _dvdt(self, v: jax.Array, current: jax.Array, **extra: Any) -> jax.Array:
        quad = read(self.c) * (v - read(self.V_rest)) * (v - read(self.V_c))
        return (quad + read(self.R) * current) / read(self.tau, True)


class Izhikevich(_CutoffNeuron):
    """Izhikevich (2003) neuron.

    ``dV/dt = 0.04 V^2 + 5 V + 140 - u + I``, ``du/dt = a (b V - u)``; when ``V`` reaches
    ``V_th`` (30 mV): ``V = c``, ``u += d`` (at the reset, the step after the spike is stamped).
    Units as in the paper: mV and ms, ``u`` and ``I`` in mV / ms. The paper's firing types are
    ``(a, b, c, d)`` = RS ``(0.02, 0.2, -65, 8)``, IB ``(0.02, 0.2, -55, 4)``, CH
    ``(0.02, 0.2, -50, 2)``, FS ``(0.1, 0.2, -65, 2)``, LTS ``(0.02, 0.25, -65, 2)``, TC
    ``(0.02, 0.25, -65, 0.05)``, RZ ``(0.1, 0.26, -65, 2)``.

    Args:
        in_size: population shape.
        a: recovery rate (1 / ms).
        b: sensitivity of ``u`` to ``V`` (1 / ms).
        c: reset potential (mV).
        d: reset increment of ``u`` (mV / ms).
        V_th: spike cut-off (mV).
        V_initializer: initial ``V`` (mV).
        u_initializer: initial ``u``; None means ``b * V`` at the start.
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        name: optional display name.
        tau_ref: refractory period (ms), 0 for none (keyword only: not an upstream parameter).

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.1):
        ...     rs = nn.init_all_states(nn.Izhikevich(1))     # regular spiking
        ...     spikes = T.for_loop(lambda i: rs(10.0), jnp.arange(2000))
        >>> int(spikes.sum())   # 200 ms: a first spike, then one every 45 ms
        5
    """

    # parameters (set by _param) and hidden states (made by init_state)
    a: Any
    b: Any
    c: Any
    d: Any
    u: HiddenState

    def __init__(self, in_size: Size, a: Any = 0.02, b: Any = 0.2, c: Any = -65.0, d: Any = 8.0, V_th: Any = 30.0,
                 V_initializer: Any = -65.0, u_initializer: Any = None, spk_fun: Callable | None = None,
                 spk_reset: str = "soft", name: str | None = None, *, tau_ref: Any = 0.0) -> None:
        super().__init__(in_size, 1.0, 1.0, tau_ref, V_th, c, c, V_initializer, spk_fun, spk_reset, name)
        del self.R, self.tau, self.V_rest
        self._param("a", a, "rate")
        self._param("b", b, "rate")
        self._param("c", c, "voltage")
        self._param("d", d, "voltage_rate")
        self.u_initializer = u_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        super().init_state(batch_size)
        u0 = read(self.b) * self.V.value if self.u_initializer is None else self.u_initializer
        self.init_hidden("u", u0, batch_size)

    def _dvdt(self, v: jax.Array, current: jax.Array, u: Any = 0.0) -> jax.Array:
        return 0.04 * v * v + 5.0 * v + 140.0 - u + current

    def update(self, x: Any = 0.0) -> jax.Array:
        spk = self.get_spike()
        u = self.u.value + read(self.d) * spk
        v0, new_v = self._step_v(self._input(x, "voltage_rate"), spk, u=u)
        a, b = read(self.a), read(self.b)
        self.u.value = exp_euler_step(lambda u: a * (b * v0 - u), u)
        self.V.value = new_v
        return self.get_spike(new_v)
