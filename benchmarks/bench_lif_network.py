"""Scenario: a network of brainstate.nn LIF neurons and Expon synapses vs a hand-written lax.scan.

10,000 ``nn.LIF`` neurons (80% excitatory, 20% inhibitory, hard reset) driven by a constant
current and by two ``nn.Expon`` synapse populations (excitatory tau 5 ms, inhibitory tau 10 ms,
current-based), with a fixed in-degree of ``--k`` random presynaptic neurons each, run 10,000
steps of 0.1 ms per call:

* brainstate: the model is built from ``brainstate.nn`` modules (their HiddenStates hold V and the
  conductances) and looped with ``transform.for_loop`` inside ``transform.jit``;
* plain JAX: the same equations written by hand over a ``(V, g_e, g_i)`` tuple carried through
  ``jax.lax.scan`` inside ``jax.jit``.

Both start from the same state and carry it from one call to the next; the rounds are interleaved.
Reported: simulated steps per second, and whether both produced the same spikes in the first call
(the LIF step goes through ``exp_euler_step``, whose rounding can differ in the last bit from the
hand-written closed form, so a few spikes may move by a step).

    python benchmarks/bench_lif_network.py [--quick] [--n 10000] [--steps 10000] [--k 20]
"""

from __future__ import annotations

import math

import _common as C
import jax
import jax.numpy as jnp
import numpy as np

import brainstate_core as bc
import brainstate_nn as nn
import brainstate_transform as T

DT, TAU, V_TH, V_RESET, V_REST = 0.1, 20.0, -50.0, -60.0, -60.0
TAU_E, TAU_I, W_E, W_I, I_B = 5.0, 10.0, 0.5, 2.0, 20.0


def make_network(n: int, k: int, seed: int = 0) -> tuple[int, dict, jax.Array]:
    """``(n_e, connectivity, initial V)``: fixed in-degree index arrays ``(n, k_e)`` and ``(n, k_i)``."""
    rng = np.random.default_rng(seed)
    n_e = int(0.8 * n)
    k_e, k_i = max(1, round(0.8 * k)), max(1, round(0.2 * k))
    conn = {"pre_e": jnp.asarray(rng.integers(0, n_e, (n, k_e), dtype=np.int32)),
            "pre_i": jnp.asarray(rng.integers(0, n - n_e, (n, k_i), dtype=np.int32))}
    v0 = jnp.asarray(rng.uniform(V_RESET, V_TH, n).astype(np.float32))
    return n_e, conn, v0


def arrivals(spike: jax.Array, conn: dict, n_e: int) -> tuple[jax.Array, jax.Array]:
    return spike[:n_e][conn["pre_e"]].sum(axis=1), spike[n_e:][conn["pre_i"]].sum(axis=1)


# -- brainstate.nn -----------------------------------------------------------------------------------
class LIFNetwork(nn.Module):
    def __init__(self, n: int, n_e: int, conn: dict, v0: jax.Array) -> None:
        super().__init__()
        self.n_e = n_e
        self.conn = bc.State(conn)  # read-only: a runtime input of the compiled loop
        self.lif = nn.LIF(n, R=1.0, tau=TAU, V_th=V_TH, V_reset=V_RESET, V_rest=V_REST, V_initializer=v0,
                          spk_reset="hard")
        self.exc = nn.Expon(n, tau=TAU_E)
        self.inh = nn.Expon(n, tau=TAU_I)

    def update(self) -> jax.Array:
        in_e, in_i = arrivals(self.lif.get_spike(), self.conn.value, self.n_e)
        current = I_B + self.exc(W_E * in_e) - self.inh(W_I * in_i)
        return self.lif(current).sum()


def ours_runner(model: LIFNetwork, steps: int):
    @T.jit
    def run():
        return T.for_loop(lambda i: model.update(), jnp.arange(steps))

    return run


# -- plain JAX ---------------------------------------------------------------------------------------
def plain_runner(n_e: int, steps: int):
    decay_v, decay_e, decay_i = math.exp(-DT / TAU), math.exp(-DT / TAU_E), math.exp(-DT / TAU_I)

    def body(state, _):
        v, ge, gi, conn = state
        spike = (v >= V_TH).astype(v.dtype)
        in_e, in_i = arrivals(spike, conn, n_e)
        ge = ge * decay_e + W_E * in_e
        gi = gi * decay_i + W_I * in_i
        v = jnp.where(spike > 0, V_RESET, v)
        v = v + (1.0 - decay_v) * (V_REST - v + I_B + ge - gi)
        return (v, ge, gi, conn), (v >= V_TH).sum()

    @jax.jit
    def run(v, ge, gi, conn):
        (v, ge, gi, _), counts = jax.lax.scan(body, (v, ge, gi, conn), None, length=steps)
        return (v, ge, gi), counts

    return run


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="number of neurons (default 10000)")
    p.add_argument("--steps", type=int, default=None, help="steps per call (default 10000)")
    p.add_argument("--k", type=int, default=20, help="presynaptic neurons per neuron (default 20)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 10)
    n = args.n or (500 if args.quick else 10_000)
    steps = args.steps or (100 if args.quick else 10_000)
    bc.environ.set(dt=DT)

    n_e, conn, v0 = make_network(n, args.k)
    model = LIFNetwork(n, n_e, conn, v0)
    nn.init_all_states(model)
    ours = ours_runner(model, steps)
    plain = plain_runner(n_e, steps)
    zeros = jnp.zeros(n, jnp.float32)

    # First call of each from the same state: compare the spikes.
    box = {"s": (v0, zeros, zeros)}
    box["s"], plain_counts = plain(*box["s"], conn)
    ours_counts = ours()
    plain_counts, ours_counts = np.asarray(plain_counts), np.asarray(ours_counts)
    same = bool(np.array_equal(plain_counts, ours_counts))
    total = int(plain_counts.sum())
    if not same:
        print(f"note: spike counts per step differ in {int((plain_counts != ours_counts).sum())} of {steps} steps "
              f"({total} vs {int(ours_counts.sum())} spikes): last-bit rounding of the membrane step")

    def run_plain():
        box["s"], counts = plain(*box["s"], conn)
        C.block(counts)

    def run_ours():
        C.block(ours())

    variants = [
        C.Variant("plain jax", run_plain, baseline=True, per=steps, note="jax.jit + lax.scan, hand-written equations"),
        C.Variant("brainstate", run_ours, per=steps, note="nn.LIF + 2 nn.Expon, transform.for_loop in transform.jit"),
    ]
    samples = C.measure(variants, args.repeats, warmup=1)
    rate = {k: [1.0 / s for s in v] for k, v in samples.items()}  # steps per second
    mean_rate = total / n / (steps * DT / 1000)
    sec = C.section(f"LIF network N={n} ({n_e} E / {n - n_e} I, in-degree {args.k}), {steps} steps per call: steps/s",
                    variants, rate, unit="steps/s", higher_is_better=True,
                    notes=[f"spikes identical in the first call: {same} ({total} spikes, {mean_rate:.1f} Hz mean rate)"])
    targets = [C.Target("nn LIF network / plain jax throughput", sec.row("brainstate").ratio, 0.95, at_most=False)]
    config = {"n": n, "n_e": n_e, "k": args.k, "steps_per_call": steps, "repeats": args.repeats, "dt": DT,
              "spikes_identical": same, "total_spikes_first_call": total, "mean_rate_hz": round(mean_rate, 2)}
    C.finish(C.report("lif_network", [sec], targets, args, config), args)


if __name__ == "__main__":
    main()
