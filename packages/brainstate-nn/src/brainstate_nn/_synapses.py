"""Synapse dynamics: conductance (or gating) variables driven by presynaptic spikes.

Each synapse is a :class:`~brainstate_nn.Dynamics` whose ``update(x)`` advances its variables by
one step of ``environ`` ``dt`` (ms) and returns the synaptic variable ``g``; ``x`` is what arrived
at this step (spikes times weights), added **after** the decay, so a spike arriving at step ``i``
shows in the value returned by step ``i``. Every model here is linear between spikes (or linear
in ``g`` for fixed transmitter), and the step is its exact solution over ``dt``, not a first-order
approximation: the impulse responses equal the analytic kernels at the grid points.

Parameters are scalars, per-synapse arrays or ``ParamState`` (trainable; time constants are read
as their absolute value). Times are in ms; ``g`` has the unit of ``x`` (nS for conductances).
Combine ``g`` with a synaptic output (:class:`COBA`, :class:`CUBA`, :class:`MgBlock`) to get a
current.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from brainstate_core import ConfigError, HiddenState

from ._dynamics import Dynamics, get_dt, get_t, param, read

__all__ = ["Synapse", "Expon", "DualExpon", "Alpha", "AMPA", "GABAa", "NMDA"]


def _exp(x: Any) -> Any:
    return math.exp(x) if isinstance(x, float) else jnp.exp(x)


def _decay(tau: Any) -> Any:
    """``exp(-dt / tau)``: a Python float for plain parameters, so it is a constant of the program."""
    return _exp(-get_dt() / tau)


class Synapse(Dynamics):
    """Base class of the synapse models: parameter checks and the ``(name, initial value)`` states."""

    _hidden: tuple[tuple[str, float], ...] = (("g", 0.0),)


    def _param(self, value: Any, name: str, kind: str | None = "time", positive: bool = True) -> Any:
        return param(value, name, kind, self.varshape, positive=positive, owner=type(self).__name__)

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Create the synaptic variables (all zero, shape ``varshape`` or ``(batch_size, *varshape)``)."""
        for name, value in self._hidden:
            self.init_hidden(name, getattr(self, "g_initializer", value) if name == "g" else value, batch_size)

    def _inputs(self, x: Any) -> Any:
        jump = self.sum_delta_inputs(0.0)
        return jump if x is None else x + jump


class Expon(Synapse):
    r"""Exponential synapse: :math:`\tau\, dg/dt = -g`, and ``g += x`` for each arriving input.

    The response to one unit input at ``t = 0`` is :math:`g(t) = e^{-t/\tau}`.

    Args:
        in_size: the number (or shape) of synapses.
        name: optional display name.
        tau: decay time constant (ms).
        g_initializer: the initial ``g`` (a value or an initialiser).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     syn = nn.init_all_states(nn.Expon(2, tau=10.0))
        ...     g = [syn(1.0 if k == 0 else 0.0)[0] for k in range(3)]
        >>> [round(float(v), 4) for v in g]   # exp(-k / 10)
        [1.0, 0.9048, 0.8187]
    """

    # hidden states (made by init_state)
    g: HiddenState

    def __init__(self, in_size: Any, name: str | None = None, tau: Any = 8.0, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name)
        self.tau = self._param(tau, "tau")
        self.g_initializer = g_initializer

    def update(self, x: Any = None) -> Any:
        tau = read(self.tau, positive=True)
        drive = self.sum_current_inputs(0.0)
        decay = _decay(tau)
        g = self.g.value * decay if isinstance(drive, float) and drive == 0.0 else drive + (self.g.value - drive) * decay
        g = g + self._inputs(x)
        self.g.value = g
        return g


def _dual_peak(tau_rise: Any, tau_decay: Any) -> Any:
    """The peak of ``exp(-t / tau_decay) - exp(-t / tau_rise)`` over ``t >= 0``."""
    ratio = tau_rise / tau_decay
    log = math.log if isinstance(ratio, float) else jnp.log
    t_peak = tau_rise * tau_decay / (tau_decay - tau_rise) * log(tau_decay / tau_rise)
    return _exp(-t_peak / tau_decay) - _exp(-t_peak / tau_rise)


