"""Memory: the resident set size (RSS) stays flat over long runs and model turnover.

Three phases, each measured in MB of RSS after ``gc.collect()`` and glibc's ``malloc_trim`` (from
``/proc/self/statm``), so that memory the allocator merely keeps cached does not count:

* steady: one jitted training-like step of a small model, called 10,000 times. RSS is read after
  100 warm-up calls and at the end.
* cycles: 1,000 times, build a model, jit its step, call it once and drop everything. RSS is read
  after 20 warm-up cycles and at the end. Each model holds about 0.25 MB of weights, so a model
  kept alive by a cache would show as 250 MB. The same cycles with plain ``jax.jit`` of the
  hand-threaded step run first as a reference (their growth is the allocator's, not a leak).
* shared method: 100 models of a class whose step is one ``@brainstate.transform.jit`` method
  shared by every instance; each is built, called once and dropped; then the method's
  ``clear_cache()`` is called. RSS is read after 5 warm-up models and after ``clear_cache()``.

Targets: the growth of each phase at most 8 MB (steady) or 32 MB (cycles, shared method).
Prints RSS at the start and end of each phase and PASS/FAIL; writes ``<out>/memory.json``.

    python benchmarks/bench_memory.py [--quick] [--calls 10000] [--cycles 1000] [--models 100]
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys
import time
from collections.abc import Callable

import _common as C
import jax
import jax.numpy as jnp

import brainstate

T = brainstate.transform
WIDTH = 256  # 256 x 256 float32 weights: 0.25 MB per model


def _trim_heap() -> None:
    """Hand freed heap pages back to the system (glibc only), so that RSS counts live memory rather
    than what the allocator keeps cached; applied alike to every variant."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_mb() -> float:
    """Current resident set size in MB, after a garbage collection and a heap trim (the peak RSS,
    where /proc is not available)."""
    gc.collect()
    _trim_heap()
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


class Net:
    """A recurrent layer: ``h = tanh(h @ w + b + x)``."""

    def __init__(self, seed: int) -> None:
        key = jax.random.PRNGKey(seed)
        self.w = brainstate.ParamState(jax.random.normal(key, (WIDTH, WIDTH)) / WIDTH**0.5)
        self.b = brainstate.ParamState(jnp.zeros(WIDTH))
        self.h = brainstate.HiddenState(jnp.zeros(WIDTH))

    def step(self, x: jax.Array) -> jax.Array:
        self.h.value = jnp.tanh(self.h.value @ self.w.value + self.b.value + x)
        return jnp.sum(self.h.value)


class SharedNet(Net):
    """The same layer with its step jitted once for the class (the instance is a static argument)."""

    @T.jit
    def shared_step(self, x: jax.Array) -> jax.Array:
        return self.step(x)


def phase(name: str, warmup: Callable[[], None], run: Callable[[], None], limit: float | None) -> C.Target:
    """Run ``warmup``, then ``run`` between two RSS readings; ``limit=None`` for a reference without a target."""
    warmup()
    start = rss_mb()
    began = time.perf_counter()
    run()
    end = rss_mb()
    bound = "no target" if limit is None else f"limit {limit:g} MB"
    print(f"{name}: RSS start {start:.1f} MB, end {end:.1f} MB, growth {end - start:+.1f} MB "
          f"({bound}), {time.perf_counter() - began:.1f} s", flush=True)
    return C.Target(f"{name}: RSS growth (MB)", end - start, float("inf") if limit is None else limit)


def steady(calls: int) -> C.Target:
    net, x = Net(0), jnp.full(WIDTH, 0.01)
    step = T.jit(net.step)

    def many(n: int) -> None:
        for i in range(n):
            out = step(x)
            if i % 100 == 99:
                jax.block_until_ready(out)
        jax.block_until_ready(out)

    return phase(f"steady ({calls} calls of a jitted step)", lambda: many(100), lambda: many(calls), 8.0)


def cycles(count: int) -> C.Target:
    x = jnp.full(WIDTH, 0.01)

    def cycle(n: int) -> None:
        for i in range(n):
            net = Net(i)
            jax.block_until_ready(T.jit(net.step)(x))

    return phase(f"cycles ({count} models built, jitted, run and dropped)", lambda: cycle(20),
                 lambda: cycle(count), 32.0)


def cycles_plain_jax(count: int) -> float:
    """The cycles phase with plain ``jax.jit`` (states threaded by hand): the reference growth in MB."""
    x = jnp.full(WIDTH, 0.01)

    def cycle(n: int) -> None:
        for i in range(n):
            net = Net(i)

            def step(h, w, b, x):
                h = jnp.tanh(h @ w + b + x)
                return jnp.sum(h), h

            jax.block_until_ready(jax.jit(step)(net.h.value, net.w.value, net.b.value, x))

    return phase(f"reference: cycles with plain jax.jit ({count})", lambda: cycle(20), lambda: cycle(count), None).value


def shared_method(count: int) -> C.Target:
    x = jnp.full(WIDTH, 0.01)

    def build(n: int) -> None:
        for i in range(n):
            net = SharedNet(i)
            jax.block_until_ready(net.shared_step(x))

    def run() -> None:
        build(count)
        SharedNet.shared_step.clear_cache()

    return phase(f"shared method ({count} models through one jitted method, then clear_cache)",
                 lambda: build(5), run, 32.0)


def main() -> None:
    p = C.parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=10_000, help="calls of the jitted step in the steady phase")
    p.add_argument("--cycles", type=int, default=1_000, help="models built and dropped in the cycles phase")
    p.add_argument("--models", type=int, default=100, help="models through the shared jitted method")
    args = p.parse_args()
    if args.quick:
        args.calls, args.cycles, args.models = 500, 30, 10
    args.no_plot = True  # no timing chart for memory
    reference = cycles_plain_jax(args.cycles)
    targets = [steady(args.calls), cycles(args.cycles), shared_method(args.models)]
    config = {"calls": args.calls, "cycles": args.cycles, "models": args.models, "width": WIDTH}
    extra = {"plain_jax_cycles_growth_mb": reference}
    C.finish(C.report("memory", [], targets, args, config, extra), args)


if __name__ == "__main__":
    main()
