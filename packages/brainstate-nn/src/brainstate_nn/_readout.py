"""Read-out layers for spiking networks: a leaky rate integrator and a leaky spiking layer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_core import HiddenState, InputError, ParamState

from . import _init as init
from ._dynamics import Dynamics, get_dt, param, read
from ._integrators import exp_euler_step
from ._neurons import Neuron
from ._utils import Size, as_size

__all__ = ["LeakyRateReadout", "LeakySpikeReadout"]

_KAIMING = init.KaimingNormal()


def _check_input(module: Any, x: jax.Array, n_in: int) -> None:
    if jnp.shape(x)[-1:] != (n_in,):
        raise InputError(f"{type(module).__name__} expects inputs whose last axis has {n_in} features, got shape "
                         f"{jnp.shape(x)}. Fix: pass an input of shape (..., {n_in}).")


class LeakyRateReadout(Dynamics):
    """A leaky integrator of weighted inputs: ``r = exp(-dt / tau) r + x W``.

    A low-pass filtered linear read-out, typically of spikes, e.g. for classification over
    time. ``tau`` is read at every step, so it may be a trainable ``ParamState`` (read through
    ``abs``).

    Args:
        in_size: number of input features.
        out_size: number of outputs.
        tau: time constant (ms), a scalar or one per output.
        w_init: initialiser of the ``(in, out)`` weight.
        name: optional display name.
        r_initializer: initial ``r`` (keyword only).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     ro = nn.init_all_states(nn.LeakyRateReadout(3, 2, tau=5.0, w_init=jnp.ones((3, 2))))
        ...     _ = ro(jnp.ones(3))
        ...     out = ro(jnp.zeros(3))
        >>> out   # 3 * exp(-1 / 5)
        Array([2.4561923, 2.4561923], dtype=float32)
    """

    # hidden states (made by init_state)
    r: HiddenState

    def __init__(self, in_size: Size, out_size: Size, tau: Any = 5.0, w_init: Any = _KAIMING,
                 name: str | None = None, *, r_initializer: Any = 0.0) -> None:
        in_size = as_size(in_size, "LeakyRateReadout in_size")
        out_size = as_size(out_size, "LeakyRateReadout out_size")
        super().__init__(out_size, name=name)
        self.in_size, self.out_size = in_size, out_size
        self.tau = param(tau, "tau", "time", out_size, positive=True, owner="LeakyRateReadout")
        self.weight = ParamState(init.param(w_init, (in_size[-1], out_size[-1])))
        self.r_initializer = r_initializer

    @property
    def varshape(self) -> tuple[int, ...]:
        return self.out_size

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("r", self.r_initializer, batch_size)

    def update(self, x: Any) -> jax.Array:
        _check_input(self, x, self.in_size[-1])
        decay = jnp.exp(-get_dt() / read(self.tau, True))
        self.r.value = decay * self.r.value + x @ self.weight.value
        return self.r.value

    def extra_repr(self) -> str:
        return f"in_size={self.in_size[-1]}, out_size={self.out_size[-1]}"


class LeakySpikeReadout(Neuron):
    """A layer of leaky integrate-and-fire read-out neurons driven by weighted input spikes.

    ``tau dV/dt = -V + x W``; spike when ``V >= V_th``; reset at the next step by subtracting
    ``V_th`` (soft) or to 0 (hard), as the neurons of ``brainstate_nn._neurons``. As upstream,
    the layer has as many neurons as inputs (``W`` is ``(in_size, in_size)``).

    Args:
        in_size: number of inputs (and of neurons).
        tau: membrane time constant (ms).
        V_th: threshold (mV), > 0.
        w_init: initialiser of the weight.
        V_initializer: initial ``V``.
        spk_fun: spike function (default :class:`ReluGrad`).
        spk_reset: ``'soft'`` or ``'hard'``.
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     ro = nn.init_all_states(nn.LeakySpikeReadout(2, tau=2.0, w_init=2 * jnp.eye(2)))
        ...     spikes = [ro(jnp.array([1.0, 0.0])) for _ in range(3)]
        >>> jnp.stack(spikes)[:, 0]
        Array([0., 1., 0.], dtype=float32)
    """

    # parameters (set by _param) and hidden states (made by init_state)
    tau: Any
    V_th: Any
    V: HiddenState

    def __init__(self, in_size: Size, tau: Any = 5.0, V_th: Any = 1.0, w_init: Any = _KAIMING,
                 V_initializer: Any = 0.0, spk_fun: Callable | None = None, spk_reset: str = "soft",
                 name: str | None = None) -> None:
        super().__init__(in_size, spk_fun=spk_fun, spk_reset=spk_reset, name=name)
        self._param("tau", tau, "time", positive=True)
        self._param("V_th", V_th, "voltage", positive=True)
        self.weight = ParamState(init.param(w_init, (self.in_size[-1], self.in_size[-1])))
        self.V_initializer = V_initializer

    def init_state(self, batch_size: int | None = None, **kwargs: Any) -> None:
        self.init_hidden("V", self.V_initializer, batch_size)

    def get_spike(self, V: jax.Array | None = None) -> jax.Array:
        V = self.V.value if V is None else V
        v_th = read(self.V_th, True)
        return self.spk_fun((V - v_th) / v_th)

    def update(self, spk: Any) -> jax.Array:
        _check_input(self, spk, self.in_size[-1])
        tau, v_th = read(self.tau, True), read(self.V_th, True)
        last_v = self.V.value
        v = self._reset(last_v, self.get_spike(last_v), v_th, 0.0)
        x = spk @ self.weight.value
        v = exp_euler_step(lambda v: (-v + self.sum_current_inputs(x, v)) / tau, v)
        self.V.value = self.sum_delta_inputs(v)
        return self.get_spike(self.V.value)