class DualExpon(Synapse):
    r"""Dual-exponential synapse: ``g = a (g_decay - g_rise)``, both decaying, both ``+= x`` per input.

    The response to one unit input is
    :math:`g(t) = a\,(e^{-t/\tau_{decay}} - e^{-t/\tau_{rise}})`, which peaks at
    :math:`t_{peak} = \frac{\tau_r \tau_d}{\tau_d - \tau_r}\ln\frac{\tau_d}{\tau_r}` with the value ``A``:
    ``a`` is ``A`` divided by the peak of the bracket. ``A=None`` means 1 (upstream brainstate's
    default ``A`` gave a peak of ``(tau_decay - tau_rise) / tau_decay`` instead, not 1).

    Args:
        in_size: the number (or shape) of synapses.
        name: optional display name.
        tau_decay: decay time constant (ms), larger than ``tau_rise``.
        tau_rise: rise time constant (ms).
        A: the peak of the response to one unit input (default 1).
        g_initializer: the initial ``g_rise`` and ``g_decay``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.01):
        ...     syn = nn.init_all_states(nn.DualExpon(1, tau_decay=10.0, tau_rise=1.0))
        ...     trace = [float(syn(1.0 if k == 0 else 0.0)[0]) for k in range(1000)]
        >>> round(max(trace), 4), trace.index(max(trace)) * 0.01   # peak 1 at t_peak = 2.56 ms
        (1.0, 2.56)
    """

    # hidden states (made by init_state)
    g_rise: HiddenState
    g_decay: HiddenState

    _hidden = (("g_rise", 0.0), ("g_decay", 0.0))

    def __init__(self, in_size: Any, name: str | None = None, tau_decay: Any = 10.0, tau_rise: Any = 1.0,
                 A: Any = None, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name)
        self.tau_decay = self._param(tau_decay, "tau_decay")
        self.tau_rise = self._param(tau_rise, "tau_rise")
        self.A = 1.0 if A is None else self._param(A, "A", None, positive=False)
        self.g_initializer = g_initializer
        td, tr = read(self.tau_decay), read(self.tau_rise)
        if isinstance(td, float) and isinstance(tr, float) and not td > tr:
            raise ConfigError(f"DualExpon needs tau_decay > tau_rise, got tau_decay={td}, tau_rise={tr}. "
                              "Fix: swap them, or use Alpha for equal time constants.")

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        for name in ("g_rise", "g_decay"):
            self.init_hidden(name, self.g_initializer, batch_size)

    @property
    def a(self) -> Any:
        """The factor that makes the peak of the unit response equal to ``A``."""
        td, tr = read(self.tau_decay, positive=True), read(self.tau_rise, positive=True)
        return read(self.A) / _dual_peak(tr, td)

    def update(self, x: Any = None) -> Any:
        td, tr = read(self.tau_decay, positive=True), read(self.tau_rise, positive=True)
        jump = self._inputs(x)
        self.g_rise.value = self.g_rise.value * _decay(tr) + jump
        self.g_decay.value = self.g_decay.value * _decay(td) + jump
        return self.a * (self.g_decay.value - self.g_rise.value)


class Alpha(Synapse):
    r"""Alpha synapse: :math:`\tau\, dh/dt = -h`, :math:`\tau\, dg/dt = -g + h`, and ``h += x`` per input.

    The response to one unit input is :math:`g(t) = \frac{t}{\tau} e^{-t/\tau}`, which peaks at
    :math:`t = \tau` with the value :math:`1/e` (upstream's equations; its docstring's
    ``exp(1 - t / tau)`` would peak at 1). The step is the exact solution of the pair over ``dt``.

    Args:
        in_size: the number (or shape) of synapses.
        name: optional display name.
        tau: the time constant (ms).
        g_initializer: the initial ``g`` and ``h``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.5):
        ...     syn = nn.init_all_states(nn.Alpha(1, tau=2.0))
        ...     trace = [float(syn(1.0 if k == 0 else 0.0)[0]) for k in range(10)]
        >>> trace.index(max(trace)) * 0.5, round(max(trace), 4)   # peak 1/e at t = tau
        (2.0, 0.3679)
    """

    # hidden states (made by init_state)
    g: HiddenState
    h: HiddenState

    _hidden = (("g", 0.0), ("h", 0.0))

    def __init__(self, in_size: Any, name: str | None = None, tau: Any = 8.0, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name)
        self.tau = self._param(tau, "tau")
        self.g_initializer = g_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("g", self.g_initializer, batch_size)
        self.init_hidden("h", self.g_initializer, batch_size)

    def update(self, x: Any = None) -> Any:
        tau = read(self.tau, positive=True)
        decay = _decay(tau)
        h = self.h.value
        self.g.value = (self.g.value + h * (get_dt() / tau)) * decay
        self.h.value = h * decay + self._inputs(x)
        return self.g.value


