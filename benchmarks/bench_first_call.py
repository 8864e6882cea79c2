"""Scenario 3: first-call cost (trace + lower + compile) of a fresh function, brainstate vs plain JAX.

Every sample builds new function objects, so neither JAX's caches nor brainstate's learnt state
sets help: it is what a user pays the first time a script reaches a jitted step. Two programs:

* the SGD train step of a 20-layer MLP (width 64, batch 32);
* a 1,000-step recurrent scan ``h = tanh(h @ W + x_t)`` (width 64); brainstate keeps ``h`` in a
  HiddenState and ``W`` in a ParamState and loops with ``transform.for_loop``.

Besides the first call (the target, at most 1.05x plain), the script splits the cost into
trace + lower (``.lower()``) and XLA compile (``.compile()``) (not with ``--quick``).
A first call is mostly XLA compile, whose time varies by about 10% from one sample to the next on a
shared machine, so the first-call sections take ``--repeats`` rounds (60: the paired ratio's median
is then within about 2% of where it settles) and the breakdown sections at most 15.
Flax NNX and Equinox, when importable, get two rows each in every table (see ``_anchors.py``),
checked first to compute what plain JAX does.

    python benchmarks/bench_first_call.py [--quick] [--repeats 60]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import _anchors
import _common as C
import _mlp
import jax
import jax.numpy as jnp

import brainstate_transform as T
from brainstate_core import HiddenState, ParamState

LR = 0.01
TOL = 1e-4  # largest difference to plain JAX accepted before timing


def with_anchors(programs: dict, anchors: list[_anchors.Program], calls: int = 3) -> dict:
    """``programs`` plus the Flax / Equinox ones, once each has matched plain JAX over ``calls`` calls."""
    plain = _anchors.stepper(_anchors.Program("plain jax", programs["plain jax"], carry=0))
    _anchors.check(anchors, [plain() for _ in range(calls)], TOL)
    return {**programs, **{a.name: a.make for a in anchors}}


def mlp_programs(layers: int, width: int, batch: int) -> dict[str, Callable[[], tuple[Callable, tuple]]]:
    """name -> factory of (fresh jitted function, its arguments)."""
    arrays = _mlp.mlp_arrays(0, [width] * (layers + 1))
    x = jnp.ones((batch, width))
    y = jnp.zeros((batch, width))
    model = _mlp.StateMLP(arrays)

    def plain():
        return jax.jit(_mlp.plain_step_fn(LR)), (arrays, x, y)

    def ours():
        return _mlp.ours_step(model, LR)[0], (x, y)

    return with_anchors({"plain jax": plain, "brainstate": ours}, _anchors.mlp_programs(arrays, x, y, LR))


def scan_programs(steps: int, width: int) -> dict[str, Callable[[], tuple[Callable, tuple]]]:
    w0 = _mlp.mlp_arrays(0, [width, width])["w0"]
    h0 = jnp.zeros((width,))
    xs = jnp.ones((steps, width)) * 0.1
    h_state, w_state = HiddenState(h0), ParamState(w0)

    def plain():
        def run(h, w, xs):
            def body(h, x):
                h = jnp.tanh(h @ w + x)
                return h, h

            return jax.lax.scan(body, h, xs)

        return jax.jit(run), (h0, w0, xs)

    def ours():
        def body(x):
            h_state.value = jnp.tanh(h_state.value @ w_state.value + x)
            return h_state.value

        return T.jit(lambda xs: T.for_loop(body, xs)), (xs,)

    return with_anchors({"plain jax": plain, "brainstate": ours}, _anchors.scan_programs(h0, w0, xs))


def first_call(factory: Callable[[], tuple[Callable, tuple]]) -> Callable[[], Any]:
    def run():
        fn, args = factory()
        C.block(fn(*args))

    return run


def lower_only(factory: Callable[[], tuple[Callable, tuple]]) -> Callable[[], Any]:
    def run():
        fn, args = factory()
        fn.lower(*args)

    return run


def measure_compile(programs: dict, repeats: int) -> dict[str, list[float]]:
    """Interleaved timing of ``.compile()`` of freshly lowered programs (lowering not timed)."""
    samples: dict[str, list[float]] = {k: [] for k in programs}
    names = list(programs)
    for r in range(repeats + 1):
        if r == 1:
            C.freeze_heap()
        for j in range(len(names)):
            name = names[(r + j) % len(names)]
            fn, args = programs[name]()
            lowered = fn.lower(*args)
            start = time.perf_counter()
            lowered.compile()
            if r:  # round 0 warms up
                samples[name].append(time.perf_counter() - start)
    return samples


def sections_for(title: str, programs: dict, repeats: int, breakdown: bool) -> list[C.Section]:
    """The first-call section and, with ``breakdown``, the trace + lower and XLA compile sections."""
    out, notes = [], _anchors.missing()
    parts = (("first call (trace + lower + compile + run)", first_call), ("trace + lower", lower_only))
    for k, (what, wrap) in enumerate(parts if breakdown else parts[:1]):
        variants = [C.Variant(name, wrap(f), baseline=name == "plain jax") for name, f in programs.items()]
        rounds = repeats if k == 0 else min(repeats, 15)
        out.append(C.section(f"{title}: {what}", variants, C.measure(variants, rounds, warmup=1), notes=notes))
    if breakdown:
        variants = [C.Variant(name, lambda: None, baseline=name == "plain jax") for name in programs]
        out.append(C.section(f"{title}: XLA compile", variants, measure_compile(programs, min(repeats, 15)),
                             notes=notes))
    return out


def main(argv: list[str] | None = None) -> None:
    p = C.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 60)
    layers, width, batch, steps = (4, 16, 4, 50) if args.quick else (20, 64, 32, 1000)
    mlp_title = f"{layers}-layer MLP step (width {width}, batch {batch})"
    scan_title = f"{steps}-step scan (width {width})"
    breakdown = not args.quick
    mlp = sections_for(mlp_title, mlp_programs(layers, width, batch), args.repeats, breakdown)
    scan = sections_for(scan_title, scan_programs(steps, width), args.repeats, breakdown)
    sections = mlp + scan
    targets = [C.Target(f"{t}: first call, brainstate / plain jax time", secs[0].row("brainstate").ratio, 1.05)
               for t, secs in ((mlp_title, mlp), (scan_title, scan))]
    config = {"layers": layers, "width": width, "batch": batch, "scan_steps": steps, "repeats": args.repeats}
    C.finish(C.report("first_call", sections, targets, args, config), args)


if __name__ == "__main__":
    jnp.zeros(())
    main()
