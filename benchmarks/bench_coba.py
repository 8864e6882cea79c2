"""Scenario: the COBA network built from the spiking kit vs the hand-written lax.scan of _coba.py.

The network of ``_coba.py`` (4,000 LIF neurons, 80/20 E/I, conductance-based exponential synapses,
fixed in-degree p = 0.02, a constant drive), ``--steps`` steps of 0.1 ms per call:

1. **kit vs hand-written**: ``_coba.KitCOBA`` (``nn.LIFRef`` + two ``nn.AlignPostProj`` with
   ``nn.Expon`` / ``nn.COBA`` on event-driven ``nn.SparseConn`` synapses, ``for_loop`` in ``jit``)
   against ``_coba.plain_run`` (one ``jax.lax.scan`` over a state tuple, synapses as a gather).
   Target: throughput ratio >= 0.95.
2. **event-driven vs dense**: the kit network on ``nn.SparseConn`` against the same network on
   ``nn.Linear`` (dense weight matrices), at the rates the network fires at.
3. **memory of the recorder**: ``nn.run(..., spikes=[...])`` of 4,000 neurons for 10,000 steps; the
   bytes of the bit-packed record against a dense float32 array.

    python benchmarks/bench_coba.py [--quick] [--n 4000] [--steps 1000]
"""

from __future__ import annotations

import _coba
import _common as C
import jax
import jax.numpy as jnp
import numpy as np

import brainstate_core as bc
import brainstate_nn as nn


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="number of neurons (default 4000)")
    p.add_argument("--steps", type=int, default=None, help="steps per call (default 1000)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 15)
    n = args.n or (400 if args.quick else 4000)
    steps = args.steps or (50 if args.quick else 1000)
    net = _coba.Network(n, seed=0, conn="gather")

    plain = _coba.plain_runner(steps)
    models = {kind: nn.init_all_states(_coba.KitCOBA(net, kind)) for kind in ("event", "dense")}
    runners = {kind: _coba.kit_runner(m, steps) for kind, m in models.items()}
    box = {"s": net.plain_state()}

    def run_plain():
        box["s"], counts = plain(box["s"], net.conn)
        C.block(counts)

    counts = {"plain": np.asarray(plain(net.plain_state(), net.conn)[1])}
    counts.update({kind: np.asarray(r()) for kind, r in runners.items()})
    rates = {k: float(v.sum() / n / (steps * _coba.DT / 1000)) for k, v in counts.items()}
    same = bool(np.array_equal(counts["event"], counts["dense"]))

    variants = [
        C.Variant("plain jax", run_plain, baseline=True, per=steps, note="hand-written: lax.scan, gather synapses"),
        C.Variant("brainstate kit (event)", lambda: C.block(runners["event"]()), per=steps,
                  note="LIFRef + 2 AlignPostProj + SparseConn"),
    ]
    samples = C.measure(variants, args.repeats, warmup=1)
    tput = {k: [1.0 / s for s in v] for k, v in samples.items()}
    sec1 = C.section(f"COBA N={n}, {steps} steps per call: steps/s", variants, tput, unit="steps/s",
                     higher_is_better=True,
                     notes=[f"mean rate: hand-written {rates['plain']:.1f} Hz, kit {rates['event']:.1f} Hz "
                            "(same model and synapses; different integrator, so not the same spikes)"])

    dense_variants = [
        C.Variant("brainstate kit (dense)", lambda: C.block(runners["dense"]()), baseline=True, per=steps,
                  note="the same network on nn.Linear"),
        C.Variant("brainstate kit (event)", lambda: C.block(runners["event"]()), per=steps, note="nn.SparseConn"),
    ]
    samples = C.measure(dense_variants, args.repeats, warmup=1)
    tput = {k: [1.0 / s for s in v] for k, v in samples.items()}
    sec2 = C.section(f"event-driven vs dense at {rates['event']:.1f} Hz: steps/s", dense_variants, tput,
                     unit="steps/s", higher_is_better=True,
                     notes=[f"spikes identical (event vs dense): {same}"])

    record_steps = 1000 if args.quick else 10000
    model = nn.init_all_states(_coba.KitCOBA(net, "event"))
    with bc.environ.context(dt=_coba.DT):
        rec = nn.run(lambda i: {"spike": model.update()}, record_steps, spikes=["spike"])
    packed = int(np.asarray(rec["spike"].packed).nbytes)
    dense_bytes = record_steps * n * 4
    memory = {"neurons": n, "steps": record_steps, "packed_bytes": packed, "dense_float32_bytes": dense_bytes,
              "spikes": int(rec["spike"].count().sum())}
    print(f"recorder: {n} neurons x {record_steps} steps = {packed / 1e6:.2f} MB bit-packed "
          f"(dense float32: {dense_bytes / 1e6:.0f} MB)")

    targets = [C.Target("kit / hand-written throughput", sec1.row("brainstate kit (event)").ratio, 0.95, at_most=False),
               C.Target("recorder MB for the run", packed / 1e6, 8.0 * n * record_steps / 4000 / 10000)]
    config = {"n": n, "steps_per_call": steps, "repeats": args.repeats, "rates_hz": rates,
              "event_dense_spikes_identical": same}
    C.finish(C.report("coba_kit", [sec1, sec2], targets, args, config, extra={"memory": memory}), args)


if __name__ == "__main__":
    jax.block_until_ready(jnp.zeros(()))
    main()
