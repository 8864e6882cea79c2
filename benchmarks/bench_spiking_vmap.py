"""Scenario 5: 64 independent copies of the COBA network in one program (vmap), brainstate vs plain JAX.

brainstate creates the copies' HiddenStates batched with ``transform.vmap_new_states`` and maps
the ``transform.for_loop`` over them with ``transform.vmap(..., in_states=hidden states)`` inside
``transform.jit``; plain JAX applies ``jax.vmap`` to the ``lax.scan`` of scenario 4. Every copy
starts from its own membrane potentials (the same ones in both implementations); connectivity is
shared. The default network is scaled down from 4,000 to 1,000 neurons per copy so that the
2-core CPU finishes in reasonable time (64 x 1,000 = 64,000 neurons per step); ``--n`` changes it.

    python benchmarks/bench_spiking_vmap.py [--quick] [--n 1000] [--copies 64] [--steps 1000]
"""

from __future__ import annotations

import _coba
import _common as C
import jax.numpy as jnp
import numpy as np


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None, help="neurons per copy (default 1000)")
    p.add_argument("--copies", type=int, default=None, help="independent copies (default 64)")
    p.add_argument("--steps", type=int, default=None, help="steps per call (default 1000)")
    p.add_argument("--conn", choices=["gather", "dense"], default="gather", help="connectivity storage")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 10)
    n = args.n or (100 if args.quick else 1000)
    copies = args.copies or (4 if args.quick else 64)
    steps = args.steps or (20 if args.quick else 1000)
    net = _coba.Network(n, seed=0, conn=args.conn)
    v0 = net.batched_v0(copies)

    plain = _coba.plain_runner(steps, copies=copies)
    model, make_runner = _coba.ours_batched(net, copies, v0)
    ours = make_runner(steps)

    _, plain_counts = plain(net.plain_state(v0), net.conn)
    ours_counts = ours()
    plain_counts, ours_counts = np.asarray(plain_counts), np.asarray(ours_counts)
    same = bool(np.array_equal(plain_counts, ours_counts))
    if not same:
        print(f"warning: spike counts differ by {int(np.abs(plain_counts - ours_counts).sum())} "
              f"of {int(plain_counts.sum())}")
    distinct = len({tuple(row) for row in plain_counts.tolist()})

    box = {"s": net.plain_state(v0)}

    def run_plain():
        box["s"], counts = plain(box["s"], net.conn)
        C.block(counts)

    def run_ours():
        C.block(ours())

    variants = [
        C.Variant("plain jax", run_plain, baseline=True, per=steps, note="jax.jit(jax.vmap(lax.scan))"),
        C.Variant("brainstate", run_ours, per=steps,
                  note="vmap_new_states + transform.vmap(in_states) of for_loop, in jit"),
    ]
    samples = C.measure(variants, args.repeats, warmup=1)
    rate = {k: [1.0 / s for s in v] for k, v in samples.items()}
    title = f"{copies} x COBA N={n} ({args.conn}), {steps} steps per call: network steps/s (all copies)"
    sec = C.section(title, variants, rate, unit="steps/s", higher_is_better=True,
                    notes=[f"spikes identical: {same}; {distinct} distinct spike-count traces among {copies} copies",
                           f"N scaled down from 4000 to {n} per copy" if n < 4000 else f"N = {n} per copy"])
    targets = [C.Target("brainstate / plain jax throughput", sec.row("brainstate").ratio, 0.9, at_most=False)]
    config = {"n": n, "copies": copies, "conn": args.conn, "steps_per_call": steps, "repeats": args.repeats,
              "spikes_identical": same}
    C.finish(C.report("spiking_vmap", [sec], targets, args, config), args)


if __name__ == "__main__":
    jnp.zeros(())
    main()
