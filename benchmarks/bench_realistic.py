"""Scenario 2: the scenario-1 train step at a realistic size, 784-512-512-10 with batch 128.

Here the compiled program does real work (about 0.6 MFLOP per example forward and backward), so
any fixed per-call cost of threading the states should disappear in the noise: the target is a
time ratio to plain ``jax.jit`` of at most 1.03.

    python benchmarks/bench_realistic.py [--quick] [--repeats 60] [--calls 5]
"""

from __future__ import annotations

import _common as C
import jax.numpy as jnp
from bench_dispatch import run


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=None, help="train steps per timed sample (default 5)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 60)
    calls = args.calls or (2 if args.quick else 5)
    sizes, batch = ([784, 64, 10], 16) if args.quick else ([784, 512, 512, 10], 128)
    title = f"MLP {'-'.join(map(str, sizes))}, batch {batch}"
    passed = run("realistic", title, sizes, batch, calls, args, limit=1.03, stretch=None)
    C.finish(passed, args)


if __name__ == "__main__":
    jnp.zeros(())
    main()
