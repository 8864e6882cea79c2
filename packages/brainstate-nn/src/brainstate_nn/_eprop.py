"""A recurrent spiking network with a leaky read-out, and its e-prop gradients (Bellec et al. 2020).

:class:`SpikingRNN` is the network of the e-prop paper: inputs ``x`` -> a recurrent layer of
:class:`~brainstate.nn.LIF` or :class:`~brainstate.nn.ALIF` neurons -> a
:class:`~brainstate.nn.LeakyRateReadout`. With the neurons' step convention (see ``_neurons``),
for neuron ``j`` at step ``t``::

    I_j^t = sum_i x_i^t W_in[i, j] + sum_i z_i^{t-1} W_rec[i, j]
    V'    = V^{t-1} - r z^{t-1}                      (reset: r = V_th - V_reset, or V^{t-1} - V_reset if hard)
    V^t   = alpha V' + (1 - alpha) (V_rest + R I^t)  (alpha = exp(-dt / tau))
    a^t   = rho (a^{t-1} + z^{t-1})                  (ALIF, rho = exp(-dt / tau_a))
    z^t   = spk_fun((V^t - V_th - beta a^t) / (V_th - V_reset))
    y^t   = kappa y^{t-1} + z^t W_out                (kappa = exp(-dt / tau_out))

:func:`eprop_gradients` computes e-prop's approximation of ``dE/dW`` online, in one forward loop
whose memory does not depend on the number of steps. With ``psi = dz/dV`` (the surrogate
derivative) and ``pre`` the presynaptic activity (``x^t`` for ``W_in``, ``z^{t-1}`` for ``W_rec``),
the eligibility vectors ``eps_ji = (dh_j/dW_ji)`` of the hidden state ``h = (V, a)`` follow the
neuron's own dynamics only::

    eps_V^t = J_VV eps_V^{t-1} + J_Va eps_a^{t-1} + (1 - alpha) R pre_i^t
    eps_a^t = J_aV eps_V^{t-1} + J_aa eps_a^{t-1}
    J_VV = alpha,  J_Va = 0                           (the paper's choice: the reset is not differentiated)
    J_aV = rho psi^{t-1},  J_aa = rho (1 - beta psi^{t-1})
    e^t  = psi^t (eps_V^t - beta eps_a^t)             (the eligibility trace)

With ``reset_grad=True`` the reset is differentiated as the neurons do under BPTT:
``J_VV = alpha (1 - r psi^{t-1})`` and ``J_Va = alpha r beta psi^{t-1}``. The learning signal
of neuron ``j`` is ``L_j^t = sum_k B_jk dE/dy_k^t`` with ``B = W_out`` (symmetric feedback) or
a fixed random matrix (random feedback), and ``dE/dW_ji = sum_t L_j^t ebar_ji^t`` where ``ebar``
is ``e`` low-pass filtered by the read-out's ``kappa``; the read-out weights get their exact
gradient ``sum_t zbar_j^t dE/dy_k^t`` (``zbar``: ``z`` filtered by ``kappa``).

Without recurrent weights (``W_rec = 0``) and with ``reset_grad=True`` this is exactly the BPTT
gradient; with recurrence it leaves out the paths through other neurons, as e-prop does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import jax
import jax.numpy as jnp

from brainstate_core import ConfigError, InputError, ParamState
from brainstate_core.util import FlattedDict
from brainstate_transform import scan

from . import _init as init
from ._dynamics import get_dt, read
from ._module import Module
from ._neurons import ALIF, LIF, Neuron
from ._readout import LeakyRateReadout

__all__ = ["SpikingRNN", "eprop_gradients"]

_LECUN = init.LecunNormal()


class SpikingRNN(Module):
    """Input -> a recurrent layer of spiking neurons -> a leaky read-out: the network of e-prop.

    One call advances one step: ``I = x W_in + z_prev W_rec`` (``z_prev``: the layer's spikes of
    the previous step), the neurons integrate ``I`` and the read-out integrates their spikes;
    the read-out's value is returned. It trains with any mode of
    :func:`~brainstate.nn.make_train_step` (``'eprop'`` needs an :class:`~brainstate.nn.LIF` or
    :class:`~brainstate.nn.ALIF` layer).

    Args:
        n_in: number of inputs.
        n_rec: number of recurrent neurons.
        n_out: number of read-out units.
        neuron: the recurrent layer, a spiking neuron of size ``n_rec`` (default
            ``LIF(n_rec, tau=20.0)``).
        tau_out: the read-out's time constant (ms).
        w_in_init, w_rec_init, w_out_init: initialisers of ``W_in`` ``(n_in, n_rec)``, ``W_rec``
            ``(n_rec, n_rec)`` and ``W_out`` ``(n_rec, n_out)`` (default LeCun normal).
        self_connections: keep the diagonal of ``W_rec`` (default: masked out, as in the paper).
        name: optional display name.

    Example:
        >>> import brainstate_core as bc, brainstate_transform as T, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     net = nn.init_all_states(nn.SpikingRNN(3, 8, 2, neuron=nn.ALIF(8, tau=20.0, tau_a=200.0)),
        ...                              batch_size=4)
        ...     ys = T.for_loop(net, jnp.ones((10, 4, 3)))
        >>> ys.shape, net.neuron.spike.shape
        ((10, 4, 2), (4, 8))
    """

    def __init__(self, n_in: int, n_rec: int, n_out: int, neuron: Neuron | None = None, tau_out: Any = 20.0,
                 w_in_init: Any = _LECUN, w_rec_init: Any = _LECUN, w_out_init: Any = _LECUN,
                 self_connections: bool = False, name: str | None = None) -> None:
        super().__init__(name=name)
        for what, n in (("n_in", n_in), ("n_rec", n_rec), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ConfigError(f"SpikingRNN {what} must be a positive int, got {n!r}. Fix: pass e.g. {what}=16.")
        neuron = LIF(n_rec, tau=20.0) if neuron is None else neuron
        if not isinstance(neuron, Neuron) or neuron.varshape != (n_rec,):
            raise ConfigError(f"SpikingRNN neuron must be a spiking neuron of size {n_rec}, got {neuron!r}. "
                              f"Fix: pass e.g. neuron=brainstate.nn.ALIF({n_rec}).")
        self.n_in, self.n_rec, self.n_out = n_in, n_rec, n_out
        self.neuron = neuron
        self.w_in = ParamState(init.param(w_in_init, (n_in, n_rec)))
        self.w_rec = ParamState(init.param(w_rec_init, (n_rec, n_rec)))
        self.readout = LeakyRateReadout(n_rec, n_out, tau=tau_out, w_init=w_out_init)
        self.self_connections = bool(self_connections)

    def weights(self) -> FlattedDict:
        """The three weight matrices, keyed by path as ``states(ParamState)`` keys them: what e-prop trains.

        Build the optimiser of ``mode='eprop'`` on them when other parameters (time constants ...) are
        ``ParamState`` s too.
        """
        return FlattedDict({("readout", "weight"): self.readout.weight, ("w_in",): self.w_in,
                            ("w_rec",): self.w_rec})

    def rec_weight(self) -> jax.Array:
        """``W_rec`` as used: with its diagonal zeroed unless ``self_connections``."""
        w = self.w_rec.value
        return w if self.self_connections else w * (1.0 - jnp.eye(self.n_rec, dtype=w.dtype))

    def update(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape[-1:] != (self.n_in,):
            raise InputError(f"SpikingRNN expects inputs whose last axis has {self.n_in} features, got shape "
                             f"{x.shape}. Fix: pass an input of shape (batch, {self.n_in}).")
        current = x @ self.w_in.value + self.neuron.get_spike() @ self.rec_weight()
        return self.readout(self.neuron(current))

    def extra_repr(self) -> str:
        return f"n_in={self.n_in}, n_rec={self.n_rec}, n_out={self.n_out}, neuron={type(self.neuron).__name__}"


def check_eprop_model(model: Any) -> None:
    """Raise :class:`ConfigError` unless ``model`` is a :class:`SpikingRNN` that e-prop supports."""
    if not isinstance(model, SpikingRNN):
        raise ConfigError(f"mode='eprop' trains a brainstate.nn.SpikingRNN, got {type(model).__name__}. Fix: build "
                          "the network as SpikingRNN(n_in, n_rec, n_out, neuron=...), or use a BPTT mode.")
    neuron = model.neuron
    if type(neuron) not in (LIF, ALIF):
        raise ConfigError(f"mode='eprop' supports LIF and ALIF layers, got {type(neuron).__name__}. "
                          "Fix: use brainstate.nn.LIF or brainstate.nn.ALIF, or a BPTT mode.")
    if neuron.current_inputs or neuron.delta_inputs:
        raise ConfigError(f"mode='eprop' needs a {type(neuron).__name__} layer without registered current or delta "
                          "inputs (their effect on the eligibility traces is not modelled). Fix: feed every input "
                          "through W_in, or use a BPTT mode.")
    if jnp.ndim(read(model.readout.tau)) != 0:
        raise ConfigError("mode='eprop' needs one read-out time constant (the traces are filtered by it), got "
                          f"tau_out of shape {jnp.shape(read(model.readout.tau))}. Fix: pass a scalar tau_out.")


def random_feedback(model: SpikingRNN, seed: int) -> jax.Array:
    """A fixed random feedback matrix ``(n_rec, n_out)``, entries ``N(0, 1 / n_rec)`` (as the paper's)."""
    key = jax.random.PRNGKey(seed)
    return jax.random.normal(key, (model.n_rec, model.n_out)) / jnp.sqrt(float(model.n_rec))


def _adaptation(neuron: LIF | ALIF) -> jax.Array | None:
    """ALIF's adaptation variable ``a`` (None for LIF)."""
    return neuron.a.value if isinstance(neuron, ALIF) else None


def _spike_slopes(neuron: Neuron, v: jax.Array, a: jax.Array | None) -> tuple[jax.Array, jax.Array | None]:
    """``(dz/dV, dz/da)`` of the spike function at the state, by forward differentiation (element-wise)."""
    ones = jnp.ones_like(v)
    if a is None:
        return jax.jvp(neuron.get_spike, (v,), (ones,))[1], None
    d_v = jax.jvp(lambda u: neuron.get_spike(u, a), (v,), (ones,))[1]
    d_a = jax.jvp(lambda u: neuron.get_spike(v, u), (a,), (ones,))[1]
    return d_v, d_a


def _trace_step(trace: tuple, pre: jax.Array, jac: tuple, drive: Any, slopes: tuple, kappa: Any) -> tuple:
    """One step of the eligibility vectors and the filtered trace of one weight ``(batch, n_pre, n_rec)``."""
    eps_v, eps_a, ebar = trace
    j_vv, j_va, j_av, j_aa = (None if j is None else j[:, None, :] for j in jac)
    new_v = j_vv * eps_v + pre[:, :, None] * drive
    e = slopes[0][:, None, :] * new_v
    new_a = None
    if eps_a is not None:
        new_v = new_v + j_va * eps_a
        new_a = j_av * eps_v + j_aa * eps_a
        e = slopes[0][:, None, :] * new_v + slopes[1][:, None, :] * new_a
    return new_v, new_a, kappa * ebar + e


def eprop_gradients(model: SpikingRNN, loss_fn: Callable[[Any, Any], Any], xs: jax.Array, targets: Any,
                    feedback: jax.Array | None = None, reset_grad: bool = False) -> tuple[dict, jax.Array]:
    """The e-prop gradients of a :class:`SpikingRNN` over one batch of sequences (see the module notes).

    Runs the network from its current state over ``xs`` in one forward loop (nothing is stored
    per step) and returns ``({'w_in': ..., 'w_rec': ..., 'w_out': ...}, loss)``: the gradients of
    ``model.w_in``, ``model.w_rec`` and ``model.readout.weight``. The objective is
    ``E = mean_t loss_fn(y^t[None], target^t[None])``: ``loss_fn`` is applied to each step alone
    (a length-1 time axis), which equals ``loss_fn(ys, targets)`` whenever that loss is an average
    of per-step terms.

    Args:
        model: the network (its states initialised with the batch size).
        loss_fn: ``loss_fn(outputs, targets) -> scalar`` over time-major outputs ``(T, batch, n_out)``.
        xs: inputs ``(T, batch, n_in)``.
        targets: a pytree of arrays with the time axis first, ``(T, ...)``.
        feedback: the ``(n_rec, n_out)`` feedback matrix ``B``; ``None``: ``W_out`` (symmetric).
        reset_grad: differentiate the reset in the eligibility traces (see the module notes).

    Example:
        >>> import brainstate_core as bc, brainstate_nn as nn, jax.numpy as jnp
        >>> with bc.environ.context(dt=1.0):
        ...     net = nn.init_all_states(nn.SpikingRNN(2, 4, 1), batch_size=3)
        ...     grads, loss = nn.eprop_gradients(net, lambda y, t: jnp.mean((y - t) ** 2),
        ...                                      2.0 * jnp.ones((20, 3, 2)), jnp.ones((20, 3, 1)))
        >>> {name: g.shape for name, g in grads.items()}
        {'w_in': (2, 4), 'w_rec': (4, 4), 'w_out': (4, 1)}
    """
    check_eprop_model(model)
    neuron = cast("LIF | ALIF", model.neuron)
    alif = isinstance(neuron, ALIF)
    xs = jnp.asarray(xs)
    if xs.ndim != 3 or xs.shape[-1] != model.n_in:
        raise InputError(f"e-prop expects inputs of shape (T, batch, {model.n_in}), got {xs.shape}. "
                         "Fix: stack the inputs time first, with a batch axis.")
    n_steps, batch = xs.shape[:2]
    if neuron.V.value.shape != (batch, model.n_rec):
        raise InputError(f"e-prop got a batch of {batch} but the network's states have shape {neuron.V.value.shape}. "
                         f"Fix: call brainstate.nn.init_all_states(model, batch_size={batch}) first.")
    dt = get_dt()
    alpha = jnp.exp(-dt / read(neuron.tau, True))
    rho = jnp.exp(-dt / read(neuron.tau_a, True)) if isinstance(neuron, ALIF) else None
    kappa = jnp.exp(-dt / read(model.readout.tau, True))
    drive = (1.0 - alpha) * read(neuron.R)
    v_th, v_reset = read(neuron.V_th), read(neuron.V_reset)
    weight = 1.0 / n_steps

    def zeros(n_pre: int) -> tuple:
        z = jnp.zeros((batch, n_pre, model.n_rec), xs.dtype)
        return z, (z if alif else None), z

    def step_loss(y: jax.Array, target: Any) -> jax.Array:
        return weight * loss_fn(y[None], jax.tree.map(lambda t: t[None], target))

    def body(carry: tuple, inp: tuple) -> tuple:
        tr_in, tr_rec, zbar, g_in, g_rec, g_out, total = carry
        x, target = inp
        v0 = neuron.V.value
        a0 = _adaptation(neuron)
        z0 = neuron.get_spike()
        psi0 = _spike_slopes(neuron, v0, a0)
        y = model(x)
        z1 = neuron.get_spike()
        psi1 = _spike_slopes(neuron, neuron.V.value, _adaptation(neuron))
        if reset_grad:
            r = (v_th - v_reset) if neuron.spk_reset == "soft" else (v0 - v_reset)
            j_vv = alpha * (1.0 - r * psi0[0])
            j_va = -alpha * r * psi0[1] if alif else None
        else:
            j_vv = jnp.broadcast_to(alpha, v0.shape)
            j_va = jnp.zeros_like(v0) if alif else None
        j_av = j_aa = None
        if rho is not None and psi0[1] is not None:
            j_av, j_aa = rho * psi0[0], rho * (1.0 + psi0[1])
        jac = (j_vv, j_va, j_av, j_aa)
        tr_in = _trace_step(tr_in, x, jac, drive, psi1, kappa)
        tr_rec = _trace_step(tr_rec, z0, jac, drive, psi1, kappa)
        loss, dy = jax.value_and_grad(step_loss)(y, target)
        signal = dy @ (model.readout.weight.value if feedback is None else feedback).T
        zbar = kappa * zbar + z1
        g_in = g_in + jnp.einsum("bij,bj->ij", tr_in[2], signal)
        g_rec = g_rec + jnp.einsum("bij,bj->ij", tr_rec[2], signal)
        g_out = g_out + zbar.T @ dy
        return (tr_in, tr_rec, zbar, g_in, g_rec, g_out, total + loss), None

    w_in, w_rec, w_out = model.w_in.value, model.w_rec.value, model.readout.weight.value
    start = (zeros(model.n_in), zeros(model.n_rec), jnp.zeros((batch, model.n_rec), xs.dtype),
             jnp.zeros_like(w_in), jnp.zeros_like(w_rec), jnp.zeros_like(w_out), jnp.zeros((), xs.dtype))
    carry, _ = scan(body, start, (xs, targets))
    g_rec = carry[4] if model.self_connections else carry[4] * (1.0 - jnp.eye(model.n_rec, dtype=w_rec.dtype))
    return {"w_in": carry[3], "w_rec": g_rec, "w_out": carry[5]}, carry[6]
