"""Memory of a spiking-network training step over long sequences: full BPTT, checkpointed BPTT and e-prop.

The model is a :class:`brainstate.nn.SpikingRNN` (inputs -> a recurrent ALIF layer -> a leaky
read-out) trained on a per-step cross-entropy, and the program is the gradient computation of
:func:`brainstate.nn.make_train_step` for ``mode='bptt'``, ``'checkpointed'`` (the default block
size ``ceil(sqrt(T))``) and ``'eprop'``. The measure is XLA's own account of the compiled program,
``step.lower(xs, ys).compile().memory_analysis().temp_size_in_bytes``: the peak of the buffers the
program allocates besides its inputs and outputs (for BPTT, the per-step values kept for the
backward pass). It is deterministic, so there is nothing to repeat.

Targets at ``T = 1000``: checkpointed <= 1/4 of full BPTT; e-prop flat in ``T`` (its memory at
``T = 1000`` at most 1.05 times that at ``T = 250``). Prints a table per ``T`` and the targets;
writes ``<out>/snn_memory.json`` (and ``.png``).

    python benchmarks/bench_snn_memory.py [--quick] [--hidden 128] [--batch 16]
"""

from __future__ import annotations

import _common as C
import jax
import jax.numpy as jnp

import brainstate

nn = brainstate.nn
MODES = ("bptt", "checkpointed", "eprop")


def loss_fn(ys: jax.Array, labels: jax.Array) -> jax.Array:
    """Cross-entropy of the read-out at every step (a mean over steps, as e-prop needs)."""
    logp = jax.nn.log_softmax(ys, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[..., None], axis=-1))


def temp_bytes(mode: str, steps: int, n_in: int, hidden: int, batch: int) -> int:
    """The compiled program's temporary memory (bytes) of one gradient computation."""
    brainstate.random.seed(0)
    with brainstate.environ.context(dt=1.0):
        model = nn.SpikingRNN(n_in, hidden, 2, neuron=nn.ALIF(hidden, tau=20.0, tau_a=200.0, beta=0.1))
        opt = nn.optim.Adam(1e-3, params=model.weights())
        step = nn.make_train_step(model, loss_fn, opt, mode=mode)
        xs = jnp.zeros((steps, batch, n_in))
        labels = jnp.zeros((steps, batch), jnp.int32)
        return int(step.lower(xs, labels).compile().memory_analysis().temp_size_in_bytes)


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=None, help="recurrent neurons (default 128; 32 with --quick)")
    p.add_argument("--batch", type=int, default=None, help="trials per batch (default 16; 4 with --quick)")
    p.add_argument("--inputs", type=int, default=20)
    args = p.parse_args(argv)
    hidden = args.hidden or (32 if args.quick else 128)
    batch = args.batch or (4 if args.quick else 16)
    lengths = (50, 100, 200) if args.quick else (250, 500, 1000)
    mb = {(mode, t): temp_bytes(mode, t, args.inputs, hidden, batch) / 2**20 for t in lengths for mode in MODES}
    sections = []
    for t in lengths:
        full = mb[("bptt", t)]
        rows = [C.Row(f"{mode}", mb[(mode, t)], mb[(mode, t)], mb[(mode, t)], 1, mb[(mode, t)] / full,
                      note=("ratio to full BPTT" if mode == "bptt" else "")) for mode in MODES]
        sections.append(C.Section(f"T = {t}: temporary memory of the compiled gradient step", rows, unit="MB"))
    last, first = lengths[-1], lengths[0]
    flat = mb[("eprop", last)] / mb[("eprop", first)]
    for mode in MODES:
        growth = mb[(mode, last)] / mb[(mode, first)]
        print(f"{mode}: " + ", ".join(f"T={t} {mb[(mode, t)]:.2f} MB" for t in lengths)
              + f"  (T={last} / T={first}: {growth:.2f}x)")
    targets = [
        C.Target(f"checkpointed / full BPTT temporary memory at T = {last}", mb[("checkpointed", last)] /
                 mb[("bptt", last)], 0.25),
        C.Target(f"e-prop temporary memory at T = {last} / at T = {first} (flat in T)", flat, 1.05),
    ]
    config = {"hidden": hidden, "batch": batch, "inputs": args.inputs, "lengths": list(lengths),
              "neuron": "ALIF", "checkpoint_base": "ceil(sqrt(T))"}
    extra = {"temp_mb": {f"{mode}@{t}": round(v, 4) for (mode, t), v in mb.items()}}
    C.finish(C.report("snn_memory", sections, targets, args, config, extra=extra), args)


if __name__ == "__main__":
    main()
