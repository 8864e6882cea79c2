"""Plasticity: short-term (Tsodyks–Markram STP and STD) and pair-based spike-timing-dependent.

Short-term plasticity scales each presynaptic spike by an efficacy that depends on the recent
spike history: ``update(pre_spike)`` returns ``efficacy * pre_spike``, to multiply into the
weight of the spike before it reaches a synapse (``Expon.update(w * stp(spk))``).

:class:`STDP` keeps a presynaptic and a postsynaptic trace and changes a weight matrix
``(n_pre, n_post)`` at every step from the spikes of that step: potentiation when a postsynaptic
spike follows a presynaptic one, depression in the other order, with the exponential window
``A_plus exp(-dt / tau_plus)`` / ``-A_minus exp(dt / tau_minus)`` and additive (hard) or
multiplicative (soft) bounds.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from brainstate_core import ConfigError, HiddenState, InputError, ParamState, State, environ

from . import _init as init
from ._dynamics import Dynamics, get_dt, param, read
from ._module import Module

__all__ = ["STP", "STD", "STDP"]


def _decay(tau: Any) -> Any:
    x = -get_dt() / tau
    return math.exp(x) if isinstance(x, float) else jnp.exp(x)


def _fraction(value: Any, name: str, owner: str) -> None:
    arr = value.value if isinstance(value, State) else value
    if isinstance(arr, float) and not 0.0 < arr <= 1.0:
        raise ConfigError(f"{owner} {name} must be in (0, 1], got {arr}. Fix: pass the fraction of resources "
                          f"used by one spike, e.g. {name}=0.2.")


class STP(Dynamics):
    r"""Short-term plasticity (Tsodyks, Pawelzik & Markram 1998): facilitation ``u`` and resources ``x``.

    .. math::

        \frac{du}{dt} = -\frac{u}{\tau_f}, \qquad \frac{dx}{dt} = \frac{1 - x}{\tau_d}; \qquad
        \text{at a spike: } u^+ = u^- + U (1 - u^-), \quad x^+ = x^- - u^+ x^-

    The efficacy of a spike is the fraction released, :math:`u^+ x^-`. (Upstream brainstate returned
    :math:`u^+ x^+`, the resources left *after* the release, and applied the jump of ``u`` to its
    value before the decay of the step.) A rested synapse has ``u = 0`` and ``x = 1``, so the
    first spike has the efficacy ``U`` (upstream started from ``u = U``). For a regular train of period ``T`` the efficacy tends to
    the fixed point :math:`u^+_\infty x^-_\infty` with
    :math:`u^-_\infty = U e^{-T/\tau_f} / (1 - (1 - U) e^{-T/\tau_f})`,
    :math:`x^-_\infty = (1 - e^{-T/\tau_d}) / (1 - (1 - u^+_\infty) e^{-T/\tau_d})`.

    Args:
        in_size: the number (or shape) of presynaptic sources.
        name: optional display name.
        U: the increment of ``u`` per spike, in (0, 1].
        tau_f: facilitation time constant (ms).
        tau_d: recovery (depression) time constant (ms).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     stp = nn.init_all_states(nn.STP(1, U=0.2, tau_f=100.0, tau_d=50.0))
        ...     eff = [float(stp(1.0 if k % 10 == 0 else 0.0)[0]) for k in range(21)]
        >>> [round(e, 3) for e in eff[::10]]   # the efficacy of the 1st, 2nd and 3rd spike
        [0.2, 0.288, 0.283]
    """

    # hidden states (made by init_state)
    x: HiddenState
    u: HiddenState

    def __init__(self, in_size: Any, name: str | None = None, U: Any = 0.15, tau_f: Any = 1500.0,
                 tau_d: Any = 200.0) -> None:
        super().__init__(in_size, name=name)
        owner = type(self).__name__
        self.U = param(U, "U", None, self.varshape, positive=True, owner=owner)
        _fraction(self.U, "U", owner)
        self.tau_f = param(tau_f, "tau_f", "time", self.varshape, positive=True, owner=owner)
        self.tau_d = param(tau_d, "tau_d", "time", self.varshape, positive=True, owner=owner)

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("x", 1.0, batch_size)
        self.init_hidden("u", 0.0, batch_size)

    def update(self, pre_spike: Any) -> Any:
        spk = jnp.asarray(pre_spike, self.x.value.dtype)
        U = read(self.U)
        u = self.u.value * _decay(read(self.tau_f, True))
        x = 1.0 - (1.0 - self.x.value) * _decay(read(self.tau_d, True))
        u = u + spk * U * (1.0 - u)
        released = u * x
        self.u.value = u
        self.x.value = x - spk * released
        return released * spk


class STD(Dynamics):
    r"""Short-term depression (Tsodyks & Markram 1997): resources ``x`` recover with ``tau``.

    .. math::

        \frac{dx}{dt} = \frac{1 - x}{\tau}; \qquad \text{at a spike: } x^+ = (1 - U) x^-

    ``update(pre_spike)`` returns :math:`x^- \cdot` ``pre_spike``, the resources available to the
    spike (1 for the first spike, a multiplicative filter on the weight as in brainpy; upstream
    brainstate returned :math:`x^+`). For a regular train of period ``T`` it tends to
    :math:`x^-_\infty = (1 - e^{-T/\tau}) / (1 - (1 - U) e^{-T/\tau})`.

    Args:
        in_size: the number (or shape) of presynaptic sources.
        name: optional display name.
        tau: the recovery time constant (ms).
        U: the fraction of resources used by one spike, in (0, 1].

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     std = nn.init_all_states(nn.STD(1, tau=100.0, U=0.5))
        ...     eff = [float(std(1.0)[0]) for k in range(3)]
        >>> [round(e, 3) for e in eff]
        [1.0, 0.505, 0.26]
    """

    # hidden states (made by init_state)
    x: HiddenState

    def __init__(self, in_size: Any, name: str | None = None, tau: Any = 200.0, U: Any = 0.07) -> None:
        super().__init__(in_size, name=name)
        owner = type(self).__name__
        self.tau = param(tau, "tau", "time", self.varshape, positive=True, owner=owner)
        self.U = param(U, "U", None, self.varshape, positive=True, owner=owner)
        _fraction(self.U, "U", owner)

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("x", 1.0, batch_size)

    def update(self, pre_spike: Any) -> Any:
        spk = jnp.asarray(pre_spike, self.x.value.dtype)
        x = 1.0 - (1.0 - self.x.value) * _decay(read(self.tau, True))
        self.x.value = x - spk * read(self.U) * x
        return x * spk


_BOUNDS = ("additive", "multiplicative")


class STDP(Module):
    r"""Pair-based STDP of a weight matrix ``(n_pre, n_post)`` with all-to-all traces.

    Traces: :math:`\tau_+ da_{pre}/dt = -a_{pre}`, :math:`\tau_- da_{post}/dt = -a_{post}`, each
    ``+= 1`` at a spike of its side. At every step, with the traces of the previous steps:

    .. math::

        \Delta w_{ij} = A_+\, a_{pre,i}\, s_{post,j}\, f_+(w_{ij}) - A_-\, s_{pre,i}\, a_{post,j}\, f_-(w_{ij})

    so one pair with :math:`\Delta t = t_{post} - t_{pre}` changes the weight by
    :math:`A_+ e^{-\Delta t/\tau_+}` (:math:`\Delta t > 0`) or :math:`-A_- e^{\Delta t/\tau_-}`
    (:math:`\Delta t < 0`); spikes of the same step do not pair. Bounds: ``'additive'``
    (:math:`f_\pm = 1`, then the weight is clipped to ``[w_min, w_max]``) or ``'multiplicative'``
    (soft bounds, :math:`f_+ = w_{max} - w`, :math:`f_- = w - w_{min}`, van Rossum et al. 2000).

    Args:
        n_pre: the number of presynaptic neurons.
        n_post: the number of postsynaptic neurons.
        weight: the initial weight (array, scalar or initialiser), or a State to update in place
            (a ``ParamState`` stays trainable by gradient too).
        tau_plus: the presynaptic trace time constant (ms).
        tau_minus: the postsynaptic trace time constant (ms).
        A_plus: the potentiation amplitude.
        A_minus: the depression amplitude (positive).
        w_min: the lower bound.
        w_max: the upper bound.
        bound: ``'additive'`` or ``'multiplicative'``.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn
        >>> with bc.environ.context(dt=1.0):
        ...     stdp = nn.init_all_states(nn.STDP(1, 1, weight=0.5, A_plus=0.01, tau_plus=20.0))
        ...     _ = stdp(pre_spike=[1.0], post_spike=[0.0])   # pre at t = 0
        ...     for _ in range(9):
        ...         _ = stdp(pre_spike=[0.0], post_spike=[0.0])
        ...     w = stdp(pre_spike=[0.0], post_spike=[1.0])  # post at t = 10 ms
        >>> round(float(w[0, 0]) - 0.5, 6)   # 0.01 * exp(-10 / 20)
        0.006065
    """

    # hidden states (made by init_state)
    pre_trace: HiddenState
    post_trace: HiddenState

    def __init__(self, n_pre: int, n_post: int, weight: Any = 0.5, tau_plus: Any = 20.0, tau_minus: Any = 20.0,
                 A_plus: Any = 0.01, A_minus: Any = 0.0105, w_min: float = 0.0, w_max: float = 1.0,
                 bound: str = "additive", name: str | None = None) -> None:
        super().__init__(name=name)
        owner = type(self).__name__
        if bound not in _BOUNDS:
            raise ConfigError(f"STDP bound must be 'additive' or 'multiplicative', got {bound!r}. "
                              "Fix: pass bound='additive' (clip) or bound='multiplicative' (soft bounds).")
        if not w_min < w_max:
            raise ConfigError(f"STDP needs w_min < w_max, got w_min={w_min}, w_max={w_max}. Fix: swap or widen them.")
        self.n_pre, self.n_post = int(n_pre), int(n_post)
        shape = (self.n_pre, self.n_post)
        self.tau_plus = param(tau_plus, "tau_plus", "time", (self.n_pre,), positive=True, owner=owner)
        self.tau_minus = param(tau_minus, "tau_minus", "time", (self.n_post,), positive=True, owner=owner)
        self.A_plus = param(A_plus, "A_plus", None, shape, owner=owner)
        self.A_minus = param(A_minus, "A_minus", None, shape, owner=owner)
        self.w_min, self.w_max, self.bound = float(w_min), float(w_max), bound
        if isinstance(weight, State):
            if tuple(jnp.shape(weight.value)) != shape:
                raise ConfigError(f"STDP weight State has shape {jnp.shape(weight.value)}, expected {shape} "
                                  "(n_pre, n_post). Fix: pass a State of that shape.")
            self.weight = weight
        else:
            self.weight = ParamState(jnp.asarray(init.param(weight, shape), dtype=environ.dftype()))

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        """Create the traces (zero); with ``batch_size`` each sample has its own, and the changes add up."""
        lead = () if batch_size is None else (int(batch_size),)
        dtype = self.weight.value.dtype
        self.set_state("pre_trace", jnp.zeros(lead + (self.n_pre,), dtype), HiddenState)
        self.set_state("post_trace", jnp.zeros(lead + (self.n_post,), dtype), HiddenState)

    def _check(self, spikes: Any, n: int, what: str) -> Any:
        spikes = jnp.asarray(spikes, self.weight.value.dtype)
        if spikes.ndim == 0 or spikes.shape[-1] != n or spikes.shape[:-1] != self.pre_trace.value.shape[:-1]:
            raise InputError(f"STDP {what} has shape {spikes.shape}; expected (..., {n}) matching the traces "
                             f"{self.pre_trace.value.shape[:-1] + (n,)}. Fix: pass one spike per {what[:-6]} "
                             "neuron (and the batch axis given to init_state).")
        return spikes

    def update(self, pre_spike: Any, post_spike: Any) -> Any:
        """Advance the traces one step, apply the weight change of this step's spikes; return the weight."""
        if "pre_trace" not in self.__dict__:
            raise InputError("STDP has no traces yet. Fix: call `brainstate.nn.init_all_states(stdp)` first.")
        pre = self._check(pre_spike, self.n_pre, "pre_spike")
        post = self._check(post_spike, self.n_post, "post_spike")
        a_pre = self.pre_trace.value * _decay(read(self.tau_plus, True))
        a_post = self.post_trace.value * _decay(read(self.tau_minus, True))
        ltp = jnp.einsum("...i,...j->ij", a_pre, post)
        ltd = jnp.einsum("...i,...j->ij", pre, a_post)
        w = self.weight.value
        if self.bound == "multiplicative":
            ltp, ltd = ltp * (self.w_max - w), ltd * (w - self.w_min)
        w = jnp.clip(w + read(self.A_plus) * ltp - read(self.A_minus) * ltd, self.w_min, self.w_max)
        self.weight.value = w
        self.pre_trace.value = a_pre + pre
        self.post_trace.value = a_post + post
        return w

    def extra_repr(self) -> str:
        return f"n_pre={self.n_pre}, n_post={self.n_post}, bound={self.bound!r}"