class AMPA(Synapse):
    r"""AMPA receptor kinetics (Destexhe et al. 1994): :math:`dg/dt = \alpha [T] (1 - g) - \beta g`.

    A presynaptic spike sets the transmitter concentration to ``T`` (mM) for ``T_dur`` ms;
    ``g`` is the open fraction. For a fixed ``[T]`` over a step the equation is linear in ``g``,
    and the step is its exact solution. The time is read from ``environ`` ``t`` (set by
    :func:`brainstate.nn.run` or your loop).

    Args:
        in_size: the number (or shape) of synapses.
        name: optional display name.
        alpha: binding rate (1 / (ms mM)).
        beta: unbinding rate (1 / ms).
        T: transmitter concentration after a spike (mM).
        T_dur: how long the transmitter stays (ms).
        g_initializer: the initial ``g``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.1):
        ...     syn = nn.init_all_states(nn.AMPA(1))
        ...     gs = []
        ...     for k in range(20):
        ...         with bc.environ.context(t=k * 0.1):
        ...             gs.append(float(syn(k == 0)[0]))
        >>> 0 < gs[4] and gs[4] > gs[19]   # rises for T_dur = 0.5 ms, then decays
        True
    """

    # hidden states (made by init_state)
    g: HiddenState
    spike_arrival_time: HiddenState

    def __init__(self, in_size: Any, name: str | None = None, alpha: Any = 0.98, beta: Any = 0.18, T: Any = 0.5,
                 T_dur: Any = 0.5, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name)
        self.alpha = self._param(alpha, "alpha", None)
        self.beta = self._param(beta, "beta", "rate")
        self.T = self._param(T, "T", None)
        self.T_duration = self._param(T_dur, "T_dur")
        self.g_initializer = g_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("g", self.g_initializer, batch_size)
        self.init_hidden("spike_arrival_time", -1e7, batch_size)

    def update(self, pre_spike: Any) -> Any:
        t = get_t()
        self.spike_arrival_time.value = jnp.where(jnp.asarray(pre_spike) > 0, t, self.spike_arrival_time.value)
        TT = jnp.where(t - self.spike_arrival_time.value < read(self.T_duration, True), read(self.T, True), 0.0)
        rate = read(self.alpha, True) * TT + read(self.beta, True)
        g_inf = read(self.alpha, True) * TT / rate
        self.g.value = g_inf + (self.g.value - g_inf) * jnp.exp(-get_dt() * rate)
        return self.g.value


class GABAa(AMPA):
    r"""GABA_A receptor kinetics (Destexhe & Paré 1999): the :class:`AMPA` equation with slower binding.

    Defaults ``alpha=0.53``, ``beta=0.18``, ``T=1`` mM for ``T_dur=1`` ms; pair it with
    ``COBA(E=-80.)``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.1, t=0.0):
        ...     g = nn.init_all_states(nn.GABAa(1))(True)
        >>> round(float(g[0]), 5)   # g_inf (1 - exp(-dt (alpha T + beta))), g_inf = 0.53 / 0.71
        0.05116
    """

    def __init__(self, in_size: Any, name: str | None = None, alpha: Any = 0.53, beta: Any = 0.18, T: Any = 1.0,
                 T_dur: Any = 1.0, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name, alpha=alpha, beta=beta, T=T, T_dur=T_dur, g_initializer=g_initializer)


class NMDA(Synapse):
    r"""NMDA receptor gating (Brunel & Wang 2001): saturating second-order kinetics.

    .. math::

        \frac{dg}{dt} = -\frac{g}{\tau_{decay}} + a\,x\,(1 - g), \qquad
        \frac{dx}{dt} = -\frac{x}{\tau_{rise}}, \qquad x \mathrel{+}= \text{spike}

    ``g`` stays in ``[0, 1)``, so trains summate sublinearly. The voltage dependence (the Mg2+
    block) is in the output: use ``MgBlock(E=0.)``. The step is exact for ``x``; for ``g`` it is
    the exact solution with ``x`` replaced by its mean over the step (within 0.2% of a fine RK4
    solution of the pair at ``dt = 0.1`` ms).

    Args:
        in_size: the number (or shape) of synapses.
        name: optional display name.
        a: the coupling rate (1 / ms).
        tau_decay: the decay time constant of ``g`` (ms).
        tau_rise: the decay time constant of ``x`` (ms).
        g_initializer: the initial ``g``.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=0.1):
        ...     syn = nn.init_all_states(nn.NMDA(1))
        ...     gs = [float(syn(1.0 if k == 0 else 0.0)[0]) for k in range(200)]
        >>> 0.0 < max(gs) < 1.0, gs[0]   # x jumps at step 0; g starts to rise at step 1
        (True, 0.0)
    """

    # hidden states (made by init_state)
    g: HiddenState
    x: HiddenState

    _hidden = (("g", 0.0), ("x", 0.0))

    def __init__(self, in_size: Any, name: str | None = None, a: Any = 0.5, tau_decay: Any = 100.0,
                 tau_rise: Any = 2.0, g_initializer: Any = 0.0) -> None:
        super().__init__(in_size, name=name)
        self.a = self._param(a, "a", "rate")
        self.tau_decay = self._param(tau_decay, "tau_decay")
        self.tau_rise = self._param(tau_rise, "tau_rise")
        self.g_initializer = g_initializer

    def update(self, pre_spike: Any = None) -> Any:
        a, x, tau_rise, dt = read(self.a, True), self.x.value, read(self.tau_rise, True), get_dt()
        decay = _decay(tau_rise)
        x_mean = x * (tau_rise * (1.0 - decay) / dt)  # the exact mean of x over the step
        rate = 1.0 / read(self.tau_decay, True) + a * x_mean
        g_inf = a * x_mean / rate
        self.g.value = g_inf + (self.g.value - g_inf) * jnp.exp(-dt * rate)
        self.x.value = x * decay + self._inputs(pre_spike)
        return self.g.value
