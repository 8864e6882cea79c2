"""Scenario 4: simulation throughput of a COBA spiking network, brainstate vs plain JAX.

The network of ``_coba.py`` (4,000 LIF neurons by default, 80/20 excitatory/inhibitory,
conductance-based exponential synapses, p = 0.02) runs ``--steps`` steps of 0.1 ms per call:
brainstate keeps the neuron and synapse variables in HiddenStates and loops with
``transform.for_loop`` inside ``transform.jit``; plain JAX carries a tuple through
``jax.lax.scan`` inside ``jax.jit``. Both start from the same state, produce the same spikes,
and carry their state from one call to the next. Reported: simulated steps per second.

    python benchmarks/bench_spiking.py [--quick] [--n 4000] [--steps 1000] [--conn gather|dense]
"""

from __future__ import annotations

import _coba
import _common as C
import jax
import jax.numpy as jnp
import numpy as np


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="number of neurons (default 4000)")
    p.add_argument("--steps", type=int, default=None, help="steps per call (default 1000)")
    p.add_argument("--conn", choices=["gather", "dense"], default="gather", help="connectivity storage")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 20)
    n = args.n or (200 if args.quick else 4000)
    steps = args.steps or (50 if args.quick else 1000)
    net = _coba.Network(n, seed=0, conn=args.conn)

    plain = _coba.plain_runner(steps)
    model = _coba.ours_model(net)
    ours = _coba.ours_runner(model, steps)

    # Same start, same spikes.
    _, plain_counts = plain(net.plain_state(), net.conn)
    ours_counts = ours()
    same = bool(np.array_equal(np.asarray(plain_counts), np.asarray(ours_counts)))
    total = int(np.asarray(plain_counts).sum())
    if not same:
        diff = int(np.abs(np.asarray(plain_counts) - np.asarray(ours_counts)).sum())
        print(f"warning: spike counts differ by {diff} of {total} (floating-point reordering in XLA)")

    box = {"s": net.plain_state()}

    def run_plain():
        box["s"], counts = plain(box["s"], net.conn)
        C.block(counts)

    def run_ours():
        C.block(ours())

    variants = [
        C.Variant("plain jax", run_plain, baseline=True, per=steps, note="jax.jit + lax.scan over a state tuple"),
        C.Variant("brainstate", run_ours, per=steps, note="HiddenStates + transform.for_loop in transform.jit"),
    ]
    samples = C.measure(variants, args.repeats, warmup=1)
    rate = {k: [1.0 / s for s in v] for k, v in samples.items()}  # steps per second
    sec = C.section(f"COBA N={n} ({net.n_e} E / {net.n_i} I, {args.conn}), {steps} steps per call: steps/s",
                    variants, rate, unit="steps/s", higher_is_better=True,
                    notes=[f"spikes identical: {same} ({total} spikes in the first {steps} steps, "
                           f"{total / n / (steps * _coba.DT / 1000):.1f} Hz mean rate)"])
    targets = [C.Target("brainstate / plain jax throughput", sec.row("brainstate").ratio, 0.9, at_most=False)]
    config = {"n": n, "n_e": net.n_e, "n_i": net.n_i, "k_e": net.k_e, "k_i": net.k_i, "conn": args.conn,
              "steps_per_call": steps, "repeats": args.repeats, "spikes_identical": same}
    C.finish(C.report("spiking", [sec], targets, args, config), args)


if __name__ == "__main__":
    jnp.zeros(())
    jax.block_until_ready(jnp.zeros(()))
    main()
