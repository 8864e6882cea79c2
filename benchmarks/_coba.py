"""The COBA spiking network of scenarios 4, 5 and 7, in brainstate and in plain JAX.

A network of ``n`` leaky integrate-and-fire neurons (80% excitatory, 20% inhibitory) with
conductance-based exponential synapses, after the classic COBA benchmark (Vogels & Abbott 2005,
Brette et al. 2007): ``V_rest = -60 mV``, threshold ``-50 mV``, reset ``-60 mV``,
``tau_m = 20 ms``, ``tau_e = 5 ms``, ``tau_i = 10 ms``, ``E_e = 0 mV``, ``E_i = -80 mV``,
refractory period 5 ms, ``dt = 0.1 ms``, a constant background drive of 20 mV and synaptic
weights 0.6 (excitatory) and 6.7 (inhibitory) in units of the leak conductance.

Connectivity has probability 0.02, drawn as a fixed in-degree (each neuron receives
``0.02 * n_e`` excitatory and ``0.02 * n_i`` inhibitory synapses), stored either

* ``"gather"`` (default): index arrays ``(n, k)`` of presynaptic neurons; the input of a step is a
  gather of the presynaptic spikes and a sum, O(n k) work; or
* ``"dense"``: 0/1 masks ``(n_e, n)`` and ``(n_i, n)``; the input is a masked matmul, O(n^2) work.

Both implementations call the same per-step arithmetic (:func:`dynamics`), so they produce the
same spikes bit for bit and the comparison measures only how the state is threaded:

* plain JAX: the state is a tuple carried through ``jax.lax.scan`` under ``jax.jit``;
* brainstate: the state lives in HiddenStates of a module whose ``update()`` reads and writes
  them, looped with ``transform.for_loop`` inside ``transform.jit``. The connectivity is a
  read-only ``State``, so both programs receive it as a runtime input.

:class:`KitCOBA` (``benchmarks/bench_coba.py``) is the same network built from the spiking kit
instead: one ``nn.LIFRef`` population, two ``nn.AlignPostProj`` with ``nn.Expon`` synapses and
``nn.COBA`` outputs, on the same synapses as ``nn.SparseConn`` (event-driven) or ``nn.Linear``
(dense). Its membrane step is the kit's exponential Euler and its reset comes at the start of the
next step (``brainstate_nn._neurons``), so its spikes are not those of :func:`dynamics`; it is the
same model on the same synapses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import brainstate_transform as T
from brainstate_core import HiddenState, State
from brainstate_core._node import Node

try:
    import brainstate_nn as nn
except ImportError:
    nn = None

Base = nn.Module if nn is not None else Node

DT, V_REST, V_TH, V_RESET = 0.1, -60.0, -50.0, -60.0
TAU_M, TAU_E, TAU_I, E_E, E_I = 20.0, 5.0, 10.0, 0.0, -80.0
T_REF, W_E, W_I, I_B, P_CONN = 5.0, 0.6, 6.7, 20.0, 0.02
REF_STEPS = int(round(T_REF / DT))


class Network:
    """Sizes, connectivity and initial state of one network (shared by both implementations)."""

    def __init__(self, n: int, seed: int = 0, conn: str = "gather") -> None:
        if conn not in ("gather", "dense"):
            raise ValueError(f"conn must be 'gather' or 'dense', not {conn!r}")
        self.n, self.kind = n, conn
        self.n_e = int(0.8 * n)
        self.n_i = n - self.n_e
        rng = np.random.default_rng(seed)  # NumPy: no per-op compilation in short smoke runs
        self.k_e = max(1, round(P_CONN * self.n_e))
        self.k_i = max(1, round(P_CONN * self.n_i))
        pre_e = rng.integers(0, self.n_e, (n, self.k_e), dtype=np.int32)
        pre_i = rng.integers(0, self.n_i, (n, self.k_i), dtype=np.int32)
        self.pre_e, self.pre_i = pre_e, pre_i
        if conn == "gather":
            self.conn = {"pre_e": jnp.asarray(pre_e), "pre_i": jnp.asarray(pre_i)}
        else:  # a synapse drawn twice counts twice, as in the gather form
            post = np.broadcast_to(np.arange(n)[:, None], pre_e.shape)
            mask_e = np.zeros((self.n_e, n), np.float32)
            np.add.at(mask_e, (pre_e, post), 1.0)
            post = np.broadcast_to(np.arange(n)[:, None], pre_i.shape)
            mask_i = np.zeros((self.n_i, n), np.float32)
            np.add.at(mask_i, (pre_i, post), 1.0)
            self.conn = {"mask_e": jnp.asarray(mask_e), "mask_i": jnp.asarray(mask_i)}
        self.v0 = jnp.asarray(-55.0 + 2.0 * rng.standard_normal(n, np.float32))

    def plain_state(self, v0: jax.Array | None = None) -> tuple:
        """``(V, g_e, g_i, refractory steps left, spikes)`` at the start."""
        v = self.v0 if v0 is None else v0
        zeros = jnp.zeros_like(v)
        return v, zeros, zeros, jnp.zeros(v.shape, jnp.int32), zeros

    def batched_v0(self, copies: int, seed: int = 1) -> jax.Array:
        """Independent initial membrane potentials, ``(copies, n)``."""
        return jnp.asarray(-55.0 + 2.0 * np.random.default_rng(seed).standard_normal((copies, self.n), np.float32))


def synaptic_input(spike: jax.Array, conn: dict, n_e: int) -> tuple[jax.Array, jax.Array]:
    """Summed excitatory and inhibitory presynaptic spikes arriving at each neuron."""
    spike_e, spike_i = spike[:n_e], spike[n_e:]
    if "pre_e" in conn:
        return spike_e[conn["pre_e"]].sum(axis=1), spike_i[conn["pre_i"]].sum(axis=1)
    return spike_e @ conn["mask_e"], spike_i @ conn["mask_i"]


def dynamics(v, ge, gi, ref, spike, conn: dict, n_e: int) -> tuple:
    """One ``dt`` step of the whole network; returns the new ``(V, g_e, g_i, ref, spike)``."""
    in_e, in_i = synaptic_input(spike, conn, n_e)
    ge = ge * math.exp(-DT / TAU_E) + W_E * in_e
    gi = gi * math.exp(-DT / TAU_I) + W_I * in_i
    current = ge * (E_E - v) + gi * (E_I - v) + I_B
    v_new = v + DT * (V_REST - v + current) / TAU_M
    refractory = ref > 0
    v_new = jnp.where(refractory, v, v_new)
    fired = (v_new >= V_TH) & ~refractory
    v_new = jnp.where(fired, V_RESET, v_new)
    ref = jnp.where(fired, REF_STEPS, jnp.maximum(ref - 1, 0))
    return v_new, ge, gi, ref, fired.astype(v.dtype)


# -- plain JAX -------------------------------------------------------------------------------------
def plain_run(state: tuple, conn: dict, steps: int) -> tuple[tuple, jax.Array]:
    """``steps`` steps with ``jax.lax.scan``: returns (final state, spike count per step)."""
    n_e = int(0.8 * state[0].shape[-1])

    def body(s, _):
        s = dynamics(*s, conn, n_e)
        return s, s[4].sum()

    return jax.lax.scan(body, state, None, length=steps)


def plain_runner(steps: int, copies: int | None = None) -> Callable:
    """Jitted ``(state, conn) -> (state, counts)``; with ``copies``, ``jax.vmap`` over the state."""
    run = lambda state, conn: plain_run(state, conn, steps)  # noqa: E731
    if copies is not None:
        run = jax.vmap(run, in_axes=(0, None))
    return jax.jit(run)


# -- brainstate -------------------------------------------------------------------------------------
class COBA(Base):
    """The network as a brainstate module: HiddenStates ``V``, ``ge``, ``gi``, ``ref``, ``spike``."""

    def __init__(self, net: Network, conn: State | None = None) -> None:
        self.n_e = net.n_e
        self.conn = State(net.conn) if conn is None else conn
        v, ge, gi, ref, spike = net.plain_state()
        self.V = HiddenState(v)
        self.ge = HiddenState(ge)
        self.gi = HiddenState(gi)
        self.ref = HiddenState(ref)
        self.spike = HiddenState(spike)

    def update(self) -> jax.Array:
        new = dynamics(self.V.value, self.ge.value, self.gi.value, self.ref.value, self.spike.value,
                       self.conn.value, self.n_e)
        self.V.value, self.ge.value, self.gi.value, self.ref.value, self.spike.value = new
        return self.spike.value.sum()

    def __call__(self) -> jax.Array:
        return self.update()


def ours_model(net: Network) -> COBA:
    return COBA(net)


def ours_runner(model: COBA, steps: int) -> Callable[[], jax.Array]:
    """Jitted ``run() -> spike count per step`` over ``steps`` steps with ``transform.for_loop``."""

    @T.jit
    def run():
        return T.for_loop(lambda i: model.update(), jnp.arange(steps))

    return run


def ours_batched(net: Network, copies: int, v0: jax.Array) -> tuple[COBA, Callable[[int], Any]]:
    """``copies`` independent networks: HiddenStates created batched with ``transform.vmap_new_states``.

    Returns the model (its HiddenStates have a leading axis ``copies``; ``V`` starts at ``v0``)
    and ``make_runner(steps)`` giving a jitted ``run() -> (copies, steps)`` spike counts, which
    maps the loop over the copies with ``transform.vmap(..., in_states=hidden states)``.
    """
    conn = State(net.conn)  # created outside: shared by the copies, not batched
    built: list[COBA] = []
    # vmap_new_states returns only arrays and States, so the module leaves through a list.
    T.vmap_new_states(lambda: built.append(COBA(net, conn)), axis_size=copies)()
    model = built[-1]  # the function may run more than once (tracing); the last run made the real states
    model.V.value = v0
    hidden = [model.V, model.ge, model.gi, model.ref, model.spike]

    def make_runner(steps: int) -> Callable[[], jax.Array]:
        def loop():
            return T.for_loop(lambda i: model.update(), jnp.arange(steps))

        return T.jit(T.vmap(loop, in_states=hidden, axis_size=copies))

    return model, make_runner


# -- the spiking kit -----------------------------------------------------------------------------
def kit_pairs(net: Network) -> tuple[np.ndarray, ...]:
    """``(pre_e, post_e, pre_i, post_i)``: the synapses of ``net`` (fixed in-degree) as explicit pairs."""
    post_e = np.repeat(np.arange(net.n), net.pre_e.shape[1])
    post_i = np.repeat(np.arange(net.n), net.pre_i.shape[1])
    return net.pre_e.ravel(), post_e, net.pre_i.ravel(), post_i


class KitCOBA(Base):
    """The network of ``net`` from ``brainstate.nn``: ``LIFRef`` + two ``AlignPostProj`` (``conn``: event or dense)."""

    def __init__(self, net: Network, conn: str = "event") -> None:
        super().__init__()
        n, self.n_e = net.n, net.n_e
        self.N = nn.LIFRef(n, R=1.0, tau=TAU_M, tau_ref=T_REF, V_th=V_TH, V_reset=V_RESET, V_rest=V_REST,
                           V_initializer=net.v0, spk_reset="hard")
        pre_e, post_e, pre_i, post_i = kit_pairs(net)
        self.E = nn.AlignPostProj(comm=_kit_comm(net.n_e, n, pre_e, post_e, W_E, conn), syn=nn.Expon.desc(n, tau=TAU_E),
                                  out=nn.COBA.desc(E=E_E), post=self.N)
        self.I = nn.AlignPostProj(comm=_kit_comm(net.n_i, n, pre_i, post_i, W_I, conn), syn=nn.Expon.desc(n, tau=TAU_I),
                                  out=nn.COBA.desc(E=E_I), post=self.N)

    def update(self) -> jax.Array:
        spike = self.N.spike
        self.E(spike[: self.n_e])
        self.I(spike[self.n_e:])
        return self.N(I_B)


def _kit_comm(n_pre: int, n: int, pre: np.ndarray, post: np.ndarray, w: float, conn: str) -> Any:
    if conn == "event":
        return nn.SparseConn(n_pre, n, pre, post, conn_weight=w)
    dense = np.zeros((n_pre, n), np.float32)
    np.add.at(dense, (pre, post), w)
    return nn.Linear(n_pre, n, w_init=dense, b_init=None)


def kit_runner(model: KitCOBA, steps: int) -> Callable[[], jax.Array]:
    """Jitted ``run() -> spike count per step`` of the kit network (``environ`` dt set inside)."""
    import brainstate_core as bc

    @T.jit
    def run():
        with bc.environ.context(dt=DT):
            return T.for_loop(lambda i: model.update().sum(), jnp.arange(steps))

    return run
