"""The Hodgkin--Huxley (1952) model of the squid giant axon, in the modern convention (rest -65 mV).

::

    C dV/dt = -gNa m^3 h (V - ENa) - gK n^4 (V - EK) - gL (V - EL) + I
    dx/dt   = alpha_x(V) (1 - x) - beta_x(V) x,        x in {m, h, n}

    alpha_m = 0.1 (V + 40) / (1 - exp(-(V + 40) / 10))     beta_m = 4 exp(-(V + 65) / 18)
    alpha_h = 0.07 exp(-(V + 65) / 20)                     beta_h = 1 / (1 + exp(-(V + 35) / 10))
    alpha_n = 0.01 (V + 55) / (1 - exp(-(V + 55) / 10))    beta_n = 0.125 exp(-(V + 65) / 80)

Units are per membrane area: ``C`` in uF / cm^2, conductances in mS / cm^2, the input in
uA / cm^2, voltages in mV, rates in 1 / ms. Each step integrates the gates exactly for the
voltage at the start of the step, and ``V`` by exponential Euler (exact for fixed gates and input).
Every parameter may be a ``ParamState`` or a :class:`~brainstate.nn.Param` to train it (see
``brainstate_nn._neurons``); ``C`` and the conductances are then read through ``abs`` (a
``ParamState``) or their constraint transform (a ``Param``).
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

__all__ = ["HH"]


def _vtrap(x: jax.Array, y: float) -> jax.Array:
    """``x / (1 - exp(-x / y))``, continuous (``= y``) at ``x = 0``."""
    small = jnp.abs(x / y) < 1e-6
    safe = jnp.where(small, 1.0, x)
    return jnp.where(small, y * (1.0 + 0.5 * x / y), safe / -jnp.expm1(-safe / y))


def _rates(v: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    return {
        "m": (0.1 * _vtrap(v + 40.0, 10.0), 4.0 * jnp.exp(-(v + 65.0) / 18.0)),
        "h": (0.07 * jnp.exp(-(v + 65.0) / 20.0), 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0))),
        "n": (0.01 * _vtrap(v + 55.0, 10.0), 0.125 * jnp.exp(-(v + 65.0) / 80.0)),
    }


class HH(Neuron):
    """Hodgkin--Huxley neuron with the classic squid-axon parameters (equations in the module notes).

    A spike is stamped in the step in which ``V`` crosses ``V_th`` upwards; it is kept in the
    state ``spike`` (``spk_fun(V - V_th)`` times "was below ``V_th`` at the previous step", the
    second factor without gradient). The gating variables start at their steady state for the
    initial ``V`` unless initialisers are given.

    Args:
        in_size: population shape.
        ENa, EK, EL: reversal potentials (mV).
        gNa, gK, gL: maximal conductances (mS / cm^2).
        V_th: spike detection threshold (mV).
        C: membrane capacitance (uF / cm^2).
        V_initializer: initial ``V`` (mV).
        m_initializer, h_initializer, n_initializer: initial gates; None for the steady state.
        spk_fun: spike function (default :class:`ReluGrad`).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=0.01):
        ...     hh = nn.init_all_states(nn.HH(2))
        ...     spikes = T.for_loop(lambda i: hh(jnp.array([1.0, 10.0])), jnp.arange(10000))
        >>> spikes.sum(axis=0)   # 100 ms: below rheobase; repetitive firing at 10 uA/cm^2
        Array([0., 7.], dtype=float32)
    """

    # parameters (set by _param) and hidden states (made by init_state)
    ENa: Any
    EK: Any
    EL: Any
    V_th: Any
    gNa: Any
    gK: Any
    gL: Any
    C: Any
    V: HiddenState
    m: HiddenState
    h: HiddenState
    n: HiddenState

    def __init__(self, in_size: Size, ENa: Any = 50.0, gNa: Any = 120.0, EK: Any = -77.0, gK: Any = 36.0,
                 EL: Any = -54.387, gL: Any = 0.3, V_th: Any = 20.0, C: Any = 1.0, V_initializer: Any = -65.0,
                 m_initializer: Any = None, h_initializer: Any = None, n_initializer: Any = None,
                 spk_fun: Callable | None = None, name: str | None = None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset="soft", name=name)
        for key, value in (("ENa", ENa), ("EK", EK), ("EL", EL), ("V_th", V_th)):
            self._param(key, value, "voltage")
        for key, value in (("gNa", gNa), ("gK", gK), ("gL", gL)):
            self._param(key, value, "conductance_density", positive="nonnegative")
        self._param("C", C, "capacitance_density", positive=True)
        self.V_initializer = V_initializer
        self.m_initializer, self.h_initializer, self.n_initializer = m_initializer, h_initializer, n_initializer

    spike: Any = None  # a HiddenState here (shadows the base class's computed property)

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        v = self.init_hidden("V", self.V_initializer, batch_size).value
        rates = _rates(v)
        for gate in "mhn":
            given = getattr(self, f"{gate}_initializer")
            alpha, beta = rates[gate]
            self.init_hidden(gate, alpha / (alpha + beta) if given is None else given, batch_size)
        self.init_hidden("spike", 0.0, batch_size)

    def get_spike(self, V: jax.Array | None = None) -> jax.Array:
        """The spikes of the last step (the state ``spike``); ``V`` is not used (crossings need two steps)."""
        return self.spike.value

    def currents(self, v: jax.Array, m: jax.Array, h: jax.Array, n: jax.Array) -> jax.Array:
        """The ionic membrane current density (uA / cm^2, outward negative) at ``V = v``."""
        i_na = read(self.gNa, True) * m ** 3 * h * (v - read(self.ENa))
        i_k = read(self.gK, True) * n ** 4 * (v - read(self.EK))
        i_l = read(self.gL, True) * (v - read(self.EL))
        return -(i_na + i_k + i_l)

    def update(self, x: Any = 0.0) -> jax.Array:
        x = self._input(x, "current_density")
        last_v, m, h, n = self.V.value, self.m.value, self.h.value, self.n.value
        rates = _rates(last_v)
        gates = {}
        for gate, value in (("m", m), ("h", h), ("n", n)):
            alpha, beta = rates[gate]
            gates[gate] = exp_euler_step(lambda g, a=alpha, b=beta: a * (1.0 - g) - b * g, value)
        c = read(self.C, True)
        v = exp_euler_step(lambda v: (self.currents(v, m, h, n) + self.sum_current_inputs(x, v)) / c, last_v)
        v = self.sum_delta_inputs(v)
        v_th = read(self.V_th)
        was_below = jax.lax.stop_gradient((last_v < v_th).astype(v.dtype))
        self.spike.value = self.spk_fun(v - v_th) * was_below
        self.V.value, self.m.value, self.h.value, self.n.value = v, gates["m"], gates["h"], gates["n"]
        return self.spike.value
